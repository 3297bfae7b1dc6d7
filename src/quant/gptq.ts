/**
 * GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained Transformers",
 * ICLR 2023; IST-DASLab/gptq `gptq.py::fasterquant`). Columns are quantized one at a time with GPTQ's grid
 * (weight-quantizer.ts); each column's error e = (w - q) / U_ii, with U the upper Cholesky factor of the damped
 * inverse Hessian, is spread over the later columns of its 128-column block (W[:, i:] -= e U[i, i:]) and, after the
 * block, over all later columns (W[:, i2:] -= E U[i1:i2, i2:]). Dead inputs (H_jj = 0) are zeroed. Per-channel grids
 * come from the original weights before any update; with groups, a group's grid is found when its first column is
 * reached, on the lazily updated W (the reference reads W, not the block's working copy, so a group starting inside
 * a block sees that block's columns without their in-block updates; with group = blocksize = 128 this never
 * happens). act-order processes columns by decreasing H_jj and restores the order at the end. Float64 here (the
 * reference runs float32 on a GPU); damping retries tenfold as SparseGPT's (reported, never a crash).
 */
import type { QuantMethod } from './method.js';
import { inverseHessianFactor, propagateBlockError } from '../linalg/obs.js';
import { findParams, QuantGrid, quantizeOne, WeightQuantSpec } from './weight-quantizer.js';

export interface GptqOptions extends WeightQuantSpec {
  /** input columns per group; -1 = per channel */
  group: number;
  actOrder?: boolean;
  blocksize?: number;
  percdamp?: number;
  /** round the inverse-Hessian factor, the errors and every weight update to float32, as the reference's GPU run */
  f32?: boolean;
}

export interface GptqResult {
  /** dequantized weights [rows, cols] */
  weight: Float32Array;
  /** sum of (w - q)^2 / U_ii^2 / 2 (the loss the reference prints) */
  loss: number;
  percdamp: number;
  dampingRetries: number;
  /** the grid in natural column order; null with act-order and groups (groups then follow the permuted order) */
  grid: QuantGrid | null;
}

/** H [cols, cols] (float64, row-major) is not modified. */
export function gptq(weight: Float32Array, H: Float64Array, rows: number, cols: number, o: GptqOptions): GptqResult {
  const B = o.blocksize ?? 128, maxq = 2 ** o.bits - 1;
  let params = o.group > 0 ? null : findParams(weight, rows, cols, 0, cols, o);
  // dead inputs, then the column order
  const Hd = H.slice();
  const dead = new Uint8Array(cols);
  for (let j = 0; j < cols; j++) if (Hd[j * cols + j] === 0) { dead[j] = 1; Hd[j * cols + j] = 1; }
  const perm = Array.from({ length: cols }, (_, j) => j);
  if (o.actOrder) perm.sort((a, b) => Hd[b * cols + b]! - Hd[a * cols + a]! || a - b);
  const Hp = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) Hp[i * cols + j] = Hd[perm[i]! * cols + perm[j]!]!;
  const W = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) W[r * cols + j] = dead[perm[j]!] ? 0 : weight[r * cols + perm[j]!]!;
  const { U: U64, percdamp, retries } = inverseHessianFactor(Hp, cols, o.percdamp ?? 0.01);
  const r32 = o.f32 ? Math.fround : (x: number) => x;
  const U = o.f32 ? U64.map(Math.fround) : U64;
  const Q = new Float64Array(rows * cols);
  const g = o.group > 0 ? o.group : cols, ng = Math.ceil(cols / g);
  const grid: QuantGrid | null = o.actOrder && o.group > 0 ? null : { group: g, scales: new Float32Array(rows * ng), zeros: new Float32Array(rows * ng) };
  const record = (gi: number) => {
    if (!grid) return;
    for (let r = 0; r < rows; r++) { grid.scales[r * ng + gi] = params!.scale[r]!; grid.zeros[r * ng + gi] = params!.zero[r]!; }
  };
  if (o.group <= 0) for (let gi = 0; gi < ng; gi++) record(gi);
  let loss = 0;
  for (let i1 = 0; i1 < cols; i1 += B) {
    const i2 = Math.min(i1 + B, cols), count = i2 - i1;
    const W1 = new Float64Array(rows * count);
    for (let r = 0; r < rows; r++) for (let c = 0; c < count; c++) W1[r * count + c] = W[r * cols + i1 + c]!;
    const err = new Float64Array(rows * count);
    for (let c = 0; c < count; c++) {
      const i = i1 + c;
      if (o.group > 0 && i % o.group === 0) {
        params = findParams(W, rows, cols, i, Math.min(cols, i + o.group), o);
        record(i / o.group);
      }
      const d = U[i * cols + i]!;
      for (let r = 0; r < rows; r++) {
        const w = W1[r * count + c]!;
        const q = quantizeOne(w, params!.scale[r]!, params!.zero[r]!, maxq);
        Q[r * cols + i] = q;
        loss += (w - q) ** 2 / d ** 2 / 2;
        const e = r32((w - q) / d);
        err[r * count + c] = e;
        if (e !== 0) for (let k = c + 1; k < count; k++) W1[r * count + k] = r32(W1[r * count + k]! - r32(e * U[i * cols + i1 + k]!));
      }
    }
    propagateBlockError(W, err, U, rows, cols, i1, i2, o.f32);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) out[r * cols + perm[j]!] = Q[r * cols + j]!;
  return { weight: out, loss, percdamp, dampingRetries: retries, grid };
}

export interface GptqMethodOptions {
  actOrder: boolean;
  percdamp: number;
  blocksize: number;
  f32: boolean;
  trueSequential: boolean;
}

/** GPTQ's fasterquant on the block-sequential calibration runner. */
export const GPTQ: QuantMethod<GptqMethodOptions> = {
  name: 'gptq',
  kind: 'quantize',
  summary: 'GPTQ fasterquant: 128-column blocks, lazy updates, dead inputs, damping with tenfold retries, true-sequential sub-layers',
  needs: { stats: true, hessian: true },
  options: [
    { key: 'actOrder', flag: '--act-order', type: 'boolean', description: 'GPTQ: quantize columns by decreasing Hessian diagonal' },
    { key: 'percdamp', flag: '--percdamp', type: 'number', min: 0, max: 10, description: 'GPTQ: damping as a fraction of mean(diag H) (reference: 0.01)' },
    { key: 'blocksize', flag: '--gptq-blocksize', type: 'int', min: 1, description: 'GPTQ: columns per lazy-update block (reference: 128)' },
    { key: 'f32', flag: '--f32-updates', type: 'boolean', description: 'GPTQ: round the inverse-Hessian factor and every update to float32, as the reference runs on a GPU (default: float64)' },
    { key: 'trueSequential', flag: '--true-sequential', type: 'boolean', description: 'GPTQ: statistics per sub-layer group from the block as quantized so far (default true)' },
  ],
  defaults: { actOrder: false, percdamp: 0.01, blocksize: 128, f32: false, trueSequential: true },
  sequential: (o) => o.trueSequential,
  quantize(l, g, o) {
    const r = gptq(l.weight, l.hessian(), l.rows, l.cols, { ...g, ...o });
    return { weight: r.weight, grid: r.grid, detail: { loss: r.loss, percdamp: r.percdamp, dampingRetries: r.dampingRetries } };
  },
};
