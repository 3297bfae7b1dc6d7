/**
 * The packed integer weight layout (what the dequant kernels read; quant/pack.ts produces it): codes q in
 * [0, 2^bits) with a float32 scale s and zero z per output row and group of `group` input columns, w = s (q - z).
 * int8: one byte per code; int4: 32-column chunks of 16 bytes, byte j = column c0 + j (low nibble) and
 * c0 + 16 + j (high nibble). `PackedWeight` is the same layout held on a backend.
 */
import type { Tensor } from './tensor.js';

/**
 * A linear layer's weights [rows, cols] held as packed integer codes on a backend: w = s (q - z) with an f32 scale and
 * zero per row and group of `group` columns; `container` 4 or 8 bits per code.
 */
export interface PackedWeight {
  readonly kind: 'packed';
  readonly shape: readonly [number, number];
  readonly container: 4 | 8;
  readonly group: number;
  /** u8 [rows, cols * container / 8] */
  readonly codes: Tensor;
  /** f32 [rows, cols / group] */
  readonly scales: Tensor;
  readonly zeros: Tensor;
}

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

export function setCode(codes: Uint8Array, bits: number, cols: number, r: number, c: number, q: number): void {
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

