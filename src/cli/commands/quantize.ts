/**
 * `lithe quantize MODEL --method rtn|gptq|quarot --w-bits B [--w-group G] [--sym] [--w-clip] [--act-order]
 * [--a-bits B] [--kv-bits B] --out DIR`: weight quantization of the linear layers (QuaRot: on the rotated model,
 * by GPTQ or RTN, --w-method), written as a Hugging Face folder holding the dequantized weights (float32 by default,
 * so every value stays exactly on its grid) plus lithe.json (method, grid, weight hash, rotation; "online" tells
 * the loader to apply the online Hadamard a rotated checkpoint needs). Activation/KV fake quantization applies to
 * --eval here and to `lithe eval ppl` (same flags). Packed int4/int8 storage and DartQuant are not built yet.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { CommonFlags, Context, modelForCompression, readEvalTexts } from './common.js';
import { loadCalibration } from './prune.js';
import { createProgress } from '../progress.js';
import { evaluateFiles } from './eval-ppl.js';
import { ActQuantFlags, DART_DEFAULTS, DEFAULT_CALIBRATION, DartRecord, type FileDType, InputError, OptionError, QUANT_METHODS, RotationRecord, SafeOutput, checkActGroup, checkRotatable, dartquantRotate, describeOnline, onlineConfig, onlineHook, packModelLinears, quantizeModelWeights, quarotRotate, readModelFiles, validateWeightQuant, writeHfCheckpoint } from '../../index.js';


const METHODS = ['rtn', 'gptq', 'quarot', 'dartquant'] as const;

export interface QuantizeFlags extends CommonFlags, ActQuantFlags {
  method: string;
  wBits: number;
  wGroup: number;
  sym?: boolean;
  wClip?: boolean;
  actOrder?: boolean;
  percdamp: number;
  trueSequential: boolean;
  calib?: string;
  calibWindows?: string;
  nsamples: number;
  seqlen?: number;
  seed: number;
  dtype?: string;
  actDtype?: 'f32' | 'f16' | 'bf16';
  wMethod?: string;
  rotationSeed?: number;
  dartEpochs?: number;
  dartTokens?: number;
  dartFixedSubset?: boolean;
  dartR1Lr?: number;
  dartR2Lr?: number;
  storage?: string;
  f32Updates?: boolean;
  eval?: string;
  evalSeqlen?: number;
  maxWindows?: number;
  out?: string;
}

export async function quantizeCommand(modelPath: string, f: QuantizeFlags, ctx: Context): Promise<void> {
  if (!METHODS.includes(f.method as (typeof METHODS)[number])) throw new OptionError('--method', `expected ${METHODS.join(', ')}, got "${f.method}"`);
  const rotate = f.method === 'quarot' || f.method === 'dartquant';
  if (f.wMethod !== undefined && !rotate) throw new OptionError('--w-method', 'applies to quarot and dartquant only (the weight quantizer of the rotated model)');
  for (const [flag, v] of [['--dart-epochs', f.dartEpochs], ['--dart-tokens', f.dartTokens], ['--dart-fixed-subset', f.dartFixedSubset], ['--dart-r1-lr', f.dartR1Lr], ['--dart-r2-lr', f.dartR2Lr]] as const) {
    if (v !== undefined && f.method !== 'dartquant') throw new OptionError(flag, 'applies to --method dartquant only');
  }
  const wMethod = rotate ? f.wMethod ?? 'gptq' : f.method;
  if (!QUANT_METHODS.some((m) => m.name === wMethod)) throw new OptionError('--w-method', `expected ${QUANT_METHODS.map((m) => m.name).join(' or ')}, got "${f.wMethod}"`);
  if (!f.out) throw new OptionError('--out', 'required: the folder to write the quantized model to');
  if (f.dtype !== undefined && !['f32', 'f16', 'bf16'].includes(f.dtype)) throw new OptionError('--dtype', `expected f32, f16 or bf16, got "${f.dtype}"`);
  const out = SafeOutput.folder(f.out, { inputs: [modelPath, f.calib, f.calibWindows, f.tokenizer, ...(f.eval ?? '').split(',')] });
  try {
    await quantizeInto(modelPath, { ...f, out: f.out }, ctx, out);
  } finally {
    out.discard(); // after a failure: its temporary folder and lock; after success: nothing
  }
}

async function quantizeInto(modelPath: string, f: QuantizeFlags & { out: string }, ctx: Context, out: SafeOutput): Promise<void> {
  const rotate = f.method === 'quarot' || f.method === 'dartquant';
  const wMethod = rotate ? f.wMethod ?? 'gptq' : f.method;
  const files = await readModelFiles(modelPath, { tokenizer: f.tokenizer });
  const c = files.config;
  if (files.packed) throw new InputError(`${modelPath}: a packed checkpoint; quantize the float model it came from`);
  if (f.storage !== undefined && f.storage !== 'packed' && f.storage !== 'dequantized') throw new OptionError('--storage', `expected packed or dequantized, got "${f.storage}"`);
  if (files.online) throw new OptionError('MODEL', `${modelPath} is already rotated (lithe.json "online"); quantize the original model`);
  const weightsQuantized = f.wBits < 16;
  const opts = { method: wMethod, bits: f.wBits, group: f.wGroup, sym: !!f.sym, mse: !!f.wClip, actOrder: !!f.actOrder, percdamp: f.percdamp, trueSequential: f.trueSequential, f32: !!f.f32Updates };
  if (opts.actOrder && wMethod !== 'gptq') throw new OptionError('--act-order', 'applies to GPTQ only');
  if (weightsQuantized) validateWeightQuant(opts, [c.dim, c.nHeads * c.headDim, c.hiddenDim]);
  else if (f.wBits !== 16) throw new OptionError('--w-bits', `expected 2 to 8, or 16 for float weights, got ${f.wBits}`);
  if (rotate) checkRotatable({ config: c });
  checkActGroup(c, onlineConfig(f, null).act);
  const { files: evalFiles, texts: evalTexts } = readEvalTexts(f.eval);
  const model = await modelForCompression(files, f);
  try {
    let rotation: RotationRecord | DartRecord | null = null;
    const needCalib = (wMethod === 'gptq' && weightsQuantized) || f.method === 'dartquant';
    const calib = needCalib ? loadCalibration(model, f, ctx.out.json) : null;
    if (calib) ctx.out.line(`calibration: ${calib.windows.length} windows of ${calib.seqlen} tokens, sha256 ${calib.digest.slice(0, 16)}...`);
    if (f.method === 'quarot') {
      const t0 = performance.now();
      rotation = await quarotRotate(model, f.rotationSeed ?? f.seed);
      ctx.out.line(`rotated: fused norms, R1 ${rotation.r1}, R2 ${rotation.r2}, R4 Hadamard ${c.hiddenDim} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    } else if (f.method === 'dartquant') {
      const bars = new Map<string, ReturnType<typeof createProgress>>();
      const d = await dartquantRotate(model, calib!, { ...DART_DEFAULTS, seed: f.rotationSeed ?? f.seed, signal: ctx.signal,
        ...(f.dartEpochs !== undefined ? { epochs: f.dartEpochs } : {}), ...(f.dartTokens !== undefined ? { tokens: f.dartTokens } : {}),
        ...(f.dartR1Lr !== undefined ? { r1Lr: f.dartR1Lr } : {}), ...(f.dartR2Lr !== undefined ? { r2Lr: f.dartR2Lr } : {}), fixedSubset: !!f.dartFixedSubset,
        onProgress: (stage, done, n) => {
          if (!bars.has(stage)) bars.set(stage, createProgress(`dartquant ${stage}`, n, stage === 'capture' ? 'windows' : stage === 'R1' ? 'epochs' : 'layers', ctx.out.json));
          bars.get(stage)!.update(done);
          if (done === n) bars.get(stage)!.stop();
        } });
      rotation = d;
      const r2First = d.r2Training.reduce((a, l) => a + l.lossFirst, 0), r2Last = d.r2Training.reduce((a, l) => a + l.lossLast, 0);
      ctx.out.line(`dartquant: captured ${(d.capture.bytes / 2 ** 20).toFixed(0)} MiB (${d.capture.tokensPerWindow} tokens per window) in ${d.capture.seconds.toFixed(1)} s; ` +
        `R1 ${d.r1Training.steps} steps, Whip ${d.r1Training.lossFirst.toFixed(2)} -> ${d.r1Training.lossLast.toFixed(2)}; R2 ${d.r2Training[0]?.steps ?? 0} steps per layer, Whip (sum over layers) ${r2First.toFixed(2)} -> ${r2Last.toFixed(2)}; ` +
        `${d.seconds.toFixed(1)} s, peak RSS ${(d.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
    }
    if (rotation) model.activationHook = onlineHook(model, onlineConfig({}, rotation)); // GPTQ sees the online R4, not the activation quantizers
    let r: Awaited<ReturnType<typeof quantizeModelWeights>> | null = null;
    if (weightsQuantized) {
      const bar = createProgress(wMethod, c.nLayers, 'blocks', ctx.out.json);
      r = await quantizeModelWeights(model, { ...opts, signal: ctx.signal, onProgress: (d) => bar.update(d) }, calib);
      bar.stop();
      ctx.out.line(`${f.method}${rotate ? ` (${wMethod})` : ''} W${opts.bits} ${opts.group > 0 ? `group ${opts.group}` : 'per channel'} ${opts.sym ? 'symmetric' : 'asymmetric'}${opts.mse ? ', MSE clip' : ''}: ` +
        `${r.quantizedWeights} weights in ${r.seconds.toFixed(2)} s; at most ${r.maxLevelsPerGroup} levels per group; weights sha256 ${r.weightsSha256.slice(0, 16)}...`);
    }
    const online = onlineConfig(f, rotation);
    model.activationHook = onlineHook(model, online);
    if (evalFiles.length) ctx.out.line(`evaluating with ${describeOnline(online)}`);
    const evaluation = await evaluateFiles(model, evalFiles, evalTexts, f, ctx);
    const dtype = (f.dtype ?? 'f32') as FileDType;
    const packed = r && f.storage !== 'dequantized' ? await packModelLinears(model, r.grids, opts.bits, opts.group, f.storage === 'packed').catch((e) => {
      throw e instanceof OptionError && e.option === 'storage' ? new OptionError('--storage', e.problem) : e;
    }) : null;
    if (r && f.storage !== 'dequantized') ctx.out.line(packed ? `storage: packed ${packed.container}-bit codes` : 'storage: dequantized floats (act-order with groups, or widths that do not fit the packing)');
    const lithe = {
      lithe_version: 1, source: files.source, method: f.method,
      packed: packed ? packed.format : null,
      quantization: weightsQuantized ? { bits: opts.bits, group: opts.group, sym: opts.sym, mse_clip: opts.mse, storage: packed ? `packed ${packed.container}-bit` : `dequantized ${dtype}`, modules: 'q,k,v,o,gate,up,down of every layer', weight_method: wMethod,
        ...(wMethod === 'gptq' ? { act_order: opts.actOrder, percdamp: opts.percdamp, blocksize: 128, true_sequential: opts.trueSequential } : {}) } : null,
      rotation, online: rotation ? { r4: rotation.r4 } : null, evaluated_with: online,
      calibration: calib ? { file: f.calib ?? DEFAULT_CALIBRATION, windows_file: f.calibWindows ?? null, nsamples: calib.windows.length, seqlen: calib.seqlen, seed: f.seed, tokens_sha256: calib.digest } : null,
      layers: r?.layers, timings: r?.timings, weights_sha256: r?.weightsSha256 ?? null, quantized_weights: r?.quantizedWeights ?? 0, max_levels_per_group: r?.maxLevelsPerGroup ?? null, seconds: r?.seconds ?? 0, evaluation,
    };
    await writeHfCheckpoint(model, files.tensors, out, lithe, dtype, packed?.linears);
    const bytes = checkpointBytes(f.out);
    ctx.out.line(`checkpoint: ${(bytes / 2 ** 20).toFixed(2)} MiB (linears ${packed ? `${(packed.bytes / 2 ** 20).toFixed(2)} MiB packed vs ${(packed.floatBytes / 2 ** 20).toFixed(2)} MiB as f32` : 'as floats'})`);
    ctx.out.line(`wrote ${f.out}`);
    ctx.out.result({ out: f.out, method: f.method, weight_method: wMethod, bits: opts.bits, group: opts.group, sym: opts.sym, mse_clip: opts.mse, weights_sha256: r?.weightsSha256 ?? null,
      quantized_weights: r?.quantizedWeights ?? 0, max_levels_per_group: r?.maxLevelsPerGroup ?? null, seconds: r?.seconds ?? 0, rotation, online, calibration_sha256: calib?.digest ?? null, evaluation,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024, storage: packed ? 'packed' : 'dequantized', checkpoint_bytes: bytes,
      packed_linear_bytes: packed?.bytes ?? null, float_linear_bytes: packed?.floatBytes ?? null });
  } finally {
    await model.backend.dispose();
  }
}

function checkpointBytes(dir: string): number {
  return readdirSync(dir).reduce((a, f) => a + statSync(path.join(dir, f)).size, 0);
}
