/**
 * Sparse weight storage for pruned linears (y = W x, W [rows, cols]): packing from dense (pruned weights are exact
 * zeros), unpacking back to dense, byte sizes and a validator. Pure functions over typed arrays; the kernels in
 * src/kernels/sparse/assembly.ts read these arrays as they are.
 *
 * bitmask (unstructured): mask u8 [rows * maskStride], maskStride = 4 * ceil(cols / 32) bytes (whole u32 words);
 *   bit (c & 7) of byte r * maskStride + (c >> 3) is set when W[r, c] is kept; bits at c >= cols are zero.
 *   offsets i32 [rows + 1]: offsets[0] = 0, offsets[r + 1] - offsets[r] = popcount of row r's mask.
 *   values [offsets[rows] + SPARSE_PAD]: the kept weights of row r in increasing column order at
 *   offsets[r] .. offsets[r + 1]; the SPARSE_PAD trailing entries are zero (vector loads read past the last one).
 * nm (N:M, 2:4 or 4:8): every group of M consecutive columns keeps exactly N entries (cols % M == 0).
 *   values [rows * (cols / M) * N + SPARSE_PAD]: row-major, group-major, N per group in increasing column order.
 *   indices u8 [rows * idxStride + 4], idxStride = ceil(groups * N * log2(M) / 8) bytes: per row a little-endian
 *   bit stream; group g's field starts at bit g * N * log2(M) and holds its N in-group columns (log2(M) bits each,
 *   first index in the lowest bits), strictly increasing. 2:4 = 4 bits per group (two groups per byte), 4:8 = 12.
 *   The 4 trailing bytes are zero (the kernel reads the stream as u32). Groups with fewer than N non-zeros keep
 *   zeros at the lowest free columns.
 * block8 (1x8 blocks, float32 only; cols % 8 == 0): as bitmask but one mask bit per block of 8 consecutive columns
 *   of a row (bit (b & 7) of byte r * blockStride + (b >> 3) for block b = c >> 3, blockStride = 4 * ceil(cols / 256));
 *   offsets count kept blocks; values [8 * offsets[rows] + SPARSE_PAD] hold the 8 weights of every kept block
 *   (zeros inside a kept block included). A block is kept when any of its weights is non-zero.
 * values are either float32 (dtype 'f32'), int8 codes (dtype 'q8') or int4 codes (dtype 'q4'): codes q with
 *   w = s (q - z) for the quantizer's f32 scale s and zero z per row and group of `group` columns (scales, zeros
 *   [rows, cols / group]); pruned weights are exactly 0 and not stored. q8 stores one u8 code per stored entry, in
 *   the order the values would have; q4 stores the same sequence of codes (0..15) two per byte, entry i in byte
 *   i >> 1, low nibble first (codes [ceil(stored / 2) + SPARSE_PAD]; an odd count leaves the last high nibble 0).
 *   Both need group % 8 == 0 and cols % group == 0 (block8 is float32 only).
 */
import { FormatError } from '../util/errors.js';
import type { Tensor } from './tensor.js';

/** Zero entries after the last value of a values/codes array (over-read of the vector kernels). */
export const SPARSE_PAD = 16;

export interface QuantValues {
  /** q8: one code per byte; q4: two codes per byte, low nibble first */
  dtype: 'q8' | 'q4';
  codes: Uint8Array;
  group: number;
  /** [rows, cols / group] */
  scales: Float32Array;
  zeros: Float32Array;
}
export interface FloatValues {
  dtype: 'f32';
  values: Float32Array;
}

export type BitmaskSparse = { format: 'bitmask'; rows: number; cols: number; mask: Uint8Array; offsets: Int32Array } & (FloatValues | QuantValues);
export type NMSparse = { format: 'nm'; rows: number; cols: number; n: 2 | 4; m: 4 | 8; indices: Uint8Array } & (FloatValues | QuantValues);
export type Block8Sparse = { format: 'block8'; rows: number; cols: number; mask: Uint8Array; offsets: Int32Array } & FloatValues;
export type SparseWeight = BitmaskSparse | NMSparse | Block8Sparse;

export function blockStride(cols: number): number {
  return 4 * Math.ceil(cols / 256);
}

/** 1x8 blocks, float32: keeps every block of 8 columns that holds a non-zero of dense [rows, cols]. */
export function packBlock8(dense: Float32Array, rows: number, cols: number): Block8Sparse {
  if (cols % 8) throw new RangeError(`1x8 blocks need the column count (${cols}) to be a multiple of 8`);
  const nb = cols / 8, keep = new Uint8Array(rows * nb);
  for (let i = 0; i < rows * cols; i++) if (dense[i] !== 0) keep[Math.floor(i / 8)] = 1;
  const bs = blockStride(cols), mask = new Uint8Array(rows * bs), offsets = new Int32Array(rows + 1);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let b = 0; b < nb; b++) if (keep[r * nb + b]) { mask[r * bs + (b >> 3)]! |= 1 << (b & 7); n++; }
    offsets[r + 1] = offsets[r]! + n;
  }
  const values = new Float32Array(8 * offsets[rows]! + SPARSE_PAD);
  let j = 0;
  for (let i = 0; i < rows * nb; i++) if (keep[i]) { values.set(dense.subarray(8 * i, 8 * i + 8), 8 * j); j++; }
  return { format: 'block8', rows, cols, mask, offsets, dtype: 'f32', values };
}

export function maskStride(cols: number): number {
  return 4 * Math.ceil(cols / 32);
}

export function nmIndexBits(m: 4 | 8): number {
  return m === 4 ? 2 : 3;
}

export function nmIndexStride(cols: number, n: number, m: 4 | 8): number {
  return Math.ceil(((cols / m) * n * nmIndexBits(m)) / 8);
}

/** Set bits of a byte. */
export function popcount8(b: number): number {
  let c = 0;
  for (; b; b &= b - 1) c++;
  return c;
}

/** 1 where the dense weight is non-zero (kept), else 0. */
export function keepMaskOf(dense: Float32Array): Uint8Array {
  // a plain loop: Uint8Array.from(dense, fn) takes ~200 ns per element in Node 20 (2 s for a 5632x2048 matrix)
  const keep = new Uint8Array(dense.length);
  for (let i = 0; i < dense.length; i++) keep[i] = dense[i] !== 0 ? 1 : 0;
  return keep;
}

function bitmaskLayout(keep: Uint8Array, rows: number, cols: number): { mask: Uint8Array; offsets: Int32Array } {
  const ms = maskStride(cols);
  const mask = new Uint8Array(rows * ms), offsets = new Int32Array(rows + 1);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let c = 0; c < cols; c++) {
      if (keep[r * cols + c]) {
        mask[r * ms + (c >> 3)]! |= 1 << (c & 7);
        n++;
      }
    }
    offsets[r + 1] = offsets[r]! + n;
  }
  return { mask, offsets };
}

/** Unstructured float32: keeps the non-zero entries of dense [rows, cols]. */
export function packBitmask(dense: Float32Array, rows: number, cols: number): BitmaskSparse {
  const keep = keepMaskOf(dense);
  const { mask, offsets } = bitmaskLayout(keep, rows, cols);
  const values = new Float32Array(offsets[rows]! + SPARSE_PAD);
  let j = 0;
  for (let i = 0; i < rows * cols; i++) if (keep[i]) values[j++] = dense[i]!;
  return { format: 'bitmask', rows, cols, mask, offsets, dtype: 'f32', values };
}

/** Bytes of the codes array for `stored` entries (padding included). */
export function codeBytes(dtype: 'q8' | 'q4', stored: number): number {
  return (dtype === 'q8' ? stored : Math.ceil(stored / 2)) + SPARSE_PAD;
}

/** Stored entry i of a codes array. */
export function codeAt(dtype: 'q8' | 'q4', codes: Uint8Array, i: number): number {
  return dtype === 'q8' ? codes[i]! : (codes[i >> 1]! >> (4 * (i & 1))) & 15;
}

/** The codes array holding `seq` (one code per stored entry, in order) as `dtype` lays it out. */
function storeCodes(dtype: 'q8' | 'q4', seq: Uint8Array): Uint8Array {
  const out = new Uint8Array(codeBytes(dtype, seq.length));
  if (dtype === 'q8') out.set(seq);
  else for (let i = 0; i < seq.length; i++) out[i >> 1]! |= seq[i]! << (4 * (i & 1));
  return out;
}

function checkCodes(codes: Uint8Array, dtype: 'q8' | 'q4'): void {
  if (dtype === 'q8') return;
  const bad = codes.findIndex((q) => q > 15);
  if (bad >= 0) throw new RangeError(`sparse int4: code ${codes[bad]} at weight ${bad} is not in 0..15`);
}

/**
 * Unstructured int8: `codes` u8 [rows, cols] (one code per weight, as the quantizer produced them), `keep`
 * [rows, cols] (1 = kept; e.g. keepMaskOf(pruned weights)); scales/zeros [rows, cols / group].
 */
export function packBitmaskQ8(codes: Uint8Array, keep: Uint8Array, rows: number, cols: number, group: number, scales: Float32Array, zeros: Float32Array): BitmaskSparse {
  return packBitmaskQuant('q8', codes, keep, rows, cols, group, scales, zeros);
}

/** Unstructured int4: as packBitmaskQ8 with codes 0..15 (one per byte in `codes`), stored two per byte. */
export function packBitmaskQ4(codes: Uint8Array, keep: Uint8Array, rows: number, cols: number, group: number, scales: Float32Array, zeros: Float32Array): BitmaskSparse {
  return packBitmaskQuant('q4', codes, keep, rows, cols, group, scales, zeros);
}

function packBitmaskQuant(dtype: 'q8' | 'q4', codes: Uint8Array, keep: Uint8Array, rows: number, cols: number, group: number, scales: Float32Array, zeros: Float32Array): BitmaskSparse {
  checkGroup(cols, group, dtype);
  checkCodes(codes, dtype);
  const { mask, offsets } = bitmaskLayout(keep, rows, cols);
  const seq = new Uint8Array(offsets[rows]!);
  let j = 0;
  for (let i = 0; i < rows * cols; i++) if (keep[i]) seq[j++] = codes[i]!;
  return { format: 'bitmask', rows, cols, mask, offsets, dtype, codes: storeCodes(dtype, seq), group, scales: scales.slice(), zeros: zeros.slice() };
}

function checkGroup(cols: number, group: number, dtype: 'q8' | 'q4'): void {
  if (!(group > 0 && group % 8 === 0 && cols % group === 0)) throw new RangeError(`sparse ${dtype === 'q8' ? 'int8' : 'int4'}: group ${group} must be a positive multiple of 8 dividing ${cols} columns`);
}

/** Kept columns of every N:M group (rows * groups * n entries), from keep [rows, cols]. */
function nmColumns(keep: Uint8Array, rows: number, cols: number, n: 2 | 4, m: 4 | 8): Int32Array {
  if (cols % m) throw new RangeError(`${n}:${m} sparsity needs the column count (${cols}) to be a multiple of ${m}`);
  const groups = cols / m, out = new Int32Array(rows * groups * n);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const base = r * cols + g * m, at = (r * groups + g) * n;
      let k = 0;
      for (let j = 0; j < m; j++) if (keep[base + j]) k++;
      if (k > n) throw new RangeError(`row ${r}, columns ${g * m}..${g * m + m - 1}: ${k} non-zeros, more than ${n}:${m} allows`);
      let free = n - k, t = 0; // padding entries to add, at the lowest pruned columns
      for (let j = 0; j < m; j++) {
        if (keep[base + j]) out[at + t++] = j;
        else if (free > 0) { out[at + t++] = j; free--; }
      }
    }
  }
  return out;
}

function nmIndices(cols: Int32Array, rows: number, ncols: number, n: number, m: 4 | 8): Uint8Array {
  const groups = ncols / m, bits = nmIndexBits(m), stride = nmIndexStride(ncols, n, m);
  const indices = new Uint8Array(rows * stride + 4);
  for (let r = 0; r < rows; r++) {
    for (let e = 0; e < groups * n; e++) {
      const v = cols[r * groups * n + e]!, bit = e * bits;
      for (let b = 0; b < bits; b++) if ((v >> b) & 1) indices[r * stride + ((bit + b) >> 3)]! |= 1 << ((bit + b) & 7);
    }
  }
  return indices;
}

/** N:M float32 from dense [rows, cols] whose every group of m columns has at most n non-zeros. */
export function packNM(dense: Float32Array, rows: number, cols: number, n: 2 | 4, m: 4 | 8): NMSparse {
  checkNM(n, m);
  const sel = nmColumns(keepMaskOf(dense), rows, cols, n, m);
  const groups = cols / m, values = new Float32Array(rows * groups * n + SPARSE_PAD);
  for (let i = 0; i < sel.length; i++) {
    const r = Math.floor(i / (groups * n)), g = Math.floor((i % (groups * n)) / n);
    values[i] = dense[r * cols + g * m + sel[i]!]!;
  }
  return { format: 'nm', rows, cols, n, m, indices: nmIndices(sel, rows, cols, n, m), dtype: 'f32', values };
}

/**
 * N:M int8 from one code per weight and the kept positions (at most n per group). A group with fewer kept entries
 * stores padding entries whose code is round(z); w = s (round(z) - z) is then not exactly 0 unless z is an integer,
 * so packNMQ8 requires integer zeros in that case.
 */
export function packNMQ8(codes: Uint8Array, keep: Uint8Array, rows: number, cols: number, n: 2 | 4, m: 4 | 8, group: number,
  scales: Float32Array, zeros: Float32Array): NMSparse {
  return packNMQuant('q8', codes, keep, rows, cols, n, m, group, scales, zeros);
}

/** N:M int4: as packNMQ8 with codes 0..15 stored two per byte (padding entries need integer zeros in [0, 15]). */
export function packNMQ4(codes: Uint8Array, keep: Uint8Array, rows: number, cols: number, n: 2 | 4, m: 4 | 8, group: number,
  scales: Float32Array, zeros: Float32Array): NMSparse {
  return packNMQuant('q4', codes, keep, rows, cols, n, m, group, scales, zeros);
}

function packNMQuant(dtype: 'q8' | 'q4', codes: Uint8Array, keep: Uint8Array, rows: number, cols: number, n: 2 | 4, m: 4 | 8, group: number,
  scales: Float32Array, zeros: Float32Array): NMSparse {
  checkNM(n, m);
  checkGroup(cols, group, dtype);
  checkCodes(codes, dtype);
  const sel = nmColumns(keep, rows, cols, n, m), maxq = dtype === 'q8' ? 255 : 15;
  const groups = cols / m, ng = cols / group, seq = new Uint8Array(rows * groups * n);
  for (let i = 0; i < sel.length; i++) {
    const r = Math.floor(i / (groups * n)), g = Math.floor((i % (groups * n)) / n), c = g * m + sel[i]!;
    if (keep[r * cols + c]) seq[i] = codes[r * cols + c]!;
    else {
      const z = zeros[r * ng + Math.floor(c / group)]!;
      if (!Number.isInteger(z) || z < 0 || z > maxq) throw new RangeError(`row ${r}, column ${c}: an N:M padding entry needs an integer zero point in [0, ${maxq}], got ${z}`);
      seq[i] = z;
    }
  }
  return { format: 'nm', rows, cols, n, m, indices: nmIndices(sel, rows, cols, n, m), dtype, codes: storeCodes(dtype, seq), group, scales: scales.slice(), zeros: zeros.slice() };
}

function checkNM(n: number, m: number): void {
  if (!((n === 2 && m === 4) || (n === 4 && m === 8))) throw new RangeError(`N:M sparsity ${n}:${m} is not supported (2:4 or 4:8)`);
}

function valueAt(w: SparseWeight, i: number, r: number, c: number): number {
  if (w.dtype === 'f32') return w.values[i]!;
  const gi = r * (w.cols / w.group) + Math.floor(c / w.group);
  return w.scales[gi]! * (codeAt(w.dtype, w.codes, i) - w.zeros[gi]!);
}

/** Calls fn(row, column, index into values/codes) for every stored entry, row by row in increasing column order. */
export function forEachStored(w: SparseWeight, fn: (r: number, c: number, i: number) => void): void {
  if (w.format === 'block8') {
    const bs = blockStride(w.cols);
    for (let r = 0; r < w.rows; r++) {
      let i = 8 * w.offsets[r]!;
      for (let b = 0; b < w.cols / 8; b++) {
        if ((w.mask[r * bs + (b >> 3)]! >> (b & 7)) & 1) for (let t = 0; t < 8; t++) fn(r, 8 * b + t, i++);
      }
    }
    return;
  }
  if (w.format === 'bitmask') {
    const ms = maskStride(w.cols);
    for (let r = 0; r < w.rows; r++) {
      let i = w.offsets[r]!;
      for (let c = 0; c < w.cols; c++) if ((w.mask[r * ms + (c >> 3)]! >> (c & 7)) & 1) fn(r, c, i++);
    }
    return;
  }
  const bits = nmIndexBits(w.m), stride = nmIndexStride(w.cols, w.n, w.m), groups = w.cols / w.m;
  for (let r = 0; r < w.rows; r++) {
    for (let e = 0; e < groups * w.n; e++) {
      let v = 0;
      for (let b = 0; b < bits; b++) v |= ((w.indices[r * stride + ((e * bits + b) >> 3)]! >> ((e * bits + b) & 7)) & 1) << b;
      fn(r, Math.floor(e / w.n) * w.m + v, r * groups * w.n + e);
    }
  }
}

/** The dense weights [rows, cols] (dequantized for int8 and int4), zeros where pruned. */
export function unpackSparse(w: SparseWeight): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  forEachStored(w, (r, c, i) => { out[r * w.cols + c] = valueAt(w, i, r, c); });
  return out;
}

/** Bytes the format stores (mask or indices, offsets, values or codes, scales and zeros; padding included). */
export function sparseBytes(w: SparseWeight): number {
  const layout = w.format !== 'nm' ? w.mask.byteLength + w.offsets.byteLength : w.indices.byteLength;
  const vals = w.dtype === 'f32' ? w.values.byteLength : w.codes.byteLength + w.scales.byteLength + w.zeros.byteLength;
  return layout + vals;
}

function need(ok: boolean, name: string, problem: string): void {
  if (!ok) throw new FormatError(name, problem);
}

/**
 * Checks every length, offset and index of a sparse weight so that the kernels never read out of bounds.
 * Throws a FormatError naming `name` and the field at fault.
 */
export function validateSparse(w: SparseWeight, name = 'sparse weight'): void {
  const { rows, cols } = w;
  need(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) && cols > 0, name, `shape [${rows}, ${cols}] is not two positive integers`);
  let stored: number;
  if (w.format === 'bitmask' || w.format === 'block8') {
    const block = w.format === 'block8';
    need(!block || cols % 8 === 0, name, `${cols} columns are not a multiple of the block width 8`);
    const units = block ? cols / 8 : cols, ms = block ? blockStride(cols) : maskStride(cols);
    need(w.mask instanceof Uint8Array && w.mask.length === rows * ms, name, `mask has ${w.mask?.length} bytes, expected ${rows * ms} (${rows} rows x ${ms})`);
    need(w.offsets instanceof Int32Array && w.offsets.length === rows + 1, name, `offsets has ${w.offsets?.length} entries, expected ${rows + 1}`);
    need(w.offsets[0] === 0, name, `offsets[0] is ${w.offsets[0]}, expected 0`);
    for (let r = 0; r < rows; r++) {
      let n = 0;
      for (let b = 0; b < ms; b++) {
        const byte = w.mask[r * ms + b]!;
        const valid = Math.max(0, Math.min(8, units - 8 * b));
        need((byte >> valid) === 0, name, `mask row ${r} has bits set past ${block ? 'block' : 'column'} ${units - 1}`);
        n += popcount8(byte);
      }
      const d = w.offsets[r + 1]! - w.offsets[r]!;
      need(d === n, name, `offsets[${r + 1}] - offsets[${r}] = ${d} does not match the ${n} kept entries of mask row ${r}`);
    }
    stored = (block ? 8 : 1) * w.offsets[rows]!;
  } else {
    need((w.n === 2 && w.m === 4) || (w.n === 4 && w.m === 8), name, `N:M ${w.n}:${w.m} is not 2:4 or 4:8`);
    need(cols % w.m === 0, name, `${cols} columns are not a multiple of M = ${w.m}`);
    const stride = nmIndexStride(cols, w.n, w.m);
    need(w.indices instanceof Uint8Array && w.indices.length === rows * stride + 4, name, `indices has ${w.indices?.length} bytes, expected ${rows * stride + 4}`);
    const bits = nmIndexBits(w.m), groups = cols / w.m;
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < groups; g++) {
        let prev = -1;
        for (let t = 0; t < w.n; t++) {
          const bit = (g * w.n + t) * bits;
          let v = 0;
          for (let b = 0; b < bits; b++) v |= ((w.indices[r * stride + ((bit + b) >> 3)]! >> ((bit + b) & 7)) & 1) << b;
          need(v > prev, name, `indices of row ${r}, group ${g} are not strictly increasing`);
          prev = v;
        }
      }
      const used = groups * w.n * bits, last = r * stride + stride - 1;
      if (used % 8) need((w.indices[last]! >> (used % 8)) === 0, name, `indices row ${r} has bits set past its last group`);
    }
    for (let i = rows * stride; i < w.indices.length; i++) need(w.indices[i] === 0, name, 'the 4 trailing index bytes are not zero');
    stored = rows * groups * w.n;
  }
  need(w.dtype === 'f32' || w.dtype === 'q8' || w.dtype === 'q4', name, `values type ${w.dtype} is not f32, q8 or q4`);
  need(w.format !== 'block8' || w.dtype === 'f32', name, '1x8 blocks hold float32 values only');
  const arr = w.dtype === 'f32' ? w.values : w.codes;
  const kind = w.dtype === 'f32' ? 'values' : 'codes';
  need(w.dtype === 'f32' ? arr instanceof Float32Array : arr instanceof Uint8Array, name, `${kind} has the wrong element type`);
  if (w.dtype === 'q4') {
    const used = Math.ceil(stored / 2);
    need(arr.length === used + SPARSE_PAD, name, `codes has ${arr.length} bytes, expected ${used} for ${stored} int4 codes + ${SPARSE_PAD} padding`);
    need(stored % 2 === 0 || (arr[used - 1]! >> 4) === 0, name, 'the unused high nibble of the last code byte is not zero');
    for (let i = used; i < arr.length; i++) need(arr[i] === 0, name, `codes padding byte ${i - used} is not zero`);
  } else {
    need(arr.length === stored + SPARSE_PAD, name, `${kind} has ${arr.length} entries, expected ${stored} stored + ${SPARSE_PAD} padding`);
    for (let i = stored; i < arr.length; i++) need(arr[i] === 0, name, `${kind} padding entry ${i - stored} is not zero`);
  }
  if (w.dtype === 'f32') {
    for (let i = 0; i < stored; i++) need(Number.isFinite(w.values[i]!), name, `values[${i}] is not finite`);
  } else {
    need(Number.isInteger(w.group) && w.group > 0 && w.group % 8 === 0 && cols % w.group === 0, name, `group ${w.group} is not a positive multiple of 8 dividing ${cols} columns`);
    const ng = rows * (cols / w.group);
    need(w.scales instanceof Float32Array && w.scales.length === ng, name, `scales has ${w.scales?.length} entries, expected ${ng}`);
    need(w.zeros instanceof Float32Array && w.zeros.length === ng, name, `zeros has ${w.zeros?.length} entries, expected ${ng}`);
    for (let i = 0; i < ng; i++) need(Number.isFinite(w.scales[i]!) && Number.isFinite(w.zeros[i]!), name, `scale or zero ${i} is not finite`);
  }
}

/**
 * A sparse weight held on a backend, as the sparse kernels take it: `code` 0 bitmask f32, 1 bitmask int8, 2 2:4 f32,
 * 3 4:8 f32, 4 2:4 int8, 5 4:8 int8, 6 1x8 blocks f32, 7 bitmask int4, 8 2:4 int4, 9 4:8 int4
 * (models/sparse-storage.ts uploads one).
 */
export interface SparseTensors {
  readonly kind: 'sparse';
  readonly code: number;
  readonly shape: readonly [number, number];
  readonly rows: number;
  readonly cols: number;
  /** int8/int4 group size (0 for float32) */
  readonly group: number;
  /** mask (bitmask, block8) or index stream (N:M), u8 */
  readonly layout: Tensor;
  /** i32 [rows + 1] for bitmask and block8, else null */
  readonly offsets: Tensor | null;
  /** f32 values or u8 codes, padding included */
  readonly values: Tensor;
  readonly scales: Tensor | null;
  readonly zeros: Tensor | null;
}
