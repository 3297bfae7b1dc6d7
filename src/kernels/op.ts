/**
 * The op registry's vocabulary. An op is one folder, `kernels/<op>/`: its AssemblyScript kernel (`assembly.ts`,
 * compiled into the one wasm module), its plain-TS twin (`reference.ts`), its WGSL (`wgsl.ts`) and its registration
 * (`index.ts`): an `OpDef` with the op's name, the checks of its arguments, one implementation per backend, and a
 * slot for its gradient. A backend is buffers plus `run(op, args)` and `supports(op)`; it hands an implementation
 * the small kernel interface below (`CpuKernels`, `GpuKernels`), so adding an op touches neither backend.
 * (The design follows ggml's backend ops table and tfjs's registerKernel.)
 */
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** Buffers an implementation may take besides its arguments. */
export interface KernelMemory {
  alloc(shape: readonly number[], dtype?: DType): Tensor;
  free(t: Tensor): void;
  /** a float32 tensor of at least `size` elements kept under `key` (grown on demand, reused by later calls) */
  scratch(key: string, size: number): Tensor;
  /** a float32 tensor made once per backend and kept (tables such as Hadamard bases) */
  constant(key: string, shape: readonly number[], make: () => Float32Array): Tensor;
}

/** What a CPU implementation uses: the kernels of the wasm module run over the shared memory's worker pool. */
export interface CpuKernels extends KernelMemory {
  readonly threads: number;
  /** byte address of a tensor's first element in the shared memory */
  ptr(t: Tensor): number;
  /**
   * Runs the kernel exported as `name` with `args` (the thread id and count are appended) on every thread, or on the
   * calling thread alone when `work` (floating-point operations) is too small to pay for a dispatch.
   */
  call(name: string, args: number[], work: number): void;
  /** a plain (non-kernel) export of the module, such as a scratch-size query */
  exported(name: string): (...args: number[]) => number;
}

/** A float parameter of a WGSL kernel (bit-cast into the u32 parameter block). */
export interface F32Param { f: number }
export const f32 = (x: number): F32Param => ({ f: x });
export type GpuParam = number | F32Param;
/** placeholders for bindings a dispatch does not use: one read-only, one written (they must not alias) */
export type GpuBinding = Tensor | 'unused' | 'unusedOut';

/** What a WebGPU implementation uses. */
export interface GpuKernels extends KernelMemory {
  /** optional features the device was created with (shader-f16, subgroups, timestamp-query) */
  readonly features: readonly string[];
  /** the reductions may use subgroup operations */
  readonly subgroups: boolean;
  /** a human description of the adapter, for error messages */
  readonly description: string;
  /**
   * One dispatch of the WGSL `code()` (compiled once per `key`): binding 0 is a uniform block of 16 words holding
   * `params`; bindings 1.. are the buffers; `groups` workgroups (a count, flattened as (x, y) when large, or x and y).
   */
  dispatch(key: string, code: () => string, bindings: GpuBinding[], params: GpuParam[], groups: number | [number, number]): void;
  /** the two tensors live in the same GPU buffer */
  sameBuffer(a: Tensor, b: Tensor): boolean;
}

/** The part of a backend that gradients (and ops composed of other ops) need. */
export interface OpRunner {
  alloc(shape: readonly number[], dtype?: DType): Tensor;
  free(t: Tensor): void;
  run<A>(op: OpDef<A>, args: A): void;
}

/** An input's gradient accumulator as `into` hands it out: `accumulate` is false while it holds nothing yet. */
export interface GradTarget {
  g: Tensor;
  accumulate: boolean;
}

/**
 * The gradient slot (autograd): given the forward arguments and a lookup of each tensor's gradient (null where
 * none flows), accumulate the gradients of the op's inputs from those of its outputs, by running other ops.
 * `grad(t)` gives an input's accumulator zero-filled; `into(t)` gives it for an op that writes the whole tensor
 * (a GEMM): with accumulate false the first time, so the op overwrites it and neither the zero fill nor the read
 * of zeros is paid. A function that takes a target from `into` must write it before asking for another.
 */
export type GradFn<A> = (r: OpRunner, args: A, grad: (t: Tensor) => Tensor | null, into: (t: Tensor) => GradTarget | null) => void;

export interface OpDef<A> {
  readonly name: string;
  /** the op's precondition on shapes and types; throws an Error naming the op (a programming error, not user input) */
  check(a: A): void;
  readonly cpu?: (k: CpuKernels, a: A) => void;
  readonly webgpu?: (k: GpuKernels, a: A) => void;
  /** optional WebGPU device features the WebGPU implementation needs (supports() is false without them) */
  readonly webgpuFeatures?: readonly string[];
  readonly grad?: GradFn<A>;
}

/** Defines an op (identity; it fixes the argument type). */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  return def;
}

export function opError(op: string, detail: string): never {
  throw new Error(`${op}: ${detail}`);
}

export function requireF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.dtype !== 'f32') opError(op, `expected f32 tensors, got ${t.dtype}`);
}

export const lastDim = (t: Tensor): number => t.shape[t.shape.length - 1]!;
