/**
 * A pool of kernel workers sharing one WebAssembly.Memory. The calling thread is thread 0 and computes its own
 * slice, so `threads` = workers + 1. Calls are synchronous: `run` returns when every slice is done.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { MAX_PAGES } from './allocator.js';
import { INITIAL_PAGES, KernelModule, loadKernelModule } from './wasm.js';
import { ARGS_BYTE_OFFSET, CONTROL_BYTES, DONE, ERROR, EXIT, FN, GEN, NARGS, NT, SPIN, KernelFn, MAX_ARGS, WorkerInit, kernelTable } from './protocol.js';

export class WorkerPool {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly control = new SharedArrayBuffer(CONTROL_BYTES);
  private readonly workers: Worker[] = [];
  private readonly fns: KernelFn[];
  readonly index: Map<string, number>;

  private constructor(readonly threads: number, instance: WebAssembly.Instance, readonly names: string[]) {
    this.ctrl = new Int32Array(this.control);
    this.args = new Float64Array(this.control, ARGS_BYTE_OFFSET, MAX_ARGS);
    this.fns = kernelTable(instance, names);
    this.index = new Map(names.map((n, i) => [n, i]));
  }

  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, instance: WebAssembly.Instance, names: string[], threads: number): Promise<WorkerPool> {
    const pool = new WorkerPool(threads, instance, names);
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const init: WorkerInit = { module, memory, control: pool.control, names, tid };
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
      w.unref();
      pool.workers.push(w);
      ready.push(new Promise((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
      }));
    }
    await Promise.all(ready);
    return pool;
  }

  /** Run kernel `fn` with `args` on `nt` threads (1 = calling thread only, no dispatch). */
  run(fn: number, args: number[], nt: number): void {
    if (nt <= 1 || this.workers.length === 0) {
      this.fns[fn]!(...args, 0, 1);
      return;
    }
    nt = Math.min(nt, this.threads);
    const ctrl = this.ctrl;
    for (let i = 0; i < args.length; i++) this.args[i] = args[i]!;
    ctrl[NARGS] = args.length;
    ctrl[FN] = fn;
    ctrl[NT] = nt;
    Atomics.store(ctrl, DONE, 0);
    Atomics.add(ctrl, GEN, 1);
    Atomics.notify(ctrl, GEN);
    let error: unknown;
    try {
      this.fns[fn]!(...args, 0, nt);
    } catch (e) {
      error = e;
    }
    const expected = this.workers.length;
    let spins = 0;
    for (;;) {
      const d = Atomics.load(ctrl, DONE);
      if (d >= expected) break;
      if (++spins > SPIN) Atomics.wait(ctrl, DONE, d, 50);
    }
    if (error) throw error;
    if (Atomics.exchange(ctrl, ERROR, 0)) throw new Error(`kernel ${this.names[fn]} trapped in a worker thread`);
  }

  async terminate(): Promise<void> {
    Atomics.store(this.ctrl, EXIT, 1);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

export interface KernelRuntime {
  memory: WebAssembly.Memory;
  instance: WebAssembly.Instance;
  variant: KernelModule['variant'];
  pool: WorkerPool;
}

/**
 * A fresh shared memory with the kernel module instantiated on it and a pool of `threads` (default: all cores)
 * running its kernels (every function the module exports, by name): what the CPU backend and the stereo kernels
 * both start from.
 */
export async function startKernels(options: { threads?: number; simd?: 'auto' | 'simd128' } = {}): Promise<KernelRuntime> {
  const threads = Math.max(1, Math.floor(options.threads ?? os.availableParallelism()));
  const { module, variant } = loadKernelModule(options.simd ?? 'auto');
  const names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('kernel abort'); } } });
  const pool = await WorkerPool.create(module, memory, instance, names, threads);
  return { memory, instance, variant, pool };
}
