/**
 * Integer weight quantizer of GPTQ (Frantar et al., ICLR 2023; IST-DASLab/gptq `quant.py`, `Quantizer`), used by
 * RTN and GPTQ. Per output row over a range of input columns (the whole row = per channel, or one group):
 *   xmin = min(min(w), 0), xmax = max(max(w), 0)            (the range always includes 0)
 *   sym: xmax = max(|xmin|, xmax), xmin = -xmax if xmin < 0; a row of zeros gets [-1, 1]
 *   scale = (xmax - xmin) / maxq, zero = sym ? (maxq + 1) / 2 : round(-xmin / scale), maxq = 2^bits - 1
 *   q = clamp(round(w / scale) + zero, 0, maxq), w^ = scale * (q - zero)
 * Optional MSE clip search (`mse`): shrink the range by p = 1 - i/grid for i < maxshrink * grid and keep, per row,
 * the p minimising sum |w^ - w|^norm (norm 2.4, grid 100, maxshrink 0.8 as the reference).
 * Arithmetic is float32 step by step (Math.fround), rounding half to even as torch.round, so RTN reproduces the
 * reference's dequantized weights bit for bit.
 */
import { roundHalfEven } from '../util/rounding.js';

const f = Math.fround;

/** Scale and zero per output row and group of `group` input columns (natural column order): w = s (q - z). */
export interface QuantGrid {
  group: number;
  /** [rows, ceil(cols / group)] */
  scales: Float32Array;
  zeros: Float32Array;
}

export interface WeightQuantSpec {
  bits: number;
  sym: boolean;
  /** MSE clip search */
  mse?: boolean;
  norm?: number;
  grid?: number;
  maxshrink?: number;
}

/** w^ for one value. */
export function quantizeOne(w: number, scale: number, zero: number, maxq: number): number {
  const q = Math.min(Math.max(roundHalfEven(f(w / scale)) + zero, 0), maxq);
  return f(scale * (q - zero));
}

function paramsFor(xmin: number, xmax: number, spec: WeightQuantSpec, maxq: number): [number, number] {
  const scale = f(f(xmax - xmin) / maxq);
  const zero = spec.sym ? (maxq + 1) / 2 : roundHalfEven(f(f(-xmin) / scale));
  return [scale, zero];
}

/**
 * Scale and zero of each of `rows` rows of w [rows, cols] over columns [c0, c1).
 */
export function findParams(w: ArrayLike<number>, rows: number, cols: number, c0: number, c1: number, spec: WeightQuantSpec): { scale: Float32Array; zero: Float32Array } {
  const maxq = 2 ** spec.bits - 1;
  const scale = new Float32Array(rows), zero = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let xmin = 0, xmax = 0;
    for (let c = c0; c < c1; c++) {
      const v = w[o + c]!;
      if (v < xmin) xmin = v;
      if (v > xmax) xmax = v;
    }
    if (spec.sym) {
      xmax = Math.max(Math.abs(xmin), xmax);
      if (xmin < 0) xmin = -xmax;
    }
    if (xmin === 0 && xmax === 0) { xmin = -1; xmax = 1; }
    let [s, z] = paramsFor(xmin, xmax, spec, maxq);
    if (spec.mse) {
      const grid = spec.grid ?? 100, norm = spec.norm ?? 2.4, steps = Math.floor((spec.maxshrink ?? 0.8) * grid);
      let best = Infinity;
      for (let i = 0; i < steps; i++) {
        const p = f(1 - i / grid);
        const lo = f(p * xmin), hi = f(p * xmax);
        const s1 = f(f(hi - lo) / maxq), z1 = spec.sym ? z : roundHalfEven(f(f(-lo) / s1));
        let err = 0;
        for (let c = c0; c < c1; c++) err += Math.abs(quantizeOne(w[o + c]!, s1, z1, maxq) - w[o + c]!) ** norm;
        if (err < best) { best = err; s = s1; z = z1; }
      }
    }
    scale[r] = s;
    zero[r] = z;
  }
  return { scale, zero };
}
