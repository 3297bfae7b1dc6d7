/**
 * linear: out[M,N] = x[M,K] . w[N,K]^T (+ bias[N]). CPU: a GEMV for one row (assembly.ts), else the packed-panel
 * GEMM of kernels/gemm. WebGPU: a workgroup-per-row GEMV, else 128x128 tiles (vec4 loads where aligned) when the product
 * has enough of them to fill a large GPU, 64x64 tiles otherwise. linear_f16: the same product of f16 tensors in half
 * precision (WebGPU with shader-f16 only; for benchmarks and users of half-precision data).
 */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { GEMM128, GEMV, SGEMM_64 } from './wgsl.js';
import { COL_SUM, GEMM } from '../gemm/index.js';

export interface LinearArgs { x: Tensor; w: Tensor; bias: Tensor | null; out: Tensor }

/** M of a product x[.., K] w[N, K]^T that fits out, else an error naming the op. */
export function linearRows(op: string, x: Tensor, N: number, K: number, out: Tensor, bias: Tensor | null): number {
  const M = x.size / K;
  if (lastDim(x) !== K || !Number.isInteger(M) || out.size !== M * N || lastDim(out) !== N || (bias && bias.size !== N)) {
    opError(op, `x[${x.shape}] w[${N},${K}] bias[${bias?.shape ?? ''}] out[${out.shape}] do not fit`);
  }
  return M;
}

export const LINEAR = defineOp<LinearArgs>({
  name: 'linear',
  check({ x, w, bias, out }) {
    requireF32('linear', x, w, out);
    if (w.shape.length !== 2) opError('linear', `weight must be 2-D, got [${w.shape}]`);
    linearRows('linear', x, w.shape[0]!, w.shape[1]!, out, bias);
  },
  cpu(k, { x, w, bias, out }) {
    const [N, K] = w.shape as [number, number];
    const M = x.size / K;
    const b = bias ? k.ptr(bias) : 0;
    if (M === 1) {
      k.call('gemv', [k.ptr(w), k.ptr(x), b, k.ptr(out), N, K], 2 * N * K);
    } else {
      // the gemm family's kernel (kernels/gemm) with B' = w^T read in place
      const scratch = k.scratch('gemm', Math.ceil(k.exported('gemm_scratch_bytes')() * k.threads / 4));
      k.call('gemm', [k.ptr(x), K, 1, k.ptr(w), K, 1, b, k.ptr(out), M, N, K, 0, k.ptr(scratch)], 2 * M * N * K);
    }
  },
  webgpu(k, { x, w, bias, out }) {
    const [N, K] = w.shape as [number, number];
    const M = x.size / K;
    const b = bias ?? x;
    const sg = k.subgroups ? '_sg' : '';
    if (M === 1) {
      k.dispatch(`gemv${sg}`, () => GEMV(!!sg), [x, w, b, out], [N, K, bias ? 1 : 0, x.offset, w.offset, b.offset, out.offset], N);
      return;
    }
    // 128x128 tiles when there are enough of them to fill a large GPU, else 64x64 (four times the workgroups)
    const big = Math.ceil(M / 128) * Math.ceil(N / 128) >= 256;
    const t = big ? 128 : 64;
    const v4 = big && K % 4 === 0 && x.offset % 4 === 0 && w.offset % 4 === 0;
    k.dispatch(big ? `sgemm${v4 ? '_v4' : ''}` : 'sgemm_64', () => (big ? GEMM128({ half: false, vec4Loads: v4 }) : SGEMM_64), [x, w, b, out],
      [M, N, K, bias ? 1 : 0, x.offset, w.offset, b.offset, out.offset], [Math.ceil(N / t), Math.ceil(M / t)]);
  },
  // dx += dy w, dw += dy^T x (two GEMMs reading the transposes through strides), dbias += column sums of dy
  grad(r, { x, w, bias, out }, grad, into) {
    const dy = grad(out);
    if (!dy) return;
    const [N, K] = w.shape as [number, number];
    const M = x.size / K;
    const dx = into(x);
    if (dx) r.run(GEMM, { a: dy, b: w, out: dx.g, M, N: K, K: N, transA: false, transB: false, accumulate: dx.accumulate });
    const dw = into(w);
    if (dw) r.run(GEMM, { a: dy, b: x, out: dw.g, M: N, N: K, K: M, transA: true, transB: false, accumulate: dw.accumulate });
    const db = bias ? grad(bias) : null;
    if (db) r.run(COL_SUM, { x: dy, out: db });
  },
});

export interface LinearF16Args { a: Tensor; w: Tensor; out: Tensor }

/** out[M,N] (f32) = a[M,K] w[N,K]^T for f16 a and w, in half precision (WebGPU devices with shader-f16). */
export const LINEAR_F16 = defineOp<LinearF16Args>({
  name: 'linear_f16',
  webgpuFeatures: ['shader-f16'],
  check({ a, w, out }) {
    if (a.dtype !== 'f16' || w.dtype !== 'f16' || out.dtype !== 'f32') opError('linear_f16', 'a and w must be f16, out f32');
    linearRows('linear_f16', a, w.shape[0]!, w.shape[1]!, out, null);
  },
  webgpu(k, { a, w, out }) {
    if (!k.features.includes('shader-f16')) opError('linear_f16', `this adapter (${k.description}) has no shader-f16`);
    const [N, K] = w.shape as [number, number];
    const M = a.size / K;
    const v4 = K % 4 === 0 && a.offset % 4 === 0 && w.offset % 4 === 0;
    k.dispatch(`hgemm${v4 ? '_v4' : ''}`, () => GEMM128({ half: true, vec4Loads: v4 }), [a, w, 'unused', out], [M, N, K, 0, a.offset, w.offset, 0, out.offset],
      [Math.ceil(N / 128), Math.ceil(M / 128)]);
  },
});
