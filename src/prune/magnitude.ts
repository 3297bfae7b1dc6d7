/**
 * Magnitude pruning (the baseline of Han et al. 2015 as run by locuslab/wanda `prune_magnitude`). Score |W|;
 * unstructured: one threshold for the whole matrix, the value at sorted position floor(numel * s), and every
 * weight with |W| <= threshold is pruned, so ties may over-prune slightly, as in the reference. N:M: the N
 * smallest |W| of every M-group of a row.
 */
import { Mask, nmMask, Target, thresholdMask } from './mask.js';
import type { PruneMethod } from './method.js';

export function magnitudeMask(w: Float32Array, rows: number, cols: number, t: Target): Mask {
  const abs = w.map(Math.abs);
  return t.nm ? nmMask(abs, rows, cols, t.nm) : thresholdMask(abs, t.sparsity!);
}

export const MAGNITUDE: PruneMethod<Record<string, never>> = {
  name: 'magnitude',
  kind: 'prune',
  summary: '|W| with one whole-matrix threshold (ties pruned too, as the reference); N:M per group',
  needs: { stats: false, hessian: false },
  options: [],
  defaults: {},
  prune: (l) => ({ mask: magnitudeMask(l.weight, l.rows, l.cols, l.target) }),
};
