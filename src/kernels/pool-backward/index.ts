/**
 * Pooling gradients (accumulated): max_pool2d_backward scatters each output's gradient to its argmax (the forward's
 * indices), avg_pool2d_backward spreads it over the window. WebGPU (wgsl.ts): one invocation per input element
 * gathering from the outputs whose windows cover it. The pooling ops' gradient slots call these.
 */
import { defineOp, opError, requireF32, type GradFn } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { AvgPool2dArgs, MaxPool2dArgs, Pool2dParams } from '../pool/index.js';
import { AVG_POOL2D_BACKWARD as AVG_WGSL, MAX_POOL2D_BACKWARD as MAX_WGSL } from './wgsl.js';

const pair = (a: number, b: number): number => a | (b << 16);

/** `p`: the forward's geometry (the WebGPU gather needs the windows; the CPU scatter only the indices) */
export interface MaxPool2dBackwardArgs { dy: Tensor; indices: Tensor; dx: Tensor; p: Pool2dParams }

const geometry = (dy: Tensor, dx: Tensor, p: Pool2dParams) => [pair(dx.shape[2]!, dx.shape[3]!), pair(dy.shape[2]!, dy.shape[3]!), pair(p.kernel[0], p.kernel[1]),
  pair(p.stride[0], p.stride[1]), pair(p.pad[0], p.pad[1])];
export interface AvgPool2dBackwardArgs { dy: Tensor; dx: Tensor; p: Pool2dParams }

export const MAX_POOL2D_BACKWARD = defineOp<MaxPool2dBackwardArgs>({
  name: 'max_pool2d_backward',
  check({ dy, indices, dx }) {
    requireF32('max_pool2d_backward', dy, dx);
    if (indices.dtype !== 'i32' || indices.size !== dy.size || dy.shape.length !== 4 || dx.shape.length !== 4 || dy.shape[0] !== dx.shape[0] || dy.shape[1] !== dx.shape[1]) {
      opError('max_pool2d_backward', `dy[${dy.shape}] indices[${indices.shape}] dx[${dx.shape}] do not fit`);
    }
  },
  cpu(k, { dy, indices, dx }) {
    k.call('max_pool2d_backward', [k.ptr(dy), k.ptr(indices), k.ptr(dx), dx.shape[0]! * dx.shape[1]!, pair(dx.shape[2]!, dx.shape[3]!), pair(dy.shape[2]!, dy.shape[3]!)], dy.size);
  },
  webgpu(k, { dy, indices, dx, p }) {
    k.dispatch('max_pool2d_backward', () => MAX_WGSL, [dy, indices, dx], [dx.size, ...geometry(dy, dx, p), dy.offset, indices.offset, dx.offset], Math.ceil(dx.size / 256));
  },
});

export const AVG_POOL2D_BACKWARD = defineOp<AvgPool2dBackwardArgs>({
  name: 'avg_pool2d_backward',
  check({ dy, dx }) {
    requireF32('avg_pool2d_backward', dy, dx);
    if (dy.shape.length !== 4 || dx.shape.length !== 4 || dy.shape[0] !== dx.shape[0] || dy.shape[1] !== dx.shape[1]) opError('avg_pool2d_backward', `dy[${dy.shape}] dx[${dx.shape}] do not fit`);
  },
  cpu(k, { dy, dx, p }) {
    k.call('avg_pool2d_backward', [k.ptr(dy), k.ptr(dx), dx.shape[0]! * dx.shape[1]!, pair(dx.shape[2]!, dx.shape[3]!), pair(dy.shape[2]!, dy.shape[3]!),
      pair(p.kernel[0], p.kernel[1]), pair(p.stride[0], p.stride[1]), pair(p.pad[0], p.pad[1]), p.countIncludePad ? 1 : 0], dy.size * p.kernel[0] * p.kernel[1]);
  },
  webgpu(k, { dy, dx, p }) {
    k.dispatch('avg_pool2d_backward', () => AVG_WGSL, [dy, dx], [dx.size, ...geometry(dy, dx, p), dy.offset, dx.offset, p.countIncludePad ? 1 : 0], Math.ceil(dx.size / 256));
  },
});

export const maxPool2dGrad: GradFn<MaxPool2dArgs> = (r, { x, out, indices, p }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (!dy || !dx) return;
  if (!indices) throw new Error('max_pool2d: its gradient needs the forward to write indices');
  r.run(MAX_POOL2D_BACKWARD, { dy, indices, dx, p });
};

export const avgPool2dGrad: GradFn<AvgPool2dArgs> = (r, { x, out, p }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (dy && dx) r.run(AVG_POOL2D_BACKWARD, { dy, dx, p });
};
