/** to_f32: f16 / bf16 -> f32; round_to: in place, each value becomes the nearest f16 / bf16 value (ties to even), still f32. */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ROUND_TO as ROUND_TO_WGSL, TO_F32 as TO_F32_WGSL } from './wgsl.js';

export interface ToF32Args { src: Tensor; out: Tensor }
export interface RoundToArgs { x: Tensor; dtype: 'f16' | 'bf16' }

export const TO_F32 = defineOp<ToF32Args>({
  name: 'to_f32',
  check({ src, out }) {
    if ((src.dtype !== 'f16' && src.dtype !== 'bf16') || out.dtype !== 'f32' || src.size !== out.size) opError('to_f32', `${src.dtype}[${src.shape}] -> ${out.dtype}[${out.shape}]`);
  },
  cpu(k, { src, out }) {
    if (src.dtype === 'bf16') k.call('bf16_to_f32', [k.ptr(src), k.ptr(out), src.size], src.size);
    else k.call('f16_to_f32', [k.ptr(src), k.ptr(out), src.size], 4 * src.size);
  },
  webgpu(k, { src, out }) {
    k.dispatch('to_f32', () => TO_F32_WGSL, [src, out], [src.size, src.offset, out.offset, src.dtype === 'f16' ? 0 : 1], Math.ceil(src.size / 256));
  },
});

export const ROUND_TO = defineOp<RoundToArgs>({
  name: 'round_to',
  check({ x }) {
    requireF32('round_to', x);
  },
  cpu(k, { x, dtype }) {
    k.call('round_to', [k.ptr(x), x.size, dtype === 'f16' ? 0 : 1], 2 * x.size);
  },
  webgpu(k, { x, dtype }) {
    k.dispatch('round_to', () => ROUND_TO_WGSL, [x], [x.size, x.offset, dtype === 'f16' ? 0 : 1], Math.ceil(x.size / 256));
  },
});
