/** rmsnorm_backward: dx (+)= and dw (+)= the gradients of out = w x / sqrt(mean(x^2) + eps) (per row of x). */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface RmsnormBackwardArgs { x: Tensor; w: Tensor; eps: number; dy: Tensor; dx: Tensor | null; dw: Tensor | null }

export const RMS_NORM_BACKWARD = defineOp<RmsnormBackwardArgs>({
  name: 'rmsnorm_backward',
  check({ x, w, dy, dx, dw }) {
    requireF32('rmsnorm_backward', x, w, dy, ...[dx, dw].filter((t): t is Tensor => t !== null));
    if (lastDim(x) !== w.size || dy.size !== x.size || (dx && dx.size !== x.size) || (dw && dw.size !== w.size)) opError('rmsnorm_backward', 'shapes do not fit');
  },
  cpu(k, { x, w, eps, dy, dx, dw }) {
    const n = w.size, rows = x.size / n, inv = k.scratch('rmsnorm_backward', rows);
    k.call('rmsnorm_backward_x', [k.ptr(x), k.ptr(w), k.ptr(dy), dx ? k.ptr(dx) : 0, k.ptr(inv), rows, n, eps], 8 * x.size);
    if (dw) k.call('rmsnorm_backward_w', [k.ptr(x), k.ptr(dy), k.ptr(inv), k.ptr(dw), rows, n], 3 * x.size);
  },
});
