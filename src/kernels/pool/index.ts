/**
 * max_pool2d: out [N, C, OH, OW] = the maximum of each kh x kw window of x [N, C, H, W] (padding never wins), and
 * optionally indices (i32, same shape) = h*W + w of that maximum inside its input plane, for the backward's scatter.
 * avg_pool2d: the mean of each window (countIncludePad: divide by kh*kw, else by the taps inside the image).
 * Output sizes round down (ONNX ceil_mode 0). Their gradients: kernels/pool-backward.
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { poolOutShape, type Pool2dParams } from './params.js';
import { AVG_POOL2D as AVG_WGSL, MAX_POOL2D as MAX_WGSL } from './wgsl.js';
import { avgPool2dGrad, maxPool2dGrad } from '../pool-backward/index.js';

export * from './params.js';

export interface MaxPool2dArgs { x: Tensor; out: Tensor; indices: Tensor | null; p: Pool2dParams }
export interface AvgPool2dArgs { x: Tensor; out: Tensor; p: Pool2dParams }

const pair = (a: number, b: number): number => a | (b << 16);

function checkPool(op: string, x: Tensor, out: Tensor, p: Pool2dParams): void {
  requireF32(op, x, out);
  if (x.shape.length !== 4 || out.shape.length !== 4) opError(op, `expected 4-D tensors, got x[${x.shape}] out[${out.shape}]`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [kh, kw] = p.kernel, [sh, sw] = p.stride, [pt, pl, pb, pr] = p.pad;
  const ok = [H, W, kh, kw, sh, sw, pt, pl, pb, pr].every((v) => Number.isInteger(v) && v >= 0 && v < 65536);
  if (!ok || kh < 1 || kw < 1 || sh < 1 || sw < 1 || pt >= kh || pb >= kh || pl >= kw || pr >= kw) opError(op, `bad geometry ${JSON.stringify(p)} for x[${x.shape}] (padding must be smaller than the kernel)`);
  const [OH, OW] = poolOutShape(H, W, p);
  if (OH < 1 || OW < 1 || out.shape[0] !== N || out.shape[1] !== C || out.shape[2] !== OH || out.shape[3] !== OW) opError(op, `x[${x.shape}] out[${out.shape}] do not fit (output [${N},${C},${OH},${OW}])`);
}

const geometry = (x: Tensor, out: Tensor, p: Pool2dParams) => [pair(x.shape[2]!, x.shape[3]!), pair(out.shape[2]!, out.shape[3]!), pair(p.kernel[0], p.kernel[1]), pair(p.stride[0], p.stride[1]), pair(p.pad[0], p.pad[1])];

export const MAX_POOL2D = defineOp<MaxPool2dArgs>({
  name: 'max_pool2d',
  grad: (r, a, g, i) => maxPool2dGrad(r, a, g, i), // kernels/pool-backward
  check({ x, out, indices, p }) {
    checkPool('max_pool2d', x, out, p);
    if (indices && (indices.dtype !== 'i32' || indices.size !== out.size)) opError('max_pool2d', `indices must be i32 [${out.shape}], got ${indices.dtype} [${indices.shape}]`);
  },
  cpu(k, { x, out, indices, p }) {
    const planes = x.shape[0]! * x.shape[1]!;
    k.call('max_pool2d', [k.ptr(x), k.ptr(out), indices ? k.ptr(indices) : 0, planes, ...geometry(x, out, p)], out.size * p.kernel[0] * p.kernel[1]);
  },
  webgpu(k, { x, out, indices, p }) {
    k.dispatch('max_pool2d', () => MAX_WGSL, [x, out, indices ?? 'unusedOut'], [out.size, ...geometry(x, out, p), x.offset, out.offset, indices?.offset ?? 0, indices ? 1 : 0],
      Math.ceil(out.size / 256));
  },
});

export const AVG_POOL2D = defineOp<AvgPool2dArgs>({
  name: 'avg_pool2d',
  grad: (r, a, g, i) => avgPool2dGrad(r, a, g, i),
  check({ x, out, p }) { checkPool('avg_pool2d', x, out, p); },
  cpu(k, { x, out, p }) {
    const planes = x.shape[0]! * x.shape[1]!;
    k.call('avg_pool2d', [k.ptr(x), k.ptr(out), planes, ...geometry(x, out, p), p.countIncludePad ? 1 : 0], out.size * p.kernel[0] * p.kernel[1]);
  },
  webgpu(k, { x, out, p }) {
    k.dispatch('avg_pool2d', () => AVG_WGSL, [x, out], [out.size, ...geometry(x, out, p), x.offset, out.offset, p.countIncludePad ? 1 : 0], Math.ceil(out.size / 256));
  },
});
