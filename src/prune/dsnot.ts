/**
 * DSnoT: Dynamic Sparse No Training (Zhang et al., ICLR 2024; zyxxmu/DSnoT lib/prune.py `prune_DSnoT`).
 * Training-free mask refinement on top of an initial mask (Wanda, magnitude or SparseGPT scores). Weight values
 * never change; only which weights are kept. Per output row, with C_j = W_j * sumRow_j (the signed expected
 * contribution of input j, in "sum over seqlen tokens" units) the reconstruction error is e = sum_{j pruned} C_j.
 * Each cycle swaps one pruned weight back in (the regrow pick: the largest C/var^p when e > 0, the most negative
 * when e <= 0, from a ranking made once) against one kept weight out (the prune pick: among kept weights ordered
 * by Wanda score, the least important with the sign that moves e toward zero), while |e| > updateThreshold and,
 * optionally, the swap keeps e's initial sign. A row that stops never restarts; at most maxCycles swaps per row.
 * N:M: the prune pick is the kept weight with the smallest initial score in the regrown weight's group, and the
 * same-sign check is always on (as in the reference).
 *
 * Faithfulness notes:
 * - Defaults are the reference's: 50 cycles, threshold 0.1, variance power 1, same-sign check OFF for
 *   unstructured (the released `--without_same_sign` is argparse type=bool with default True, so it can never
 *   be turned off from the command line); skip_layer "mlp" (gate/up/down keep their initial mask) is applied by
 *   the caller.
 * - The reference also writes the mask for rows that have stopped (prune pick -> kept, regrow pick -> pruned)
 *   while other rows continue; when a row's cursor has walked into weights of the other state this changes its
 *   count (why its 2:4 output is not exactly 2:4 everywhere). By default only active rows change, which keeps
 *   per-row counts and N:M groups exact; `referenceMaskWrites` reproduces the reference.
 * - The reference's prune ranking puts exact-zero contributions in the middle as copies of column 0 (a
 *   harmless quirk); here they keep their own columns.
 * - Extensions (off by default): `cyclesPerColumn` sets the swap budget as a fraction of the row width (the
 *   paper's 50 swaps are ~1.2% of a 4096-wide LLaMA-7B row); `errorGuard` stops a row when a swap would not
 *   reduce |e|.
 */
import { argsortEnds, argsortRow, markGroupLowest, Mask, maskFor, NM } from './mask.js';
import type { PruneMethod } from './method.js';
import { wandaScores } from './wanda.js';

export interface DsnotOptions {
  maxCycles: number;
  updateThreshold: number;
  powOfVar: number;
  sameSignCheck: boolean;
  cyclesPerColumn?: number;
  errorGuard?: boolean;
  referenceMaskWrites?: boolean;
}

export const DSNOT_DEFAULTS: DsnotOptions = { maxCycles: 50, updateThreshold: 0.1, powOfVar: 1, sameSignCheck: false };

export interface DsnotInput {
  weight: Float32Array;
  rows: number;
  cols: number;
  /** the initial-mask metric (lower = pruned first) */
  initialMetric: ArrayLike<number>;
  /** Wanda scores |W| * ||X|| (the prune-pick ranking) */
  wandaScore: ArrayLike<number>;
  sumRow: ArrayLike<number>;
  variance: ArrayLike<number>;
}

export interface DsnotResult {
  mask: Mask;
  /** swaps made, over all rows */
  swaps: number;
  /** mean |e| per row before and after */
  errorBefore: number;
  errorAfter: number;
}

const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

/**
 * An active row prunes p and regrows g, and its error becomes eAfter; a stopped row changes nothing, unless
 * referenceMaskWrites, where (as in the reference) it writes p kept and g pruned. Returns the swaps made (0 or 1).
 */
function commitSwap(mask: Mask, base: number, p: number, g: number, s: { active: boolean; e: number }, eAfter: number, o: DsnotOptions): number {
  if (s.active) {
    mask[base + p] = 1;
    mask[base + g] = 0;
    s.e = eAfter;
    return 1;
  }
  if (o.referenceMaskWrites) {
    mask[base + p] = 0;
    mask[base + g] = 1;
  }
  return 0;
}

export function dsnot(inp: DsnotInput, target: { sparsity?: number; nm?: NM }, options: Partial<DsnotOptions> = {}): DsnotResult {
  const o = { ...DSNOT_DEFAULTS, ...options };
  const { rows, cols, weight } = inp;
  const cycles = o.cyclesPerColumn !== undefined ? Math.max(1, Math.round(o.cyclesPerColumn * cols)) : o.maxCycles;
  const C = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) C[r * cols + j] = weight[r * cols + j]! * inp.sumRow[j]!;
  const varPow = Float64Array.from({ length: cols }, (_, j) => (o.powOfVar ? inp.variance[j]! ** o.powOfVar : 1));
  return target.nm ? dsnotNM(inp, C, varPow, target.nm, cycles, o) : dsnotUnstructured(inp, C, varPow, target.sparsity!, cycles, o);
}

/**
 * Column indices j of a row with sel[j] set, ordered by (metric[j], j): a sort over the selected entries only.
 * With `ends`, only the first and last `ends` of that order (see argsortEnds).
 */
function sortedSelection(metric: Float64Array, sel: Uint8Array, count: number, ends = Infinity): Int32Array {
  const cols = new Int32Array(count), vals = new Float64Array(count);
  for (let j = 0, n = 0; j < sel.length; j++) if (sel[j]) { cols[n] = j; vals[n++] = metric[j]!; }
  const order = ends < count ? argsortEnds(vals, 0, count, ends) : argsortRow(vals, 0, count);
  for (let i = 0; i < order.length; i++) order[i] = cols[order[i]!]!;
  return order;
}

function dsnotUnstructured(inp: DsnotInput, C: Float64Array, varPow: Float64Array, sparsity: number, cycles: number, o: DsnotOptions): DsnotResult {
  const { rows, cols } = inp;
  const k = Math.floor(cols * sparsity);
  const mask = new Uint8Array(rows * cols);
  let swaps = 0, before = 0, after = 0;
  // per-row state, advanced in lockstep so that referenceMaskWrites matches the reference's global loop
  const state = [];
  const regrowMetric = new Float64Array(cols);
  const pruned = new Uint8Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const order = argsortRow(inp.initialMetric, base, cols);
    pruned.fill(0);
    regrowMetric.fill(0);
    for (let i = 0; i < k; i++) { pruned[order[i]!] = 1; mask[base + order[i]!] = 1; }
    let e = 0;
    for (let j = 0; j < cols; j++) if (pruned[j]) { e += C[base + j]!; regrowMetric[j] = C[base + j]! / varPow[j]!; }
    // regrow ranking: the reference sorts all columns (kept ones score 0); the intent ranks pruned ones only
    // a row takes at most `cycles` regrow picks from the two ends, so only those ends are ranked
    const regrow = o.referenceMaskWrites ? argsortRow(regrowMetric, 0, cols) : sortedSelection(regrowMetric, pruned, k, cycles);
    // prune ranking: kept weights by ascending Wanda score, then [C < 0 ascending][C == 0][C > 0 descending]
    let kept: Int32Array;
    if (inp.initialMetric === inp.wandaScore) {
      kept = order.subarray(k); // Wanda init: the kept weights are already in ascending Wanda order
    } else {
      const wanda = new Float64Array(cols);
      for (let j = 0; j < cols; j++) wanda[j] = inp.wandaScore[base + j]!;
      const keptSel = new Uint8Array(cols);
      for (let j = 0; j < cols; j++) keptSel[j] = pruned[j] ? 0 : 1;
      kept = sortedSelection(wanda, keptSel, cols - k);
    }
    const prune = new Int32Array(kept.length);
    let neg = 0, zero = 0;
    for (const j of kept) if (C[base + j]! < 0) neg++; else if (C[base + j] === 0) zero++;
    let ni = 0, zi = neg, pi = kept.length - 1;
    for (const j of kept) {
      const c = C[base + j]!;
      if (c < 0) prune[ni++] = j;
      else if (c === 0) prune[zi++] = j;
      else prune[pi--] = j;
    }
    before += Math.abs(e);
    state.push({ e, sign0: sign(e), regrow, prune, rl: 0, rr: regrow.length - 1, pl: 0, pr: prune.length - 1, active: regrow.length > 0 && prune.length > 0 });
  }
  let active = state.filter((s) => s.active).length;
  for (let cycle = 0; cycle < cycles && active > 0; cycle++) {
    for (let r = 0; r < rows; r++) {
      const s = state[r]!, base = r * cols;
      if (!s.active && !o.referenceMaskWrites) continue;
      if (s.rl > s.rr || s.pl > s.pr) {
        if (s.active) active--;
        s.active = false;
        continue;
      }
      const g = s.e > 0 ? s.regrow[s.rr--]! : s.regrow[s.rl++]!;
      const p = s.e < 0 ? s.prune[s.pr--]! : s.prune[s.pl++]!;
      const eAfter = s.e + C[base + p]! - C[base + g]!;
      const was = s.active;
      s.active = s.active && Math.abs(s.e) > o.updateThreshold && (!o.sameSignCheck || sign(eAfter) === s.sign0) && (!o.errorGuard || Math.abs(eAfter) < Math.abs(s.e));
      if (was && !s.active) active--;
      swaps += commitSwap(mask, base, p, g, s, eAfter, o);
    }
  }
  for (const s of state) after += Math.abs(s.e);
  return { mask, swaps, errorBefore: before / rows, errorAfter: after / rows };
}

function dsnotNM(inp: DsnotInput, C: Float64Array, varPow: Float64Array, nm: NM, cycles: number, o: DsnotOptions): DsnotResult {
  const { rows, cols } = inp;
  const mask = new Uint8Array(rows * cols);
  let swaps = 0, before = 0, after = 0;
  const state = [];
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const metric = new Float64Array(cols);
    for (let j = 0; j < cols; j++) metric[j] = inp.initialMetric[base + j]!;
    for (let g = 0; g < cols; g += nm.m) markGroupLowest(metric, g, nm.m, nm.n, mask, base + g);
    let e = 0;
    const regrowMetric = new Float64Array(cols);
    const prunedRow = mask.subarray(base, base + cols);
    let count = 0;
    for (let j = 0; j < cols; j++) if (prunedRow[j]) { e += C[base + j]!; regrowMetric[j] = C[base + j]! / varPow[j]!; metric[j] = Infinity; count++; }
    const regrow = o.referenceMaskWrites ? argsortRow(regrowMetric, 0, cols) : sortedSelection(regrowMetric, prunedRow, count, cycles);
    before += Math.abs(e);
    state.push({ e, sign0: sign(e), regrow, metric, rl: 0, rr: regrow.length - 1, active: regrow.length > 0 });
  }
  for (let cycle = 0; cycle < cycles && state.some((s) => s.active); cycle++) {
    for (let r = 0; r < rows; r++) {
      const s = state[r]!, base = r * cols;
      if (!s.active && !o.referenceMaskWrites) continue;
      if (s.rl > s.rr) { s.active = false; continue; }
      const right = s.e > 0;
      const g = right ? s.regrow[s.rr]! : s.regrow[s.rl]!;
      const start = g - (g % nm.m);
      let p = start;
      for (let j = start + 1; j < start + nm.m; j++) if (s.metric[j]! < s.metric[p]!) p = j;
      const eAfter = s.e + C[base + p]! - C[base + g]!;
      const hasCandidate = s.metric[p] !== Infinity || !!o.referenceMaskWrites;
      s.active = s.active && hasCandidate && sign(eAfter) === s.sign0 && Math.abs(s.e) > o.updateThreshold && (!o.errorGuard || Math.abs(eAfter) < Math.abs(s.e));
      s.metric[p] = Infinity;
      swaps += commitSwap(mask, base, p, g, s, eAfter, o);
      if (right) s.rr--; else s.rl++;
    }
  }
  for (const s of state) after += Math.abs(s.e);
  return { mask, swaps, errorBefore: before / rows, errorAfter: after / rows };
}

export type DsnotInit = 'wanda' | 'magnitude' | 'sparsegpt' | 'sparsegpt-reference';

/** The registered method: DsnotOptions plus the initial mask and the reference's skip_layer. */
export interface DsnotMethodOptions extends DsnotOptions {
  /** initial mask scores; sparsegpt-reference: the released code never fills H, so its "sparsegpt" scores are all zero */
  init: DsnotInit;
  /** sub-layers (module name prefix) that keep their initial mask: the reference skips mlp */
  skipLayer: 'none' | 'mlp' | 'self_attn';
}

export const DSNOT: PruneMethod<DsnotMethodOptions> = {
  name: 'dsnot',
  kind: 'prune',
  summary: 'mask refinement by prune/regrow swaps on top of an initial Wanda, magnitude or SparseGPT mask',
  needs: { stats: true, hessian: (o) => o.init === 'sparsegpt' },
  options: [
    { key: 'init', flag: '--init', type: 'choice', choices: ['wanda', 'magnitude', 'sparsegpt', 'sparsegpt-reference'], description: 'DSnoT initial mask: wanda (default) | magnitude | sparsegpt | sparsegpt-reference' },
    { key: 'skipLayer', flag: '--skip-layer', type: 'choice', choices: ['none', 'mlp', 'self_attn'], description: 'DSnoT: sub-layers that keep their initial mask: mlp (reference default) | self_attn | none' },
    { key: 'maxCycles', flag: '--dsnot-cycles', type: 'int', min: 0, description: 'DSnoT: max swaps per row (reference: 50)' },
    { key: 'updateThreshold', flag: '--dsnot-threshold', type: 'number', min: 0, max: 1e12, description: 'DSnoT: stop a row when |error| <= t (reference: 0.1)' },
    { key: 'powOfVar', flag: '--dsnot-var-power', type: 'number', min: 0, max: 10, description: 'DSnoT: variance power in the regrow score (reference: 1)' },
    { key: 'sameSignCheck', flag: '--dsnot-same-sign', type: 'boolean', description: 'DSnoT: only swap while the error keeps its initial sign (always on for N:M)' },
    { key: 'cyclesPerColumn', flag: '--dsnot-cycles-per-column', type: 'number', min: 0, max: 1, description: 'DSnoT extension: swap budget as a fraction of the row width (paper proportion: 0.0122)' },
    { key: 'errorGuard', flag: '--dsnot-error-guard', type: 'boolean', description: 'DSnoT extension: stop a row when a swap would not reduce |error|' },
    { key: 'referenceMaskWrites', flag: '--dsnot-reference-masks', type: 'boolean', description: 'DSnoT: reproduce the reference mask writes for stopped rows (per-row counts may drift)' },
  ],
  defaults: { ...DSNOT_DEFAULTS, init: 'wanda', skipLayer: 'mlp', errorGuard: false, referenceMaskWrites: false },
  prune(l, o) {
    const { weight: w, rows, cols, target } = l, st = l.stats!;
    const wanda = wandaScores(w, st.scalerRow, rows, cols);
    let metric: ArrayLike<number> = wanda;
    if (o.init === 'magnitude') metric = w.map(Math.abs);
    else if (o.init === 'sparsegpt-reference') metric = new Float32Array(w.length);
    else if (o.init === 'sparsegpt') {
      const { U } = l.hessianFactor(0.01);
      metric = Float64Array.from(w, (v, idx) => v * v / U[(idx % cols) * cols + (idx % cols)]! ** 2);
    }
    if (o.skipLayer !== 'none' && l.name.startsWith(o.skipLayer === 'mlp' ? 'mlp.' : 'self_attn.')) return { mask: maskFor(metric, rows, cols, target) };
    const r = dsnot({ weight: w, rows, cols, initialMetric: metric, wandaScore: wanda, sumRow: st.sumRow, variance: st.variance }, target, o);
    return { mask: r.mask, detail: { swaps: r.swaps, error_before: r.errorBefore, error_after: r.errorAfter } };
  },
};
