/**
 * gemm: out[M,N] (+)= A'[M,K] B'[K,N] with either operand transposed (read through strides, no copies): the products
 * of the linear layer's backward pass (dX = dY W, dW = dY^T X) and of matmul. col_sum: out[N] += the column sums of
 * x[M,N] (a bias gradient). CPU: the packed-panel SIMD kernel of assembly.ts; WebGPU: 64x64 tiles.
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { COL_SUM as COL_SUM_WGSL, GEMM_STRIDED } from './wgsl.js';

export interface GemmArgs {
  /** [M,K], or [K,M] when transA */
  a: Tensor;
  /** [K,N], or [N,K] when transB */
  b: Tensor;
  out: Tensor;
  M: number; N: number; K: number;
  transA: boolean; transB: boolean;
  /** out += A'B' instead of out = A'B' */
  accumulate: boolean;
}

function strides({ M, N, K, transA, transB }: GemmArgs): [number, number, number, number] {
  return [transA ? 1 : K, transA ? M : 1, transB ? K : 1, transB ? 1 : N];
}

export const GEMM = defineOp<GemmArgs>({
  name: 'gemm',
  check(g) {
    requireF32('gemm', g.a, g.b, g.out);
    if (g.a.size !== g.M * g.K || g.b.size !== g.K * g.N || g.out.size !== g.M * g.N) {
      opError('gemm', `a[${g.a.shape}] b[${g.b.shape}] out[${g.out.shape}] do not fit M=${g.M} N=${g.N} K=${g.K}`);
    }
  },
  cpu(k, g) {
    const scratch = k.scratch('gemm', Math.ceil(k.exported('gemm_scratch_bytes')() * k.threads / 4));
    // a transposed A' is read in place: the kernel packs A' blocks whatever their strides
    const [sai, sak, sbn, sbk] = strides(g);
    k.call('gemm', [k.ptr(g.a), sai, sak, k.ptr(g.b), sbn, sbk, 0, k.ptr(g.out), g.M, g.N, g.K, g.accumulate ? 1 : 0, k.ptr(scratch)], 2 * g.M * g.N * g.K);
  },
  webgpu(k, g) {
    k.dispatch('gemm_strided', () => GEMM_STRIDED, [g.a, g.b, g.out], [g.M, g.N, g.K, ...strides(g), g.a.offset, g.b.offset, g.out.offset, g.accumulate ? 1 : 0],
      [Math.ceil(g.N / 64), Math.ceil(g.M / 64)]);
  },
});

export interface ColSumArgs { x: Tensor; out: Tensor }

export const COL_SUM = defineOp<ColSumArgs>({
  name: 'col_sum',
  check({ x, out }) {
    requireF32('col_sum', x, out);
    if (x.size % out.size !== 0) opError('col_sum', `x[${x.shape}] is not rows of out[${out.shape}]`);
  },
  cpu(k, { x, out }) {
    k.call('col_sum', [k.ptr(x), k.ptr(out), x.size / out.size, out.size], x.size);
  },
  webgpu(k, { x, out }) {
    k.dispatch('col_sum', () => COL_SUM_WGSL, [x, out], [x.size / out.size, out.size, x.offset, out.offset], Math.ceil(out.size / 256));
  },
});
