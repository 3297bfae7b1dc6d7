/**
 * Prunes every linear layer of a model in place with a registered method (prune/registry.ts): a method that needs
 * no data (magnitude) runs layer by layer; the others run the block-sequential calibration (calib/runner.ts) and
 * prune each block from its dense statistics. OWL replaces the uniform sparsity by per-block sparsities from a
 * first, dense pass. Updated weights are rounded to the checkpoint's storage type before the block is re-run, so
 * the model in memory is exactly the one that gets saved.
 */
import { createHash } from 'node:crypto';
import type { Model } from '../models/index.js';
import { floatWeight } from '../models/index.js';
import type { CalibrationSet } from '../data/calibration.js';
import { BlockStats, runBlockSequential, Timings } from '../calib/runner.js';
import { cancellationPoint, OptionError } from '../util/errors.js';
import { roundToType } from '../tensor/dtype.js';
import type { FileDType } from '../io/raw-tensor.js';
import { needsHessian, resolveOptions } from '../util/method-options.js';
import { inverseHessianFactor, type InverseHessianFactor } from '../linalg/obs.js';
import { checkTarget, Target } from './mask.js';
import { wandaScores } from './wanda.js';
import { outlierRatio, OwlOptions, owlSparsities } from './owl.js';
import type { PruneMethod } from './method.js';
import { pruneMethod } from './registry.js';

export interface PruneOptions {
  /** a registered method's name (prune/registry.ts) or the method itself */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  method: string | PruneMethod<any>;
  /** the method's options (its defaults fill the rest; see the method's `options`) */
  options?: Record<string, unknown>;
  target: Target;
  owl?: OwlOptions | null;
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
  method: string;
  /** the method's options as used (defaults included) */
  options: Record<string, unknown>;
  layers: LayerReport[];
  totalSparsity: number;
  blockSparsity: number[];
  /** sha256 of packbits(W == 0) over blocks and linears in checkpoint order (the reference's mask_sha256) */
  maskSha256: string;
  timings: Timings;
}

/** Round every weight of the model to `dtype` in place (a model held in f16 or bf16, as the reference code does). */
export async function roundModelWeights(model: Model, dtype: FileDType): Promise<void> {
  if (dtype === 'f32') return;
  for (const [, t] of model.namedWeights()) {
    const w = await model.backend.read(t);
    roundToType(w, dtype);
    model.backend.write(t, w);
  }
}

/** The method and its resolved options, checked against the target and the model's widths. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function resolvePruneOptions(o: Pick<PruneOptions, 'method' | 'options' | 'target' | 'owl'>, cols: number[]): { method: PruneMethod<any>; options: Record<string, unknown> } {
  const method = typeof o.method === 'string' ? pruneMethod(o.method) : o.method;
  for (const c of cols) checkTarget(o.target, c);
  if (o.owl && o.target.nm) throw new OptionError('owl', 'OWL layer-wise ratios apply to unstructured sparsity only (not with N:M)');
  const options = resolveOptions(method, o.options as object);
  method.validate?.(options, o.target);
  return { method, options: options as Record<string, unknown> };
}

function zeroCount(w: Float32Array): number {
  let z = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) z++;
  return z;
}

export async function maskHash(model: Model): Promise<string> {
  const h = createHash('sha256');
  for (let i = 0; i < model.blockCount; i++) {
    for (const { name } of model.linears(i)) {
      const w = await model.backend.read(floatWeight(model.linearWeight(i, name)));
      const bits = new Uint8Array(Math.ceil(w.length / 8));
      for (let j = 0; j < w.length; j++) if (w[j] === 0) bits[j >> 3]! |= 0x80 >> (j & 7);
      h.update(bits);
    }
  }
  return h.digest('hex');
}

const inputWidths = (model: Model) => [...new Set(Array.from({ length: model.blockCount }, (_, i) => model.statsGroups(i).map((g) => g.width)).flat())];

export async function pruneModel(model: Model, calib: CalibrationSet | null, o: PruneOptions): Promise<PruneReport> {
  const { method, options } = resolvePruneOptions(o, inputWidths(model));
  const be = model.backend, L = model.blockCount;
  const layers: LayerReport[] = [];
  const timings: Timings = { forwardSeconds: 0, statsSeconds: 0, methodSeconds: 0 };
  let blockSparsity = Array<number>(L).fill(o.target.sparsity ?? 0);
  if (method.needs.stats && !calib) throw new OptionError('calibration', `${method.name} needs calibration data`);
  const read = (i: number, name: string) => be.read(floatWeight(model.linearWeight(i, name)));

  if (o.owl && !o.target.nm) {
    const lod: number[] = [];
    if (!method.needs.stats) {
      for (let i = 0; i < L; i++) {
        const scores = await Promise.all(model.linears(i).map(async (l) => (await read(i, l.name)).map(Math.abs)));
        lod.push(outlierRatio(scores, o.owl.m));
      }
    } else {
      const t = await runBlockSequential(model, calib!, { hessian: false, statsOnly: true, signal: o.signal, onProgress: (d, n) => o.onProgress?.('owl', d, n) }, async (i, stats) => {
        const scores: Float32Array[] = [];
        for (const l of model.linears(i)) {
          const w = await read(i, l.name), st = stats[l.group]!;
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
    const target: Target = o.target.nm ? o.target : { sparsity: blockSparsity[i]! };
    const factors = new Map<string, InverseHessianFactor>();
    for (const l of model.linears(i)) {
      await cancellationPoint(o.signal);
      const tensor = floatWeight(model.linearWeight(i, l.name));
      const w = await be.read(tensor);
      const [rows, cols] = l.shape;
      const st = stats?.[l.group] ?? null;
      const hessianFactor = (percdamp = 0.01) => {
        let f = factors.get(l.group);
        if (!f) factors.set(l.group, (f = inverseHessianFactor(st!.hessian(), cols, percdamp)));
        return f;
      };
      const { mask, detail } = method.prune({ weight: w, rows, cols, name: l.name, target, stats: st, hessianFactor }, options);
      for (let j = 0; j < w.length; j++) if (mask[j]) w[j] = 0;
      roundToType(w, o.storage);
      be.write(tensor, w);
      const z = zeroCount(w);
      zeros += z;
      total += w.length;
      layers.push({ layer: i, name: l.name, sparsity: z / w.length, ...(detail ? { detail } : {}) });
    }
  };

  if (!method.needs.stats) {
    const t0 = performance.now();
    for (let i = 0; i < L; i++) {
      await pruneBlock(i, null);
      o.onProgress?.('prune', i + 1, L);
    }
    timings.methodSeconds += (performance.now() - t0) / 1000;
  } else {
    const t = await runBlockSequential(model, calib!, { hessian: needsHessian(method, options), signal: o.signal, onProgress: (d, n) => o.onProgress?.('prune', d, n) }, pruneBlock);
    timings.forwardSeconds += t.forwardSeconds;
    timings.statsSeconds += t.statsSeconds;
    timings.methodSeconds += t.methodSeconds;
  }
  return { method: method.name, options, layers, totalSparsity: zeros / total, blockSparsity, maskSha256: await maskHash(model), timings };
}
