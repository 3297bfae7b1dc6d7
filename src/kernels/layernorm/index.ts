/**
 * layer_norm: out = (x - mean) / sqrt(var + eps) w (+ b) per row (last axis), saving each row's mean and rstd for
 * backward; layer_norm_backward: its gradients (accumulated) for x, w and b.
 */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface LayerNormArgs { x: Tensor; w: Tensor; b: Tensor | null; eps: number; out: Tensor; mean: Tensor; rstd: Tensor }
export interface LayerNormBackwardArgs { x: Tensor; w: Tensor; mean: Tensor; rstd: Tensor; dy: Tensor; dx: Tensor | null; dw: Tensor | null; db: Tensor | null }

const p = (k: { ptr(t: Tensor): number }, t: Tensor | null) => (t ? k.ptr(t) : 0);

export const LAYER_NORM_BACKWARD = defineOp<LayerNormBackwardArgs>({
  name: 'layer_norm_backward',
  check(a) {
    requireF32('layer_norm_backward', a.x, a.w, a.mean, a.rstd, a.dy, ...[a.dx, a.dw, a.db].filter((t): t is Tensor => t !== null));
    const n = a.w.size, rows = a.x.size / n;
    if (lastDim(a.x) !== n || a.dy.size !== a.x.size || a.mean.size !== rows || a.rstd.size !== rows || (a.dx && a.dx.size !== a.x.size) || (a.dw && a.dw.size !== n) || (a.db && a.db.size !== n)) {
      opError('layer_norm_backward', 'shapes do not fit');
    }
  },
  cpu(k, a) {
    const n = a.w.size, rows = a.x.size / n;
    if (a.dx) k.call('layer_norm_backward_x', [k.ptr(a.x), k.ptr(a.w), k.ptr(a.mean), k.ptr(a.rstd), k.ptr(a.dy), k.ptr(a.dx), rows, n], 10 * a.x.size);
    if (a.dw || a.db) k.call('layer_norm_backward_w', [k.ptr(a.x), k.ptr(a.mean), k.ptr(a.rstd), k.ptr(a.dy), p(k, a.dw), p(k, a.db), rows, n], 5 * a.x.size);
  },
});

export const LAYER_NORM = defineOp<LayerNormArgs>({
  name: 'layer_norm',
  check({ x, w, b, out, mean, rstd }) {
    requireF32('layer_norm', x, w, out, mean, rstd, ...(b ? [b] : []));
    const n = w.size, rows = x.size / n;
    if (lastDim(x) !== n || out.size !== x.size || (b && b.size !== n) || mean.size !== rows || rstd.size !== rows) opError('layer_norm', `x[${x.shape}] w[${w.shape}] out[${out.shape}] do not fit`);
  },
  cpu(k, { x, w, b, eps, out, mean, rstd }) {
    const n = w.size;
    k.call('layer_norm', [k.ptr(x), k.ptr(w), p(k, b), k.ptr(out), k.ptr(mean), k.ptr(rstd), x.size / n, n, eps], 8 * x.size);
  },
  grad(r, { x, w, b, out, mean, rstd }, grad) {
    const dy = grad(out), dx = grad(x), dw = grad(w), db = b ? grad(b) : null;
    if (dy && (dx || dw || db)) r.run(LAYER_NORM_BACKWARD, { x, w, mean, rstd, dy, dx, dw, db });
  },
});
