// Kernel worker: instantiates the kernel module on the shared memory and runs its slice of each dispatch.
import { workerData, parentPort } from 'node:worker_threads';
import { ARGS_BYTE_OFFSET, DONE, ERROR, EXIT, FN, GEN, NARGS, NT, SPIN, WorkerInit, kernelTable } from './protocol.js';

const init = workerData as WorkerInit;
const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory, abort: () => { throw new Error('kernel abort'); } } });
const fns = kernelTable(instance, init.names);
const ctrl = new Int32Array(init.control);
const args = new Float64Array(init.control, ARGS_BYTE_OFFSET);
let seen = Atomics.load(ctrl, GEN);
parentPort!.postMessage('ready');

for (;;) {
  let spins = 0;
  while (Atomics.load(ctrl, GEN) === seen) {
    if (++spins > SPIN) Atomics.wait(ctrl, GEN, seen);
  }
  seen = Atomics.load(ctrl, GEN);
  if (Atomics.load(ctrl, EXIT)) break;
  const nt = ctrl[NT]!;
  if (init.tid < nt) {
    const n = ctrl[NARGS]!;
    const a: number[] = new Array(n + 2);
    for (let i = 0; i < n; i++) a[i] = args[i]!;
    a[n] = init.tid;
    a[n + 1] = nt;
    try {
      fns[ctrl[FN]!]!(...a);
    } catch {
      Atomics.store(ctrl, ERROR, 1);
    }
  }
  Atomics.add(ctrl, DONE, 1);
  Atomics.notify(ctrl, DONE);
}
