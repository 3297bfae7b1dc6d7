/**
 * OWL: outlier-weighed layerwise sparsity (Yin et al., ICML 2024; luuyin/OWL lib/prune_all.py). From a dense
 * calibration pass, each block's Layer Outlier Distribution LOD_l = % of its linear-layer scores (all seven
 * concatenated) above M * their mean. Densities D_l = (LOD_l - min) / (max - min) * 2 lambda, shifted to mean
 * (1 - s); block sparsity s_l = 1 - D_l: blocks with more outliers stay denser. Defaults M = 5, lambda = 0.08.
 */
export interface OwlOptions {
  m: number;
  lambda: number;
}

export const OWL_DEFAULTS: OwlOptions = { m: 5, lambda: 0.08 };

/** Percent of scores above m * mean(scores) (OWL's check_outlier_mean). */
export function outlierRatio(scores: Float32Array[], m: number): number {
  let sum = 0, n = 0;
  for (const s of scores) { for (let i = 0; i < s.length; i++) sum += s[i]!; n += s.length; }
  const thresh = (sum / n) * m;
  let count = 0;
  for (const s of scores) for (let i = 0; i < s.length; i++) if (s[i]! > thresh) count++;
  return (100 * count) / n;
}

/** Per-block sparsities from per-block outlier ratios. */
export function owlSparsities(lod: number[], sparsity: number, o: OwlOptions): number[] {
  const lo = Math.min(...lod), hi = Math.max(...lod);
  const d = lod.map((x) => (hi > lo ? ((x - lo) / (hi - lo)) * o.lambda * 2 : 0));
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  return d.map((x) => 1 - (x - mean + (1 - sparsity)));
}
