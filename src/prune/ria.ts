/**
 * RIA: Relative Importance and Activations (Zhang et al., "Plug-and-Play: An Efficient Post-training Pruning
 * Method for Large Language Models", ICLR 2024; biomedical-cybernetics/Relative-importance-and-activation-pruning,
 * lib/prune.py `prune_ria`). Score S_ij = (|W_ij| / sum_i |W_ij| + |W_ij| / sum_j |W_ij|) * ||X_j||^a: a weight's
 * share of its input column plus its share of its output row, times the input's activation norm to the power
 * a (0.5 by default). Unstructured (reference default): one threshold for the whole matrix, the score at sorted
 * position floor(numel * s), every score <= it pruned (as its magnitude baseline; `perOutneuron` = Wanda's
 * per-row comparison instead). N:M: the N lowest of every M-group.
 *
 * Channel reallocation (`reallocation`, off by default as in the reference): before N:M, input channels are
 * reordered so that important ones spread over the M positions of the groups. Channels are sorted by an
 * importance (`importance`: the column sum of S, or the retained degree of a trial unstructured / per-row mask),
 * the sorted list is cut into M chunks, and chunk k goes to group position k (every other chunk reversed); N:M is
 * taken in that order and mapped back, so the zeros land in the original layout, as the reference writes them.
 * The mask is then N:M in the permuted order only: running it as N:M needs the permutation (not stored here).
 * The reference's linear-sum-assignment refinement (`--lsa`) is not implemented.
 *
 * Faithfulness: scores are computed in float64 and compared as float32 (the reference computes in the model's
 * dtype, fp16 in its runs), so ties between near-equal scores may break differently; a zero row or column sum
 * gives NaN scores, which sort last and are kept, as torch sorts NaN.
 */
import { argsortRow, Mask, nmMask, perRowMask, Target, thresholdMask } from './mask.js';
import type { PruneMethod } from './method.js';
import { OptionError } from '../util/errors.js';

export type RiaImportance = 'sum' | 'retained-degree-unstructured' | 'retained-degree-per-outneuron';

export interface RiaOptions {
  /** exponent a of the activation norm */
  alpha: number;
  /** unstructured: compare per output row (Wanda's tactic) instead of one whole-matrix threshold */
  perOutneuron: boolean;
  /** N:M: heuristic channel reallocation */
  reallocation: boolean;
  importance: RiaImportance;
}

export function riaScores(w: Float32Array, scalerRow: ArrayLike<number>, rows: number, cols: number, alpha: number): Float32Array {
  const colSum = new Float64Array(cols), rowSum = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(w[r * cols + j]!);
      colSum[j]! += a;
      rowSum[r]! += a;
    }
  }
  const act = Float64Array.from({ length: cols }, (_, j) => Math.sqrt(scalerRow[j]!) ** alpha);
  const s = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const a = Math.abs(w[r * cols + j]!);
      s[r * cols + j] = (a / colSum[j]! + a / rowSum[r]!) * act[j]!;
    }
  }
  return s;
}

/** Column order for reallocation: ascending importance (the reference's lexsort of (pruned count, kept score) or the column sum). */
function channelOrder(scores: Float32Array, rows: number, cols: number, sparsity: number, importance: RiaImportance): Int32Array {
  const colSum = new Float64Array(cols);
  if (importance === 'sum') {
    for (let i = 0; i < scores.length; i++) colSum[i % cols]! += scores[i]!;
    return argsortRow(colSum, 0, cols);
  }
  const trial = importance === 'retained-degree-unstructured' ? thresholdMask(scores, sparsity) : perRowMask(scores, rows, cols, sparsity);
  const pruned = new Float64Array(cols), kept = new Float64Array(cols);
  for (let i = 0; i < scores.length; i++) {
    if (trial[i]) pruned[i % cols]! += 1;
    else kept[i % cols]! += scores[i]!;
  }
  // lexsort(keys): the last key is the primary one; stable sorts by the secondary key first, then the primary
  const bySecondary = argsortRow(pruned, 0, cols);
  const primary = Float64Array.from(bySecondary, (c) => kept[c]!);
  return Int32Array.from(argsortRow(primary, 0, cols), (k) => bySecondary[k]!);
}

function reallocatedNM(scores: Float32Array, rows: number, cols: number, n: number, m: number, importance: RiaImportance): Mask {
  const sorted = channelOrder(scores, rows, cols, n / m, importance);
  const index = new Int32Array(cols);
  for (let k = 1; k <= m; k++) {
    const lo = Math.floor((cols * (k - 1)) / m), hi = Math.floor((cols * k) / m);
    const chunk = sorted.slice(lo, hi);
    if (k % 2 === 0) chunk.reverse();
    for (let t = 0; t < chunk.length; t++) index[k - 1 + t * m] = chunk[t]!;
  }
  const permuted = new Float32Array(scores.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) permuted[r * cols + k] = scores[r * cols + index[k]!]!;
  const pm = nmMask(permuted, rows, cols, { n, m });
  const mask = new Uint8Array(scores.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) mask[r * cols + index[k]!] = pm[r * cols + k]!;
  return mask;
}

export function riaMask(w: Float32Array, scalerRow: ArrayLike<number>, rows: number, cols: number, t: Target, o: RiaOptions): Mask {
  const scores = riaScores(w, scalerRow, rows, cols, o.alpha);
  if (t.nm) return o.reallocation ? reallocatedNM(scores, rows, cols, t.nm.n, t.nm.m, o.importance) : nmMask(scores, rows, cols, t.nm);
  return o.perOutneuron ? perRowMask(scores, rows, cols, t.sparsity!) : thresholdMask(scores, t.sparsity!);
}

export const RIA: PruneMethod<RiaOptions> = {
  name: 'ria',
  kind: 'prune',
  summary: '(|W|/column sum + |W|/row sum) * ||X||^a with one whole-matrix threshold; N:M with optional channel reallocation',
  needs: { stats: true, hessian: false },
  options: [
    { key: 'alpha', flag: '--ria-alpha', type: 'number', min: 0, max: 10, description: 'RIA: exponent of the activation norm (reference: 0.5)' },
    { key: 'perOutneuron', flag: '--ria-per-outneuron', type: 'boolean', description: 'RIA: compare scores per output row instead of one whole-matrix threshold' },
    { key: 'reallocation', flag: '--ria-reallocation', type: 'boolean', description: 'RIA: N:M with heuristic channel reallocation (the mask is N:M in the permuted channel order)' },
    { key: 'importance', flag: '--ria-importance', type: 'choice', choices: ['sum', 'retained-degree-unstructured', 'retained-degree-per-outneuron'], description: 'RIA: channel importance for reallocation' },
  ],
  defaults: { alpha: 0.5, perOutneuron: false, reallocation: false, importance: 'sum' },
  validate(o, t) {
    if (o.reallocation && !t.nm) throw new OptionError('ria option reallocation', 'applies to N:M sparsity only');
  },
  prune: (l, o) => ({ mask: riaMask(l.weight, l.stats!.scalerRow, l.rows, l.cols, l.target, o) }),
};
