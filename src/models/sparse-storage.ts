/**
 * Sparse weight storage on a backend: a sparse weight (tensor/sparse-format.ts) uploaded in the form the sparse
 * kernels take (kernels/sparse), after validating it.
 */
import type { Backend } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { validateSparse, type SparseTensors, type SparseWeight } from '../tensor/sparse-format.js';

export type { SparseTensors } from '../tensor/sparse-format.js';

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
    kind: 'sparse', code: sparseKind(w), shape: [w.rows, w.cols], rows: w.rows, cols: w.cols, group: w.dtype === 'q8' ? w.group : 0,
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
