/**
 * sigmoid: out = 1 / (1 + exp(-x)), out of place. sigmoid_backward: dx += dy y (1 - y) from the forward's output y.
 * The forward's gradient slot runs the backward.
 */
import { defineOp, opError, requireF32, type GradFn } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { SIGMOID as FWD_WGSL, SIGMOID_BACKWARD as BWD_WGSL } from './wgsl.js';

export interface SigmoidArgs { x: Tensor; out: Tensor }
export interface SigmoidBackwardArgs { y: Tensor; dy: Tensor; dx: Tensor }

const groups = (n: number) => Math.ceil(n / 256);

export const SIGMOID_BACKWARD = defineOp<SigmoidBackwardArgs>({
  name: 'sigmoid_backward',
  check({ y, dy, dx }) {
    requireF32('sigmoid_backward', y, dy, dx);
    if (y.size !== dy.size || y.size !== dx.size) opError('sigmoid_backward', `sizes differ: y[${y.shape}] dy[${dy.shape}] dx[${dx.shape}]`);
  },
  cpu(k, { y, dy, dx }) { k.call('sigmoid_backward', [k.ptr(y), k.ptr(dy), k.ptr(dx), y.size], 3 * y.size); },
  webgpu(k, { y, dy, dx }) { k.dispatch('sigmoid_backward', () => BWD_WGSL, [y, dy, dx], [y.size, y.offset, dy.offset, dx.offset], groups(y.size)); },
});

export const sigmoidGrad: GradFn<SigmoidArgs> = (r, { x, out }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (dy && dx) r.run(SIGMOID_BACKWARD, { y: out, dy, dx });
};

export const SIGMOID = defineOp<SigmoidArgs>({
  name: 'sigmoid',
  grad: sigmoidGrad,
  check({ x, out }) {
    requireF32('sigmoid', x, out);
    if (x.size !== out.size) opError('sigmoid', `x[${x.shape}] out[${out.shape}] differ in size`);
  },
  cpu(k, { x, out }) { k.call('sigmoid', [k.ptr(x), k.ptr(out), x.size], 20 * x.size); },
  webgpu(k, { x, out }) {
    if (k.sameBuffer(x, out)) opError('sigmoid', 'runs out of place only (out must not share the input\'s buffer)');
    k.dispatch('sigmoid', () => FWD_WGSL, [x, out], [x.size, x.offset, out.offset], groups(x.size));
  },
});
