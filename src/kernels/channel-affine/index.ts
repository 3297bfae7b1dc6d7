/**
 * channel_affine: out [N, C, ...] = x[n, c, :] * scale[c] + shift[c] (either may be null; out may be x): a
 * convolution's bias, a broadcast bias add, a batch normalization in eval mode, or (neither) a copy. The gradient
 * slot is empty.
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CHANNEL_AFFINE as AFFINE_WGSL } from './wgsl.js';

export interface ChannelAffineArgs { x: Tensor; scale: Tensor | null; shift: Tensor | null; out: Tensor }

/** [N, C, S] of x: channels on axis 1, S the product of the rest. */
export const channelDims = (x: Tensor): [number, number, number] => [x.shape[0]!, x.shape[1]!, x.shape.slice(2).reduce((a, b) => a * b, 1)];

export const CHANNEL_AFFINE = defineOp<ChannelAffineArgs>({
  name: 'channel_affine',
  check({ x, scale, shift, out }) {
    requireF32('channel_affine', x, out, ...[scale, shift].filter((t): t is Tensor => t !== null));
    if (x.shape.length < 2 || out.size !== x.size) opError('channel_affine', `x must be [N, C, ...] and out as large, got x[${x.shape}] out[${out.shape}]`);
    const C = x.shape[1]!;
    if ((scale && scale.size !== C) || (shift && shift.size !== C)) opError('channel_affine', `x[${x.shape}] needs ${C} scales and shifts, got [${scale?.shape ?? ''}] [${shift?.shape ?? ''}]`);
  },
  cpu(k, { x, scale, shift, out }) {
    const [N, C, S] = channelDims(x);
    k.call('channel_affine', [k.ptr(x), k.ptr(out), scale ? k.ptr(scale) : 0, shift ? k.ptr(shift) : 0, N, C, S], 2 * x.size);
  },
  webgpu(k, { x, scale, shift, out }) {
    const [, C, S] = channelDims(x), inPlace = k.sameBuffer(x, out);
    if (inPlace && x.offset !== out.offset) opError('channel_affine', 'the output overlaps the input at another offset');
    k.dispatch(inPlace ? 'channel_affine_inplace' : 'channel_affine', () => AFFINE_WGSL(inPlace), [x, scale ?? 'unused', shift ?? 'unused', ...(inPlace ? [] : [out])],
      [x.size, C, S, scale ? 1 : 0, shift ? 1 : 0, x.offset, scale?.offset ?? 0, shift?.offset ?? 0, out.offset], Math.ceil(x.size / 256));
  },
});
