/**
 * Prunes every linear layer of a LLaMA-family model in place: magnitude needs no data; Wanda, SparseGPT and
 * DSnoT run the block-sequential calibration (calib/runner.ts) and prune each block from its dense statistics.
 * OWL replaces the uniform sparsity by per-block sparsities from a first, dense pass. Updated weights are
 * rounded to the checkpoint's storage type before the block is re-run, so the model in memory is exactly the
 * one that gets saved.
 */
import { createHash } from 'node:crypto';
import type { Tensor } from '../tensor/tensor.js';
import type { LlamaModel } from '../models/llama/model.js';
import { floatWeight, LinearWeight, LINEARS, namedWeights } from '../models/llama/weights.js';
import type { CalibrationSet } from '../data/calibration.js';
import { BlockStats, LINEAR_INPUT, runBlockSequential, Timings } from '../calib/runner.js';
import { cancellationPoint, OptionError } from '../util/errors.js';
import { roundToType } from '../tensor/dtype.js';
import type { FileDType } from '../io/raw-tensor.js';
import { checkTarget, Mask, maskFor, Target } from './mask.js';
import { magnitudeMask } from './magnitude.js';
import { wandaMask, wandaScores } from './wanda.js';
import { InverseHessianFactor, inverseHessianFactor, sparsegpt } from './sparsegpt.js';
import { dsnot, DsnotOptions } from './dsnot.js';
import { outlierRatio, OwlOptions, owlSparsities } from './owl.js';

export type PruneMethod = 'magnitude' | 'wanda' | 'sparsegpt' | 'dsnot';
/** sparsegpt-reference: the released DSnoT code never fills H, so its "sparsegpt" init scores are all zero */
export type DsnotInit = 'wanda' | 'magnitude' | 'sparsegpt' | 'sparsegpt-reference';
export type SkipLayer = 'none' | 'mlp' | 'self_attn';

export interface PruneOptions {
  method: PruneMethod;
  target: Target;
  init?: DsnotInit;
  dsnot?: Partial<DsnotOptions>;
  skipLayer?: SkipLayer;
  wandaVariant?: boolean;
  owl?: OwlOptions | null;
  sparsegpt?: { blocksize?: number; percdamp?: number };
  /** round updated weights to this storage type (the checkpoint's) */
  storage: FileDType;
  signal?: AbortSignal;
  onProgress?: (stage: string, done: number, total: number) => void;
}


export interface LayerReport {
  layer: number;
  name: string;
  sparsity: number;
  /** DSnoT: swaps made and mean |e| before/after; SparseGPT: OBS loss and damping */
  detail?: Record<string, number>;
}

export interface PruneReport {
  method: PruneMethod;
  layers: LayerReport[];
  totalSparsity: number;
  blockSparsity: number[];
  /** sha256 of packbits(W == 0) over layers and q,k,v,o,gate,up,down (the reference's mask_sha256) */
  maskSha256: string;
  timings: Timings;
}

/** Round every weight of the model to `dtype` in place (a model held in f16 or bf16, as the reference code does). */
export async function roundModelWeights(model: LlamaModel, dtype: FileDType): Promise<void> {
  if (dtype === 'f32') return;
  for (const [, t] of namedWeights(model.weights)) {
    const w = await model.backend.read(t);
    roundToType(w, dtype);
    model.backend.write(t, w);
  }
}

export function validatePruneOptions(o: PruneOptions, cols: number[]): void {
  for (const c of cols) checkTarget(o.target, c);
  if (o.owl && o.target.nm) throw new OptionError('--owl', 'OWL layer-wise ratios apply to unstructured sparsity only (not with --nm)');
  if (o.init && o.method !== 'dsnot') throw new OptionError('--init', `only DSnoT takes an initial mask method (got --method ${o.method})`);
  if (o.wandaVariant && (o.method !== 'wanda' || o.target.nm)) throw new OptionError('--wanda-variant', 'applies to unstructured Wanda only');
}

async function readWeight(model: LlamaModel, t: Tensor): Promise<Float32Array> {
  return model.backend.read(t);
}

function zeroCount(w: Float32Array): number {
  let z = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) z++;
  return z;
}

export async function maskHash(model: LlamaModel): Promise<string> {
  const h = createHash('sha256');
  for (const layer of model.weights.layers) {
    for (const [, key] of LINEARS) {
      const w = await readWeight(model, floatWeight(layer[key] as LinearWeight));
      const bits = new Uint8Array(Math.ceil(w.length / 8));
      for (let i = 0; i < w.length; i++) if (w[i] === 0) bits[i >> 3]! |= 0x80 >> (i & 7);
      h.update(bits);
    }
  }
  return h.digest('hex');
}

export async function pruneModel(model: LlamaModel, calib: CalibrationSet | null, o: PruneOptions): Promise<PruneReport> {
  const c = model.config;
  validatePruneOptions(o, [c.dim, c.nHeads * c.headDim, c.hiddenDim]);
  const layers: LayerReport[] = [];
  const timings: Timings = { forwardSeconds: 0, statsSeconds: 0, methodSeconds: 0 };
  let blockSparsity = Array<number>(c.nLayers).fill(o.target.sparsity ?? 0);
  const needsData = o.method !== 'magnitude';
  if (needsData && !calib) throw new OptionError('--calib', `${o.method} needs calibration data`);

  if (o.owl && !o.target.nm) {
    const lod: number[] = [];
    if (o.method === 'magnitude') {
      for (const layer of model.weights.layers) {
        const scores = await Promise.all(LINEARS.map(async ([, k]) => (await readWeight(model, floatWeight(layer[k] as LinearWeight))).map(Math.abs)));
        lod.push(outlierRatio(scores, o.owl.m));
      }
    } else {
      const t = await runBlockSequential(model, calib!, { hessian: false, statsOnly: true, signal: o.signal, onProgress: (d, n) => o.onProgress?.('owl', d, n) }, async (i, stats) => {
        const layer = model.weights.layers[i]!;
        const scores: Float32Array[] = [];
        for (const [name, key] of LINEARS) {
          const w = await readWeight(model, floatWeight(layer[key] as LinearWeight));
          const st = stats[LINEAR_INPUT[name.split('.')[1]!]!];
          scores.push(wandaScores(w, st.scalerRow, w.length / st.columns, st.columns));
        }
        lod.push(outlierRatio(scores, o.owl!.m));
      });
      timings.forwardSeconds += t.forwardSeconds;
      timings.statsSeconds += t.statsSeconds;
    }
    blockSparsity = owlSparsities(lod, o.target.sparsity!, o.owl);
  }

  let zeros = 0, total = 0;
  const pruneBlock = async (i: number, stats: BlockStats | null) => {
    const layer = model.weights.layers[i]!;
    const target: Target = o.target.nm ? o.target : { sparsity: blockSparsity[i]! };
    const factors = new Map<string, InverseHessianFactor>();
    for (const [name, key] of LINEARS) {
      await cancellationPoint(o.signal);
      const tensor = floatWeight(layer[key] as LinearWeight);
      const w = await readWeight(model, tensor);
      const [rows, cols] = tensor.shape as [number, number];
      const group = LINEAR_INPUT[name.split('.')[1]!]!;
      const st = stats?.[group];
      const factor = () => {
        let f = factors.get(group);
        if (!f) factors.set(group, (f = inverseHessianFactor(st!.hessian(), cols, o.sparsegpt?.percdamp ?? 0.01)));
        return f;
      };
      let mask: Mask;
      let detail: Record<string, number> | undefined;
      if (o.method === 'magnitude') {
        mask = magnitudeMask(w, rows, cols, target);
      } else if (o.method === 'wanda') {
        mask = wandaMask(w, st!.scalerRow, rows, cols, target, o.wandaVariant);
      } else if (o.method === 'sparsegpt') {
        const r = sparsegpt(w, factor(), rows, cols, target, o.sparsegpt);
        w.set(r.weight);
        mask = r.mask;
        detail = { loss: r.loss, percdamp: r.percdamp, damping_retries: r.dampingRetries };
      } else {
        const init = o.init ?? 'wanda';
        const wanda = wandaScores(w, st!.scalerRow, rows, cols);
        let metric: ArrayLike<number> = wanda;
        if (init === 'magnitude') metric = w.map(Math.abs);
        else if (init === 'sparsegpt-reference') metric = new Float32Array(w.length);
        else if (init === 'sparsegpt') {
          const { U } = factor();
          metric = Float64Array.from(w, (v, idx) => v * v / U[(idx % cols) * cols + (idx % cols)]! ** 2);
        }
        const skip = o.skipLayer ?? 'mlp';
        if (skip !== 'none' && name.startsWith(skip === 'mlp' ? 'mlp.' : 'self_attn.')) {
          mask = maskFor(metric, rows, cols, target);
        } else {
          const r = dsnot({ weight: w, rows, cols, initialMetric: metric, wandaScore: wanda, sumRow: st!.sumRow, variance: st!.variance }, target, o.dsnot);
          mask = r.mask;
          detail = { swaps: r.swaps, error_before: r.errorBefore, error_after: r.errorAfter };
        }
      }
      for (let j = 0; j < w.length; j++) if (mask[j]) w[j] = 0;
      roundToType(w, o.storage);
      model.backend.write(tensor, w);
      const z = zeroCount(w);
      zeros += z;
      total += w.length;
      layers.push({ layer: i, name, sparsity: z / w.length, ...(detail ? { detail } : {}) });
    }
  };

  if (!needsData) {
    const t0 = performance.now();
    for (let i = 0; i < c.nLayers; i++) {
      await pruneBlock(i, null);
      o.onProgress?.('prune', i + 1, c.nLayers);
    }
    timings.methodSeconds += (performance.now() - t0) / 1000;
  } else {
    const t = await runBlockSequential(model, calib!, { hessian: o.method === 'sparsegpt' || o.init === 'sparsegpt', signal: o.signal, onProgress: (d, n) => o.onProgress?.('prune', d, n) }, pruneBlock);
    timings.forwardSeconds += t.forwardSeconds;
    timings.statsSeconds += t.statsSeconds;
    timings.methodSeconds += t.methodSeconds;
  }
  return { method: o.method, layers, totalSparsity: zeros / total, blockSparsity, maskSha256: await maskHash(model), timings };
}
