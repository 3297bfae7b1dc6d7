/** rope: rotary position embedding in place on x [T, stride] (the first heads * headDim columns of each row). */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ROPE as ROPE_WGSL } from './wgsl.js';

export interface RopeParams {
  T: number;
  heads: number;
  headDim: number;
  pos0: number;
  /** true: Hugging Face rotate-half pairs (i, i + d/2); false: adjacent pairs (2i, 2i+1) as in Meta/llama2.c/GGUF */
  neox: boolean;
}
export interface RopeArgs { x: Tensor; cos: Tensor; sin: Tensor; p: RopeParams }

export const ROPE = defineOp<RopeArgs>({
  name: 'rope',
  check({ x, cos, sin, p }) {
    requireF32('rope', x, cos, sin);
    if (p.headDim % 2 || x.shape[0] !== p.T || p.heads * p.headDim > lastDim(x)) opError('rope', `x[${x.shape}] does not hold ${p.T} x ${p.heads} heads of ${p.headDim}`);
    if (cos.shape[1] !== p.headDim / 2 || cos.shape[0]! < p.pos0 + p.T) opError('rope', `tables [${cos.shape}] do not cover positions ${p.pos0}..${p.pos0 + p.T - 1}`);
  },
  cpu(k, { x, cos, sin, p }) {
    k.call('rope', [k.ptr(x), p.T, p.heads, p.headDim, lastDim(x), p.pos0, k.ptr(cos), k.ptr(sin), p.neox ? 1 : 0], 6 * p.T * p.heads * p.headDim);
  },
  webgpu(k, { x, cos, sin, p }) {
    k.dispatch('rope', () => ROPE_WGSL, [x, cos, sin], [p.T, p.heads, p.headDim, lastDim(x), p.pos0, p.neox ? 1 : 0, x.offset, cos.offset, sin.offset],
      Math.ceil(p.T * p.heads * p.headDim / 2 / 256));
  },
});
