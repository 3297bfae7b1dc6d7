/**
 * Sparse weight storage on a backend: a sparse weight (tensor/sparse-format.ts) uploaded in the form the sparse
 * kernels take (kernels/sparse), after validating it.
 */
import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { blockStride, codeBytes, keepMaskOf, maskStride, popcount8, packBitmask, packBitmaskQ4, packBitmaskQ8, packBlock8, packNM, packNMQ4, packNMQ8, SPARSE_PAD, validateSparse, type SparseTensors, type SparseWeight } from '../tensor/sparse-format.js';
import type { RawTensor, TensorMap } from '../io/raw-tensor.js';
import { FormatError } from '../util/errors.js';
import { roundHalfEven } from '../util/rounding.js';
import type { PackedFormat } from './packed-storage.js';
import type { Model } from './model.js';
import { floatWeight } from './decoder.js';

export type { SparseTensors } from '../tensor/sparse-format.js';

/** The kernels' storage code (tensor/sparse-format.ts SparseTensors). */
export function sparseKind(w: SparseWeight): number {
  if (w.format === 'block8') return 6;
  if (w.dtype === 'q4') return w.format === 'bitmask' ? 7 : w.m === 4 ? 8 : 9;
  const q = w.dtype === 'q8' ? 1 : 0;
  if (w.format === 'bitmask') return q;
  return (w.m === 4 ? 2 : 3) + 2 * q;
}

function put(be: Pick<Backend, 'alloc' | 'write'>, data: Float32Array | Int32Array | Uint8Array): Tensor {
  const t = be.alloc([data.length], data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'u8');
  be.write(t, data);
  return t;
}

/** Validates `w` and copies its arrays into backend tensors. */
export function uploadSparse(be: Pick<Backend, 'alloc' | 'write'>, w: SparseWeight, name?: string): SparseTensors {
  validateSparse(w, name);
  return {
    kind: 'sparse', code: sparseKind(w), shape: [w.rows, w.cols], rows: w.rows, cols: w.cols, group: w.dtype !== 'f32' ? w.group : 0,
    layout: put(be, w.format === 'nm' ? w.indices : w.mask),
    offsets: w.format === 'nm' ? null : put(be, w.offsets),
    values: put(be, w.dtype === 'f32' ? w.values : w.codes),
    scales: w.dtype !== 'f32' ? put(be, w.scales) : null,
    zeros: w.dtype !== 'f32' ? put(be, w.zeros) : null,
  };
}

export function sparseTensorList(t: SparseTensors): Tensor[] {
  return [t.layout, t.offsets, t.values, t.scales, t.zeros].filter((x): x is Tensor => x !== null);
}

/**
 * Sparse checkpoints: the pruned linears of a Hugging Face folder stored sparse instead of as dense zeros. For a
 * linear `model.layers.i.mlp.up_proj`: `.sparse_layout` U8 (the bitmask or N:M index stream of tensor/sparse-format.ts),
 * `.sparse_values` F32 (kept values, no padding) or U8 (int8 codes; int4 codes two per byte, low nibble first,
 * ceil(stored / 2) bytes), and for int8/int4 `.sparse_scales` / `.sparse_zeros` F32 [rows, cols / group]. Row
 * offsets are not stored: the loader recounts them from the mask, and a values tensor whose length disagrees with the
 * mask is refused. lithe.json "sparse" names the format.
 */
export const SPARSE_FORMAT = 'lithe-sparse-v1';

export interface SparseFormat {
  format: typeof SPARSE_FORMAT;
  layout: 'bitmask' | 'nm' | 'block8';
  /** N:M only */
  n?: 2 | 4;
  m?: 4 | 8;
  values: 'f32' | 'q8' | 'q4';
  /** int8/int4 only: columns per scale/zero group */
  group?: number;
}

/** lithe.json "sparse", checked. */
export function parseSparseFormat(v: unknown, file: string): SparseFormat | null {
  if (v === undefined || v === null) return null;
  const o = v as Partial<SparseFormat>;
  if (typeof v !== 'object' || o.format !== SPARSE_FORMAT) throw new FormatError(file, `field "sparse.format" must be "${SPARSE_FORMAT}"`);
  if (o.layout !== 'bitmask' && o.layout !== 'nm' && o.layout !== 'block8') throw new FormatError(file, 'field "sparse.layout" must be "bitmask", "nm" or "block8"');
  if (o.layout === 'nm' && !((o.n === 2 && o.m === 4) || (o.n === 4 && o.m === 8))) throw new FormatError(file, 'fields "sparse.n" and "sparse.m" must be 2 and 4, or 4 and 8');
  if (o.values !== 'f32' && o.values !== 'q8' && o.values !== 'q4') throw new FormatError(file, 'field "sparse.values" must be "f32", "q8" or "q4"');
  if (o.values !== 'f32' && !(Number.isInteger(o.group) && o.group! > 0)) throw new FormatError(file, `field "sparse.group" must be a positive integer for ${o.values === 'q8' ? 'int8' : 'int4'} values`);
  if (o.values !== 'f32' && o.layout === 'block8') throw new FormatError(file, 'field "sparse.values" must be "f32" for the block8 layout');
  return { format: SPARSE_FORMAT, layout: o.layout, ...(o.layout === 'nm' ? { n: o.n, m: o.m } : {}), values: o.values, ...(o.values !== 'f32' ? { group: o.group } : {}) };
}

/** The format a sparse weight is stored in. */
export function sparseFormatOf(w: SparseWeight): SparseFormat {
  return { format: SPARSE_FORMAT, layout: w.format, ...(w.format === 'nm' ? { n: w.n, m: w.m } : {}), values: w.dtype, ...(w.dtype !== 'f32' ? { group: w.group } : {}) };
}

const bytesOf = (a: Float32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The checkpoint tensors of a sparse linear under `base` (the module name without ".weight"). */
export function sparseCheckpointTensors(base: string, w: SparseWeight): [string, RawTensor][] {
  const stored = storedCount(w);
  const out: [string, RawTensor][] = [[`${base}.sparse_layout`, { dtype: 'u8', shape: [w.format === 'nm' ? w.indices.length : w.mask.length], data: w.format === 'nm' ? w.indices : w.mask }]];
  if (w.dtype === 'f32') out.push([`${base}.sparse_values`, { dtype: 'f32', shape: [stored], data: bytesOf(w.values.subarray(0, stored)) }]);
  else {
    const ng = w.cols / w.group;
    const bytes = codeBytes(w.dtype, stored) - SPARSE_PAD;
    out.push([`${base}.sparse_values`, { dtype: 'u8', shape: [bytes], data: w.codes.subarray(0, bytes) }],
      [`${base}.sparse_scales`, { dtype: 'f32', shape: [w.rows, ng], data: bytesOf(w.scales) }], [`${base}.sparse_zeros`, { dtype: 'f32', shape: [w.rows, ng], data: bytesOf(w.zeros) }]);
  }
  return out;
}

function storedCount(w: SparseWeight): number {
  if (w.format === 'nm') return w.rows * (w.cols / w.m) * w.n;
  return (w.format === 'block8' ? 8 : 1) * w.offsets[w.rows]!;
}

/**
 * The sparse linear `base` [rows, cols] of a checkpoint, rebuilt and validated (every index in range, the values'
 * count equal to the mask's): a FormatError naming the file and tensor otherwise, never an out-of-bounds read.
 */
export function readSparseLinear(tensors: TensorMap, base: string, rows: number, cols: number, fmt: SparseFormat, file: string): SparseWeight {
  const get = (suffix: string, dtype: string): RawTensor => {
    const t = tensors.get(`${base}${suffix}`);
    if (!t) throw new FormatError(file, `tensor ${base}${suffix} is missing (lithe.json says the linears are sparse)`);
    if (t.dtype !== dtype) throw new FormatError(file, `tensor ${base}${suffix} is ${t.dtype}, expected ${dtype}`);
    return t;
  };
  // copies: a file's tensors are views into its buffer (Node Buffers, whose slice() does not copy)
  const layout = new Uint8Array(get('.sparse_layout', 'u8').data);
  const vt = get('.sparse_values', fmt.values === 'f32' ? 'f32' : 'u8');
  const name = `${file}: tensor ${base}`;
  let w: SparseWeight;
  let stored: number;
  if (fmt.layout === 'nm') {
    stored = rows * (cols / fmt.m!) * fmt.n!;
    w = { format: 'nm', rows, cols, n: fmt.n!, m: fmt.m!, indices: layout, dtype: 'f32', values: new Float32Array(0) };
  } else {
    const block = fmt.layout === 'block8', stride = block ? blockStride(cols) : maskStride(cols), offsets = new Int32Array(rows + 1);
    if (layout.length !== rows * stride) throw new FormatError(file, `tensor ${base}.sparse_layout has ${layout.length} bytes, expected ${rows * stride}`);
    for (let r = 0; r < rows; r++) {
      let n = 0;
      for (let b = 0; b < stride; b++) n += popcount8(layout[r * stride + b]!);
      offsets[r + 1] = offsets[r]! + n;
    }
    stored = (block ? 8 : 1) * offsets[rows]!;
    w = block ? { format: 'block8', rows, cols, mask: layout, offsets, dtype: 'f32', values: new Float32Array(0) }
      : { format: 'bitmask', rows, cols, mask: layout, offsets, dtype: 'f32', values: new Float32Array(0) };
  }
  if (fmt.values === 'q4') {
    const want = codeBytes('q4', stored) - SPARSE_PAD;
    if (vt.data.byteLength !== want) throw new FormatError(file, `tensor ${base}.sparse_values holds ${vt.data.byteLength} bytes, but its layout keeps ${stored} int4 codes (${want} bytes)`);
  } else {
    const count = vt.data.byteLength / (fmt.values === 'f32' ? 4 : 1);
    if (count !== stored) throw new FormatError(file, `tensor ${base}.sparse_values holds ${count} values, but its layout keeps ${stored}`);
  }
  if (fmt.values === 'f32') {
    const values = new Float32Array(stored + SPARSE_PAD);
    values.set(new Float32Array(new Uint8Array(vt.data).buffer, 0, stored));
    Object.assign(w, { dtype: 'f32', values });
  } else {
    const codes = new Uint8Array(codeBytes(fmt.values, stored));
    codes.set(vt.data);
    const ng = rows * (cols / fmt.group!);
    const f32 = (suffix: string) => {
      const t = get(suffix, 'f32');
      if (t.data.byteLength !== 4 * ng) throw new FormatError(file, `tensor ${base}${suffix} holds ${t.data.byteLength / 4} values, expected ${ng}`);
      return new Float32Array(new Uint8Array(t.data).buffer);
    };
    Object.assign(w, { dtype: fmt.values, codes, group: fmt.group!, scales: f32('.sparse_scales'), zeros: f32('.sparse_zeros') });
    delete (w as { values?: unknown }).values;
  }
  validateSparse(w, name);
  return w;
}

/** How a checkpoint stores its linears when not as dense floats (lithe.json "packed" or "sparse"). */
export type LinearStorageFormat = PackedFormat | SparseFormat;

export function isSparseFormat(f: LinearStorageFormat | null): f is SparseFormat {
  return f?.format === SPARSE_FORMAT;
}

/**
 * A pruned dense weight [rows, cols] (exact zeros where pruned) in `fmt`: f32 values as they are, or int8 (int4)
 * codes on GPTQ's asymmetric grid with 255 (15) steps per row and `group` columns (round to nearest, as RTN; a pruned
 * weight is the grid's zero point, so it stays exactly 0 and is not stored).
 */
export function packSparse(dense: Float32Array, rows: number, cols: number, fmt: SparseFormat): SparseWeight {
  if (fmt.values === 'f32') {
    if (fmt.layout === 'nm') return packNM(dense, rows, cols, fmt.n!, fmt.m!);
    return fmt.layout === 'block8' ? packBlock8(dense, rows, cols) : packBitmask(dense, rows, cols);
  }
  if (fmt.layout === 'block8') throw new FormatError('sparse', '1x8 blocks hold float32 values only');
  const keep = keepMaskOf(dense), g = fmt.group!;
  if (cols % g) throw new FormatError('sparse', `group ${g} does not divide ${cols} columns`);
  const ng = cols / g, codes = new Uint8Array(rows * cols), scales = new Float32Array(rows * ng), zeros = new Float32Array(rows * ng);
  const maxq = fmt.values === 'q8' ? 255 : 15;
  for (let r = 0; r < rows; r++) {
    for (let gi = 0; gi < ng; gi++) {
      let lo = 0, hi = 0;
      for (let c = gi * g; c < (gi + 1) * g; c++) { lo = Math.min(lo, dense[r * cols + c]!); hi = Math.max(hi, dense[r * cols + c]!); }
      if (lo === 0 && hi === 0) { lo = -1; hi = 1; }
      const scale = Math.fround((hi - lo) / maxq), zero = roundHalfEven(Math.fround(-lo / scale));
      scales[r * ng + gi] = scale;
      zeros[r * ng + gi] = zero;
      for (let c = gi * g; c < (gi + 1) * g; c++) codes[r * cols + c] = Math.min(maxq, Math.max(0, roundHalfEven(Math.fround(dense[r * cols + c]! / scale)) + zero));
    }
  }
  if (fmt.values === 'q4') return fmt.layout === 'nm' ? packNMQ4(codes, keep, rows, cols, fmt.n!, fmt.m!, g, scales, zeros) : packBitmaskQ4(codes, keep, rows, cols, g, scales, zeros);
  return fmt.layout === 'nm' ? packNMQ8(codes, keep, rows, cols, fmt.n!, fmt.m!, g, scales, zeros) : packBitmaskQ8(codes, keep, rows, cols, g, scales, zeros);
}

/** Bytes of the linears of `model` stored in `fmt` (what the checkpoint holds, no padding) and stored dense at `denseBytes` per weight. */
export async function sparseSizes(model: Model, fmt: SparseFormat, denseBytes: number): Promise<{ sparse: number; dense: number }> {
  let sparse = 0, dense = 0;
  for (let i = 0; i < model.blockCount; i++) {
    for (const l of model.linears(i)) {
      const [rows, cols] = l.shape;
      const w = packSparse(await model.backend.read(floatWeight(model.linearWeight(i, l.name))), rows, cols, fmt);
      sparse += sparseCheckpointTensors('x', w).reduce((a, [, t]) => a + t.data.byteLength, 0);
      dense += rows * cols * denseBytes;
    }
  }
  return { sparse, dense };
}
