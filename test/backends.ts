// A CPU backend and the first WebGPU adapter (or the reason there is none) for a file of tests that compare the two:
// made before the file's tests, disposed after them.
import { after, before } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';

export interface CpuAndGpu { cpu: CpuBackend; gpu: WebGpuBackend | string }

export function cpuAndGpu(threads: number): CpuAndGpu {
  const b = {} as CpuAndGpu;
  before(async () => {
    b.cpu = await CpuBackend.create({ threads });
    b.gpu = await WebGpuBackend.tryCreate();
  });
  after(async () => {
    await b.cpu.dispose();
    if (typeof b.gpu !== 'string') await b.gpu.dispose();
  });
  return b;
}
