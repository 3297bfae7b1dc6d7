/** fake_quant: in place, dynamic (per-call) fake quantization of every group of rows of n floats (QuaRot's activation quantizer). */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FAKE_QUANT as FAKE_QUANT_WGSL } from './wgsl.js';

/** Dynamic (per-call) activation quantization of rows of n floats in groups of `group` (group = n: per row). */
export interface FakeQuantParams {
  n: number;
  group: number;
  bits: number;
  asym: boolean;
  /** min and max are multiplied by this before the scale is computed (QuaRot's clip ratio) */
  clip: number;
}
export interface FakeQuantArgs { x: Tensor; p: FakeQuantParams }

export const FAKE_QUANT = defineOp<FakeQuantArgs>({
  name: 'fake_quant',
  check({ x, p }) {
    requireF32('fake_quant', x);
    if (x.size % p.n || p.n % p.group || p.bits < 2 || p.bits > 16) opError('fake_quant', `x[${x.shape}] n=${p.n} group=${p.group} bits=${p.bits} do not fit`);
  },
  cpu(k, { x, p }) {
    k.call('fake_quant_rows', [k.ptr(x), x.size / p.n, p.n, p.group, p.bits, p.asym ? 1 : 0, p.clip], 6 * x.size);
  },
  webgpu(k, { x, p }) {
    const groups = x.size / p.group;
    k.dispatch('fake_quant', () => FAKE_QUANT_WGSL, [x], [groups, p.group, p.bits, p.asym ? 1 : 0, { f: p.clip }, x.offset], Math.ceil(groups / 64));
  },
});
