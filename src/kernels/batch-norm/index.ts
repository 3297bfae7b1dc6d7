/**
 * batch_norm over NCHW tensors (or [N, C]), per channel: training uses the batch statistics (saved in `mean` and
 * `invstd` for backward) and updates the running averages in place (momentum as PyTorch's, unbiased running
 * variance); evaluation uses the running statistics. batch_norm_backward: its gradients (accumulated). WebGPU:
 * one workgroup per channel (wgsl.ts).
 */
import { defineOp, f32, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BATCH_NORM as BN_WGSL, BATCH_NORM_BACKWARD as BN_BACKWARD_WGSL } from './wgsl.js';

export interface BatchNormArgs {
  x: Tensor; gamma: Tensor; beta: Tensor;
  /** buffers, updated in training */
  runMean: Tensor; runVar: Tensor;
  out: Tensor;
  /** written: the statistics used (for backward) */
  mean: Tensor; invstd: Tensor;
  train: boolean; momentum: number; eps: number;
}
export interface BatchNormBackwardArgs {
  x: Tensor; gamma: Tensor; mean: Tensor; invstd: Tensor; dy: Tensor;
  dx: Tensor | null; dgamma: Tensor | null; dbeta: Tensor | null;
  train: boolean;
}

/** [N, C, S] of x: N = shape[0], C = shape[1], S = the rest */
function ncs(x: Tensor): [number, number, number] {
  const N = x.shape[0]!, C = x.shape[1]!;
  return [N, C, x.size / (N * C)];
}

export const BATCH_NORM_BACKWARD = defineOp<BatchNormBackwardArgs>({
  name: 'batch_norm_backward',
  check(a) {
    requireF32('batch_norm_backward', a.x, a.gamma, a.mean, a.invstd, a.dy, ...[a.dx, a.dgamma, a.dbeta].filter((t): t is Tensor => t !== null));
    const C = a.x.shape[1];
    if ([a.gamma, a.mean, a.invstd, a.dgamma, a.dbeta].some((t) => t && t.size !== C) || a.dy.size !== a.x.size || (a.dx && a.dx.size !== a.x.size)) opError('batch_norm_backward', 'shapes do not fit');
  },
  cpu(k, a) {
    const [N, C, S] = ncs(a.x), p = (t: Tensor | null) => (t ? k.ptr(t) : 0);
    k.call('batch_norm_backward', [k.ptr(a.x), k.ptr(a.gamma), k.ptr(a.mean), k.ptr(a.invstd), k.ptr(a.dy), p(a.dx), p(a.dgamma), p(a.dbeta), N, C, S, a.train ? 1 : 0], 8 * a.x.size);
  },
  webgpu(k, a) {
    const [N, C, S] = ncs(a.x);
    // absent gradients: flagged off; their bindings are scratch tensors (each written binding its own buffer)
    const dg = a.dgamma ?? k.scratch('bn_no_dgamma', C), db = a.dbeta ?? k.scratch('bn_no_dbeta', C);
    k.dispatch('batch_norm_backward', () => BN_BACKWARD_WGSL, [a.x, a.gamma, a.mean, a.invstd, a.dy, a.dx ?? 'unusedOut', dg, db],
      [N, C, S, a.train ? 1 : 0, a.x.offset, a.gamma.offset, a.mean.offset, a.invstd.offset, a.dy.offset, a.dx?.offset ?? 0, dg.offset, db.offset,
        a.dx ? 1 : 0, a.dgamma ? 1 : 0, a.dbeta ? 1 : 0], C);
  },
});

export const BATCH_NORM = defineOp<BatchNormArgs>({
  name: 'batch_norm',
  check(a) {
    requireF32('batch_norm', a.x, a.gamma, a.beta, a.runMean, a.runVar, a.out, a.mean, a.invstd);
    if (a.x.shape.length < 2) opError('batch_norm', `x must be [N, C, ...], got [${a.x.shape}]`);
    const C = a.x.shape[1];
    if ([a.gamma, a.beta, a.runMean, a.runVar, a.mean, a.invstd].some((t) => t.size !== C) || a.out.size !== a.x.size) opError('batch_norm', `x[${a.x.shape}] and the per-channel tensors do not fit`);
  },
  cpu(k, a) {
    const [N, C, S] = ncs(a.x);
    k.call('batch_norm', [k.ptr(a.x), k.ptr(a.gamma), k.ptr(a.beta), k.ptr(a.runMean), k.ptr(a.runVar), k.ptr(a.out), k.ptr(a.mean), k.ptr(a.invstd),
      N, C, S, a.train ? 1 : 0, a.momentum, a.eps], 6 * a.x.size);
  },
  webgpu(k, a) {
    const [N, C, S] = ncs(a.x);
    k.dispatch('batch_norm', () => BN_WGSL, [a.x, a.gamma, a.beta, a.runMean, a.runVar, a.out, a.mean, a.invstd],
      [N, C, S, a.train ? 1 : 0, f32(a.momentum), f32(a.eps), a.x.offset, a.gamma.offset, a.beta.offset, a.runMean.offset, a.runVar.offset, a.out.offset, a.mean.offset, a.invstd.offset], C);
  },
  grad(r, { x, gamma, beta, out, mean, invstd, train }, grad) {
    const dy = grad(out), dx = grad(x), dgamma = grad(gamma), dbeta = grad(beta);
    if (dy && (dx || dgamma || dbeta)) r.run(BATCH_NORM_BACKWARD, { x, gamma, mean, invstd, dy, dx, dgamma, dbeta, train });
  },
});
