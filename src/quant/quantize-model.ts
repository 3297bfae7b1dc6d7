/**
 * Weight-only quantization of every linear layer of a model with a registered quantizer (quant/registry.ts: RTN,
 * GPTQ); embeddings and the output head stay float, as the reference GPTQ code keeps them. The model's weights are replaced by their
 * dequantized values, so perplexity and generation run unchanged; `weightsSha256` hashes them as the reference's
 * results do (float32 little-endian, layers in order, modules in Hugging Face order).
 */
import { createHash } from 'node:crypto';
import { dequantize, isPacked } from '../ops/index.js';
import { cancellationPoint, OptionError } from '../util/errors.js';
import type { CalibrationSet } from '../data/calibration.js';
import { runBlockSequential, Timings } from '../calib/runner.js';
import type { QuantGrid, WeightQuantSpec } from './weight-quantizer.js';
import { floatWeight, type LinearInfo, type Model } from '../models/index.js';
import { needsHessian, resolveOptions } from '../util/method-options.js';
import type { GridSpec } from './method.js';
import { quantMethod } from './registry.js';

/** The registered weight quantizers' names (quant/registry.ts). */
export type QuantMethodName = string;

export interface WeightQuantOptions extends WeightQuantSpec {
  method: QuantMethodName;
  /** input columns per group; -1 = per output channel */
  group: number;
  /** GPTQ: process columns by decreasing Hessian diagonal */
  actOrder?: boolean;
  percdamp?: number;
  blocksize?: number;
  /** GPTQ: float32 updates, as the reference's GPU run (gptq.ts) */
  f32?: boolean;
  /** GPTQ: statistics for each sub-layer group from the block as quantized so far (default true) */
  trueSequential?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface WeightQuantReport {
  method: QuantMethodName;
  /** sha256 of the dequantized linear weights (float32 LE, HF module order) */
  weightsSha256: string;
  quantizedWeights: number;
  /** largest number of distinct values in one quantization group (<= 2^bits) */
  maxLevelsPerGroup: number;
  seconds: number;
  /** GPTQ: per linear, the OBS loss and the damping used */
  layers?: { layer: number; name: string; loss: number; percdamp: number; dampingRetries: number }[];
  timings?: Timings;
  /** per linear (HF name without ".weight"): its grid, null where it cannot be packed (act-order with groups) */
  grids: Map<string, QuantGrid | null>;
}

/** Checks bits and group size against the model's linear widths; throws OptionError naming the flag. */
export function validateWeightQuant(o: Pick<WeightQuantOptions, 'bits' | 'group'>, inputWidths: number[]): void {
  if (!Number.isInteger(o.bits) || o.bits < 2 || o.bits > 8) throw new OptionError('--w-bits', `expected an integer from 2 to 8, got ${o.bits}`);
  if (o.group !== -1 && !(Number.isInteger(o.group) && o.group > 0)) throw new OptionError('--w-group', `expected a positive group size or -1 (per channel), got ${o.group}`);
  if (o.group > 0) {
    const bad = inputWidths.find((w) => w % o.group !== 0);
    if (bad !== undefined) throw new OptionError('--w-group', `${o.group} does not divide the input width ${bad} of a linear layer`);
  }
}

function levels(w: Float32Array, rows: number, cols: number, group: number): number {
  const g = group > 0 ? group : cols;
  let most = 0;
  for (let r = 0; r < rows; r++) {
    for (let c0 = 0; c0 < cols; c0 += g) most = Math.max(most, new Set(w.subarray(r * cols + c0, r * cols + Math.min(cols, c0 + g))).size);
  }
  return most;
}

export async function quantizeModelWeights(model: Model, o: WeightQuantOptions, calib: CalibrationSet | null = null): Promise<WeightQuantReport> {
  const t0 = performance.now();
  const method = quantMethod(o.method);
  const methodOptions = resolveOptions(method, Object.fromEntries(method.options.map((s) => [s.key, (o as unknown as Record<string, unknown>)[s.key]])));
  const grid: GridSpec = { bits: o.bits, sym: o.sym, mse: o.mse, group: o.group };
  const be = model.backend, L = model.blockCount;
  let count = 0, maxLevels = 0;
  const layers: NonNullable<WeightQuantReport['layers']> = [];
  const grids = new Map<string, QuantGrid | null>();
  const quantizeLinear = async (i: number, l: LinearInfo, hessian: () => Float64Array) => {
    const t = floatWeight(model.linearWeight(i, l.name));
    const [rows, cols] = l.shape;
    const r = method.quantize({ weight: await be.read(t), rows, cols, name: l.name, hessian }, grid, methodOptions);
    maxLevels = Math.max(maxLevels, levels(r.weight, rows, cols, o.group));
    be.write(t, r.weight);
    count += r.weight.length;
    grids.set(model.checkpointName(i, l.name), r.grid);
    if (r.detail) layers.push({ layer: i, name: l.name, loss: r.detail['loss']!, percdamp: r.detail['percdamp']!, dampingRetries: r.detail['dampingRetries']! });
  };
  let timings: Timings | undefined;
  if (!method.needs.stats) {
    for (let i = 0; i < L; i++) {
      await cancellationPoint(o.signal);
      for (const l of model.linears(i)) await quantizeLinear(i, l, () => { throw new Error(`${method.name} declared no Hessian`); });
      o.onProgress?.(i + 1, L);
    }
  } else {
    if (!calib) throw new OptionError('calibration', `${method.name} needs calibration data`);
    // GPTQ's true-sequential order: one statistics pass per input group, in the order the block computes them
    const passes = method.sequential?.(methodOptions) ? model.statsGroups(0).map((g) => [g.name]) : undefined;
    timings = await runBlockSequential(model, calib, { hessian: needsHessian(method, methodOptions), passes, signal: o.signal, onProgress: o.onProgress },
      async (i, stats, groups) => {
        for (const l of model.linears(i)) if (groups.includes(l.group)) await quantizeLinear(i, l, () => stats[l.group]!.hessian());
      });
  }
  return { method: o.method, weightsSha256: await linearWeightsSha256(model), quantizedWeights: count, maxLevelsPerGroup: maxLevels, seconds: (performance.now() - t0) / 1000, grids,
    ...(method.needs.stats ? { layers, timings } : {}) };
}

export async function linearWeightsSha256(model: Model): Promise<string> {
  const h = createHash('sha256'), be = model.backend;
  for (let i = 0; i < model.blockCount; i++) {
    for (const { name } of model.linears(i)) {
      const lw = model.linearWeight(i, name);
      let w: Float32Array;
      if (isPacked(lw)) {
        const t = be.alloc([...lw.shape]);
        dequantize(be, lw, t);
        w = await be.read(t);
        be.free(t);
      } else {
        w = await be.read(floatWeight(lw));
      }
      h.update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
    }
  }
  return h.digest('hex');
}
