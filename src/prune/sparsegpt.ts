/**
 * SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language Models Can Be Accurately Pruned in One-Shot",
 * ICML 2023; IST-DASLab/sparsegpt `fasterprune`). Optimal-brain-surgeon pruning with lazy batched updates:
 * dead inputs (H_jj = 0) are zeroed; H is damped by percdamp * mean(diag H); U = upper Cholesky factor of H^-1.
 * Columns are processed in blocks of 128: the block's mask comes from the score W^2 / diag(U)^2 thresholded over
 * the whole rows x 128 tile (unstructured; ties included) or per N:M group as columns are reached (scored on
 * the already-updated weights); each column's pruning error e = (w - q) / U_ii is propagated to the remaining
 * columns of the block (W[:, i:] -= e U[i, i:]) and, after the block, to all later columns (W -= E U_block).
 * Float64 throughout. If H + damping is not positive definite, the damping is raised tenfold and retried; the
 * retries are reported in the result.
 */
import { InverseHessianFactor, propagateBlockError } from '../linalg/obs.js';

export { inverseHessianFactor, type InverseHessianFactor } from '../linalg/obs.js';
import { Mask, Target } from './mask.js';
import type { PruneMethod } from './method.js';

export interface SparseGptOptions {
  blocksize?: number;
  /** damping as a fraction of mean(diag H), used by inverseHessianFactor */
  percdamp?: number;
}

export interface SparseGptResult {
  mask: Mask;
  /** the updated weights (pruned entries are exactly 0) */
  weight: Float32Array;
  /** sum over columns of (w - q)^2 / U_ii^2 / 2, the OBS loss the reference prints */
  loss: number;
  /** damping actually used, as a fraction of mean(diag H) */
  percdamp: number;
  dampingRetries: number;
}

export function sparsegpt(weight: Float32Array, factor: InverseHessianFactor, rows: number, cols: number, t: Target, o: SparseGptOptions = {}): SparseGptResult {
  const B = o.blocksize ?? 128;
  const W = Float64Array.from(weight);
  const { U, dead, percdamp, retries } = factor;
  for (let j = 0; j < cols; j++) if (dead[j]) for (let r = 0; r < rows; r++) W[r * cols + j] = 0;
  const mask = new Uint8Array(rows * cols);
  let loss = 0;
  for (let i1 = 0; i1 < cols; i1 += B) {
    const i2 = Math.min(i1 + B, cols), count = i2 - i1;
    const err = new Float64Array(rows * count);
    if (!t.nm) {
      // adaptive mask selection over the rows x count tile
      const score = new Float64Array(rows * count);
      for (let r = 0; r < rows; r++) for (let c = 0; c < count; c++) {
        const d = U[(i1 + c) * cols + i1 + c]!;
        score[r * count + c] = W[r * cols + i1 + c]! ** 2 / d ** 2;
      }
      const thresh = score.slice().sort()[Math.floor(score.length * t.sparsity!)]!;
      for (let r = 0; r < rows; r++) for (let c = 0; c < count; c++) if (score[r * count + c]! <= thresh) mask[r * cols + i1 + c] = 1;
    }
    for (let c = 0; c < count; c++) {
      const i = i1 + c;
      if (t.nm && c % t.nm.m === 0) {
        for (let r = 0; r < rows; r++) {
          const group: [number, number][] = [];
          for (let g = 0; g < t.nm.m && i + g < i2; g++) {
            const d = U[(i + g) * cols + i + g]!;
            group.push([W[r * cols + i + g]! ** 2 / d ** 2, g]);
          }
          group.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
          for (let k = 0; k < t.nm.n && k < group.length; k++) mask[r * cols + i + group[k]![1]] = 1;
        }
      }
      const d = U[i * cols + i]!;
      const urow = i * cols;
      for (let r = 0; r < rows; r++) {
        const rr = r * cols;
        const w = W[rr + i]!;
        const q = mask[rr + i] ? 0 : w;
        loss += (w - q) ** 2 / d ** 2 / 2;
        const e = (w - q) / d;
        err[r * count + c] = e;
        W[rr + i] = q;
        if (e !== 0) for (let k = i + 1; k < i2; k++) W[rr + k]! -= e * U[urow + k]!;
      }
    }
    propagateBlockError(W, err, U, rows, cols, i1, i2);
  }
  const out = Float32Array.from(W);
  for (let i = 0; i < out.length; i++) if (mask[i]) out[i] = 0;
  return { mask, weight: out, loss, percdamp, dampingRetries: retries };
}

export interface SparseGptMethodOptions { blocksize: number; percdamp: number }

export const SPARSEGPT: PruneMethod<SparseGptMethodOptions> = {
  name: 'sparsegpt',
  kind: 'prune',
  summary: 'OBS with the upper Cholesky factor of the damped H^-1, 128-column blocks, lazy updates, float64',
  needs: { stats: true, hessian: true },
  options: [
    { key: 'blocksize', flag: '--sparsegpt-blocksize', type: 'int', min: 1, description: 'SparseGPT: columns per lazy-update block (reference: 128)' },
    { key: 'percdamp', flag: '--sparsegpt-percdamp', type: 'number', min: 0, max: 10, description: 'SparseGPT: damping as a fraction of mean(diag H) (reference: 0.01)' },
  ],
  defaults: { blocksize: 128, percdamp: 0.01 },
  prune(l, o) {
    const r = sparsegpt(l.weight, l.hessianFactor(o.percdamp), l.rows, l.cols, l.target, o);
    l.weight.set(r.weight);
    return { mask: r.mask, detail: { loss: r.loss, percdamp: r.percdamp, damping_retries: r.dampingRetries } };
  },
};
