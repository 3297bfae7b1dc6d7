/**
 * The contract of a pruning method (the method registry, registry.ts): a module exports one `PruneMethod` with its
 * name, the statistics it needs, its options and defaults, and `prune`, which decides one linear's mask from its
 * weights and input statistics. The block-sequential plumbing (calibration, statistics, OWL ratios, rounding,
 * re-running the block) is prune-model.ts's; a method's math stays in its own file.
 */
import type { LinearStats } from '../calib/stats.js';
import type { MethodInfo } from '../util/method-options.js';
import type { InverseHessianFactor } from '../linalg/obs.js';
import type { Mask, Target } from './mask.js';

export interface PruneLayer {
  /** float weights [rows, cols]; a method that reconstructs (SparseGPT) updates them in place */
  weight: Float32Array;
  rows: number;
  cols: number;
  /** the linear's name inside its block, e.g. 'mlp.down_proj' */
  name: string;
  target: Target;
  /** the statistics of the linear's input (null for a method that needs none) */
  stats: LinearStats | null;
  /** the damped inverse-Hessian factor of the input, computed once per statistics group */
  hessianFactor(percdamp?: number): InverseHessianFactor;
}

export interface PruneOutcome {
  /** 1 = pruned */
  mask: Mask;
  /** per-linear numbers for the report (swaps, losses, ...) */
  detail?: Record<string, number>;
}

export interface PruneMethod<O extends object = object> extends MethodInfo<O> {
  readonly kind: 'prune';
  /** checks option combinations against the target (throws OptionError) */
  validate?(o: O, target: Target): void;
  prune(layer: PruneLayer, o: O): PruneOutcome;
}
