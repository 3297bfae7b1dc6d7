/**
 * `--backend cpu|webgpu|auto`: the CPU backend (WebAssembly SIMD on worker threads), the WebGPU backend, or WebGPU
 * when a hardware adapter exists and the CPU otherwise. `auto` passes over software adapters (Mesa's llvmpipe /
 * lavapipe, SwiftShader): on a machine without a GPU they are far slower than the WebAssembly kernels.
 */
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { WebGpuBackend } from './webgpu/webgpu-backend.js';
import { OptionError } from '../util/errors.js';

export const BACKENDS = ['cpu', 'webgpu', 'auto'] as const;
export type BackendKind = (typeof BACKENDS)[number];

export function isSoftwareAdapter(description: string): boolean {
  return /llvmpipe|lavapipe|swiftshader/i.test(description);
}

/** `log` receives one line saying which WebGPU adapter was chosen and why (the CLI writes it to stderr). */
export async function createBackend(kind: string | undefined, threads?: number, log?: (line: string) => void): Promise<Backend> {
  const k = (kind ?? 'cpu') as BackendKind;
  if (!BACKENDS.includes(k)) throw new OptionError('--backend', `expected ${BACKENDS.join(', ')}, got "${kind}"`);
  if (k === 'webgpu') {
    const g = await WebGpuBackend.create();
    log?.(g.note);
    return g;
  }
  if (k === 'auto') {
    const g = await WebGpuBackend.tryCreate();
    if (typeof g === 'string') log?.(`webgpu: ${g}; --backend auto uses the cpu backend`);
    else {
      if (!isSoftwareAdapter(g.description)) {
        log?.(g.note);
        return g;
      }
      log?.(`${g.note}: a software adapter, so --backend auto uses the cpu backend`);
      await g.dispose();
    }
  }
  return CpuBackend.create({ threads });
}

/** For commands whose kernels exist on the CPU only. */
export function requireCpu(kind: string | undefined, what: string): void {
  if (kind !== undefined && kind !== 'cpu') throw new OptionError('--backend', `${what} runs on the cpu backend only`);
}
