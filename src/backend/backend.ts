/**
 * What a compute backend provides: buffers, and `run(op, args)` for the ops of the registry (src/kernels) it
 * implements (`supports(op)`). Model code is written against this interface and src/ops only, so a backend slots
 * in without touching it. Ops are enqueued in order; `read` resolves once everything before it has finished.
 */
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import type { OpDef, OpRunner } from '../kernels/op.js';

export type { AttentionParams, MixedKV } from '../kernels/attention/index.js';
export type { BlockAttentionParams, BlockMaskTensors } from '../kernels/block-attention/index.js';
export type { RopeParams } from '../kernels/rope/index.js';
export type { FakeQuantParams } from '../kernels/fake-quant/index.js';
export type { PackedWeight } from '../tensor/packed.js';

export interface Backend extends OpRunner {
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

  /** this backend implements the op */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  supports(op: OpDef<any>): boolean;
  /** enqueue the op (its arguments checked by the caller: src/ops) */
  run<A>(op: OpDef<A>, args: A): void;

  /** resolves when every enqueued kernel has finished (CPU kernels are synchronous: at once); for timing */
  finish(): Promise<void>;
  dispose(): Promise<void>;
}

/** An error for an op a backend does not implement. */
export function unsupported(backend: string, op: string): Error {
  return new Error(`${op} is not implemented on the ${backend} backend`);
}

/** A backend whose tensors live in host-addressable (WebAssembly) memory, so they have zero-copy views. */
export interface HostMemoryBackend extends Backend {
  readonly memory: WebAssembly.Memory;
  /** byte address of a tensor's first element */
  ptr(t: Tensor): number;
  bytes(t: Tensor): Uint8Array;
  f32View(t: Tensor): Float32Array;
}

/** The capability query for host memory (the CPU backend has it, a GPU backend does not). */
export function hostMemory(be: Backend): HostMemoryBackend | null {
  const h = be as Partial<HostMemoryBackend>;
  return typeof h.f32View === 'function' && typeof h.ptr === 'function' && h.memory !== undefined ? (be as HostMemoryBackend) : null;
}

/**
 * The scratch and constant tensors op implementations ask a backend for (kernels/op.ts KernelMemory): one growing
 * scratch per key, one constant per key made once.
 */
export function tensorCache(be: Pick<Backend, 'alloc' | 'free' | 'write'>): { scratch(key: string, size: number): Tensor; constant(key: string, shape: readonly number[], make: () => Float32Array): Tensor } {
  const scratches = new Map<string, Tensor>(), constants = new Map<string, Tensor>();
  return {
    scratch(key, size) {
      const cur = scratches.get(key);
      if (cur && cur.size >= size) return cur;
      if (cur) be.free(cur);
      const t = be.alloc([size]);
      scratches.set(key, t);
      return t;
    },
    constant(key, shape, make) {
      let t = constants.get(key);
      if (!t) {
        t = be.alloc(shape);
        be.write(t, make());
        constants.set(key, t);
      }
      return t;
    },
  };
}
