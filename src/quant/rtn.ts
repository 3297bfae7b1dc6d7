/**
 * Round-to-nearest weight quantization: every weight snapped to the GPTQ quantizer's grid (weight-quantizer.ts),
 * per output channel or per group of `group` input columns (the quantizer applied to each column slice, as GPTQ's
 * groups). The baseline of GPTQ / QuaRot / DartQuant tables.
 */
import type { QuantMethod } from './method.js';
import { findParams, QuantGrid, quantizeOne, WeightQuantSpec } from './weight-quantizer.js';

/** Quantizes w [rows, cols] in place (dequantized values); group <= 0 = per channel. Returns the grid. */
export function rtnQuantize(w: Float32Array, rows: number, cols: number, spec: WeightQuantSpec, group = -1): QuantGrid {
  const g = group > 0 ? group : cols;
  const maxq = 2 ** spec.bits - 1, ng = Math.ceil(cols / g);
  const grid: QuantGrid = { group: g, scales: new Float32Array(rows * ng), zeros: new Float32Array(rows * ng) };
  for (let c0 = 0; c0 < cols; c0 += g) {
    const c1 = Math.min(cols, c0 + g);
    const { scale, zero } = findParams(w, rows, cols, c0, c1, spec);
    for (let r = 0; r < rows; r++) {
      grid.scales[r * ng + c0 / g] = scale[r]!;
      grid.zeros[r * ng + c0 / g] = zero[r]!;
      for (let c = c0; c < c1; c++) w[r * cols + c] = quantizeOne(w[r * cols + c]!, scale[r]!, zero[r]!, maxq);
    }
  }
  return grid;
}

/** RTN: round to nearest on GPTQ's grid, no data. */
export const RTN: QuantMethod<Record<string, never>> = {
  name: 'rtn',
  kind: 'quantize',
  summary: 'round to nearest on the GPTQ grid (asymmetric min/max per channel or group; --sym; --w-clip MSE search)',
  needs: { stats: false, hessian: false },
  options: [],
  defaults: {},
  quantize(l, g) {
    const grid = rtnQuantize(l.weight, l.rows, l.cols, g, g.group);
    return { weight: l.weight, grid };
  },
};
