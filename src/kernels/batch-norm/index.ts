/**
 * batch_norm over NCHW tensors (or [N, C]), per channel: training uses the batch statistics (saved in `mean` and
 * `invstd` for backward) and updates the running averages in place (momentum as PyTorch's, unbiased running
 * variance); evaluation uses the running statistics. batch_norm_backward: its gradients (accumulated).
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';

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
  grad(r, { x, gamma, beta, out, mean, invstd, train }, grad) {
    const dy = grad(out), dx = grad(x), dgamma = grad(gamma), dbeta = grad(beta);
    if (dy && (dx || dgamma || dbeta)) r.run(BATCH_NORM_BACKWARD, { x, gamma, mean, invstd, dy, dx, dgamma, dbeta, train });
  },
});
