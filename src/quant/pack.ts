/**
 * Packed integer weights for the dequant-matmul kernel (kernels/assembly/qgemv.ts): codes q in [0, 2^bits) with a
 * float32 scale s and zero z per output row and group of `group` input columns, w = s (q - z) as GPTQ's grid.
 * int8: one byte per code; int4: 32-column chunks of 16 bytes, byte j = column c0 + j (low nibble) and
 * c0 + 16 + j (high nibble).
 */
import { findParams, QuantGrid, WeightQuantSpec } from './weight-quantizer.js';
import { roundHalfEven } from '../util/rounding.js';

export interface PackedLinear {
  bits: 4 | 8;
  rows: number;
  cols: number;
  group: number;
  codes: Uint8Array;
  /** [rows, cols / group] */
  scales: Float32Array;
  zeros: Float32Array;
}

export function packedBytes(p: Pick<PackedLinear, 'bits' | 'rows' | 'cols' | 'group'>): number {
  return (p.rows * p.cols * p.bits) / 8 + 8 * p.rows * (p.cols / p.group);
}

function setCode(codes: Uint8Array, bits: number, cols: number, r: number, c: number, q: number): void {
  if (bits === 8) { codes[r * cols + c] = q; return; }
  const chunk = c - (c % 32), j = c % 32;
  const byte = r * (cols / 2) + chunk / 2 + (j % 16);
  codes[byte]! |= j < 16 ? q : q << 4;
}

export function getCode(p: PackedLinear, r: number, c: number): number {
  if (p.bits === 8) return p.codes[r * p.cols + c]!;
  const chunk = c - (c % 32), j = c % 32;
  const b = p.codes[r * (p.cols / 2) + chunk / 2 + (j % 16)]!;
  return j < 16 ? b & 15 : b >> 4;
}

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

/** The dequantized weights w = s (q - z), float32. */
export function unpackWeights(p: PackedLinear): Float32Array {
  const out = new Float32Array(p.rows * p.cols), ng = p.cols / p.group;
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0; c < p.cols; c++) {
      const gi = Math.floor(c / p.group);
      out[r * p.cols + c] = Math.fround(p.scales[r * ng + gi]! * (getCode(p, r, c) - p.zeros[r * ng + gi]!));
    }
  }
  return out;
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
