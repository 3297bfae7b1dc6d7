import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** Parameters of causal grouped-query attention over a KV cache (see kernels/assembly/attention.ts). */
export interface AttentionParams {
  /** query tokens in this call */
  T: number;
  nHeads: number;
  nKVHeads: number;
  headDim: number;
  /** absolute position of the first query token; keys 0..pos0+T-1 must be in the cache */
  pos0: number;
  /** sliding-window length (Mistral); 0 = full causal */
  window: number;
  scale: number;
}

/**
 * Mixed attention inputs: dequantized copies of the keys/values (same layout as k/v) and an i32 tensor [T, 2]
 * of per-query-row bounds (bK, bV): keys j < bK come from k, values j < bV from v of this object. Used to
 * evaluate a quantized KV cache for every decode step in one batched pass (src/quant/kv/evaluate.ts).
 */
export interface MixedKV {
  k: Tensor;
  v: Tensor;
  bounds: Tensor;
}

/** Non-causal attention over [heads, tokens, headDim] tensors in square blocks (src/attention). */
export interface BlockAttentionParams {
  heads: number;
  tokens: number;
  headDim: number;
  /** query and key block size in tokens (a multiple of 8; 64 and 128 in practice) */
  block: number;
  scale: number;
}

/**
 * Which key blocks each (head, query block) attends: CSR lists (i32 rowPtr [heads * nb + 1], i32 cols sorted
 * per row) or a u8 bitmap [heads, nb, nb]; nb = ceil(tokens / block).
 */
export type BlockMaskTensors = { rowPtr: Tensor; cols: Tensor } | { bitmap: Tensor };

export interface RopeParams {
  T: number;
  heads: number;
  headDim: number;
  pos0: number;
  /** true: Hugging Face rotate-half pairs (i, i + d/2); false: adjacent pairs (2i, 2i+1) as in Meta/llama2.c/GGUF */
  neox: boolean;
}

/**
 * What a compute backend provides. Model code is written against this interface only, so a WebGPU backend
 * slots in without touching it. All kernels take float32 tensors unless stated; shapes are checked by ops/.
 * Kernels are enqueued in order; `read` resolves once everything before it has finished.
 */
/**
 * A linear layer's weights [rows, cols] held as packed integer codes (quant/pack.ts layout): w = s (q - z) with an
 * f32 scale and zero per row and group of `group` columns; `container` 4 or 8 bits per code.
 */
export interface PackedWeight {
  readonly kind: 'packed';
  readonly shape: readonly [number, number];
  readonly container: 4 | 8;
  readonly group: number;
  /** u8 [rows, cols * container / 8] */
  readonly codes: Tensor;
  /** f32 [rows, cols / group] */
  readonly scales: Tensor;
  readonly zeros: Tensor;
}

/** Dynamic (per-call) activation quantization of rows of n floats in groups of `group` (group = n: per row). */
export interface FakeQuantParams {
  n: number;
  group: number;
  bits: number;
  asym: boolean;
  /** min and max are multiplied by this before the scale is computed (QuaRot's clip ratio) */
  clip: number;
}

export interface Backend {
  readonly name: string;
  /** worker threads (CPU) or 1 */
  readonly threads: number;
  /** a description for benchmark records, e.g. "cpu wasm relaxed-simd, 2 threads" */
  readonly description: string;

  alloc(shape: readonly number[], dtype?: DType): Tensor;
  free(t: Tensor): void;
  /** copy host data into a tensor (element type must match the tensor's) */
  write(t: Tensor, data: ArrayBufferView): void;
  read(t: Tensor): Promise<Float32Array>;

  /** out[M,N] = x[M,K] . w[N,K]^T (+ bias[N]) */
  linear(x: Tensor, w: Tensor, bias: Tensor | null, out: Tensor): void;
  /** the same with packed integer weights: a dequant GEMV for one row, dequantize-then-sgemm for more */
  linearPacked(x: Tensor, w: PackedWeight, bias: Tensor | null, out: Tensor): void;
  /** out [rows, cols] = the dequantized packed weights (exactly s (q - z) in float32) */
  dequantize(w: PackedWeight, out: Tensor): void;
  rmsnorm(x: Tensor, w: Tensor, eps: number, out: Tensor): void;
  /** in place on x (token stride = x.shape[1]) */
  rope(x: Tensor, cos: Tensor, sin: Tensor, p: RopeParams): void;
  attention(q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: AttentionParams, mixed?: MixedKV): void;
  /**
   * Flash attention without a causal mask, dense (no mask) or block-sparse: masked-out blocks cost nothing and a
   * query block with no key block gets zeros. q/k/v/out [heads, tokens, headDim]; lse (optional, f32
   * [heads, tokens]) receives each row's log-sum-exp of the scaled scores it attended.
   */
  blockAttention(q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: BlockAttentionParams, mask?: BlockMaskTensors, lse?: Tensor): void;
  /** mass [heads, nb, nb]: softmax mass of every (query block, key block) pair, given lse from a dense blockAttention */
  blockMass(q: Tensor, k: Tensor, lse: Tensor, mass: Tensor, p: BlockAttentionParams): void;
  siluMul(g: Tensor, u: Tensor, out: Tensor): void;
  addInPlace(a: Tensor, b: Tensor): void;
  /** in place, per row (last axis) */
  softmax(x: Tensor): void;
  /** out[r] = log sum_i exp(x[r, i]) */
  logsumexp(x: Tensor, out: Tensor): void;
  /** out[t] = table[ids[t]]; ids is an i32 tensor */
  embed(table: Tensor, ids: Tensor, out: Tensor): void;
  /** f16 / bf16 -> f32 */
  toF32(src: Tensor, out: Tensor): void;
  /** in place: each value becomes the nearest f16 / bf16 value (ties to even), still stored as f32 */
  roundTo(x: Tensor, dtype: 'f16' | 'bf16'): void;
  /** in place: every n-float row r of x becomes r . H_n / sqrt(n) (quant/rotation/hadamard.ts defines H_n) */
  hadamard(x: Tensor, n: number): void;
  /** in place: dynamic fake-quantization of every group of rows of n floats (kernels/assembly/fake-quant.ts) */
  fakeQuant(x: Tensor, p: FakeQuantParams): void;

  /** resolves when every enqueued kernel has finished (CPU kernels are synchronous: at once); for timing */
  finish(): Promise<void>;
  dispose(): Promise<void>;
}

/** A scratch tensor of at least `size` f32 elements: `current` if it is large enough, else a fresh one (the old freed). */
export function grownScratch(be: Backend, current: Tensor | null, size: number): Tensor {
  if (current && current.size >= size) return current;
  if (current) be.free(current);
  return be.alloc([size]);
}
