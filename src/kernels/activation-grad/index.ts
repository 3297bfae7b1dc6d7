/**
 * Activations of training and their gradients (gradients accumulate: dx += ...): relu_backward, gelu (tanh form, as
 * GPT-2's) and its backward, silu_mul_backward (the SwiGLU gate), softmax_backward, log_softmax and its backward.
 * The gradient functions (GradFn) of these ops and of softmax / silu_mul live here too.
 */
import { defineOp, lastDim, opError, requireF32, type GradFn, type GpuKernels } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as W from './wgsl.js';
import { ROW_SOFTMAX } from '../softmax/wgsl.js';

const sameSize = (op: string, ...ts: (Tensor | null)[]) => {
  const real = ts.filter((t): t is Tensor => t !== null);
  requireF32(op, ...real);
  if (real.some((t) => t.size !== real[0]!.size)) opError(op, `sizes differ: ${real.map((t) => `[${t.shape}]`).join(' ')}`);
};

export interface UnaryBackwardArgs { x: Tensor; dy: Tensor; dx: Tensor }
export interface UnaryArgs { x: Tensor; out: Tensor }

/** dx += x > 0 ? dy : 0 (x: ReLU's input, or its output: both are positive at the same places) */
export const RELU_BACKWARD = defineOp<UnaryBackwardArgs>({
  name: 'relu_backward',
  check({ x, dy, dx }) { sameSize('relu_backward', x, dy, dx); },
  cpu(k, { x, dy, dx }) { k.call('relu_backward', [k.ptr(x), k.ptr(dy), k.ptr(dx), x.size], x.size); },
  webgpu(k, { x, dy, dx }) { k.dispatch('relu_backward', () => W.RELU_BACKWARD, [x, dy, dx], [x.size, x.offset, dy.offset, dx.offset], Math.ceil(x.size / 256)); },
});

/** The gradient of an out-of-place ReLU {x, out}. */
export const reluGrad: GradFn<UnaryArgs> = (r, { x, out }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (dy && dx) r.run(RELU_BACKWARD, { x: out, dy, dx });
};

export const GELU_BACKWARD = defineOp<UnaryBackwardArgs>({
  name: 'gelu_backward',
  check({ x, dy, dx }) { sameSize('gelu_backward', x, dy, dx); },
  cpu(k, { x, dy, dx }) { k.call('gelu_backward', [k.ptr(x), k.ptr(dy), k.ptr(dx), x.size], 20 * x.size); },
  webgpu(k, { x, dy, dx }) { k.dispatch('gelu_backward', () => W.GELU_BACKWARD, [x, dy, dx], [x.size, x.offset, dy.offset, dx.offset], Math.ceil(x.size / 256)); },
});

/** out = GELU(x), tanh approximation */
export const GELU = defineOp<UnaryArgs>({
  name: 'gelu',
  check({ x, out }) { sameSize('gelu', x, out); },
  cpu(k, { x, out }) { k.call('gelu', [k.ptr(x), k.ptr(out), x.size], 20 * x.size); },
  webgpu(k, { x, out }) {
    if (k.sameBuffer(x, out)) opError('gelu', 'runs out of place only on WebGPU (out must not share the input\'s buffer)');
    k.dispatch('gelu', () => W.GELU, [x, out], [x.size, x.offset, out.offset], Math.ceil(x.size / 256));
  },
  grad(r, { x, out }, grad) {
    const dy = grad(out), dx = grad(x);
    if (dy && dx) r.run(GELU_BACKWARD, { x, dy, dx });
  },
});

export interface SiluMulBackwardArgs {
  g: Tensor; u: Tensor; dy: Tensor; dg: Tensor | null; du: Tensor | null;
  /** bit 1: dg = (instead of +=) its gradient, bit 2: du =; the accumulator is then not read (it may hold anything) */
  overwrite?: number;
}
export const SILU_MUL_BACKWARD = defineOp<SiluMulBackwardArgs>({
  name: 'silu_mul_backward',
  check({ g, u, dy, dg, du }) { sameSize('silu_mul_backward', g, u, dy, dg, du); },
  cpu(k, { g, u, dy, dg, du, overwrite }) {
    k.call('silu_mul_backward', [k.ptr(g), k.ptr(u), k.ptr(dy), dg ? k.ptr(dg) : 0, du ? k.ptr(du) : 0, g.size, overwrite ?? 0], 12 * g.size);
  },
  webgpu(k, { g, u, dy, dg, du, overwrite }) {
    k.dispatch(`silu_mul_backward_${dg ? 'g' : ''}${du ? 'u' : ''}`, () => W.SILU_MUL_BACKWARD(!!dg, !!du), [g, u, dy, ...[dg, du].filter((t): t is Tensor => t !== null)],
      [g.size, g.offset, u.offset, dy.offset, dg?.offset ?? 0, du?.offset ?? 0, overwrite ?? 0], Math.ceil(g.size / 256));
  },
});

/** The gradient of silu_mul {g, u, out} recorded out of place (out is neither g nor u). */
export const siluMulGrad: GradFn<{ g: Tensor; u: Tensor; out: Tensor }> = (r, { g, u, out }, grad, into) => {
  const dy = grad(out);
  if (!dy) return;
  const dg = into(g), du = into(u);
  if (dg || du) r.run(SILU_MUL_BACKWARD, { g, u, dy, dg: dg?.g ?? null, du: du?.g ?? null, overwrite: (dg && !dg.accumulate ? 1 : 0) | (du && !du.accumulate ? 2 : 0) });
};

export interface RowsBackwardArgs { y: Tensor; dy: Tensor; dx: Tensor }
/** one workgroup per row: the row's sum (of dy y, or of dy for log-softmax) reduced in the workgroup, then dx += ... */
function rowsBackwardGpu(k: GpuKernels, { y, dy, dx }: RowsBackwardArgs, log: boolean): void {
  const n = lastDim(y), rows = y.size / n, sg = k.subgroups ? '_sg' : '';
  k.dispatch(`${log ? 'log_' : ''}softmax_backward${sg}`, () => W.ROWS_BACKWARD(!!sg, log), [y, dy, dx], [rows, n, y.offset, dy.offset, dx.offset], rows);
}
const rowsCheck = (op: string) => ({ y, dy, dx }: RowsBackwardArgs) => sameSize(op, y, dy, dx);

/** y = softmax(x) per row: dx += y (dy - sum(dy y)) */
export const SOFTMAX_BACKWARD = defineOp<RowsBackwardArgs>({
  name: 'softmax_backward',
  check: rowsCheck('softmax_backward'),
  cpu(k, { y, dy, dx }) { k.call('softmax_backward', [k.ptr(y), k.ptr(dy), k.ptr(dx), y.size / lastDim(y), lastDim(y)], 4 * y.size); },
  webgpu(k, args) { rowsBackwardGpu(k, args, false); },
});

/** The gradient of a softmax recorded out of place: {x, out} with out = softmax(x) per row. */
export const softmaxGrad: GradFn<UnaryArgs> = (r, { x, out }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (dy && dx) r.run(SOFTMAX_BACKWARD, { y: out, dy, dx });
};

export const LOG_SOFTMAX_BACKWARD = defineOp<RowsBackwardArgs>({
  name: 'log_softmax_backward',
  check: rowsCheck('log_softmax_backward'),
  cpu(k, { y, dy, dx }) { k.call('log_softmax_backward', [k.ptr(y), k.ptr(dy), k.ptr(dx), y.size / lastDim(y), lastDim(y)], 12 * y.size); },
  webgpu(k, args) { rowsBackwardGpu(k, args, true); },
});

/** out = x - logsumexp(x) per row (last axis) */
export const LOG_SOFTMAX = defineOp<UnaryArgs>({
  name: 'log_softmax',
  check({ x, out }) {
    sameSize('log_softmax', x, out);
    if (lastDim(x) !== lastDim(out)) opError('log_softmax', `rows of x[${x.shape}] and out[${out.shape}] differ`);
  },
  cpu(k, { x, out }) { k.call('log_softmax', [k.ptr(x), k.ptr(out), x.size / lastDim(x), lastDim(x)], 12 * x.size); },
  // one workgroup per row (the max and the sum reduced in the workgroup, with subgroups where the device has them)
  webgpu(k, { x, out }) {
    if (k.sameBuffer(x, out)) opError('log_softmax', 'runs out of place only on WebGPU (out must not share the input\'s buffer)');
    const n = lastDim(x), rows = x.size / n, sg = k.subgroups ? '_sg' : '';
    k.dispatch(`row_softmax${sg}`, () => ROW_SOFTMAX(!!sg), [x, out], [rows, n, x.offset, out.offset, 2], rows);
  },
  grad(r, { x, out }, grad) {
    const dy = grad(out), dx = grad(x);
    if (dy && dx) r.run(LOG_SOFTMAX_BACKWARD, { y: out, dy, dx });
  },
});
