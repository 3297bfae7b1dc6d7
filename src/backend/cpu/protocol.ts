/**
 * The control block shared by the main thread and the kernel workers (one SharedArrayBuffer):
 * Int32 slots below, then a Float64 argument array. Dispatch = write args, bump GEN, notify; each worker runs
 * its slice, bumps DONE, and the last one notifies. An Atomics wake costs ~9 us against ~65 us for a
 * postMessage round trip, which matters for decode (hundreds of small kernels per token).
 */
export const GEN = 0;
export const FN = 1;
export const NT = 2;
export const DONE = 3;
export const EXIT = 4;
export const ERROR = 5;
export const NARGS = 6;
export const ARGS_BYTE_OFFSET = 64;
export const MAX_ARGS = 32;
export const CONTROL_BYTES = ARGS_BYTE_OFFSET + MAX_ARGS * 8;
/** spins before a worker falls back to Atomics.wait: covers the gap between back-to-back kernels */
export const SPIN = 20000;

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  names: string[];
  tid: number;
}

export type KernelFn = (...args: number[]) => void;

export function kernelTable(instance: WebAssembly.Instance, names: readonly string[]): KernelFn[] {
  return names.map((n) => {
    const f = instance.exports[n];
    if (typeof f !== 'function') throw new Error(`kernel module has no export ${n}`);
    return f as KernelFn;
  });
}
