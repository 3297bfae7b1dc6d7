/**
 * User-level operations: each checks its arguments once (the op's `check`, kernels/<op>/index.ts), then runs the
 * op on whichever backend holds the tensors. Model code calls these, never a backend kernel. Shape errors are
 * programming errors (plain Error), not user input errors.
 */
import type { Backend } from '../backend/backend.js';
import * as K from '../kernels/index.js';
import type { OpDef } from '../kernels/op.js';
import type { PackedWeight } from '../tensor/packed.js';
import type { SparseTensors } from '../tensor/sparse-format.js';
import type { Tensor } from '../tensor/tensor.js';

export type { AttentionParams, BlockAttentionParams, BlockMaskTensors, FakeQuantParams, MixedKV, RopeParams, KvAttentionParams } from '../kernels/index.js';

/** Checks the arguments, then runs the op (an Error when the backend does not implement it). */
export function run<A>(be: Backend, op: OpDef<A>, args: A): void {
  op.check(args);
  be.run(op, args);
}

export function isPacked(w: Tensor | PackedWeight | SparseTensors): w is PackedWeight {
  return (w as PackedWeight).kind === 'packed';
}

export function isSparse(w: Tensor | PackedWeight | SparseTensors): w is SparseTensors {
  return (w as SparseTensors).kind === 'sparse';
}

/** out[M,N] = x[M,K] . w[N,K]^T (+ bias[N]); w float, packed integer codes, or sparse. */
export function linear(be: Backend, x: Tensor, w: Tensor | PackedWeight | SparseTensors, bias: Tensor | null, out: Tensor): void {
  if (isPacked(w)) run(be, K.LINEAR_PACKED, { x, w, bias, out });
  else if (isSparse(w)) run(be, K.LINEAR_SPARSE, { x, w, bias, out });
  else run(be, K.LINEAR, { x, w, bias, out });
}

/** out (f32) = a w^T for f16 a and w, in half precision (WebGPU with shader-f16). */
export function linearF16(be: Backend, a: Tensor, w: Tensor, out: Tensor): void {
  run(be, K.LINEAR_F16, { a, w, out });
}

/** out [rows, cols] = the dequantized packed weights (exactly s (q - z) in float32). */
export function dequantize(be: Backend, w: PackedWeight, out: Tensor): void {
  run(be, K.DEQUANTIZE, { w, out });
}

export function rmsnorm(be: Backend, x: Tensor, w: Tensor, eps: number, out: Tensor): void {
  run(be, K.RMS_NORM, { x, w, eps, out });
}

/** In place on x (token stride = its last dimension). */
export function rope(be: Backend, x: Tensor, cos: Tensor, sin: Tensor, p: K.RopeParams): void {
  run(be, K.ROPE, { x, cos, sin, p });
}

export function attention(be: Backend, q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: K.AttentionParams, mixed?: K.MixedKV): void {
  run(be, K.ATTENTION, { q, k, v, out, p, mixed });
}

/** Attention over one layer of the packed low-bit KV cache (CPU backends only: `be.supports(KV_ATTENTION)`). */
export function kvAttention(be: Backend, desc: Tensor, q: Tensor, out: Tensor, p: K.KvAttentionParams, scratch: Tensor, scratchFloats: number): void {
  run(be, K.KV_ATTENTION, { desc, q, out, p, scratch, scratchFloats });
}

/** Non-causal flash attention on [heads, tokens, headDim], dense or block-sparse. */
export function blockAttention(be: Backend, q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: K.BlockAttentionParams, mask?: K.BlockMaskTensors, lse?: Tensor): void {
  run(be, K.BLOCK_ATTENTION, { q, k, v, out, p, mask, lse });
}

export function blockMass(be: Backend, q: Tensor, k: Tensor, lse: Tensor, mass: Tensor, p: K.BlockAttentionParams): void {
  run(be, K.BLOCK_MASS, { q, k, lse, mass, p });
}

export function siluMul(be: Backend, g: Tensor, u: Tensor, out: Tensor): void {
  run(be, K.SILU_MUL, { g, u, out });
}

export function addInPlace(be: Backend, a: Tensor, b: Tensor): void {
  run(be, K.ADD, { a, b });
}

/** Round x in place to the nearest f16 / bf16 values (the activations of a model run in that type). */
export function roundTo(be: Backend, x: Tensor, dtype: 'f16' | 'bf16'): void {
  run(be, K.ROUND_TO, { x, dtype });
}

/** Rows of n floats of x, each rotated in place: r <- r . H_n / sqrt(n). */
export function hadamard(be: Backend, x: Tensor, n: number): void {
  run(be, K.HADAMARD, { x, n });
}

/** Dynamic fake-quantization of x in place (rows of p.n floats, groups of p.group). */
export function fakeQuant(be: Backend, x: Tensor, p: K.FakeQuantParams): void {
  run(be, K.FAKE_QUANT, { x, p });
}

/** In place, per row (last axis). */
export function softmax(be: Backend, x: Tensor): void {
  run(be, K.SOFTMAX, { x });
}

/** out[r] = log sum_i exp(x[r, i]) */
export function logsumexp(be: Backend, x: Tensor, out: Tensor): void {
  run(be, K.LOGSUMEXP, { x, out });
}

/** out[t] = table[ids[t]]; ids is an i32 tensor */
export function embed(be: Backend, table: Tensor, ids: Tensor, out: Tensor): void {
  run(be, K.EMBED, { table, ids, out });
}

/** f16 / bf16 -> f32 */
export function toF32(be: Backend, src: Tensor, out: Tensor): void {
  run(be, K.TO_F32, { src, out });
}

/** out [N, O, OH, OW] = conv2d(x [N, C, H, W], w [O, C/groups, kh, kw]) + bias [O]. */
export function conv2d(be: Backend, x: Tensor, w: Tensor, bias: Tensor | null, out: Tensor, p: K.Conv2dParams): void {
  run(be, K.CONV2D, { x, w, bias, out, p });
}

/** out [N, O, OL] = conv1d(x [N, C, L], w [O, C/groups, k]) + bias [O]. */
export function conv1d(be: Backend, x: Tensor, w: Tensor, bias: Tensor | null, out: Tensor, p: K.Conv1dParams): void {
  run(be, K.CONV1D, { x, w, bias, out, p });
}

/** Max pooling of [N, C, H, W]; indices (i32, like out) receive each maximum's h*W + w in its plane. */
export function maxPool2d(be: Backend, x: Tensor, out: Tensor, p: K.Pool2dParams, indices: Tensor | null = null): void {
  run(be, K.MAX_POOL2D, { x, out, indices, p });
}

export function avgPool2d(be: Backend, x: Tensor, out: Tensor, p: K.Pool2dParams): void {
  run(be, K.AVG_POOL2D, { x, out, p });
}

/** out = max(x, 0); out may be x. */
export function relu(be: Backend, x: Tensor, out: Tensor): void {
  run(be, K.RELU, { x, out });
}

/** out [N, C, ...] = x * scale[c] + shift[c] (either may be null: a copy when both are); out may be x. */
export function channelAffine(be: Backend, x: Tensor, scale: Tensor | null, shift: Tensor | null, out: Tensor = x): void {
  run(be, K.CHANNEL_AFFINE, { x, scale, shift, out });
}

/** out [N, C, H sh, W sw] = x [N, C, H, W] upsampled (nearest or bilinear, integer factors). */
export function upsample2d(be: Backend, x: Tensor, out: Tensor, p: K.Upsample2dParams): void {
  run(be, K.UPSAMPLE2D, { x, out, p });
}

/** out = 1 / (1 + exp(-x)) (out may be x on the CPU only). */
export function sigmoid(be: Backend, x: Tensor, out: Tensor): void {
  run(be, K.SIGMOID, { x, out });
}
