/**
 * `lithe attention bench` (sparse-attention methods vs dense flash attention on generated video-like heads or a
 * dumped trace) and `lithe attention search` (Compact Attention's offline per-head configuration search).
 */
import { defaultThreads } from '../options.js';
import { stderrLine } from '../output.js';
import { createProgress } from '../progress.js';
import type { Context } from './common.js';
import { type AttentionInputs, COMPACT_DEFAULTS, type CompactConfig, METHODS, type MethodName, OptionError, SafeOutput, type VideoGrid, attentionTable, calibrationMass, cancellationPoint, checkGrid, compactSearch, compactSearchForSparsity, confusionMatrix, confusionTable, createBackend, evaluateMethods, evaluateSteps, gridTokens, markdownTable, parseTriple, readCompactConfig, readTrace, serializeCompactConfig, stepsSummary, stepsTable, syntheticAttention, tileGrid } from '../../index.js';

export interface AttentionInputFlags {
  shape: string;
  text: number;
  heads: number;
  dim: number;
  seed: number;
  trace?: string;
  image?: string;
  block: number;
  threads?: number;
  backend?: string;
  json?: boolean;
}

export interface AttentionBenchFlags extends AttentionInputFlags {
  method: string;
  sparsity: number;
  repeat: number;
  rfVariant: string;
  rfBandRounding: string;
  rf2Tile: string;
  rf2FirstFrame: string;
  compactConfig?: string;
  calibSteps: number;
  steps: number;
  warmup: number;
  maskRefresh: number;
}

export interface AttentionSearchFlags extends AttentionInputFlags {
  recall?: number;
  sparsity?: number;
  lambda: number;
  tile?: string;
  calibSteps: number;
  out?: string;
  /** replace an existing --out file */
  force?: boolean;
}

function tripleFlag(flag: string, v: string, what: string): [number, number, number] {
  const t = parseTriple(v);
  if (!t) throw new OptionError(flag, `expected ${what} (three positive integers), got "${v}"`);
  return t;
}

function gridFlags(f: AttentionInputFlags): VideoGrid {
  const [T, H, W] = tripleFlag('--shape', f.shape, 'T,H,W');
  const g = { T, H, W, text: f.text };
  checkGrid(g, 'grid');
  return g;
}

interface Inputs {
  calibration: AttentionInputs[];
  /** inputs of denoising step s (generated: step s's noise; traces: the files in turn) */
  at: (step: number) => AttentionInputs;
  source: string;
}

/**
 * The evaluation inputs (`at(0)`: generator step 0, or the first trace) and calibration inputs: `calibSteps`
 * generated steps after the evaluated ones (same heads, other noise), or the other trace files.
 */
function inputs(f: AttentionInputFlags, calibSteps: number, evalSteps = 1): Inputs {
  if (f.trace) {
    const files = f.trace.split(',').filter(Boolean);
    const all = files.map((file) => readTrace(file));
    return { calibration: all.length > 1 ? all.slice(1) : all, at: (s) => all[s % all.length]!, source: files.join(', ') };
  }
  const grid = gridFlags(f);
  const gen = (step: number) => syntheticAttention({ grid, heads: f.heads, headDim: f.dim, seed: f.seed, step, image: f.image });
  return {
    calibration: Array.from({ length: calibSteps }, (_, i) => gen(evalSteps + i)), at: gen,
    source: `synthetic (seed ${f.seed}${f.image ? `, image ${f.image}` : ''})`,
  };
}

function parseMethods(v: string): MethodName[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of list) if (!(METHODS as readonly string[]).includes(m)) throw new OptionError('--method', `expected ${METHODS.join(', ')} (comma-separated), got "${m}"`);
  if (!list.length) throw new OptionError('--method', 'no method given');
  return list as MethodName[];
}

const fmt = (x: number, d = 4) => x.toFixed(d);

async function attentionStepsCommand(f: AttentionBenchFlags, methods: MethodName[], opts: Parameters<typeof evaluateMethods>[3], ctx: Context): Promise<void> {
  const sparse = methods.filter((m): m is Exclude<MethodName, 'dense'> => m !== 'dense');
  if (!sparse.length) throw new OptionError('--method', '--steps needs at least one sparse method');
  const { calibration, at, source } = inputs(f, sparse.includes('compact') && !opts.compact?.config ? f.calibSteps : 0, f.steps);
  const be = await createBackend(f.backend, f.threads ?? defaultThreads(), stderrLine);
  const progress = createProgress('attention', f.steps * sparse.length, 'runs', ctx.out.json);
  let done = 0;
  try {
    const rows = await evaluateSteps(be, at, sparse, { ...opts, compact: { ...opts.compact, calibration }, steps: f.steps, warmup: f.warmup, refresh: f.maskRefresh, onProgress: () => progress.update(done++) });
    progress.stop();
    const summary = stepsSummary(rows);
    ctx.out.line(`inputs: ${source}; ${f.steps} steps, first ${f.warmup} dense, masks predicted every ${f.maskRefresh} sparse step(s); ${be.description}`);
    ctx.out.line(stepsTable(rows));
    ctx.out.line(markdownTable(['method', 'mean density', 'mean cosine', 'min cosine', 'attention speedup', 'with masks + permutation'],
      summary.map((r) => [r.method, fmt(r.meanDensity, 3), fmt(r.meanCosine), fmt(r.minCosine), `${fmt(r.speedup, 2)}x`, `${fmt(r.endToEndSpeedup, 2)}x`])));
    ctx.out.result({ source, steps: f.steps, warmup: f.warmup, maskRefresh: f.maskRefresh, backend: be.description, rows, summary });
  } finally {
    progress.stop();
    await be.dispose();
  }
}

export async function attentionBenchCommand(f: AttentionBenchFlags, ctx: Context): Promise<void> {
  const methods = parseMethods(f.method);
  if (f.warmup >= f.steps && f.steps > 1) throw new OptionError('--warmup', `${f.warmup} dense warm-up steps leave none of the ${f.steps} steps sparse`);
  if (!['three', 'deployed'].includes(f.rfVariant)) throw new OptionError('--rf-variant', `expected three or deployed, got "${f.rfVariant}"`);
  if (!['nearest', 'floor'].includes(f.rfBandRounding)) throw new OptionError('--rf-band-rounding', `expected nearest or floor, got "${f.rfBandRounding}"`);
  if (!['keep', 'end'].includes(f.rf2FirstFrame)) throw new OptionError('--rf2-first-frame', `expected keep or end, got "${f.rf2FirstFrame}"`);
  const rf2Tile = tripleFlag('--rf2-tile', f.rf2Tile, 't,h,w');
  const compactConfig: CompactConfig | undefined = f.compactConfig ? readCompactConfig(f.compactConfig) : undefined;
  const opts = {
    block: f.block, sparsity: f.sparsity, repeat: f.repeat, signal: ctx.signal,
    rainfusion: { variant: f.rfVariant as 'three' | 'deployed', bandRounding: f.rfBandRounding as 'nearest' | 'floor' },
    rainfusion2: { tile: rf2Tile, firstFrame: f.rf2FirstFrame as 'keep' | 'end' },
    compact: { config: compactConfig, configFile: f.compactConfig },
  };
  if (f.steps > 1) return attentionStepsCommand(f, methods, opts, ctx);
  const { at, calibration, source } = inputs(f, methods.includes('compact') && !compactConfig ? f.calibSteps : 0);
  const x = at(0);
  const be = await createBackend(f.backend, f.threads ?? defaultThreads(), stderrLine);
  const progress = createProgress('attention', methods.length + (methods.includes('compact') && !compactConfig ? 1 : 0), 'steps', ctx.out.json);
  let done = 0;
  try {
    const rows = await evaluateMethods(be, x, methods, { ...opts, compact: { ...opts.compact, calibration }, onProgress: () => progress.update(done++) });
    progress.stop();
    const g = x.grid;
    const gflop = 4 * x.heads * gridTokens(g) ** 2 * x.headDim / 1e9;
    const dense = rows.find((r) => r.method === 'dense');
    ctx.out.line(`inputs: ${source}; grid ${g.T}x${g.H}x${g.W} + ${g.text} text = ${gridTokens(g)} tokens, ${x.heads} heads, d ${x.headDim}; block ${f.block}; ${be.description}`);
    if (dense) ctx.out.line(`dense flash attention: ${fmt(dense.attentionMs, 1)} ms = ${fmt(gflop / dense.attentionMs * 1e3, 1)} GFLOP/s (4 N^2 d H = ${fmt(gflop, 2)} GFLOP)`);
    ctx.out.line(attentionTable(rows));
    const rf = rows.find((r) => r.method === 'rainfusion');
    const confusion = rf && x.kinds ? confusionMatrix(x.kinds, rf.heads!) : undefined;
    if (rf) ctx.out.line(`RainFusion ARM per head: ${rf.heads!.join(', ')}`);
    if (confusion) ctx.out.line(confusionTable(confusion));
    ctx.out.result({ source, grid: g, heads: x.heads, headDim: x.headDim, block: f.block, backend: be.description, gflop, kinds: x.kinds, results: rows, confusion });
  } finally {
    progress.stop();
    await be.dispose();
  }
}

export async function attentionSearchCommand(f: AttentionSearchFlags, ctx: Context): Promise<void> {
  if (!f.out) throw new OptionError('--out', 'give the configuration file to write (e.g. --out compact.json)');
  if (f.recall !== undefined && f.sparsity !== undefined) throw new OptionError('--recall', 'give --recall or --sparsity, not both');
  const out = SafeOutput.file(f.out, { force: f.force, inputs: [f.image, ...(f.trace ?? '').split(',')] });
  try {
    await attentionSearch(f, ctx, out);
  } finally {
    out.discard();
  }
}

async function attentionSearch(f: AttentionSearchFlags, ctx: Context, out: SafeOutput): Promise<void> {
  const { calibration, source } = inputs(f, f.calibSteps);
  const x = calibration[0]!; // the grid, heads and (generated) head kinds of every calibration input
  const g = tileGrid(x.grid, f.block, f.tile ? tripleFlag('--tile', f.tile, 't,h,w') : undefined);
  const be = await createBackend(f.backend, f.threads ?? defaultThreads(), stderrLine);
  const progress = createProgress('calibration', calibration.length, 'inputs', ctx.out.json);
  try {
    const mass = await calibrationMass(be, g, calibration, async (done) => { progress.update(done); await cancellationPoint(ctx.signal); });
    progress.stop();
    const t0 = performance.now();
    const config = f.sparsity !== undefined
      ? compactSearchForSparsity(g, mass, x.heads, f.sparsity, f.lambda)
      : compactSearch(g, mass, x.heads, { recall: f.recall ?? COMPACT_DEFAULTS.recall, lambda: f.lambda });
    const searchMs = performance.now() - t0;
    out.write(serializeCompactConfig(config));
    ctx.out.line(`calibration: ${source}, ${calibration.length} input(s); tile ${g.tile.join('x')}, ${g.tiles} tiles + ${g.nb - g.tiles} dense sink blocks; recall threshold ${fmt(config.recall, 4)}; search ${fmt(searchMs, 0)} ms`);
    ctx.out.line(markdownTable(['head', ...(x.kinds ? ['generated'] : []), 'shape', 'extents (eh,ew) per frame distance 0,1,2-3,4-7,...', 'recall', 'density'],
      config.heads.map((h, i) => [i, ...(x.kinds ? [x.kinds[i]!] : []), h.shape, h.extents.map((e) => `(${e.join(',')})`).join(' '),
        fmt(config.calibration![i]!.recall, 3), fmt(config.calibration![i]!.density, 3)])));
    ctx.out.line(`wrote ${f.out}`);
    ctx.out.result({ out: f.out, source, searchMs, config });
  } finally {
    progress.stop();
    await be.dispose();
  }
}
