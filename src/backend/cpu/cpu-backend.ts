/**
 * The CPU backend: tensors live in one shared WebAssembly.Memory; ops run the AssemblyScript SIMD kernels of the
 * registry (src/kernels/<op>/assembly.ts, one module) on a worker pool. Small calls stay on the calling thread: a
 * dispatch costs ~10 us, more than a 64-wide RMSNorm.
 */
import { tensorCache, unsupported, type Backend } from '../backend.js';
import type { CpuKernels, OpDef } from '../../kernels/op.js';
import { DType, DTYPE_BYTES, elementCount } from '../../tensor/dtype.js';
import { Storage, Tensor } from '../../tensor/tensor.js';
import { Allocator } from './allocator.js';
import { startKernels, WorkerPool } from './pool.js';
import { HEAP_BASE } from './wasm.js';

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
  /** what op implementations see (kernels/op.ts CpuKernels) */
  private readonly kernels: CpuKernels;

  private constructor(
    readonly memory: WebAssembly.Memory,
    private readonly pool: WorkerPool,
    readonly variant: string,
    private readonly instance: WebAssembly.Instance,
  ) {
    this.alloc_ = new Allocator(memory, HEAP_BASE);
    const be = this;
    this.kernels = {
      get threads() { return be.threads; },
      ptr: (t) => this.ptr(t),
      call: (name, args, work) => this.call(name, args, work),
      exported: (name) => this.exported(name),
      alloc: (shape, dtype) => this.alloc(shape, dtype),
      free: (t) => this.free(t),
      ...tensorCache(this),
    };
  }

  static async create(options: CpuBackendOptions = {}): Promise<CpuBackend> {
    const { memory, pool, variant, instance } = await startKernels(options);
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

  get bytesInUse(): number {
    return this.alloc_.bytesInUse;
  }

  /** Restart the peak at the bytes in use now (to measure one step's peak). */
  resetPeak(): void {
    this.alloc_.peak = this.alloc_.bytesInUse;
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

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  supports(op: OpDef<any>): boolean {
    return op.cpu !== undefined;
  }

  run<A>(op: OpDef<A>, args: A): void {
    if (!op.cpu) throw unsupported(this.name, op.name);
    op.cpu(this.kernels, args);
  }

  /** Runs the kernel export `name` on the pool (thread id and count appended). */
  private call(name: string, args: number[], work: number): void {
    const fn = this.pool.index.get(name);
    if (fn === undefined) throw new Error(`the kernel module has no kernel ${name}`);
    this.pool.run(fn, args, work >= PARALLEL_MIN_WORK ? this.pool.threads : 1);
  }

  /** A plain export of the kernel module (scratch-size queries; the exp approximation for tests). */
  exported(name: string): (...args: number[]) => number {
    const f = this.instance.exports[name];
    if (typeof f !== 'function') throw new Error(`the kernel module has no export ${name}`);
    return f as (...args: number[]) => number;
  }

  async finish(): Promise<void> {}

  async dispose(): Promise<void> {
    await this.pool.terminate();
  }
}
