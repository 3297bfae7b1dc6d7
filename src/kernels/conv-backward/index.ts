/**
 * conv2d_backward: the gradients (accumulated) of conv2d (kernels/conv) for x, w and bias, over chunks of images
 * whose patch matrix fits the cache (assembly.ts): dW[g] += dyr[g]^T col[g], dx += col2im(dyr[g] W[g]), dbias +=
 * column sums of dyr. Stride 1, dilation 1, one group, padding below the kernel size and an image per thread: dx is
 * instead the stride-1 convolution of dy (padded by k - 1 - pad) with the kernels turned 180 degrees, run by the
 * forward's direct kernel; with one group at stride 1, dW and dbias come from conv2d_dw_direct (register tiles over the
 * padded image and dy, no patch matrix). WebGPU: the im2col / GEMM / col2im plan in WGSL (wgsl.ts), the weight
 * gradient's long reduction split over images and pixels so that it fills the GPU. conv1d's gradient is conv2d's on
 * the H = 1 views. The conv ops' gradient slots call these.
 */
import { defineOp, opError, requireF32, type GpuKernels, type GradFn } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { conv1dAs2d, type Conv1dArgs, type Conv2dArgs, type Conv2dParams } from '../conv/index.js';
import { COL_SUM, GEMM_STRIDED } from '../gemm/wgsl.js';
import * as W from './wgsl.js';

export interface Conv2dBackwardArgs { x: Tensor; w: Tensor; dy: Tensor; dx: Tensor | null; dw: Tensor | null; db: Tensor | null; p: Conv2dParams }

const pair = (a: number, b: number): number => a | (b << 16);

export const CONV2D_BACKWARD = defineOp<Conv2dBackwardArgs>({
  name: 'conv2d_backward',
  check({ x, w, dy, dx, dw, db, p }) {
    requireF32('conv2d_backward', x, w, dy, ...[dx, dw, db].filter((t): t is Tensor => t !== null));
    if (x.shape.length !== 4 || w.shape.length !== 4 || dy.shape.length !== 4 || dy.shape[1] !== w.shape[0] || dy.shape[0] !== x.shape[0]) {
      opError('conv2d_backward', `x[${x.shape}] w[${w.shape}] dy[${dy.shape}] do not fit`);
    }
    if ((dx && dx.size !== x.size) || (dw && dw.size !== w.size) || (db && db.size !== w.shape[0]) || x.shape[1] !== w.shape[1]! * p.groups) opError('conv2d_backward', 'gradient shapes do not fit');
  },
  cpu(k, { x, w, dy, dx: dxIn, dw: dwIn, db: dbIn, p }) {
    let dx = dxIn, dw = dwIn, db = dbIn;
    const [N, C, H, W] = x.shape as [number, number, number, number], [O, Cg, kh, kw] = w.shape as [number, number, number, number];
    const [OH, OW] = [dy.shape[2]!, dy.shape[3]!], G = p.groups, Og = O / G, P = OH * OW, K = Cg * kh * kw;
    const geometry = [pair(H, W), pair(OH, OW), pair(kh, kw), pair(p.stride[0], p.stride[1]), pair(p.dilation[0], p.dilation[1]), pair(p.pad[0], p.pad[1])];
    // chunks of images whose patch matrix stays in the cache (about 512 KiB), so it is written and read back there
    const chunk = Math.max(1, Math.min(N, Math.floor((1 << 17) / (G * P * K)))), cap = chunk * P;
    const dyr = k.scratch('conv_bwd_dyr', G * cap * Og), col = k.scratch('conv_bwd_col', G * cap * K), dyt = k.scratch('conv_bwd_dyt', cap * Og);
    const gemm = k.scratch('gemm', Math.ceil(k.exported('gemm_scratch_bytes')() * k.threads / 4));
    const [pt, pl, pb, pr] = p.pad;
    if (dx && N >= k.threads && G === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.dilation[0] === 1 && p.dilation[1] === 1 && pt < kh && pb < kh && pl < kw && pr < kw) {
      // stride 1: dx += conv2d(dy padded by k - 1 - pad, the kernels turned 180 degrees, tap-major as wf [O kh kw, C]), by the
      // forward's direct kernel (kernels/conv): no dcol GEMM, no col2im
      const wf = k.scratch('conv_bwd_wflip', w.size), pad = k.scratch('conv2d_pad', k.threads * k.exported('conv2d_direct_scratch')(O, H + kh - 1, W + kw - 1));
      k.call('conv2d_flip_weights', [k.ptr(w), k.ptr(wf), O, C, pair(kh, kw)], w.size);
      k.call('conv2d_direct', [k.ptr(dy), k.ptr(wf), 0, k.ptr(dx), k.ptr(pad), N, O, C, pair(OH, OW), pair(H, W), pair(kh, kw), pair(kh - 1 - pt, kw - 1 - pl), 1], 2 * N * C * H * W * O * kh * kw);
      dx = null;
    }
    if ((dw || db) && G === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.dilation[0] === 1 && p.dilation[1] === 1) {
      // stride 1: dW from the padded image and dy directly (assembly.ts), db beside it: no patch matrix
      const s = k.scratch('conv_bwd_dw', k.threads * k.exported('conv2d_dw_direct_scratch')(C, O, pair(OH, OW), pair(kh, kw)));
      k.call('conv2d_dw_direct', [k.ptr(x), k.ptr(dy), dw ? k.ptr(dw) : 0, db ? k.ptr(db) : 0, k.ptr(s), N, C, O, pair(H, W), pair(OH, OW), pair(kh, kw), pair(pt, pl)],
        2 * N * O * P * K + N * O * P);
      dw = db = null;
    }
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const cn = Math.min(chunk, N - n0), NP = cn * P;
      const xs = k.ptr(x) + 4 * n0 * C * H * W, ys = k.ptr(dy) + 4 * n0 * O * P;
      if (!dw && !db && !dx) break;
      k.call('nchw_to_rows', [ys, k.ptr(dyr), cn, G, Og, P], NP * O);
      const rows = (g: number) => k.ptr(dyr) + 4 * g * NP * Og, cols = (g: number) => k.ptr(col) + 4 * g * NP * K;
      if (db) for (let g = 0; g < G; g++) k.call('col_sum', [rows(g), k.ptr(db) + 4 * g * Og, NP, Og], NP * Og);
      if (dw) {
        k.call('conv2d_im2col_batch', [xs, k.ptr(col), cn, G, Cg, ...geometry], G * NP * K);
        for (let g = 0; g < G; g++) {
          // dW[g] [Og, K] += dyr[g]^T [Og, NP] col[g] [NP, K] (dyr transposed first: its rows are Og apart)
          k.call('transpose', [rows(g), NP, Og, k.ptr(dyt)], NP * Og);
          k.call('gemm', [k.ptr(dyt), NP, 1, cols(g), 1, K, 0, k.ptr(dw) + 4 * g * Og * K, Og, K, NP, 1, k.ptr(gemm)], 2 * Og * K * NP);
        }
      }
      if (dx) {
        // dcol[g] [NP, K] = dyr[g] [NP, Og] W[g] [Og, K] (into col's scratch), then scattered back into dx
        for (let g = 0; g < G; g++) k.call('gemm', [rows(g), Og, 1, k.ptr(w) + 4 * g * Og * K, 1, K, 0, cols(g), NP, K, Og, 0, k.ptr(gemm)], 2 * NP * K * Og);
        k.call('conv2d_col2im', [k.ptr(col), k.ptr(dx) + 4 * n0 * C * H * W, cn, G, Cg, ...geometry], G * NP * K);
      }
    }
  },
  webgpu: conv2dBackwardGpu,
});

/** patch-matrix elements per chunk of images on the GPU (64 MiB of scratch) */
const GPU_CHUNK = 1 << 24;

function conv2dBackwardGpu(k: GpuKernels, { x, w, dy, dx, dw, db, p }: Conv2dBackwardArgs): void {
  const [N, C, H, Wd] = x.shape as [number, number, number, number], [O, Cg, kh, kw] = w.shape as [number, number, number, number];
  const [OH, OW] = [dy.shape[2]!, dy.shape[3]!], G = p.groups, Og = O / G, P = OH * OW, K = Cg * kh * kw;
  const flat = (n: number) => Math.ceil(n / 256);
  if (db) {
    // the bias gradient: sums over N x P values per channel, in slices of 4096 (workgroups side by side), then added up
    const span = 4096, S = Math.ceil(N * P / span), part = k.scratch('conv_bwd_bias_part', S * O);
    k.dispatch('conv_bias_grad', () => W.BIAS_GRAD, [dy, part], [N, O, P, dy.offset, part.offset, span], [O, S]);
    k.dispatch('col_sum', () => COL_SUM, [part, db], [S, O, part.offset, db.offset], Math.ceil(O / 256)); // the S slices as rows
  }
  if (!dx && !dw) return;
  const geometry = [C, pair(H, Wd), pair(OH, OW), G, pair(kh, kw), pair(p.stride[0], p.stride[1]), pair(p.dilation[0], p.dilation[1]), pair(p.pad[0], p.pad[1])];
  // at most GPU_CHUNK patch elements, and at most 65535 row tiles of 64 in the dx GEMM's grid
  const chunk = Math.max(1, Math.min(N, Math.floor(GPU_CHUNK / (G * P * K)), Math.floor(65535 * 64 / P))), cap = chunk * P;
  const dyr = k.scratch('conv_bwd_dyr', cap * O), col = k.scratch('conv_bwd_col', G * cap * K);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const cn = Math.min(chunk, N - n0), NP = cn * P;
    k.dispatch('conv_dy_rows', () => W.DY_ROWS, [dy, dyr], [NP * O, P, O, dy.offset + n0 * O * P, dyr.offset], flat(NP * O));
    if (dw) {
      k.dispatch('conv_im2col', () => W.IM2COL, [x, col], [G * NP * K, ...geometry, NP, x.offset + n0 * C * H * Wd, col.offset], flat(G * NP * K));
      for (let g = 0; g < G; g++) {
        // dW[g] [Og, K] += dyr[g]^T [Og, NP] col[g] [NP, K]: A'(o, q) = dyr[q O + g Og + o], B'(j, q) = col[g][q K + j]
        splitK(k, dyr, dyr.offset + g * Og, 1, O, col, col.offset + g * NP * K, 1, K, dw, dw.offset + g * Og * K, Og, K, NP);
      }
    }
    if (dx) {
      // dcol[g] [NP, K] = dyr[g] [NP, Og] W[g] [Og, K] (into col's scratch), then gathered back into dx
      for (let g = 0; g < G; g++) {
        k.dispatch('gemm_strided', () => GEMM_STRIDED, [dyr, w, col], [NP, K, Og, O, 1, 1, K, dyr.offset + g * Og, w.offset + g * Og * K, col.offset + g * NP * K, 0],
          [Math.ceil(K / 64), Math.ceil(NP / 64)]);
      }
      k.dispatch('conv_col2im', () => W.COL2IM, [col, dx], [cn * C * H * Wd, ...geometry, NP, col.offset, dx.offset + n0 * C * H * Wd], flat(cn * C * H * Wd));
    }
  }
}

/** out[M, N] (at offOut) += A'B' over a long reduction Kd, in slices of it that run side by side (wgsl.ts GEMM_SPLIT_K) */
function splitK(k: GpuKernels, a: Tensor, offA: number, sai: number, sak: number, b: Tensor, offB: number, sbn: number, sbk: number,
  out: Tensor, offOut: number, M: number, N: number, Kd: number): void {
  const tilesM = Math.ceil(M / 64), tilesN = Math.ceil(N / 64);
  // about 512 workgroups in all, each slice at least 256 deep
  const slices = Math.max(1, Math.min(Math.ceil(Kd / 256), Math.ceil(512 / (tilesM * tilesN))));
  const kc = Math.ceil(Kd / slices / 16) * 16, S = Math.ceil(Kd / kc);
  const part = k.scratch('conv_bwd_part', S * M * N);
  k.dispatch('conv_gemm_split_k', () => W.GEMM_SPLIT_K, [a, b, part], [M, N, Kd, sai, sak, sbn, sbk, offA, offB, part.offset, kc, tilesM], [tilesN, tilesM * S]);
  k.dispatch('col_sum', () => COL_SUM, [part, out], [S, M * N, part.offset, offOut], Math.ceil(M * N / 256)); // the S slices as rows
}

export const conv2dGrad: GradFn<Conv2dArgs> = (r, { x, w, bias, out, p }, grad) => {
  const dy = grad(out), dx = grad(x), dw = grad(w), db = bias ? grad(bias) : null;
  if (dy && (dx || dw || db)) r.run(CONV2D_BACKWARD, { x, w, dy, dx, dw, db, p });
};

/** conv1d's gradient: conv2d's on the H = 1 views (the gradient lookups see the original tensors) */
export const conv1dGrad: GradFn<Conv1dArgs> = (r, a, grad) => {
  const v = conv1dAs2d(a);
  const dy = grad(a.out), dx = grad(a.x), dw = grad(a.w), db = a.bias ? grad(a.bias) : null;
  const as4 = (t: Tensor | null, like: Tensor) => (t ? t.view(like.shape) : null);
  if (dy && (dx || dw || db)) r.run(CONV2D_BACKWARD, { x: v.x, w: v.w, dy: dy.view(v.out.shape), dx: as4(dx, v.x), dw: as4(dw, v.w), db, p: v.p });
};
