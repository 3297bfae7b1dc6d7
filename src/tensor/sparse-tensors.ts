/**
 * A sparse weight (src/tensor/sparse-format.ts) uploaded into a backend's memory, in the form the sparse kernels
 * take (src/kernels/assembly/sparse.ts): `kind` 0 bitmask f32, 1 bitmask int8, 2 2:4 f32, 3 4:8 f32, 4 2:4 int8,
 * 5 4:8 int8, 6 1x8 blocks f32.
 */
import type { Backend } from '../backend/backend.js';
import type { Tensor } from './tensor.js';
import { validateSparse, type SparseWeight } from './sparse-format.js';

export interface SparseTensors {
  kind: number;
  rows: number;
  cols: number;
  /** int8 group size (0 for float32) */
  group: number;
  /** mask (bitmask, block8) or index stream (N:M), u8 */
  layout: Tensor;
  /** i32 [rows + 1] for bitmask and block8, else null */
  offsets: Tensor | null;
  /** f32 values or u8 codes, padding included */
  values: Tensor;
  scales: Tensor | null;
  zeros: Tensor | null;
}

export function sparseKind(w: SparseWeight): number {
  const q = w.dtype === 'q8' ? 1 : 0;
  if (w.format === 'block8') return 6;
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
    kind: sparseKind(w), rows: w.rows, cols: w.cols, group: w.dtype === 'q8' ? w.group : 0,
    layout: put(be, w.format === 'nm' ? w.indices : w.mask),
    offsets: w.format === 'nm' ? null : put(be, w.offsets),
    values: put(be, w.dtype === 'f32' ? w.values : w.codes),
    scales: w.dtype === 'q8' ? put(be, w.scales) : null,
    zeros: w.dtype === 'q8' ? put(be, w.zeros) : null,
  };
}

export function sparseTensorList(t: SparseTensors): Tensor[] {
  return [t.layout, t.offsets, t.values, t.scales, t.zeros].filter((x): x is Tensor => x !== null);
}
