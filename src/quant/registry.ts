/** The registered weight quantizers (quant/<method>.ts); rotations (QuaRot, DartQuant) run before one of them. */
import { OptionError } from '../util/errors.js';
import type { QuantMethod } from './method.js';
import { RTN } from './rtn.js';
import { GPTQ } from './gptq.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const QUANT_METHODS: readonly QuantMethod<any>[] = [RTN, GPTQ];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function quantMethod(name: string): QuantMethod<any> {
  const m = QUANT_METHODS.find((x) => x.name === name);
  if (!m) throw new OptionError('method', `expected one of ${QUANT_METHODS.map((x) => x.name).join(', ')}, got "${name}"`);
  return m;
}
