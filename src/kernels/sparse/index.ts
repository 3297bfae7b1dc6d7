/**
 * linear_sparse: out[M, rows] = x[M, cols] W^T (+ bias) for a sparse W held as tensor/sparse-format.ts lays it out
 * (bitmask or N:M, f32 values or int8/int4 codes with a scale and zero per row and group). CPU: one row through the sparse
 * GEMV (decode: only kept weights are read), more rows through the sparse GEMM (assembly.ts). WebGPU: the GEMV
 * kernel over every input row in one dispatch (wgsl.ts), for every storage.
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { SparseTensors } from '../../tensor/sparse-format.js';
import { linearRows } from '../linear/index.js';
import { blockStride, maskStride, nmIndexStride } from '../../tensor/sparse-format.js';
import { SPARSE_GEMV } from './wgsl.js';

/** N and M of the N:M storage codes */
const NM: { [code: number]: [2 | 4, 4 | 8] } = { 2: [2, 4], 3: [4, 8], 4: [2, 4], 5: [4, 8], 8: [2, 4], 9: [4, 8] };

export interface LinearSparseArgs { x: Tensor; w: SparseTensors; bias: Tensor | null; out: Tensor }

export const LINEAR_SPARSE = defineOp<LinearSparseArgs>({
  name: 'linear_sparse',
  check({ x, w, bias, out }) {
    requireF32('linear_sparse', x, out);
    linearRows('linear_sparse', x, w.rows, w.cols, out, bias);
  },
  cpu(k, { x, w, bias, out }) {
    const M = x.size / w.cols;
    const scratch = k.scratch('sparse', Math.ceil(k.exported('sparse_scratch_bytes')(w.cols) / 4) * k.threads);
    const args = [w.code, k.ptr(w.layout), w.offsets ? k.ptr(w.offsets) : 0, k.ptr(w.values), w.scales ? k.ptr(w.scales) : 0,
      w.zeros ? k.ptr(w.zeros) : 0, w.group, k.ptr(x), bias ? k.ptr(bias) : 0, k.ptr(out)];
    if (M === 1) k.call('sparse_gemv', [...args, w.rows, w.cols, k.ptr(scratch)], w.rows * w.cols);
    else k.call('sparse_gemm', [...args, M, w.rows, w.cols, k.ptr(scratch)], 2 * M * w.rows * w.cols);
  },
  webgpu(k, { x, w, bias, out }) {
    const quant = w.scales !== null && w.zeros !== null;
    for (const t of [w.layout, w.offsets, w.values, w.scales, w.zeros]) if (t?.offset) opError('linear_sparse', 'sparse tensors must not be views');
    const M = x.size / w.cols, sg = k.subgroups ? '_sg' : '', b = bias ?? x;
    const words = (w.code === 6 ? blockStride(w.cols) : maskStride(w.cols)) / 4;
    const nm = NM[w.code], idxStride = nm ? nmIndexStride(w.cols, nm[0], nm[1]) : 0;
    const gx = Math.min(w.rows, 65535), rowGroups = Math.ceil(w.rows / gx);
    k.dispatch(`sparse_gemv${quant ? '_q' : ''}${sg}`, () => SPARSE_GEMV(!!sg, quant),
      [w.layout, w.offsets ?? w.layout, w.values, x, b, out, ...(quant ? [w.scales!, w.zeros!] : [])],
      [w.rows, w.cols, bias ? 1 : 0, x.offset, out.offset, b.offset, w.code, words, idxStride, w.group, rowGroups], [gx, rowGroups * M]);
  },
});
