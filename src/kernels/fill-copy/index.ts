/**
 * Tensor utilities of training: fill (zeroing gradients), scale (clipping, loss scaling), mul (a 0/1 mask on a
 * gradient or weight), copy_columns (a window of columns copied or added: concatenation, slicing and their
 * gradients), sum_squares (out (+)= ||x||^2, for the global gradient norm).
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as W from './wgsl.js';

const groups = (n: number) => Math.ceil(n / 256);

export interface FillArgs { x: Tensor; value: number }
export const FILL = defineOp<FillArgs>({
  name: 'fill',
  check({ x }) { requireF32('fill', x); },
  cpu(k, { x, value }) { k.call('fill_f32', [k.ptr(x), x.size, value], x.size); },
  webgpu(k, { x, value }) { k.dispatch('fill', () => W.FILL, [x], [x.size, x.offset, { f: value }], groups(x.size)); },
});

export interface ScaleArgs { x: Tensor; s: number }
export const SCALE = defineOp<ScaleArgs>({
  name: 'scale',
  check({ x }) { requireF32('scale', x); },
  cpu(k, { x, s }) { k.call('scale_inplace', [k.ptr(x), x.size, s], x.size); },
  webgpu(k, { x, s }) { k.dispatch('scale', () => W.SCALE, [x], [x.size, x.offset, { f: s }], groups(x.size)); },
});

export interface MulArgs { a: Tensor; b: Tensor }
/** a *= b elementwise */
export const MUL = defineOp<MulArgs>({
  name: 'mul',
  check({ a, b }) {
    requireF32('mul', a, b);
    if (a.size !== b.size) opError('mul', `sizes ${a.size} and ${b.size} differ`);
  },
  cpu(k, { a, b }) { k.call('mul_inplace', [k.ptr(a), k.ptr(b), a.size], a.size); },
  webgpu(k, { a, b }) { k.dispatch('mul', () => W.MUL, [a, b], [a.size, a.offset, b.offset], groups(a.size)); },
});

export interface CopyColumnsArgs {
  /** [rows, sw] */
  src: Tensor; srcCol: number;
  /** [rows, dw] */
  dst: Tensor; dstCol: number;
  cols: number; accumulate: boolean;
}
const width = (t: Tensor) => t.shape[t.shape.length - 1]!;
export const COPY_COLUMNS = defineOp<CopyColumnsArgs>({
  name: 'copy_columns',
  check({ src, srcCol, dst, dstCol, cols }) {
    requireF32('copy_columns', src, dst);
    const sw = width(src), dw = width(dst);
    if (src.size / sw !== dst.size / dw || srcCol + cols > sw || dstCol + cols > dw || srcCol < 0 || dstCol < 0) {
      opError('copy_columns', `columns [${srcCol}, ${srcCol + cols}) of [${src.shape}] do not fit at ${dstCol} of [${dst.shape}]`);
    }
  },
  cpu(k, a) {
    const sw = width(a.src), dw = width(a.dst), rows = a.src.size / sw;
    k.call('copy_columns', [k.ptr(a.src), sw, a.srcCol, k.ptr(a.dst), dw, a.dstCol, rows, a.cols, a.accumulate ? 1 : 0], rows * a.cols);
  },
  webgpu(k, a) {
    const sw = width(a.src), dw = width(a.dst), rows = a.src.size / sw;
    k.dispatch('copy_columns', () => W.COPY_COLUMNS, [a.src, a.dst], [rows, a.cols, sw, a.srcCol, dw, a.dstCol, a.src.offset, a.dst.offset, a.accumulate ? 1 : 0], groups(rows * a.cols));
  },
});

export interface SumSquaresArgs { x: Tensor; out: Tensor; accumulate: boolean }
export const SUM_SQUARES = defineOp<SumSquaresArgs>({
  name: 'sum_squares',
  check({ x, out }) {
    requireF32('sum_squares', x, out);
    if (out.size !== 1) opError('sum_squares', `out must hold one float, got [${out.shape}]`);
  },
  cpu(k, { x, out, accumulate }) {
    const partial = k.scratch('sum_squares', 2 * k.threads);
    // zero every thread's float64 partial first: a small x runs on the calling thread alone
    k.call('fill_f32', [k.ptr(partial), 2 * k.threads, 0], 0);
    k.call('sum_squares_partial', [k.ptr(x), x.size, k.ptr(partial)], x.size);
    k.call('sum_partials', [k.ptr(partial), k.threads, k.ptr(out), accumulate ? 1 : 0], 0);
  },
  webgpu(k, { x, out, accumulate }) {
    k.dispatch('sum_squares', () => W.SUM_SQUARES, [x, out], [x.size, x.offset, out.offset, accumulate ? 1 : 0], 1);
  },
});
