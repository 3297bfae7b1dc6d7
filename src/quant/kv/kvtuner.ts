/**
 * KVTuner (Li et al., "KVTuner: Sensitivity-Aware Layer-wise Mixed Precision KV Cache Quantization", ICML 2025;
 * cmd2001/KVTuner `search_optuna_adaptive.py`, `search_optuna_vanilla.py`):
 *  1. intra-layer pruning: per layer keep the Pareto-optimal (key bits, value bits) pairs in (equivalent bits,
 *     attention-output error), from the offline sensitivity profile (profile.ts);
 *  2. inter-layer clustering: layers with similar profiles (log errors over the candidate pairs) share one
 *     choice; the reference hard-codes its groups per model, Lithe computes them by average-linkage
 *     agglomerative clustering of the profiles; each group's template is the Pareto set of its mean profile;
 *  3. multi-objective search (NSGA-II with constraint domination, as Optuna's NSGAIISampler): one integer per
 *     group (index into its template), objectives (quality loss, mean equivalent bits), constraint
 *     mean_bits - budget <= 0, 100 trials. The reference scores GSM8K accuracy (20 questions); Lithe scores the
 *     KL divergence (or perplexity) of next-token distributions on calibration text against the float cache.
 * "vanilla": no clustering, one variable per layer over the standard template [KV8, K8V4, KV4, K4V2, KV2].
 */
import type { KvPair } from './config.js';
import { meanBits, pairName, parsePair } from './config.js';
import type { LayerProfile, PairSensitivity } from './profile.js';
import { Individual, nsga2 } from './nsga2.js';

export const STANDARD_TEMPLATE: readonly KvPair[] = ['KV8', 'K8V4', 'KV4', 'K4V2', 'KV2'].map((s) => parsePair(s));

/** Pairs not dominated in (bits, error): no other pair has <= bits and <= error with one strictly less. Sorted by bits, high first. */
export function paretoPairs<T extends { bits: number; err: number }>(items: readonly T[]): T[] {
  const keep = items.filter((a) => !items.some((b) => b !== a && b.bits <= a.bits && b.err <= a.err && (b.bits < a.bits || b.err < a.err)));
  const seen = new Set<string>();
  return keep.sort((a, b) => b.bits - a.bits || a.err - b.err).filter((x) => {
    const key = `${x.bits}:${x.err}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export type ProfileMetric = 'attnErr' | 'kl';

function errorOf(p: PairSensitivity, metric: ProfileMetric): number {
  return Math.max(p[metric], 1e-12);
}

/** Per-layer Pareto sets (intra-layer pruning). */
export function prunePairs(profiles: readonly LayerProfile[], metric: ProfileMetric = 'attnErr'): KvPair[][] {
  return profiles.map((lp) => paretoPairs(lp.pairs.map((p) => ({ bits: p.bits, err: errorOf(p, metric), pair: { k: p.k, v: p.v } as KvPair }))).map((x) => x.pair));
}

/**
 * Average-linkage agglomerative clustering of layer profiles (vectors of log errors over the same candidate
 * pairs) into `groups` clusters; each returned group lists layer indices in ascending order, groups ordered by
 * their first layer. Deterministic (ties broken by the lower pair of indices).
 */
export function clusterLayers(profiles: readonly LayerProfile[], groups: number, metric: ProfileMetric = 'attnErr'): number[][] {
  const vec = profiles.map((lp) => lp.pairs.map((p) => Math.log(errorOf(p, metric))));
  const dist = (a: number, b: number) => Math.sqrt(vec[a]!.reduce((s, x, i) => s + (x - vec[b]![i]!) ** 2, 0));
  let clusters = profiles.map((_, i) => [i]);
  const target = Math.max(1, Math.min(groups, profiles.length));
  while (clusters.length > target) {
    let best = Infinity, bi = 0, bj = 1;
    for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        let s = 0;
        for (const a of clusters[i]!) for (const b of clusters[j]!) s += dist(a, b);
        const d = s / (clusters[i]!.length * clusters[j]!.length);
        if (d < best) { best = d; bi = i; bj = j; }
      }
    }
    const merged = [...clusters[bi]!, ...clusters[bj]!].sort((a, b) => a - b);
    clusters = clusters.filter((_, k) => k !== bi && k !== bj);
    clusters.push(merged);
  }
  return clusters.sort((a, b) => a[0]! - b[0]!);
}

/** Template of a group: the Pareto set of the group's mean log-error profile. */
export function groupTemplate(profiles: readonly LayerProfile[], group: readonly number[], metric: ProfileMetric = 'attnErr'): KvPair[] {
  const first = profiles[group[0]!]!.pairs;
  const items = first.map((p, ci) => {
    const logErr = group.reduce((s, l) => s + Math.log(errorOf(profiles[l]!.pairs[ci]!, metric)), 0) / group.length;
    return { bits: p.bits, err: Math.exp(logErr), pair: { k: p.k, v: p.v } as KvPair };
  });
  return paretoPairs(items).map((x) => x.pair);
}

/** Default number of layer groups: about sqrt(layers) + 1 (KVTuner uses 5-8 groups for 28-64 layers). */
export function defaultGroupCount(nLayers: number): number {
  return Math.min(nLayers, Math.round(Math.sqrt(nLayers)) + 1);
}

export interface SearchSpace {
  groups: number[][];
  templates: KvPair[][];
}

export function adaptiveSpace(profiles: readonly LayerProfile[], groups: number, metric: ProfileMetric = 'attnErr'): SearchSpace {
  const g = clusterLayers(profiles, groups, metric);
  return { groups: g, templates: g.map((grp) => groupTemplate(profiles, grp, metric)) };
}

export function vanillaSpace(nLayers: number): SearchSpace {
  return { groups: Array.from({ length: nLayers }, (_, i) => [i]), templates: Array.from({ length: nLayers }, () => [...STANDARD_TEMPLATE]) };
}

export function layersOf(space: SearchSpace, genes: readonly number[], nLayers: number): KvPair[] {
  const layers: KvPair[] = new Array(nLayers);
  space.groups.forEach((g, i) => { for (const l of g) layers[l] = space.templates[i]![genes[i]!]!; });
  return layers;
}

export interface SearchTrial {
  layers: string[];
  meanBits: number;
  loss: number;
  feasible: boolean;
}

export interface SearchResult {
  space: { groups: number[][]; templates: string[][] };
  best: { layers: KvPair[]; meanBits: number; loss: number } | null;
  front: SearchTrial[];
  /** distinct configurations evaluated */
  trials: number;
  /** offspring bred by NSGA-II (repeats included) */
  offspring: number;
  seconds: number;
}

export interface SearchOptions {
  budget: number;
  trials: number;
  populationSize?: number;
  seed?: number;
  /** quality loss of a configuration (lower is better) */
  loss: (layers: KvPair[]) => Promise<number>;
  onTrial?: (trial: number, total: number, best: number | null) => void;
}

/** NSGA-II over a search space; the chosen preset is the feasible trial with the lowest loss (then fewer bits). */
export async function searchPreset(space: SearchSpace, nLayers: number, o: SearchOptions): Promise<SearchResult> {
  const t0 = performance.now();
  let best: Individual | null = null;
  const r = await nsga2({
    cardinalities: space.templates.map((t) => t.length), trials: o.trials, populationSize: o.populationSize, seed: o.seed,
    evaluate: async (genes) => {
      const layers = layersOf(space, genes, nLayers);
      const bits = meanBits(layers);
      return { objectives: [await o.loss(layers), bits], constraints: [bits - o.budget] };
    },
    onTrial: (trial, ind) => {
      if (ind.violation === 0 && (!best || ind.objectives[0]! < best.objectives[0]! || (ind.objectives[0] === best.objectives[0] && ind.objectives[1]! < best.objectives[1]!))) best = ind;
      o.onTrial?.(trial, o.trials, best ? (best as Individual).objectives[0]! : null);
    },
  });
  const describe = (ind: Individual): SearchTrial => ({
    layers: layersOf(space, ind.genes, nLayers).map(pairName), meanBits: ind.objectives[1]!, loss: ind.objectives[0]!, feasible: ind.violation === 0,
  });
  const b = best as Individual | null;
  return {
    space: { groups: space.groups, templates: space.templates.map((t) => t.map(pairName)) },
    best: b ? { layers: layersOf(space, b.genes, nLayers), meanBits: b.objectives[1]!, loss: b.objectives[0]! } : null,
    front: r.front.map(describe), trials: r.trials.length, offspring: r.offspring, seconds: (performance.now() - t0) / 1000,
  };
}
