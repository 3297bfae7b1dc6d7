/** rmsnorm_backward: dx (+)= and dw (+)= the gradients of out = w x / sqrt(mean(x^2) + eps) (per row of x). */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { RMSNORM_BACKWARD_W, RMSNORM_BACKWARD_X } from './wgsl.js';

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
  // a workgroup per row for dx (and each row's 1 / rms), then an invocation per column sums dw over the rows in order
  webgpu(k, { x, w, eps, dy, dx, dw }) {
    const n = w.size, rows = x.size / n, inv = k.scratch('rmsnorm_backward', rows);
    k.dispatch(`rmsnorm_backward_x${dx ? '' : '_nodx'}`, () => RMSNORM_BACKWARD_X(!!dx), [x, w, dy, inv, ...(dx ? [dx] : [])],
      [rows, n, { f: eps }, x.offset, w.offset, dy.offset, dx?.offset ?? 0, inv.offset], rows);
    if (dw) k.dispatch('rmsnorm_backward_w', () => RMSNORM_BACKWARD_W, [x, dy, inv, dw], [rows, n, x.offset, dy.offset, inv.offset, dw.offset], Math.ceil(n / 64));
  },
});
