/**
 * The stereo pipeline's kernel set, in two interchangeable implementations: `WasmStereoKernels` (the
 * AssemblyScript SIMD kernels on the shared-memory worker pool) and `ReferenceStereoKernels` (the plain-TS
 * twins). Buffers are typed arrays; the WebAssembly set hands out views into its linear memory, so the same
 * pipeline code drives both and tests compare them on random inputs.
 */
import * as ref from '../../kernels/stereo/reference.js';
import { SUBPIXEL_CODE, type SgmParams, type Subpixel } from '../../kernels/stereo/reference.js';
import { Allocator } from '../../backend/cpu/allocator.js';
import { startKernels, WorkerPool } from '../../backend/cpu/pool.js';
import { HEAP_BASE } from '../../backend/cpu/wasm.js';

export type { SgmParams, Subpixel };

export interface StereoKernels {
  readonly description: string;
  readonly threads: number;
  u8(n: number): Uint8Array;
  u16(n: number): Uint16Array;
  /** census strings: two u32 (lo, hi) per pixel */
  u32(n: number): Uint32Array;
  f32(n: number): Float32Array;
  i32(values: readonly number[]): Int32Array;
  /** free every buffer handed out so far */
  reset(): void;
  censusTransform(img: Uint8Array, out: Uint32Array, W: number, H: number, pairs: Int32Array): void;
  censusCost(cl: Uint32Array, cr: Uint32Array, cost: Uint16Array, W: number, H: number, D: number): void;
  rankTransform(img: Uint8Array, ranks: Uint8Array, W: number, H: number, K: number, offsets: Int32Array): void;
  rankSadCost(rl: Uint8Array, rr: Uint8Array, cost: Uint16Array, W: number, H: number, D: number, K: number): void;
  btCost(il: Uint8Array, ir: Uint8Array, cost: Uint16Array, W: number, H: number, D: number): void;
  boxSum(src: Uint16Array, dst: Uint16Array, W: number, H: number, D: number, rx: number, ry: number): void;
  truncatedSum(a: Uint16Array, b: Uint16Array, out: Uint16Array, t1: number, t2: number, lambda256: number): void;
  /** the aggregated volume S as partial sums (one per thread) that wta adds up */
  sgm(cost: Uint16Array, img: Uint8Array, W: number, H: number, D: number, p: SgmParams): Uint16Array[];
  wta(volumes: Uint16Array[], W: number, H: number, D: number, uniqueness: number, subpixel: Subpixel, left: Float32Array, right: Float32Array): void;
  /** 3x3 median of the interior pixels x in [1, medianCoveredEnd(W)), 1 <= y < H-1; other pixels untouched */
  median3x3Interior(src: Float32Array, dst: Float32Array, W: number, H: number): void;
  dispose(): Promise<void>;
}

export class ReferenceStereoKernels implements StereoKernels {
  readonly description = 'plain TypeScript reference';
  readonly threads = 1;
  u8(n: number) { return new Uint8Array(n); }
  u16(n: number) { return new Uint16Array(n); }
  u32(n: number) { return new Uint32Array(n); }
  f32(n: number) { return new Float32Array(n); }
  i32(values: readonly number[]) { return Int32Array.from(values); }
  reset(): void {}
  censusTransform = ref.censusTransformRef;
  censusCost = ref.censusCostRef;
  rankTransform = ref.rankTransformRef;
  rankSadCost = ref.rankSadCostRef;
  btCost = ref.btCostRef;
  boxSum = ref.boxSumRef;
  truncatedSum = ref.truncatedSumRef;
  sgm = ref.sgmRef;
  wta = ref.wtaRef;
  median3x3Interior = ref.median3x3InteriorRef;
  async dispose(): Promise<void> {}
}

type KernelName = 'census_transform' | 'census_cost' | 'rank_transform' | 'rank_sad_cost' | 'bt_cost' | 'box_sum_h' | 'box_sum_v'
  | 'truncated_sum' | 'sgm' | 'wta' | 'median3x3_f32';

/** Kernel calls smaller than this many volume elements stay on the calling thread. */
const PARALLEL_MIN = 1 << 14;

type View = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array;

export class WasmStereoKernels implements StereoKernels {
  private readonly alloc: Allocator;
  private readonly fn: Record<KernelName, number>;
  private readonly live: [number, number][] = [];
  private readonly scratchBytes: (W: number, D: number, maxDy: number) => number;

  private constructor(private readonly memory: WebAssembly.Memory, private readonly pool: WorkerPool, readonly variant: string, instance: WebAssembly.Instance) {
    this.alloc = new Allocator(memory, HEAP_BASE);
    const names: KernelName[] = ['census_transform', 'census_cost', 'rank_transform', 'rank_sad_cost', 'bt_cost', 'box_sum_h', 'box_sum_v', 'truncated_sum', 'sgm', 'wta', 'median3x3_f32'];
    this.fn = Object.fromEntries(names.map((k) => [k, pool.index.get(k)!])) as Record<KernelName, number>;
    this.scratchBytes = instance.exports['sgm_scratch_bytes'] as (W: number, D: number, maxDy: number) => number;
  }

  static async create(options: { threads?: number; simd?: 'auto' | 'simd128' } = {}): Promise<WasmStereoKernels> {
    const { memory, pool, variant, instance } = await startKernels(options);
    return new WasmStereoKernels(memory, pool, variant, instance);
  }

  get threads(): number {
    return this.pool.threads;
  }

  get description(): string {
    return `wasm ${this.variant}, ${this.threads} thread${this.threads > 1 ? 's' : ''}`;
  }

  private bytes(n: number): number {
    const ptr = this.alloc.alloc(n);
    this.live.push([ptr, n]);
    return ptr;
  }

  /** a view of n elements of a fresh block (allocate first: growing the memory replaces memory.buffer) */
  private view<T>(ctor: new (b: ArrayBufferLike, off: number, n: number) => T, bytesPer: number, n: number): T {
    const ptr = this.bytes(bytesPer * Math.max(1, n));
    return new ctor(this.memory.buffer, ptr, n);
  }

  u8(n: number) { return this.view(Uint8Array, 1, n); }
  u16(n: number) { return this.view(Uint16Array, 2, n); }
  u32(n: number) { return this.view(Uint32Array, 4, n); }
  f32(n: number) { return this.view(Float32Array, 4, n); }
  i32(values: readonly number[]) {
    const v = this.view(Int32Array, 4, values.length);
    v.set(values);
    return v;
  }

  reset(): void {
    for (const [ptr, n] of this.live) this.alloc.release(ptr, n);
    this.live.length = 0;
  }

  private ptr(v: View): number {
    if (!(v.buffer instanceof SharedArrayBuffer)) throw new Error('stereo kernels: buffer was not allocated by this kernel set');
    return v.byteOffset;
  }

  private run(name: KernelName, args: number[], work: number, maxThreads = this.threads): void {
    this.pool.run(this.fn[name], args, work < PARALLEL_MIN ? 1 : Math.min(maxThreads, this.threads));
  }

  censusTransform(img: Uint8Array, out: Uint32Array, W: number, H: number, pairs: Int32Array): void {
    this.run('census_transform', [this.ptr(img), this.ptr(out), W, H, this.ptr(pairs), pairs.length / 4], W * H * 8);
  }

  censusCost(cl: Uint32Array, cr: Uint32Array, cost: Uint16Array, W: number, H: number, D: number): void {
    this.run('census_cost', [this.ptr(cl), this.ptr(cr), this.ptr(cost), W, H, D], W * H * D);
  }

  rankTransform(img: Uint8Array, ranks: Uint8Array, W: number, H: number, K: number, offsets: Int32Array): void {
    const scratch = this.bytes(16 * K * this.threads);
    this.run('rank_transform', [this.ptr(img), this.ptr(ranks), W, H, K, this.ptr(offsets), offsets.length / 3, scratch], W * H * 8);
  }

  rankSadCost(rl: Uint8Array, rr: Uint8Array, cost: Uint16Array, W: number, H: number, D: number, K: number): void {
    this.run('rank_sad_cost', [this.ptr(rl), this.ptr(rr), this.ptr(cost), W, H, D, K], W * H * D);
  }

  btCost(il: Uint8Array, ir: Uint8Array, cost: Uint16Array, W: number, H: number, D: number): void {
    const scratch = this.bytes(12 * W * this.threads);
    this.run('bt_cost', [this.ptr(il), this.ptr(ir), this.ptr(cost), W, H, D, scratch], W * H * D);
  }

  boxSum(src: Uint16Array, dst: Uint16Array, W: number, H: number, D: number, rx: number, ry: number): void {
    const tmp = this.u16(W * H * D);
    this.run('box_sum_h', [this.ptr(src), this.ptr(tmp), W, H, D, rx], W * H * D);
    this.run('box_sum_v', [this.ptr(tmp), this.ptr(dst), W, H, D, ry], W * H * D);
    const [ptr, n] = this.live.pop()!;
    this.alloc.release(ptr, n);
  }

  truncatedSum(a: Uint16Array, b: Uint16Array, out: Uint16Array, t1: number, t2: number, lambda256: number): void {
    this.run('truncated_sum', [this.ptr(a), this.ptr(b), this.ptr(out), out.length, t1, t2, lambda256], out.length);
  }

  sgm(cost: Uint16Array, img: Uint8Array, W: number, H: number, D: number, p: SgmParams): Uint16Array[] {
    const ndirs = p.dirs.length / 2;
    const nt = cost.length < PARALLEL_MIN ? 1 : Math.min(this.threads, ndirs);
    let maxDy = 0;
    for (let i = 1; i < p.dirs.length; i += 2) maxDy = Math.max(maxDy, Math.abs(p.dirs[i]!));
    const per = Math.ceil((this.scratchBytes(W, D, maxDy) * Math.ceil(ndirs / nt)) / 64) * 64;
    const scratch = this.bytes(per * nt);
    const dirs = this.i32(Array.from(p.dirs));
    const n = W * H * D;
    const all = this.u16(n * nt); // thread t sums its directions into volume t
    this.pool.run(this.fn.sgm, [this.ptr(cost), this.ptr(all), this.ptr(img), W, H, D, this.ptr(dirs), ndirs, p.P1, p.P2,
      p.adaptiveP2 ? 1 : 0, scratch, per], nt);
    return Array.from({ length: nt }, (_, t) => all.subarray(t * n, (t + 1) * n));
  }

  wta(volumes: Uint16Array[], W: number, H: number, D: number, uniqueness: number, subpixel: Subpixel, left: Float32Array, right: Float32Array): void {
    const n = W * H * D;
    // the kernel wants the volumes back to back (as sgm returns them); copy when they are not
    let first = volumes[0]!;
    if (volumes.some((v, i) => v.buffer !== first.buffer || v.byteOffset !== first.byteOffset + 2 * n * i)) {
      const all = this.u16(n * volumes.length);
      volumes.forEach((v, i) => all.set(v, i * n));
      first = all;
    }
    const scratch = this.bytes((4 * (W + D + 8) + 2 * D) * this.threads);
    this.run('wta', [this.ptr(first), volumes.length, W, H, D, uniqueness, SUBPIXEL_CODE[subpixel], this.ptr(left), this.ptr(right), scratch], n);
  }

  median3x3Interior(src: Float32Array, dst: Float32Array, W: number, H: number): void {
    this.run('median3x3_f32', [this.ptr(src), this.ptr(dst), W, H], W * H * 8);
  }

  async dispose(): Promise<void> {
    await this.pool.terminate();
  }
}
