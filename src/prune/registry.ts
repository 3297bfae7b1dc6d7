/** The registered pruning methods (each one module: prune/<method>.ts); the CLI's --method choices, flags and help read this list. */
import { OptionError } from '../util/errors.js';
import type { PruneMethod } from './method.js';
import { MAGNITUDE } from './magnitude.js';
import { WANDA } from './wanda.js';
import { SPARSEGPT } from './sparsegpt.js';
import { DSNOT } from './dsnot.js';
import { RIA } from './ria.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const PRUNE_METHODS: readonly PruneMethod<any>[] = [MAGNITUDE, WANDA, SPARSEGPT, DSNOT, RIA];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function pruneMethod(name: string): PruneMethod<any> {
  const m = PRUNE_METHODS.find((x) => x.name === name);
  if (!m) throw new OptionError('method', `expected one of ${PRUNE_METHODS.map((x) => x.name).join(', ')}, got "${name}"`);
  return m;
}
