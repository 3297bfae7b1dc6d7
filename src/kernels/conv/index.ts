/**
 * conv2d: out [N, O, OH, OW] = x [N, C, H, W] (*) w [O, C/groups, kh, kw] (+ bias [O]), PyTorch's Conv2d with the
 * padding per side (ONNX pads, so auto_pad SAME_UPPER fits). conv1d: the same on [N, C, L] with w [O, C/groups, k],
 * run as conv2d with H = kh = 1. CPU: per image, im2col into a scratch (assembly.ts), then the linear op's sgemm per
 * group writes NCHW directly, then the bias by channel_affine. On MNIST-8's second layer (batch 64, 80 MFLOP) it ran
 * 6.1 ms on one thread (13 GFLOP/s) against 170 ms for the naive direct loop of the twin (bench/conv.ts). Stride 1,
 * dilation 1, one group, at least one image per thread: conv2d_direct, the same register tiles reading a zero-padded
 * copy of each image instead of a patch matrix (no im2col or packing). WebGPU: a
 * direct kernel, one invocation per output (wgsl.ts). Its gradient: kernels/conv-backward.
 */
import { defineOp, opError, requireF32, type CpuKernels, type GpuKernels } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { convOutSize, type Conv2dParams } from './params.js';
import { CONV2D as CONV2D_WGSL } from './wgsl.js';
import { conv1dGrad, conv2dGrad } from '../conv-backward/index.js';

export * from './params.js';

export interface Conv2dArgs { x: Tensor; w: Tensor; bias: Tensor | null; out: Tensor; p: Conv2dParams }

/** One-dimensional geometry: [left, right] padding. */
export interface Conv1dParams { kernel: number; stride: number; dilation: number; pad: readonly [number, number]; groups: number }
export interface Conv1dArgs { x: Tensor; w: Tensor; bias: Tensor | null; out: Tensor; p: Conv1dParams }

const pair = (a: number, b: number): number => a | (b << 16);
const fits16 = (...v: number[]) => v.every((n) => Number.isInteger(n) && n >= 0 && n < 65536);

function checkConv2d(op: string, { x, w, bias, out, p }: Conv2dArgs): void {
  requireF32(op, x, w, out, ...(bias ? [bias] : []));
  const shapes = `x[${x.shape}] w[${w.shape}] bias[${bias?.shape ?? ''}] out[${out.shape}]`;
  if (x.shape.length !== 4 || w.shape.length !== 4 || out.shape.length !== 4) opError(op, `expected 4-D tensors, got ${shapes}`);
  const [N, C, H, W] = x.shape as [number, number, number, number], [O, Cg, kh, kw] = w.shape as [number, number, number, number];
  const [sh, sw] = p.stride, [dh, dw] = p.dilation, [pt, pl, pb, pr] = p.pad, G = p.groups;
  if (!Number.isInteger(G) || G < 1 || C % G !== 0 || O % G !== 0 || Cg !== C / G) opError(op, `groups ${G} do not fit ${shapes}`);
  if (kh !== p.kernel[0] || kw !== p.kernel[1]) opError(op, `kernel [${p.kernel}] differs from the weight's [${kh},${kw}]`);
  if (!fits16(H, W, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr) || sh < 1 || sw < 1 || dh < 1 || dw < 1) opError(op, `bad geometry ${JSON.stringify(p)} for ${shapes}`);
  const OH = convOutSize(H, kh, sh, dh, pt, pb), OW = convOutSize(W, kw, sw, dw, pl, pr);
  if (OH < 1 || OW < 1 || out.shape[0] !== N || out.shape[1] !== O || out.shape[2] !== OH || out.shape[3] !== OW) opError(op, `${shapes} do not fit (output [${N},${O},${OH},${OW}])`);
  if (bias && bias.size !== O) opError(op, `${shapes}: bias needs ${O} values`);
}

function conv2dCpu(k: CpuKernels, { x, w, bias, out, p }: Conv2dArgs): void {
  const [N, C, H, W] = x.shape as [number, number, number, number], [O, Cg, kh, kw] = w.shape as [number, number, number, number];
  const [OH, OW] = [out.shape[2]!, out.shape[3]!], G = p.groups, Og = O / G, P = OH * OW, K = Cg * kh * kw;
  const batched = N >= k.threads;
  if (batched && G === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.dilation[0] === 1 && p.dilation[1] === 1) {
    // stride 1: the GEMM's register tiles read the zero-padded image directly (no patch matrix), bias included
    const pad = k.scratch('conv2d_pad', k.threads * k.exported('conv2d_direct_scratch')(C, OH + kh - 1, OW + kw - 1)), wt = k.scratch('conv2d_wt', w.size);
    k.call('transpose', [k.ptr(w), O, K, k.ptr(wt)], w.size);
    k.call('conv2d_direct', [k.ptr(x), k.ptr(wt), bias ? k.ptr(bias) : 0, k.ptr(out), k.ptr(pad), N, C, O, pair(H, W), pair(OH, OW), pair(kh, kw), pair(p.pad[0], p.pad[1]), 0], 2 * N * O * P * K);
    return;
  }
  const col = k.scratch('conv2d_col', G * P * K * (batched ? k.threads : 1));
  const gemm = k.scratch('sgemm', Math.ceil(k.exported('sgemm_scratch_bytes')() * k.threads / 4));
  const [px, pw, pc, po, pg] = [k.ptr(x), k.ptr(w), k.ptr(col), k.ptr(out), k.ptr(gemm)];
  const geometry = [pair(H, W), pair(OH, OW), pair(kh, kw), pair(p.stride[0], p.stride[1]), pair(p.dilation[0], p.dilation[1]), pair(p.pad[0], p.pad[1])];
  // a batch: threads take whole images (one dispatch); fewer images than threads: threads share each image's work
  if (batched) k.call('conv2d_batch', [px, pw, po, pc, pg, N, C, O, G, ...geometry], N * (G * P * K + 2 * O * P * K));
  else for (let n = 0; n < N; n++) {
    k.call('conv2d_im2col', [px + 4 * n * C * H * W, pc, G, Cg, ...geometry], G * P * K);
    for (let g = 0; g < G; g++) {
      k.call('sgemm', [pw + 4 * g * Og * K, pc + 4 * g * P * K, 0, po + 4 * (n * O + g * Og) * P, Og, P, K, pg], 2 * Og * P * K);
    }
  }
  if (bias) k.call('channel_affine', [po, po, 0, k.ptr(bias), N, O, P], N * O * P);
}

function conv2dGpu(k: GpuKernels, { x, w, bias, out, p }: Conv2dArgs): void {
  const [, C, H, W] = x.shape as [number, number, number, number], [O, , kh, kw] = w.shape as [number, number, number, number];
  const [OH, OW] = [out.shape[2]!, out.shape[3]!];
  k.dispatch('conv2d', () => CONV2D_WGSL, [x, w, bias ?? 'unused', out], [out.size, C, pair(H, W), O, pair(OH, OW), p.groups, pair(kh, kw),
    pair(p.stride[0], p.stride[1]), pair(p.dilation[0], p.dilation[1]), pair(p.pad[0], p.pad[1]), bias ? 1 : 0, x.offset, w.offset, bias?.offset ?? 0, out.offset],
  Math.ceil(out.size / 256));
}

export const CONV2D = defineOp<Conv2dArgs>({
  name: 'conv2d',
  grad: (r, a, g, i) => conv2dGrad(r, a, g, i), // kernels/conv-backward (called late: the two modules import each other)
  check: (a) => checkConv2d('conv2d', a),
  cpu: conv2dCpu,
  webgpu: conv2dGpu,
});

/** conv1d's arguments as conv2d's (views with H = 1). */
export function conv1dAs2d({ x, w, bias, out, p }: Conv1dArgs): Conv2dArgs {
  const as4 = (t: Tensor) => (t.shape.length === 3 ? t.view([t.shape[0]!, t.shape[1]!, 1, t.shape[2]!]) : t);
  return {
    x: as4(x), w: as4(w), bias, out: as4(out),
    p: { kernel: [1, p.kernel], stride: [1, p.stride], dilation: [1, p.dilation], pad: [0, p.pad[0], 0, p.pad[1]], groups: p.groups },
  };
}

export const CONV1D = defineOp<Conv1dArgs>({
  name: 'conv1d',
  grad: (r, a, g, i) => conv1dGrad(r, a, g, i),
  check(a) {
    if (a.x.shape.length !== 3 || a.w.shape.length !== 3 || a.out.shape.length !== 3) opError('conv1d', `expected 3-D tensors, got x[${a.x.shape}] w[${a.w.shape}] out[${a.out.shape}]`);
    checkConv2d('conv1d', conv1dAs2d(a));
  },
  cpu: (k, a) => conv2dCpu(k, conv1dAs2d(a)),
  webgpu: (k, a) => conv2dGpu(k, conv1dAs2d(a)),
});
