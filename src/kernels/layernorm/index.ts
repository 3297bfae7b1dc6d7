/**
 * layer_norm: out = (x - mean) / sqrt(var + eps) w (+ b) per row (last axis), saving each row's mean and rstd for
 * backward; layer_norm_backward: its gradients (accumulated) for x, w and b.
 */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as W from './wgsl.js';

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
  // a workgroup per row for dx, then an invocation per column sums dw / db over the rows in order
  webgpu(k, a) {
    const n = a.w.size, rows = a.x.size / n, sg = k.subgroups ? '_sg' : '';
    if (a.dx) {
      k.dispatch(`layer_norm_backward_x${sg}`, () => W.LAYER_NORM_BACKWARD_X(!!sg), [a.x, a.w, a.mean, a.rstd, a.dy, a.dx],
        [rows, n, a.x.offset, a.w.offset, a.mean.offset, a.rstd.offset, a.dy.offset, a.dx.offset], rows);
    }
    if (a.dw || a.db) {
      k.dispatch(`layer_norm_backward_w_${a.dw ? 'w' : ''}${a.db ? 'b' : ''}`, () => W.LAYER_NORM_BACKWARD_W(!!a.dw, !!a.db),
        [a.x, a.mean, a.rstd, a.dy, ...[a.dw, a.db].filter((t): t is Tensor => t !== null)],
        [rows, n, a.x.offset, a.mean.offset, a.rstd.offset, a.dy.offset, a.dw?.offset ?? 0, a.db?.offset ?? 0], Math.ceil(n / 64));
    }
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
  // one workgroup per row: the mean, then the biased variance (two reductions, as the CPU's two passes)
  webgpu(k, { x, w, b, eps, out, mean, rstd }) {
    if (k.sameBuffer(x, out)) opError('layer_norm', 'runs out of place only on WebGPU (out must not share the input\'s buffer)');
    const n = w.size, rows = x.size / n, sg = k.subgroups ? '_sg' : '';
    k.dispatch(`layer_norm${sg}`, () => W.LAYER_NORM(!!sg), [x, w, b ?? 'unused', out, mean, rstd],
      [rows, n, { f: eps }, b ? 1 : 0, x.offset, w.offset, b?.offset ?? 0, out.offset, mean.offset, rstd.offset], rows);
  },
  grad(r, { x, w, b, out, mean, rstd }, grad) {
    const dy = grad(out), dx = grad(x), dw = grad(w), db = b ? grad(b) : null;
    if (dy && (dx || dw || db)) r.run(LAYER_NORM_BACKWARD, { x, w, mean, rstd, dy, dx, dw, db });
  },
});
