/**
 * Losses (each a scalar out[1]: the mean over rows or elements) and their gradients.
 * cross_entropy: mean_r (logsumexp(x_r) - x_r[label_r]), fused with the softmax it saves for backward.
 * mse: mean (a - b)^2. kl_div: T^2 / rows sum_r KL(softmax(t_r / T) || softmax(s_r / T)), the distillation loss of
 * Hinton et al. (the T^2 keeps gradient magnitudes independent of T); the teacher t gets no gradient.
 * Labels must lie in [0, C): the data loaders check them.
 */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as W from './wgsl.js';

export interface CrossEntropyArgs { logits: Tensor; labels: Tensor; probs: Tensor; loss: Tensor }
export interface CrossEntropyBackwardArgs { probs: Tensor; labels: Tensor; dy: Tensor; dlogits: Tensor }

const scalar = (op: string, t: Tensor) => { if (t.size !== 1) opError(op, `expected a one-float loss tensor, got [${t.shape}]`); };

export const CROSS_ENTROPY_BACKWARD = defineOp<CrossEntropyBackwardArgs>({
  name: 'cross_entropy_backward',
  check({ probs, labels, dy, dlogits }) {
    requireF32('cross_entropy_backward', probs, dy, dlogits);
    scalar('cross_entropy_backward', dy);
    if (labels.dtype !== 'i32' || probs.size !== dlogits.size || labels.size * lastDim(probs) !== probs.size) opError('cross_entropy_backward', 'shapes do not fit');
  },
  cpu(k, { probs, labels, dy, dlogits }) {
    const C = lastDim(probs), rows = probs.size / C;
    k.call('cross_entropy_backward', [k.ptr(probs), k.ptr(labels), k.ptr(dy), 1 / rows, k.ptr(dlogits), rows, C], 2 * probs.size);
  },
  webgpu(k, { probs, labels, dy, dlogits }) {
    const C = lastDim(probs), rows = probs.size / C;
    k.dispatch('cross_entropy_backward', () => W.CROSS_ENTROPY_BACKWARD, [probs, labels, dy, dlogits],
      [probs.size, C, { f: 1 / rows }, probs.offset, labels.offset, dy.offset, dlogits.offset], Math.ceil(probs.size / 256));
  },
});

export const CROSS_ENTROPY = defineOp<CrossEntropyArgs>({
  name: 'cross_entropy',
  check({ logits, labels, probs, loss }) {
    requireF32('cross_entropy', logits, probs, loss);
    scalar('cross_entropy', loss);
    if (labels.dtype !== 'i32') opError('cross_entropy', `labels must be i32, got ${labels.dtype}`);
    if (probs.size !== logits.size || labels.size * lastDim(logits) !== logits.size) opError('cross_entropy', `logits[${logits.shape}] labels[${labels.shape}] probs[${probs.shape}] do not fit`);
  },
  cpu(k, { logits, labels, probs, loss }) {
    const C = lastDim(logits), rows = logits.size / C, rowLoss = k.scratch('cross_entropy', rows);
    k.call('cross_entropy_rows', [k.ptr(logits), k.ptr(labels), k.ptr(probs), k.ptr(rowLoss), rows, C], 12 * logits.size);
    k.call('sum_scaled', [k.ptr(rowLoss), rows, 1 / rows, k.ptr(loss)], 0);
  },
  webgpu(k, { logits, labels, probs, loss }) {
    const C = lastDim(logits), rows = logits.size / C, rowLoss = k.scratch('cross_entropy', rows);
    k.dispatch('cross_entropy_rows', () => W.CROSS_ENTROPY_ROWS, [logits, labels, probs, rowLoss], [rows, C, logits.offset, labels.offset, probs.offset, rowLoss.offset], Math.ceil(rows / 64));
    k.dispatch('sum_scaled', () => W.SUM_SCALED, [rowLoss, loss], [rows, { f: 1 / rows }, rowLoss.offset, loss.offset], 1);
  },
  grad(r, { logits, labels, probs, loss }, grad) {
    const dy = grad(loss), dlogits = grad(logits);
    if (dy && dlogits) r.run(CROSS_ENTROPY_BACKWARD, { probs, labels, dy, dlogits });
  },
});

export interface MseArgs { a: Tensor; b: Tensor; loss: Tensor }
export interface MseBackwardArgs { a: Tensor; b: Tensor; dy: Tensor; da: Tensor | null; db: Tensor | null }

export const MSE_BACKWARD = defineOp<MseBackwardArgs>({
  name: 'mse_backward',
  check({ a, b, dy, da, db }) {
    requireF32('mse_backward', a, b, dy, ...[da, db].filter((t): t is Tensor => t !== null));
    scalar('mse_backward', dy);
    if (b.size !== a.size || (da && da.size !== a.size) || (db && db.size !== a.size)) opError('mse_backward', 'sizes differ');
  },
  cpu(k, { a, b, dy, da, db }) {
    k.call('mse_backward', [k.ptr(a), k.ptr(b), k.ptr(dy), 1 / a.size, da ? k.ptr(da) : 0, db ? k.ptr(db) : 0, a.size], 4 * a.size);
  },
  webgpu(k, { a, b, dy, da, db }) {
    const key = `mse_backward_${da ? 'a' : ''}${db ? 'b' : ''}`;
    k.dispatch(key, () => W.MSE_BACKWARD(!!da, !!db), [a, b, dy, ...[da, db].filter((t): t is Tensor => t !== null)],
      [a.size, { f: 1 / a.size }, a.offset, b.offset, dy.offset, da?.offset ?? 0, db?.offset ?? 0], Math.ceil(a.size / 256));
  },
});

export const MSE = defineOp<MseArgs>({
  name: 'mse',
  check({ a, b, loss }) {
    requireF32('mse', a, b, loss);
    scalar('mse', loss);
    if (a.size !== b.size) opError('mse', `sizes ${a.size} and ${b.size} differ`);
  },
  cpu(k, { a, b, loss }) {
    const partial = k.scratch('mse', 2 * k.threads);
    k.call('fill_f32', [k.ptr(partial), 2 * k.threads, 0], 0);
    k.call('sq_diff_partial', [k.ptr(a), k.ptr(b), a.size, k.ptr(partial)], 3 * a.size);
    k.call('partials_scaled', [k.ptr(partial), k.threads, 1 / a.size, k.ptr(loss)], 0);
  },
  // partial sums of 256-wide stripes in up to 1024 workgroups, then one workgroup sums them (no float atomics)
  webgpu(k, { a, b, loss }) {
    const groups = Math.min(1024, Math.ceil(a.size / 256)), partial = k.scratch('mse', groups);
    k.dispatch('sq_diff_partial', () => W.SQ_DIFF_PARTIAL, [a, b, partial], [a.size, a.offset, b.offset, partial.offset], groups);
    k.dispatch('sum_scaled', () => W.SUM_SCALED, [partial, loss], [groups, { f: 1 / a.size }, partial.offset, loss.offset], 1);
  },
  grad(r, { a, b, loss }, grad) {
    const dy = grad(loss), da = grad(a), db = grad(b);
    if (dy && (da || db)) r.run(MSE_BACKWARD, { a, b, dy, da, db });
  },
});

export interface KlDivArgs { student: Tensor; teacher: Tensor; T: number; ps: Tensor; pt: Tensor; loss: Tensor }
export interface KlDivBackwardArgs { ps: Tensor; pt: Tensor; dy: Tensor; T: number; ds: Tensor }

export const KL_DIV_BACKWARD = defineOp<KlDivBackwardArgs>({
  name: 'kl_div_backward',
  check({ ps, pt, dy, ds }) {
    requireF32('kl_div_backward', ps, pt, dy, ds);
    scalar('kl_div_backward', dy);
    if (pt.size !== ps.size || ds.size !== ps.size) opError('kl_div_backward', 'sizes differ');
  },
  cpu(k, { ps, pt, dy, T, ds }) {
    const rows = ps.size / lastDim(ps);
    k.call('kl_div_backward', [k.ptr(ps), k.ptr(pt), k.ptr(dy), T / rows, k.ptr(ds), ps.size], 3 * ps.size);
  },
  webgpu(k, { ps, pt, dy, T, ds }) {
    const rows = ps.size / lastDim(ps);
    k.dispatch('kl_div_backward', () => W.KL_DIV_BACKWARD, [ps, pt, dy, ds], [ps.size, { f: T / rows }, ps.offset, pt.offset, dy.offset, ds.offset], Math.ceil(ps.size / 256));
  },
});

export const KL_DIV = defineOp<KlDivArgs>({
  name: 'kl_div',
  check({ student, teacher, T, ps, pt, loss }) {
    requireF32('kl_div', student, teacher, ps, pt, loss);
    scalar('kl_div', loss);
    if (!(T > 0)) opError('kl_div', `temperature must be > 0, got ${T}`);
    if ([teacher, ps, pt].some((t) => t.size !== student.size || lastDim(t) !== lastDim(student))) opError('kl_div', 'student, teacher and their probabilities must have one shape');
  },
  cpu(k, { student, teacher, T, ps, pt, loss }) {
    const C = lastDim(student), rows = student.size / C, rowLoss = k.scratch('kl_div', rows);
    k.call('kl_div_rows', [k.ptr(student), k.ptr(teacher), 1 / T, k.ptr(ps), k.ptr(pt), k.ptr(rowLoss), rows, C], 24 * student.size);
    k.call('sum_scaled', [k.ptr(rowLoss), rows, (T * T) / rows, k.ptr(loss)], 0);
  },
  // one workgroup per row (both softmaxes and the row's KL), then one workgroup sums the rows (no float atomics)
  webgpu(k, { student, teacher, T, ps, pt, loss }) {
    const C = lastDim(student), rows = student.size / C, rowLoss = k.scratch('kl_div', rows), sg = k.subgroups ? '_sg' : '';
    k.dispatch(`kl_div_rows${sg}`, () => W.KL_DIV_ROWS(!!sg), [student, teacher, ps, pt, rowLoss],
      [rows, C, { f: 1 / T }, student.offset, teacher.offset, ps.offset, pt.offset, rowLoss.offset], rows);
    k.dispatch('sum_scaled', () => W.SUM_SCALED, [rowLoss, loss], [rows, { f: (T * T) / rows }, rowLoss.offset, loss.offset], 1);
  },
  grad(r, { student, T, ps, pt, loss }, grad) {
    const dy = grad(loss), ds = grad(student);
    if (dy && ds) r.run(KL_DIV_BACKWARD, { ps, pt, dy, T, ds });
  },
});
