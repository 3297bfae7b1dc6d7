/**
 * Weight-only quantization of every linear layer of a LLaMA-family model (q, k, v, o, gate, up, down; embeddings
 * and lm_head stay float, as the reference GPTQ code keeps them). The model's weights are replaced by their
 * dequantized values, so perplexity and generation run unchanged; `weightsSha256` hashes them as the reference's
 * results do (float32 little-endian, layers in order, modules in Hugging Face order).
 */
import { createHash } from 'node:crypto';
import type { LlamaModel } from '../models/llama/model.js';
import { floatWeight, LinearWeight, LINEARS } from '../models/llama/weights.js';
import { dequantize, isPacked } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { cancellationPoint, OptionError } from '../util/errors.js';
import { rtnQuantize } from './rtn.js';
import { gptq } from './gptq.js';
import type { CalibrationSet } from '../data/calibration.js';
import { InputGroup, LINEAR_INPUT, runBlockSequential, Timings } from '../calib/runner.js';
import type { QuantGrid, WeightQuantSpec } from './weight-quantizer.js';

export type QuantMethod = 'rtn' | 'gptq';
export const QUANT_METHODS: readonly QuantMethod[] = ['rtn', 'gptq'];

/** GPTQ's true-sequential sub-layer order inside a block: [k, v, q] -> [o] -> [up, gate] -> [down]. */
export const TRUE_SEQUENTIAL: InputGroup[][] = [['attn'], ['o'], ['mlp'], ['down']];

export interface WeightQuantOptions extends WeightQuantSpec {
  method: QuantMethod;
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
  method: QuantMethod;
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

export async function quantizeModelWeights(model: LlamaModel, o: WeightQuantOptions, calib: CalibrationSet | null = null): Promise<WeightQuantReport> {
  const t0 = performance.now();
  const be = model.backend, L = model.weights.layers.length;
  let count = 0, maxLevels = 0;
  const layers: NonNullable<WeightQuantReport['layers']> = [];
  const store = async (t: Tensor, w: Float32Array) => {
    const [rows, cols] = t.shape as [number, number];
    maxLevels = Math.max(maxLevels, levels(w, rows, cols, o.group));
    be.write(t, w);
    count += w.length;
  };
  let timings: Timings | undefined;
  const grids = new Map<string, QuantGrid | null>();
  if (o.method === 'rtn') {
    for (let i = 0; i < L; i++) {
      await cancellationPoint(o.signal);
      for (const [name, key] of LINEARS) {
        const t = floatWeight(model.weights.layers[i]![key] as LinearWeight);
        const [rows, cols] = t.shape as [number, number];
        const w = await be.read(t);
        grids.set(`model.layers.${i}.${name}`, rtnQuantize(w, rows, cols, o, o.group));
        await store(t, w);
      }
      o.onProgress?.(i + 1, L);
    }
  } else {
    if (!calib) throw new Error('GPTQ needs calibration data');
    timings = await runBlockSequential(model, calib, { hessian: true, passes: o.trueSequential === false ? undefined : TRUE_SEQUENTIAL, signal: o.signal, onProgress: o.onProgress },
      async (i, stats, groups) => {
        for (const [name, key] of LINEARS) {
          const group = LINEAR_INPUT[name.split('.')[1]!]!;
          if (!groups.includes(group)) continue;
          const t = floatWeight(model.weights.layers[i]![key] as LinearWeight);
          const [rows, cols] = t.shape as [number, number];
          const r = gptq(await be.read(t), stats[group].hessian(), rows, cols, { ...o, group: o.group });
          await store(t, r.weight);
          grids.set(`model.layers.${i}.${name}`, r.grid);
          layers.push({ layer: i, name, loss: r.loss, percdamp: r.percdamp, dampingRetries: r.dampingRetries });
        }
      });
  }
  return { method: o.method, weightsSha256: await linearWeightsSha256(model), quantizedWeights: count, maxLevelsPerGroup: maxLevels, seconds: (performance.now() - t0) / 1000, grids,
    ...(o.method === 'gptq' ? { layers, timings } : {}) };
}

export async function linearWeightsSha256(model: LlamaModel): Promise<string> {
  const h = createHash('sha256');
  for (const layer of model.weights.layers) {
    for (const [, key] of LINEARS) {
      const lw = layer[key] as LinearWeight, be = model.backend;
      let w: Float32Array;
      if (isPacked(lw)) {
        const t = be.alloc([...lw.shape]);
        dequantize(be, lw, t);
        w = await be.read(t);
        be.free(t);
      } else {
        w = await be.read(lw);
      }
      h.update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
    }
  }
  return h.digest('hex');
}
