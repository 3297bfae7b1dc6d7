/**
 * The CPU backend (calls arrive shape-checked from src/ops): tensors live in one shared WebAssembly.Memory; kernels are the AssemblyScript SIMD module
 * (src/kernels/assembly) run on a worker pool. Small calls stay on the calling thread: a dispatch costs ~10 us,
 * more than a 64-wide RMSNorm.
 */
import { grownScratch, type AttentionParams, type Backend, type BlockAttentionParams, type BlockMaskTensors, type FakeQuantParams, type MixedKV, type PackedWeight, type RopeParams } from '../backend.js';
import { hadamardBase, requireHadamardSize } from '../../quant/rotation/hadamard.js';
import { DType, DTYPE_BYTES, elementCount } from '../../tensor/dtype.js';
import { Storage, Tensor } from '../../tensor/tensor.js';
import type { SparseTensors } from '../../tensor/sparse-tensors.js';
import { Allocator } from './allocator.js';
import { startKernels, WorkerPool } from './pool.js';
import { HEAP_BASE } from './wasm.js';

const KERNELS = ['sgemm', 'gemv', 'rmsnorm', 'softmax', 'logsumexp', 'add_inplace', 'silu_mul', 'bf16_to_f32',
  'f16_to_f32', 'embed', 'rope', 'attention', 'exp_f32', 'kv_attention', 'gemv_q', 'round_to', 'hadamard_rows', 'fake_quant_rows', 'dequant_q',
  'flash_attention', 'block_mass', 'pack_k_panels', 'sparse_gemv', 'sparse_gemm'] as const;
type KernelName = (typeof KERNELS)[number];

/** Below this many floating-point operations a kernel runs on the calling thread only. */
const PARALLEL_MIN_WORK = 1 << 15;

class CpuStorage implements Storage {
  freed = false;
  constructor(readonly ptr: number, readonly bytes: number) {}
}

export interface CpuBackendOptions {
  /** total threads including the calling one; default: all cores */
  threads?: number;
  /** force the plain SIMD128 build (for comparisons) */
  simd?: 'auto' | 'simd128';
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  private readonly alloc_: Allocator;
  private readonly fn: Record<KernelName, number>;
  private gemmScratch = 0;
  private attnScratch = 0;

  private constructor(
    readonly memory: WebAssembly.Memory,
    private readonly pool: WorkerPool,
    readonly variant: string,
    private readonly instance: WebAssembly.Instance,
  ) {
    this.alloc_ = new Allocator(memory, HEAP_BASE);
    this.fn = Object.fromEntries(KERNELS.map((k) => [k, pool.index.get(k)!])) as Record<KernelName, number>;
    const ex = instance.exports as Record<string, () => number>;
    this.gemmScratch = this.alloc_.alloc(ex['sgemm_scratch_bytes']!() * pool.threads);
    this.attnScratch = this.alloc_.alloc(ex['attention_scratch_bytes']!() * pool.threads);
  }

  static async create(options: CpuBackendOptions = {}): Promise<CpuBackend> {
    const { memory, pool, variant, instance } = await startKernels(KERNELS, options);
    return new CpuBackend(memory, pool, variant, instance);
  }

  get threads(): number {
    return this.pool.threads;
  }

  get description(): string {
    return `cpu wasm ${this.variant}, ${this.threads} thread${this.threads > 1 ? 's' : ''}`;
  }

  get peakBytes(): number {
    return this.alloc_.peak;
  }

  alloc(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const bytes = elementCount(shape) * DTYPE_BYTES[dtype];
    return new Tensor(new CpuStorage(this.alloc_.alloc(bytes), bytes), dtype, shape);
  }

  free(t: Tensor): void {
    const s = t.storage as CpuStorage;
    if (s.freed) return;
    s.freed = true;
    this.alloc_.release(s.ptr, s.bytes);
  }

  /** Byte address of a tensor's first element. */
  ptr(t: Tensor): number {
    const s = t.storage as CpuStorage;
    if (s.freed) throw new Error('use of a freed tensor');
    return s.ptr + t.offset * DTYPE_BYTES[t.dtype];
  }

  /** Zero-copy view of a tensor's bytes (valid until the memory grows). */
  bytes(t: Tensor): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.ptr(t), t.byteLength);
  }

  f32View(t: Tensor): Float32Array {
    if (t.dtype !== 'f32') throw new Error(`f32View of a ${t.dtype} tensor`);
    return new Float32Array(this.memory.buffer, this.ptr(t), t.size);
  }

  write(t: Tensor, data: ArrayBufferView): void {
    if (data.byteLength !== t.byteLength) throw new Error(`write: ${data.byteLength} bytes into a tensor of ${t.byteLength}`);
    this.bytes(t).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  async read(t: Tensor): Promise<Float32Array> {
    return this.f32View(t).slice();
  }

  private run(k: KernelName, args: number[], work: number): void {
    this.pool.run(this.fn[k], args, work >= PARALLEL_MIN_WORK ? this.pool.threads : 1);
  }

  linear(x: Tensor, w: Tensor, bias: Tensor | null, out: Tensor): void {
    const [N, K] = w.shape as [number, number];
    const M = x.size / K;
    const b = bias ? this.ptr(bias) : 0;
    if (M === 1) this.run('gemv', [this.ptr(w), this.ptr(x), b, this.ptr(out), N, K], 2 * N * K);
    else this.run('sgemm', [this.ptr(x), this.ptr(w), b, this.ptr(out), M, N, K, this.gemmScratch], 2 * M * N * K);
  }

  rmsnorm(x: Tensor, w: Tensor, eps: number, out: Tensor): void {
    const n = w.size;
    this.run('rmsnorm', [this.ptr(x), this.ptr(w), this.ptr(out), x.size / n, n, eps], 3 * x.size);
  }

  rope(x: Tensor, cos: Tensor, sin: Tensor, p: RopeParams): void {
    const stride = x.shape[x.shape.length - 1]!;
    this.run('rope', [this.ptr(x), p.T, p.heads, p.headDim, stride, p.pos0, this.ptr(cos), this.ptr(sin), p.neox ? 1 : 0], 6 * p.T * p.heads * p.headDim);
  }

  attention(q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: AttentionParams, mixed?: MixedKV): void {
    const keys = p.pos0 + p.T;
    const m = mixed ? [this.ptr(mixed.k), this.ptr(mixed.v), this.ptr(mixed.bounds)] : [0, 0, 0];
    this.run('attention', [this.ptr(q), this.ptr(k), this.ptr(v), this.ptr(out), p.T, p.nHeads, p.nKVHeads, p.headDim,
      p.nHeads * p.headDim, p.nKVHeads * p.headDim, p.pos0, p.window, p.scale, this.attnScratch, ...m], 4 * p.T * keys * p.nHeads * p.headDim);
  }

  /**
   * Attention of q [T, nHeads * D] over a quantized KV-cache layer described by the i32 words of `desc`
   * (see kernels/assembly/kv-attention.ts); `scratch` holds threads x scratchFloats floats.
   */
  kvAttention(desc: Tensor, q: Tensor, out: Tensor, p: { T: number; nHeads: number; nKVHeads: number; headDim: number; scale: number; tokens: number },
    scratch: Tensor, scratchFloats: number): void {
    if (scratch.size < scratchFloats * this.threads) throw new Error('kvAttention: scratch too small');
    this.run('kv_attention', [this.ptr(desc), this.ptr(q), this.ptr(out), p.T, p.nHeads, p.nKVHeads, p.headDim, p.scale, this.ptr(scratch), scratchFloats],
      4 * p.T * p.tokens * p.nHeads * p.headDim);
  }

  private attnScratchFor(p: BlockAttentionParams): { packed: number; scratch: number; release: () => void } {
    if (p.block % 8 !== 0 || p.block < 8) throw new Error(`blockAttention: block ${p.block} is not a positive multiple of 8`);
    if (p.headDim % 8 !== 0) throw new Error(`blockAttention: head dim ${p.headDim} is not a multiple of 8`);
    const ex = this.instance.exports as Record<string, (b: number, d: number) => number>;
    const packedBytes = p.heads * Math.ceil(p.tokens / 8) * 8 * p.headDim * 4;
    const scratchBytes = ex['flash_scratch_floats']!(p.block, p.headDim) * 4 * this.threads;
    const packed = this.alloc_.alloc(packedBytes);
    const scratch = this.alloc_.alloc(scratchBytes);
    return { packed, scratch, release: () => { this.alloc_.release(packed, packedBytes); this.alloc_.release(scratch, scratchBytes); } };
  }

  blockAttention(q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: BlockAttentionParams, mask?: BlockMaskTensors, lse?: Tensor): void {
    const s = this.attnScratchFor(p);
    try {
      this.run('pack_k_panels', [this.ptr(k), s.packed, p.heads, p.tokens, p.headDim], k.size);
      const m = !mask ? [0, 0, 0] : 'bitmap' in mask ? [0, 0, this.ptr(mask.bitmap)] : [this.ptr(mask.rowPtr), this.ptr(mask.cols), 0];
      this.run('flash_attention', [this.ptr(q), s.packed, this.ptr(v), this.ptr(out), lse ? this.ptr(lse) : 0, p.heads, p.tokens, p.headDim,
        p.block, p.scale, ...m, s.scratch], 4 * p.heads * p.tokens * p.tokens * p.headDim);
    } finally {
      s.release();
    }
  }

  blockMass(q: Tensor, k: Tensor, lse: Tensor, mass: Tensor, p: BlockAttentionParams): void {
    const s = this.attnScratchFor(p);
    try {
      this.run('pack_k_panels', [this.ptr(k), s.packed, p.heads, p.tokens, p.headDim], k.size);
      this.run('block_mass', [this.ptr(q), s.packed, this.ptr(lse), this.ptr(mass), p.heads, p.tokens, p.headDim, p.block, p.scale, s.scratch],
        2 * p.heads * p.tokens * p.tokens * p.headDim);
    } finally {
      s.release();
    }
  }

  siluMul(g: Tensor, u: Tensor, out: Tensor): void {
    this.run('silu_mul', [this.ptr(g), this.ptr(u), this.ptr(out), g.size], 8 * g.size);
  }

  addInPlace(a: Tensor, b: Tensor): void {
    this.run('add_inplace', [this.ptr(a), this.ptr(b), a.size], a.size);
  }

  softmax(x: Tensor): void {
    const n = x.shape[x.shape.length - 1]!;
    this.run('softmax', [this.ptr(x), x.size / n, n], 8 * x.size);
  }

  logsumexp(x: Tensor, out: Tensor): void {
    const n = x.shape[x.shape.length - 1]!;
    this.run('logsumexp', [this.ptr(x), this.ptr(out), x.size / n, n], 8 * x.size);
  }

  embed(table: Tensor, ids: Tensor, out: Tensor): void {
    const dim = table.shape[1]!;
    this.run('embed', [this.ptr(table), this.ptr(ids), this.ptr(out), ids.size, dim], ids.size * dim);
  }

  toF32(src: Tensor, out: Tensor): void {
    if (src.dtype === 'bf16') this.run('bf16_to_f32', [this.ptr(src), this.ptr(out), src.size], src.size);
    else if (src.dtype === 'f16') this.run('f16_to_f32', [this.ptr(src), this.ptr(out), src.size], 4 * src.size);
    else throw new Error(`toF32: unsupported source type ${src.dtype}`);
  }

  roundTo(x: Tensor, dtype: 'f16' | 'bf16'): void {
    this.run('round_to', [this.ptr(x), x.size, dtype === 'f16' ? 0 : 1], 2 * x.size);
  }

  private hadamardBases = new Map<number, Tensor>();
  private hadamardScratch: Tensor | null = null;

  hadamard(x: Tensor, n: number): void {
    const { K } = requireHadamardSize(n, 'hadamard');
    let hk = this.hadamardBases.get(K);
    if (!hk) {
      hk = this.alloc([K, K]);
      this.write(hk, Float32Array.from(hadamardBase(K)));
      this.hadamardBases.set(K, hk);
    }
    this.hadamardScratch = grownScratch(this, this.hadamardScratch, n * this.threads);
    const rows = x.size / n;
    this.run('hadamard_rows', [this.ptr(x), rows, n, K, this.ptr(hk), 1 / Math.sqrt(n), this.ptr(this.hadamardScratch)], rows * n * (Math.log2(n) + 2 * K));
  }

  fakeQuant(x: Tensor, p: FakeQuantParams): void {
    this.run('fake_quant_rows', [this.ptr(x), x.size / p.n, p.n, p.group, p.bits, p.asym ? 1 : 0, p.clip], 6 * x.size);
  }

  private dequantScratch: Tensor | null = null;

  linearPacked(x: Tensor, w: PackedWeight, bias: Tensor | null, out: Tensor): void {
    const [rows, cols] = w.shape;
    const p = { rows, cols, group: w.group, bits: w.container };
    if (x.size === cols) {
      this.linearQ(x, w.codes, w.scales, w.zeros, bias, out, p);
      return;
    }
    this.dequantScratch = grownScratch(this, this.dequantScratch, rows * cols);
    const full = this.dequantScratch.view([rows, cols]);
    this.dequantize(w, full);
    this.linear(x, full, bias, out);
  }

  dequantize(w: PackedWeight, out: Tensor): void {
    const [rows, cols] = w.shape;
    this.run('dequant_q', [this.ptr(w.codes), this.ptr(w.scales), this.ptr(w.zeros), this.ptr(out), rows, cols, w.group, w.container], rows * cols);
  }

  private qScratch: { ptr: number; bytes: number } | null = null;

  /**
   * y[N] = W x (+ bias) for one row x [K] and integer weights W held packed (src/quant/pack.ts): codes u8,
   * scales and zeros f32 [N, K / group]. The kernel holds x as int16 (kernels/assembly/qgemv.ts).
   */
  linearQ(x: Tensor, codes: Tensor, scales: Tensor, zeros: Tensor, bias: Tensor | null, out: Tensor, p: { rows: number; cols: number; group: number; bits: 4 | 8 }): void {
    const need = this.threads * (p.cols / p.group + p.cols / 2 + 4) * 4;
    if (!this.qScratch || this.qScratch.bytes < need) {
      if (this.qScratch) this.alloc_.release(this.qScratch.ptr, this.qScratch.bytes);
      this.qScratch = { ptr: this.alloc_.alloc(need), bytes: need };
    }
    this.run('gemv_q', [this.ptr(codes), this.ptr(scales), this.ptr(zeros), this.ptr(x), bias ? this.ptr(bias) : 0, this.ptr(out), p.rows, p.cols, p.group, p.bits, this.qScratch.ptr],
      2 * p.rows * p.cols);
  }

  private sparseScratch: Tensor | null = null;

  /** out [M, rows] = x [M, cols] W^T (+ bias) for a sparse W (src/tensor/sparse-tensors.ts, kernels/assembly/sparse.ts). */
  sparseLinear(x: Tensor, w: SparseTensors, bias: Tensor | null, out: Tensor): void {
    const M = x.size / w.cols, perThread = (this.instance.exports['sparse_scratch_bytes'] as (c: number) => number)(w.cols);
    this.sparseScratch = grownScratch(this, this.sparseScratch, Math.ceil(perThread / 4) * this.threads);
    const args = [w.kind, this.ptr(w.layout), w.offsets ? this.ptr(w.offsets) : 0, this.ptr(w.values), w.scales ? this.ptr(w.scales) : 0,
      w.zeros ? this.ptr(w.zeros) : 0, w.group, this.ptr(x), bias ? this.ptr(bias) : 0, this.ptr(out)];
    if (M === 1) this.run('sparse_gemv', [...args, w.rows, w.cols, this.ptr(this.sparseScratch)], w.rows * w.cols);
    else this.run('sparse_gemm', [...args, M, w.rows, w.cols, this.ptr(this.sparseScratch)], 2 * M * w.rows * w.cols);
  }

  /** The kernels' own exp approximation, exposed for tests. */
  expApprox(x: number): number {
    return (this.instance.exports['exp_f32'] as (x: number) => number)(x);
  }

  async finish(): Promise<void> {}

  async dispose(): Promise<void> {
    await this.pool.terminate();
  }
}
