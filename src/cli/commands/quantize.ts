/**
 * `lithe quantize MODEL --method rtn|gptq --w-bits B [--w-group G] [--sym] [--w-clip] [--act-order] --out DIR`:
 * weight-only quantization of the linear layers, written as a Hugging Face folder holding the dequantized weights
 * (float32 by default, so every value stays exactly on its grid) plus lithe.json (method, grid, weight hash).
 * Packed int4/int8 storage and the dequant-matmul kernel that reads it are not built yet; QuaRot and DartQuant
 * neither.
 */
import { checkOutDir, writeHfCheckpoint } from '../../export/hf-checkpoint.js';
import { readModelFiles } from '../../io/load-model.js';
import type { FileDType } from '../../io/raw-tensor.js';
import { uploadLlamaWeights } from '../../models/llama/weights.js';
import { LlamaModel } from '../../models/llama/model.js';
import { CpuBackend } from '../../backend/cpu/cpu-backend.js';
import { QUANT_METHODS, QuantMethod, quantizeModelWeights, validateWeightQuant } from '../../quant/quantize-model.js';
import { readText } from '../../data/text.js';
import { OptionError } from '../../util/errors.js';
import { defaultThreads } from '../options.js';
import { CommonFlags, Context } from './common.js';
import { loadCalibration } from './prune.js';
import { createProgress } from '../progress.js';
import { DEFAULT_CALIBRATION } from '../../util/assets.js';
import { evaluateFiles } from './eval-ppl.js';

export interface QuantizeFlags extends CommonFlags {
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
  eval?: string;
  evalSeqlen?: number;
  maxWindows?: number;
  out?: string;
}

export async function quantizeCommand(modelPath: string, f: QuantizeFlags, ctx: Context): Promise<void> {
  if (!QUANT_METHODS.includes(f.method as QuantMethod)) {
    throw new OptionError('--method', `expected ${QUANT_METHODS.join(' or ')} (quarot and dartquant are not implemented yet), got "${f.method}"`);
  }
  if (!f.out) throw new OptionError('--out', 'required: the folder to write the quantized model to');
  if (f.dtype !== undefined && !['f32', 'f16', 'bf16'].includes(f.dtype)) throw new OptionError('--dtype', `expected f32, f16 or bf16, got "${f.dtype}"`);
  checkOutDir(f.out);
  const files = await readModelFiles(modelPath, { tokenizer: f.tokenizer });
  const c = files.config;
  const opts = { method: f.method as QuantMethod, bits: f.wBits, group: f.wGroup, sym: !!f.sym, mse: !!f.wClip, actOrder: !!f.actOrder, percdamp: f.percdamp, trueSequential: f.trueSequential };
  if (opts.actOrder && opts.method !== 'gptq') throw new OptionError('--act-order', 'applies to GPTQ only');
  validateWeightQuant(opts, [c.dim, c.nHeads * c.headDim, c.hiddenDim]);
  const evalFiles = f.eval ? f.eval.split(',').filter(Boolean) : [];
  const evalTexts = evalFiles.map((file) => readText(file));
  const backend = await CpuBackend.create({ threads: f.threads ?? defaultThreads() });
  try {
    const model = new LlamaModel(backend, c, uploadLlamaWeights(backend, c, files.tensors, files.source.path), files.tokenizer, files.source);
    model.activationDType = f.actDtype ?? 'f32';
    const calib = opts.method === 'gptq' ? loadCalibration(model, f) : null;
    if (calib) ctx.out.line(`calibration: ${calib.windows.length} windows of ${calib.seqlen} tokens, sha256 ${calib.digest.slice(0, 16)}...`);
    const bar = createProgress(opts.method, c.nLayers, 'blocks', ctx.out.json);
    const r = await quantizeModelWeights(model, { ...opts, signal: ctx.signal, onProgress: (d) => bar.update(d) }, calib);
    bar.stop();
    ctx.out.line(`${opts.method} W${opts.bits} ${opts.group > 0 ? `group ${opts.group}` : 'per channel'} ${opts.sym ? 'symmetric' : 'asymmetric'}${opts.mse ? ', MSE clip' : ''}: ` +
      `${r.quantizedWeights} weights in ${r.seconds.toFixed(2)} s; at most ${r.maxLevelsPerGroup} levels per group; weights sha256 ${r.weightsSha256.slice(0, 16)}...`);
    const evaluation = await evaluateFiles(model, evalFiles, evalTexts, f, ctx);
    const dtype = (f.dtype ?? 'f32') as FileDType;
    const lithe = {
      lithe_version: 1, source: files.source, method: opts.method,
      quantization: { bits: opts.bits, group: opts.group, sym: opts.sym, mse_clip: opts.mse, storage: `dequantized ${dtype}`, modules: 'q,k,v,o,gate,up,down of every layer',
        ...(opts.method === 'gptq' ? { act_order: opts.actOrder, percdamp: opts.percdamp, blocksize: 128, true_sequential: opts.trueSequential } : {}) },
      calibration: calib ? { file: f.calib ?? DEFAULT_CALIBRATION, windows_file: f.calibWindows ?? null, nsamples: calib.windows.length, seqlen: calib.seqlen, seed: f.seed, tokens_sha256: calib.digest } : null,
      layers: r.layers, timings: r.timings, weights_sha256: r.weightsSha256, quantized_weights: r.quantizedWeights, max_levels_per_group: r.maxLevelsPerGroup, seconds: r.seconds, evaluation,
    };
    await writeHfCheckpoint(model, files.tensors, f.out, lithe, dtype);
    ctx.out.line(`wrote ${f.out}`);
    ctx.out.result({ out: f.out, method: opts.method, bits: opts.bits, group: opts.group, sym: opts.sym, mse_clip: opts.mse, weights_sha256: r.weightsSha256,
      quantized_weights: r.quantizedWeights, max_levels_per_group: r.maxLevelsPerGroup, seconds: r.seconds, calibration_sha256: calib?.digest ?? null, evaluation });
  } finally {
    await backend.dispose();
  }
}
