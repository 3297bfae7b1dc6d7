/** relu: out = max(x, 0); out may be x itself (in place). Its gradient: kernels/activation-grad (recorded out of place). */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { RELU as RELU_WGSL } from './wgsl.js';
import { reluGrad } from '../activation-grad/index.js';

export interface ReluArgs { x: Tensor; out: Tensor }

export const RELU = defineOp<ReluArgs>({
  name: 'relu',
  grad: (r, a, g, i) => reluGrad(r, a, g, i), // kernels/activation-grad (recorded out of place)
  check({ x, out }) {
    requireF32('relu', x, out);
    if (x.size !== out.size) opError('relu', `x[${x.shape}] out[${out.shape}] differ in size`);
  },
  cpu(k, { x, out }) { k.call('relu', [k.ptr(x), k.ptr(out), x.size], x.size); },
  webgpu(k, { x, out }) {
    const inPlace = k.sameBuffer(x, out);
    if (inPlace && x.offset !== out.offset) opError('relu', 'the output overlaps the input at another offset');
    k.dispatch(inPlace ? 'relu_inplace' : 'relu', () => RELU_WGSL(inPlace), inPlace ? [x] : [x, out], [x.size, x.offset, out.offset], Math.ceil(x.size / 256));
  },
});
