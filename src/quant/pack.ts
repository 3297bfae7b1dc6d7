/**
 * Quantize-and-pack: weights on GPTQ's grid as packed integer codes (the layout of tensor/packed.ts, read by the
 * dequant kernels of kernels/packed).
 */
import { findParams, QuantGrid, WeightQuantSpec } from './weight-quantizer.js';
import { roundHalfEven } from '../util/rounding.js';
import { PackedLinear, setCode } from '../tensor/packed.js';

export type { PackedLinear } from "../tensor/packed.js";
export { packedBytes, unpackWeights, getCode } from '../tensor/packed.js';

/** Quantizes w [rows, cols] on GPTQ's grid (as RTN) and packs it. */
export function packWeights(w: Float32Array, rows: number, cols: number, spec: WeightQuantSpec & { bits: 4 | 8 }, group: number): PackedLinear {
  const g = group > 0 ? group : cols;
  const align = spec.bits === 4 ? 32 : 16;
  if (cols % align || g % align || cols % g) throw new RangeError(`packWeights: ${cols} columns in groups of ${g} do not fit ${spec.bits}-bit packing (multiples of ${align})`);
  const ng = cols / g, maxq = 2 ** spec.bits - 1;
  const p: PackedLinear = { bits: spec.bits, rows, cols, group: g, codes: new Uint8Array((rows * cols * spec.bits) / 8), scales: new Float32Array(rows * ng), zeros: new Float32Array(rows * ng) };
  for (let gi = 0; gi < ng; gi++) {
    const { scale, zero } = findParams(w, rows, cols, gi * g, (gi + 1) * g, spec);
    for (let r = 0; r < rows; r++) {
      p.scales[r * ng + gi] = scale[r]!;
      p.zeros[r * ng + gi] = zero[r]!;
      for (let c = gi * g; c < (gi + 1) * g; c++) {
        const q = Math.min(Math.max(roundHalfEven(Math.fround(w[r * cols + c]! / scale[r]!)) + zero[r]!, 0), maxq);
        setCode(p.codes, spec.bits, cols, r, c, q);
      }
    }
  }
  return p;
}

/**
 * Packs weights that already lie on `grid` (the dequantized output of RTN or GPTQ) into `container`-bit codes.
 * Every code is recovered as round(w / s + z) and checked: s (q - z) must give back w exactly.
 */
export function packOnGrid(w: Float32Array, rows: number, cols: number, grid: QuantGrid, bits: number): PackedLinear {
  const container: 4 | 8 = bits <= 4 ? 4 : 8, g = grid.group, ng = cols / g, maxq = 2 ** bits - 1;
  const align = container === 4 ? 32 : 16;
  if (cols % align || g % align || cols % g) throw new RangeError(`${cols} columns in groups of ${g} do not fit ${container}-bit packing (multiples of ${align})`);
  const p: PackedLinear = { bits: container, rows, cols, group: g, codes: new Uint8Array((rows * cols * container) / 8), scales: grid.scales, zeros: grid.zeros };
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const gi = r * ng + Math.floor(c / g), s = grid.scales[gi]!, z = grid.zeros[gi]!, v = w[r * cols + c]!;
      const q = Math.round(v / s + z);
      if (q < 0 || q > maxq || Math.fround(s * (q - z)) !== v) throw new RangeError(`weight [${r}, ${c}] = ${v} is not on its ${bits}-bit grid`);
      setCode(p.codes, container, cols, r, c, q);
    }
  }
  return p;
}
