import { methodOptionsFromFlags } from '../method-flags.js';
import { createProgress } from '../progress.js';
import { CommonFlags, Context, modelForCompression, readEvalTexts } from './common.js';
import { evaluateFiles } from './eval-ppl.js';
import { CalibrationSet, calibrationFor, SPARSE_FORMAT, type SparseFormat, sparseSizes, DEFAULT_CALIBRATION, DecoderModel, type FileDType, InputError, OptionError, PRUNE_METHODS, PruneOptions, PruneReport, SafeOutput, Target, type TensorMap, parseNM, pruneModel, readModelFiles, resolvePruneOptions, roundModelWeights, writeHfCheckpoint } from '../../index.js';

export interface PruneFlags extends CommonFlags {
  method: string;
  sparsity?: number;
  nm?: string;
  owl?: boolean;
  owlM: number;
  owlLambda: number;
  calib?: string;
  calibWindows?: string;
  nsamples: number;
  seqlen?: number;
  seed: number;
  dtype?: string;
  actDtype?: 'f32' | 'f16' | 'bf16';
  eval?: string;
  evalSeqlen?: number;
  maxWindows?: number;
  out?: string;
  /** dense | sparse (default: sparse when smaller) */
  storage?: string;
  /** the registered methods' flags (cli/method-flags.ts) */
  [flag: string]: unknown;
}

/** Turns flags into checked PruneOptions; everything a user can get wrong fails here, before any work. */
export function pruneOptionsFromFlags(f: PruneFlags, storage: FileDType): PruneOptions {
  const method = PRUNE_METHODS.find((m) => m.name === f.method);
  if (!method) throw new OptionError('--method', `expected one of ${PRUNE_METHODS.map((m) => m.name).join(', ')}, got "${f.method}"`);
  if ((f.sparsity === undefined) === (f.nm === undefined)) throw new OptionError('--sparsity/--nm', 'give exactly one of --sparsity S or --nm N:M');
  const target: Target = f.nm !== undefined ? { nm: parseNM(f.nm) } : { sparsity: f.sparsity! };
  if (target.sparsity !== undefined && !(target.sparsity > 0 && target.sparsity < 1)) throw new OptionError('--sparsity', `expected a fraction in (0, 1), got ${target.sparsity}`);
  if (f.owl && target.nm) throw new OptionError('--owl', 'OWL layer-wise ratios apply to unstructured sparsity only (not with --nm)');
  return { method: method.name, options: methodOptionsFromFlags(f, method, PRUNE_METHODS), target, owl: f.owl ? { m: f.owlM, lambda: f.owlLambda } : null, storage };
}

/**
 * The sparse storage a pruned model is written in, or null for dense: `--storage sparse`, or by default sparse when
 * its linears then take fewer bytes than dense ones in the checkpoint's type. N:M targets 2:4 / 4:8 use the N:M
 * layout, others the per-row bitmask; values stay float32.
 */
export async function chooseStorage(model: DecoderModel, target: Target, dtype: FileDType, storage: string | undefined): Promise<{ format: SparseFormat; sizes: { sparse: number; dense: number } } | null> {
  if (storage === 'dense') return null;
  const nm = target.nm && ((target.nm.n === 2 && target.nm.m === 4) || (target.nm.n === 4 && target.nm.m === 8)) ? target.nm : null;
  const bitmask: SparseFormat = { format: SPARSE_FORMAT, layout: 'bitmask', values: 'f32' };
  let format: SparseFormat = nm ? { format: SPARSE_FORMAT, layout: 'nm', n: nm.n as 2 | 4, m: nm.m as 4 | 8, values: 'f32' } : bitmask;
  let sizes: { sparse: number; dense: number };
  try {
    sizes = await sparseSizes(model, format, dtype === 'f32' ? 4 : 2);
  } catch (e) {
    // an N:M mask in a permuted channel order (RIA's reallocation) is not N:M in the stored order: a bitmask holds it
    if (!(e instanceof RangeError) || format === bitmask) throw e;
    format = bitmask;
    sizes = await sparseSizes(model, format, dtype === 'f32' ? 4 : 2);
  }
  return storage === 'sparse' || sizes.sparse < sizes.dense ? { format, sizes } : null;
}

export function storageType(tensors: TensorMap): FileDType {
  const counts = new Map<FileDType, number>();
  for (const t of tensors.values()) if (t.dtype !== 'u8') counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + t.data.byteLength);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'f32';
}

export function loadCalibration(model: DecoderModel, f: Pick<PruneFlags, 'calib' | 'calibWindows' | 'nsamples' | 'seqlen' | 'seed'>, quiet = false): CalibrationSet {
  const bar = createProgress('calibration sampling', f.nsamples, 'windows', quiet);
  try {
    return calibrationFor(model, { file: f.calib, windowsFile: f.calibWindows, nsamples: f.nsamples, seqlen: f.seqlen, seed: f.seed, onWindow: (d) => bar.update(d) });
  } catch (e) {
    throw e instanceof OptionError && e.option === 'seqlen' ? new OptionError('--seqlen', e.problem) : e;
  } finally {
    bar.stop();
  }
}

export function reportLines(r: PruneReport): string[] {
  const lines = [`total sparsity ${(100 * r.totalSparsity).toFixed(2)}% over the linear layers; mask sha256 ${r.maskSha256.slice(0, 16)}...`];
  for (let i = 0; i < r.blockSparsity.length; i++) {
    const ls = r.layers.filter((l) => l.layer === i);
    lines.push(`  layer ${i}: ${ls.map((l) => `${l.name.split('.')[1]!.replace('_proj', '')} ${(100 * l.sparsity).toFixed(1)}%`).join(', ')}`);
  }
  lines.push(`time: statistics ${r.timings.statsSeconds.toFixed(1)} s, method ${r.timings.methodSeconds.toFixed(2)} s, forwards ${r.timings.forwardSeconds.toFixed(1)} s`);
  return lines;
}

export async function pruneCommand(modelPath: string, f: PruneFlags, ctx: Context): Promise<void> {
  if (!f.out) throw new OptionError('--out', 'required: the folder to write the pruned model to');
  const out = SafeOutput.folder(f.out, { inputs: [modelPath, f.calib, f.calibWindows, f.tokenizer, ...(f.eval ?? '').split(',')] });
  try {
    await pruneInto(modelPath, { ...f, out: f.out }, ctx, out);
  } finally {
    out.discard(); // after a failure: its temporary folder and lock; after success: nothing
  }
}

async function pruneInto(modelPath: string, f: PruneFlags & { out: string }, ctx: Context, out: SafeOutput): Promise<void> {
  const files = await readModelFiles(modelPath, { tokenizer: f.tokenizer });
  if (files.packed) throw new InputError(`${modelPath}: a packed or sparse checkpoint; prune the float model it came from`);
  if (f.storage !== undefined && f.storage !== 'dense' && f.storage !== 'sparse') throw new OptionError('--storage', `expected dense or sparse, got "${f.storage}"`);
  if (f.dtype !== undefined && !['f32', 'f16', 'bf16'].includes(f.dtype)) throw new OptionError('--dtype', `expected f32, f16 or bf16, got "${f.dtype}"`);
  const dtype = f.dtype as FileDType | undefined;
  const opts = pruneOptionsFromFlags(f, dtype ?? storageType(files.tensors));
  const c = files.config;
  const resolved = resolvePruneOptions(opts, [c.dim, c.nHeads * c.headDim, c.hiddenDim]);
  const { files: evalFiles, texts: evalTexts } = readEvalTexts(f.eval);
  const model = await modelForCompression(files, f);
  try {
    if (dtype) await roundModelWeights(model, dtype); // hold the model in that type, as the reference holds it in f16
    const calib = resolved.method.needs.stats ? loadCalibration(model, f, ctx.out.json) : null;
    if (calib) ctx.out.line(`calibration: ${calib.windows.length} windows of ${calib.seqlen} tokens, sha256 ${calib.digest.slice(0, 16)}...`);
    const bars = new Map<string, ReturnType<typeof createProgress>>();
    const report = await pruneModel(model, calib, { ...opts, signal: ctx.signal, onProgress: (stage, d, n) => {
      if (!bars.has(stage)) bars.set(stage, createProgress(stage, n, 'blocks'));
      bars.get(stage)!.update(d);
      if (d === n) bars.get(stage)!.stop();
    } });
    for (const l of reportLines(report)) ctx.out.line(l);
    const evaluation = await evaluateFiles(model, evalFiles, evalTexts, f, ctx);
    const lithe = {
      lithe_version: 1, source: files.source, method: report.method, options: { target: opts.target, owl: opts.owl, storage: opts.storage, [report.method]: report.options },
      calibration: calib ? { file: f.calib ?? DEFAULT_CALIBRATION, windows_file: f.calibWindows ?? null, nsamples: calib.windows.length, seqlen: calib.seqlen, seed: f.seed, tokens_sha256: calib.digest } : null,
      total_sparsity: report.totalSparsity, block_sparsity: report.blockSparsity, layers: report.layers, mask_sha256: report.maskSha256,
      timings: report.timings, evaluation,
    };
    const sparse = await chooseStorage(model, opts.target, dtype ?? storageType(files.tensors), f.storage);
    if (sparse) ctx.out.line(`storage: sparse ${sparse.format.layout === 'nm' ? `${sparse.format.n}:${sparse.format.m}` : sparse.format.layout}, ${(sparse.sizes.sparse / 2 ** 20).toFixed(2)} MiB of linears vs ${(sparse.sizes.dense / 2 ** 20).toFixed(2)} MiB dense`);
    await writeHfCheckpoint(model, files.tensors, out, { ...lithe, sparse: sparse?.format ?? null }, dtype, undefined, sparse?.format);
    ctx.out.line(`wrote ${f.out}`);
    ctx.out.result({ out: f.out, method: report.method, options: report.options, total_sparsity: report.totalSparsity, layers: report.layers, block_sparsity: report.blockSparsity,
      mask_sha256: report.maskSha256, stats_seconds: report.timings.statsSeconds, method_seconds: report.timings.methodSeconds, forward_seconds: report.timings.forwardSeconds,
      calibration_sha256: calib?.digest ?? null, evaluation });
  } finally {
    await model.backend.dispose();
  }
}
