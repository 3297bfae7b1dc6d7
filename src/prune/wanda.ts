/**
 * Wanda (Sun et al., "A Simple and Effective Pruning Approach for Large Language Models", ICLR 2024;
 * locuslab/wanda `prune_wanda`). Score S_ij = |W_ij| * ||X_j||_2 (||X_j||^2 = scalerRow_j up to a constant),
 * compared per output row: each row loses exactly floor(cols * s) weights (stable sort). N:M per M-group.
 * `variant` is the paper's appendix variant (--use_variant): per row, prune the lowest scores whose cumulative
 * sum stays below alpha * the row total, with alpha bisected in [0, 0.8] from 0.4 until the layer's sparsity is
 * within 0.001 of the target.
 */
import { argsortRow, Mask, maskFor, Target } from './mask.js';
import type { PruneMethod } from './method.js';
import { OptionError } from '../util/errors.js';

export function wandaScores(w: Float32Array, scalerRow: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const s = new Float32Array(w.length);
  const norms = Float32Array.from({ length: cols }, (_, j) => Math.sqrt(scalerRow[j]!));
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) s[r * cols + j] = Math.abs(w[r * cols + j]!) * norms[j]!;
  return s;
}

export function wandaMask(w: Float32Array, scalerRow: ArrayLike<number>, rows: number, cols: number, t: Target, variant = false): Mask {
  const scores = wandaScores(w, scalerRow, rows, cols);
  if (!variant || t.nm) return maskFor(scores, rows, cols, t);
  return variantMask(scores, rows, cols, t.sparsity!);
}

function variantMask(scores: Float32Array, rows: number, cols: number, target: number): Mask {
  const sortedVals: Float32Array[] = [], cumsum: Float64Array[] = [], totals = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const order = argsortRow(scores, r * cols, cols);
    const vals = Float32Array.from(order, (i) => scores[r * cols + i]!);
    const cs = new Float64Array(cols);
    let acc = 0;
    for (let i = 0; i < cols; i++) cs[i] = acc += vals[i]!;
    sortedVals.push(vals);
    cumsum.push(cs);
    totals[r] = acc;
  }
  const maskAt = (alpha: number): [Mask, number] => {
    const mask = new Uint8Array(rows * cols);
    let pruned = 0;
    for (let r = 0; r < rows; r++) {
      let count = 0;
      while (count < cols && cumsum[r]![count]! <= totals[r]! * alpha) count++;
      // torch.gather at index count-1 wraps to the last element when count == 0
      const thresh = sortedVals[r]![count > 0 ? count - 1 : cols - 1]!;
      for (let j = 0; j < cols; j++) if (scores[r * cols + j]! <= thresh) { mask[r * cols + j] = 1; pruned++; }
    }
    return [mask, pruned / (rows * cols)];
  };
  let alpha = 0.4, lo = 0, hi = 0.8;
  let [mask, cur] = maskAt(alpha);
  while (Math.abs(cur - target) > 0.001 && hi - lo >= 0.001) {
    if (cur > target) { const next = (alpha + lo) / 2; hi = alpha; alpha = next; }
    else { const next = (alpha + hi) / 2; lo = alpha; alpha = next; }
    [mask, cur] = maskAt(alpha);
  }
  return mask;
}

export interface WandaOptions { variant: boolean }

export const WANDA: PruneMethod<WandaOptions> = {
  name: 'wanda',
  kind: 'prune',
  summary: '|W| * ||X|| compared per output row (exactly floor(cols * s) per row); N:M per group',
  needs: { stats: true, hessian: false },
  options: [{ key: 'variant', flag: '--wanda-variant', type: 'boolean', description: 'Wanda: the cumulative-score variant (appendix)' }],
  defaults: { variant: false },
  validate(o, t) {
    if (o.variant && t.nm) throw new OptionError('wanda option variant', 'applies to unstructured sparsity only');
  },
  prune: (l, o) => ({ mask: wandaMask(l.weight, l.stats!.scalerRow, l.rows, l.cols, l.target, o.variant) }),
};
