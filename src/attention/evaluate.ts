/**
 * Runs sparse-attention methods side by side against dense flash attention on one set of Q, K, V [heads, N, d]
 * and measures what the papers measure (research notes section 8.1): output error vs dense (relative L1 / L2,
 * cosine similarity, overall and worst head), attention-mass recall of the executed mask (exact, from the dense
 * softmax's block mass), realised density (computed token pairs including forced dense rows/columns), and the
 * times of mask prediction, permutation and the attention kernel, with the speedup over the dense kernel measured
 * in the same run (median of `repeat` calls each).
 */
import type { Backend, BlockAttentionParams } from '../backend/backend.js';
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { throwIfCancelled } from '../util/errors.js';
import { median, timed } from '../util/timing.js';
import { compactMask, compactSearchForSparsity, type CompactConfig, configTileGrid, tileGrid, type TileGrid } from './compact.js';
import { gridTokens, permuteHeads, type Layout, type VideoGrid } from './layout.js';
import type { BlockMask } from './mask.js';
import { rainfusionPlan, RAINFUSION_DEFAULTS, type RainFusionOptions, type RainFusionHead } from './rainfusion.js';
import { rainfusion2Layout, rainfusion2Plan, RAINFUSION2_DEFAULTS, type RainFusion2Options } from './rainfusion2.js';
import type { HeadKind } from './synthetic.js';

export interface AttentionInputs {
  grid: VideoGrid;
  heads: number;
  headDim: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** known head kinds (synthetic inputs) */
  kinds?: HeadKind[];
}

export const METHODS = ['dense', 'rainfusion', 'rainfusion2', 'compact'] as const;
export type MethodName = (typeof METHODS)[number];

export interface OutputMetrics {
  relL1: number;
  relL2: number;
  cosine: number;
  minHeadCosine: number;
}

export function outputMetrics(out: ArrayLike<number>, ref: ArrayLike<number>, heads: number): OutputMetrics {
  const per = ref.length / heads;
  let l1 = 0, r1 = 0, l2 = 0, r2 = 0, dot = 0, oo = 0, minCos = 1;
  for (let h = 0; h < heads; h++) {
    let hd = 0, ho = 0, hr = 0;
    for (let i = h * per; i < (h + 1) * per; i++) {
      const a = out[i]!, b = ref[i]!;
      l1 += Math.abs(a - b); r1 += Math.abs(b);
      l2 += (a - b) ** 2; r2 += b * b;
      hd += a * b; ho += a * a; hr += b * b;
    }
    dot += hd; oo += ho;
    minCos = Math.min(minCos, hd / Math.sqrt(Math.max(ho * hr, 1e-300)));
  }
  return { relL1: l1 / r1, relL2: Math.sqrt(l2 / r2), cosine: dot / Math.sqrt(Math.max(oo * r2, 1e-300)), minHeadCosine: minCos };
}

export interface MethodResult extends OutputMetrics {
  method: MethodName;
  sparsity: number;
  density: number;
  /** mean over heads of the attention-mass recall */
  recall: number;
  maskMs: number;
  permuteMs: number;
  attentionMs: number;
  /** dense kernel time / this kernel time */
  speedup: number;
  /** dense kernel time / (mask + permutation + kernel) */
  endToEndSpeedup: number;
  /** per-head choice (rainfusion) or shape (compact) */
  heads?: string[];
}

export interface EvaluateOptions {
  block: number;
  sparsity: number;
  repeat: number;
  rainfusion?: Partial<Omit<RainFusionOptions, 'sparsity' | 'block'>>;
  rainfusion2?: Partial<Omit<RainFusion2Options, 'sparsity' | 'block'>>;
  /** a saved configuration, or calibration inputs to search one at the target sparsity */
  compact?: { config?: CompactConfig; configFile?: string; calibration?: AttentionInputs[] };
  signal?: AbortSignal;
  onProgress?: (what: string) => void;
}

interface Plan {
  layouts: Layout[];
  mask: BlockMask;
  heads?: string[];
}

/** Backend tensors of one evaluation step, freed together. */
class TensorScope {
  private readonly tensors: Tensor[] = [];

  constructor(readonly be: Backend) {}

  upload(x: Float32Array): Tensor {
    const t = this.be.alloc([x.length]);
    this.be.write(t, x);
    this.tensors.push(t);
    return t;
  }

  alloc(n: number): Tensor {
    const t = this.be.alloc([n]);
    this.tensors.push(t);
    return t;
  }

  release(): void {
    for (const t of this.tensors.splice(0)) this.be.free(t);
  }
}

/** Block mass [heads, nb, nb] of q/k (already in the mask's layout) from the dense row log-sum-exp. */
export async function blockMassOf(be: Backend, q: Float32Array, k: Float32Array, lse: Float32Array, p: BlockAttentionParams): Promise<Float32Array> {
  const s = new TensorScope(be);
  try {
    const nb = Math.ceil(p.tokens / p.block);
    const mass = s.alloc(p.heads * nb * nb);
    ops.blockMass(be, s.upload(q), s.upload(k), s.upload(lse), mass, p);
    return await be.read(mass);
  } finally {
    s.release();
  }
}

function attentionParams(x: AttentionInputs, block: number) {
  return { heads: x.heads, tokens: gridTokens(x.grid), headDim: x.headDim, block, scale: 1 / Math.sqrt(x.headDim) };
}

/** Dense flash attention of the inputs: output, per-row log-sum-exp and the median kernel time. */
export async function denseAttention(be: Backend, x: AttentionInputs, block: number, repeat: number): Promise<{ out: Float32Array; lse: Float32Array; ms: number }> {
  const s = new TensorScope(be);
  try {
    const q = s.upload(x.q), k = s.upload(x.k), v = s.upload(x.v), out = s.alloc(x.q.length), lse = s.alloc(x.heads * gridTokens(x.grid));
    const { ms } = await timed(repeat, async () => { ops.blockAttention(be, q, k, v, out, attentionParams(x, block), undefined, lse); await be.finish(); });
    return { out: await be.read(out), lse: await be.read(lse), ms };
  } finally {
    s.release();
  }
}

type Permuted = { q: Float32Array; k: Float32Array; v: Float32Array };

/** Q, K and V gathered into per-head orders (one order: every head). */
function permuteInputs(x: AttentionInputs, orders: readonly Int32Array[]): Permuted {
  return { q: permuteHeads(x.q, x.heads, x.headDim, orders), k: permuteHeads(x.k, x.heads, x.headDim, orders), v: permuteHeads(x.v, x.heads, x.headDim, orders) };
}

export async function compactCalibrationMass(be: Backend, g: TileGrid, x: AttentionInputs): Promise<Float32Array> {
  const xp = { ...x, ...permuteInputs(x, [g.layout.order]) };
  const dense = await denseAttention(be, xp, g.block, 1);
  return blockMassOf(be, xp.q, xp.k, dense.lse, attentionParams(x, g.block));
}

/** The block mass of the calibration inputs in a compact tile layout, averaged; `onInput` after each. */
export async function calibrationMass(be: Backend, g: TileGrid, calibration: AttentionInputs[], onInput?: (done: number) => Promise<void> | void): Promise<Float64Array> {
  if (!calibration.length) throw new Error('compact: give a configuration or calibration inputs');
  const mass = new Float64Array(calibration[0]!.heads * g.nb * g.nb);
  for (let i = 0; i < calibration.length; i++) {
    const m = await compactCalibrationMass(be, g, calibration[i]!);
    for (let j = 0; j < mass.length; j++) mass[j]! += m[j]! / calibration.length;
    await onInput?.(i + 1);
  }
  return mass;
}

/** Averaged calibration mass, then the search for the target sparsity. */
async function calibrateCompact(be: Backend, grid: VideoGrid, o: EvaluateOptions): Promise<EvaluateOptions> {
  if (o.compact?.config) return o;
  o.onProgress?.('compact search');
  const g = tileGrid(grid, o.block);
  const calibration = o.compact?.calibration ?? [];
  const config = compactSearchForSparsity(g, await calibrationMass(be, g, calibration), calibration[0]!.heads, o.sparsity);
  return { ...o, compact: { ...o.compact, config } };
}

/**
 * Mask prediction and permutation of one method, each timed on its own. RainFusion decides its per-head layouts
 * from the original order (ARM), so it predicts first; RainFusion2.0 predicts on the permuted Q/K; Compact
 * Attention's layout and block lists come from its configuration.
 */
async function predict(be: Backend, method: Exclude<MethodName, 'dense'>, x: AttentionInputs, o: EvaluateOptions): Promise<{ plan: Plan; xp: Permuted; maskMs: number; permuteMs: number }> {
  const { grid, heads, headDim: d } = x;
  const permute = (layouts: Layout[]) => timed(o.repeat, () => permuteInputs(x, layouts.map((l) => l.order)));
  if (method === 'rainfusion') {
    const { value: p, ms: maskMs } = await timed(o.repeat, () => rainfusionPlan(be, x.q, x.k, grid, heads, d, { ...RAINFUSION_DEFAULTS, ...o.rainfusion, sparsity: o.sparsity, block: o.block }));
    const { value: xp, ms: permuteMs } = await permute(p.layouts);
    return { plan: { layouts: p.layouts, mask: p.mask, heads: p.heads as RainFusionHead[] }, xp, maskMs, permuteMs };
  }
  if (method === 'rainfusion2') {
    const ro = { ...RAINFUSION2_DEFAULTS, ...o.rainfusion2, sparsity: o.sparsity, block: o.block };
    const layout = rainfusion2Layout(grid, ro);
    const { value: xp, ms: permuteMs } = await permute([layout]);
    const { value: p, ms: maskMs } = await timed(o.repeat, () => rainfusion2Plan(x.q, x.k, grid, heads, d, ro, { ...xp, layout }));
    return { plan: { layouts: [layout], mask: p.mask }, xp, maskMs, permuteMs };
  }
  const c = o.compact?.config;
  if (!c) throw new Error('compact: no configuration (search one first)');
  const g = configTileGrid(c, grid, o.compact?.configFile ?? 'compact configuration');
  const { value: xp, ms: permuteMs } = await permute([g.layout]);
  const { value: mask, ms: maskMs } = await timed(o.repeat, () => compactMask(g, c.heads));
  return { plan: { layouts: [g.layout], mask, heads: c.heads.map((h) => h.shape) }, xp, maskMs, permuteMs };
}

/** The sparse kernel on permuted inputs: its output (permuted) and `repeat` timed calls, `between` run before each. */
async function runSparse(be: Backend, xp: Permuted, mask: BlockMask, p: BlockAttentionParams, repeat: number, between?: () => Promise<void>): Promise<{ out: Float32Array; ms: number[] }> {
  const s = new TensorScope(be);
  const ms: number[] = [];
  try {
    const q = s.upload(xp.q), k = s.upload(xp.k), v = s.upload(xp.v), out = s.alloc(xp.q.length);
    const m = mask.upload(be);
    try {
      ops.blockAttention(be, q, k, v, out, p, m); // warm-up
      await be.finish();
      for (let i = 0; i < repeat; i++) {
        await between?.();
        ms.push((await timed(1, async () => { ops.blockAttention(be, q, k, v, out, p, m); await be.finish(); })).ms);
      }
    } finally {
      m.release();
    }
    return { out: await be.read(out), ms };
  } finally {
    s.release();
  }
}

/** Output error vs dense (original order), realised density and mean attention-mass recall of a plan. */
async function sparseQuality(be: Backend, x: AttentionInputs, pl: Plan, xp: Permuted, outP: Float32Array, dense: { out: Float32Array; lse: Float32Array }, p: BlockAttentionParams): Promise<OutputMetrics & { density: number; recall: number }> {
  const orders = pl.layouts.map((l) => l.order);
  const out = permuteHeads(outP, x.heads, x.headDim, orders, true);
  const recall = pl.mask.recall(await blockMassOf(be, xp.q, xp.k, permuteHeads(dense.lse, x.heads, 1, orders), p));
  return { density: pl.mask.density(), recall: recall.reduce((a, b) => a + b, 0) / x.heads, ...outputMetrics(out, dense.out, x.heads) };
}

/**
 * Every method of `methods` on the inputs; the dense output is the reference of the others. Each method's kernel
 * is timed in alternation with the dense kernel (dense, sparse, dense, sparse, ...), so its speedup is a ratio of
 * medians measured under the same machine conditions; the dense row reports the median of all dense calls.
 */
export async function evaluateMethods(be: Backend, x: AttentionInputs, methods: readonly MethodName[], o: EvaluateOptions): Promise<MethodResult[]> {
  const N = gridTokens(x.grid);
  if (x.q.length !== x.heads * N * x.headDim) throw new Error('inputs do not hold heads x tokens x headDim');
  if (methods.includes('compact')) o = await calibrateCompact(be, x.grid, o);
  const p = attentionParams(x, o.block);
  const ds = new TensorScope(be);
  const results: MethodResult[] = [];
  try {
    o.onProgress?.('dense');
    const dq = ds.upload(x.q), dk = ds.upload(x.k), dv = ds.upload(x.v), dOut = ds.alloc(x.q.length), dLse = ds.alloc(x.heads * N);
    const runDense = async () => { ops.blockAttention(be, dq, dk, dv, dOut, p, undefined, dLse); await be.finish(); };
    const denseTimes = [(await timed(o.repeat, runDense)).ms];
    const dense = { out: await be.read(dOut), lse: await be.read(dLse) };
    for (const method of methods) {
      if (method === 'dense') continue;
      throwIfCancelled(o.signal);
      o.onProgress?.(method);
      const { plan: pl, xp, maskMs, permuteMs } = await predict(be, method, x, o);
      const dt: number[] = [];
      const { out: outP, ms: st } = await runSparse(be, xp, pl.mask, p, o.repeat, async () => { dt.push((await timed(1, runDense)).ms); });
      denseTimes.push(...dt);
      const q = await sparseQuality(be, x, pl, xp, outP, dense, p);
      const denseMs = median(dt), attentionMs = median(st);
      results.push({
        method, sparsity: o.sparsity, ...q, maskMs, permuteMs, attentionMs,
        speedup: denseMs / attentionMs, endToEndSpeedup: denseMs / (maskMs + permuteMs + attentionMs), heads: pl.heads,
      });
    }
    if (methods.includes('dense')) {
      results.unshift({ method: 'dense', sparsity: 0, density: 1, relL1: 0, relL2: 0, cosine: 1, minHeadCosine: 1, recall: 1, maskMs: 0, permuteMs: 0, attentionMs: median(denseTimes), speedup: 1, endToEndSpeedup: 1 });
    }
  } finally {
    ds.release();
  }
  return results;
}

export interface StepOptions extends EvaluateOptions {
  steps: number;
  /** the first `warmup` steps run dense (RainFusion's skip_timesteps / the integrations' start_step) */
  warmup: number;
  /** predict a new mask every `refresh` sparse steps and reuse it in between (rf_v3's mask cache); 1 = every step */
  refresh: number;
}

export interface StepRow extends OutputMetrics {
  step: number;
  method: Exclude<MethodName, 'dense'>;
  mode: 'dense' | 'predicted' | 'reused';
  density: number;
  recall: number;
  maskMs: number;
  permuteMs: number;
  attentionMs: number;
  denseMs: number;
  /** blocks kept by both this and the previous predicted mask / blocks kept by either (Jaccard), if predicted twice */
  maskSimilarity: number | null;
}

function jaccard(a: BlockMask, b: BlockMask): number {
  const x = a.toBitmap(), y = b.toBitmap();
  let both = 0, either = 0;
  for (let i = 0; i < x.length; i++) { both += x[i]! & y[i]!; either += x[i]! | y[i]!; }
  return either ? both / either : 1;
}

/**
 * A denoising loop in miniature: inputs for each step (same heads, new noise), dense warm-up steps, masks
 * predicted every `refresh` sparse steps and reused in between; each step's output is compared with that step's
 * dense attention. Compact Attention's static configuration is searched once, before step 0.
 */
export async function evaluateSteps(be: Backend, inputsAt: (step: number) => AttentionInputs, methods: readonly Exclude<MethodName, 'dense'>[], o: StepOptions): Promise<StepRow[]> {
  const rows: StepRow[] = [];
  const cache = new Map<string, { plan: Plan; predictedAt: number }>();
  const lastPredicted = new Map<string, BlockMask>();
  for (let step = 0; step < o.steps; step++) {
    const x = inputsAt(step);
    const p = attentionParams(x, o.block);
    if (step === 0 && methods.includes('compact')) o = { ...o, ...await calibrateCompact(be, x.grid, o) };
    const dense = await denseAttention(be, x, o.block, 1);
    for (const method of methods) {
      throwIfCancelled(o.signal);
      o.onProgress?.(`step ${step} ${method}`);
      if (step < o.warmup) {
        rows.push({ step, method, mode: 'dense', density: 1, recall: 1, relL1: 0, relL2: 0, cosine: 1, minHeadCosine: 1, maskMs: 0, permuteMs: 0, attentionMs: dense.ms, denseMs: dense.ms, maskSimilarity: null });
        continue;
      }
      const cached = cache.get(method);
      // Compact Attention's mask comes from its static configuration: predicted once, then always reused
      const fresh = !cached || (method !== 'compact' && (step - cached.predictedAt) % o.refresh === 0);
      let pl: Plan, xp: Permuted, maskMs = 0, permuteMs: number;
      if (!fresh) {
        pl = cached!.plan;
        ({ value: xp, ms: permuteMs } = await timed(1, () => permuteInputs(x, pl.layouts.map((l) => l.order))));
      } else {
        ({ plan: pl, xp, maskMs, permuteMs } = await predict(be, method, x, { ...o, repeat: 1 }));
        cache.set(method, { plan: pl, predictedAt: step });
      }
      const prev = lastPredicted.get(method);
      const maskSimilarity = fresh && prev ? jaccard(prev, pl.mask) : null;
      if (fresh) lastPredicted.set(method, pl.mask);
      const { out, ms } = await runSparse(be, xp, pl.mask, p, 1);
      rows.push({ step, method, mode: fresh ? 'predicted' : 'reused', ...await sparseQuality(be, x, pl, xp, out, dense, p), maskMs, permuteMs, attentionMs: ms[0]!, denseMs: dense.ms, maskSimilarity });
    }
  }
  return rows;
}
