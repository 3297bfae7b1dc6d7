/**
 * Loads the kernel module: the relaxed-SIMD build (FMA) where the engine accepts it, else plain SIMD128.
 * Node 20 gates relaxed SIMD behind a V8 flag; it is switched on here before anything is compiled.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

export interface KernelModule {
  module: WebAssembly.Module;
  variant: 'relaxed-simd' | 'simd128';
}

let cached: KernelModule | undefined;
const provided = new Map<string, Uint8Array<ArrayBuffer>>();

/** In a browser there is no file system: the page fetches the .wasm files and hands them over here first. */
export function provideKernelBytes(name: 'lithe-relaxed.wasm' | 'lithe-simd.wasm', bytes: Uint8Array<ArrayBuffer>): void {
  provided.set(name, bytes);
}

function kernelBytes(name: string): Uint8Array<ArrayBuffer> {
  return provided.get(name) ?? new Uint8Array(readFileSync(new URL(`../../../kernels/${name}`, import.meta.url)));
}

export function loadKernelModule(prefer: 'auto' | 'simd128' = 'auto'): KernelModule {
  if (cached && (prefer === 'auto' || cached.variant === prefer)) return cached;
  let result: KernelModule | undefined;
  if (prefer === 'auto') {
    const relaxed = kernelBytes('lithe-relaxed.wasm');
    if (!WebAssembly.validate(relaxed) && globalThis.process?.versions?.node?.split('.')[0] === '20') {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    }
    if (WebAssembly.validate(relaxed)) result = { module: new WebAssembly.Module(relaxed), variant: 'relaxed-simd' };
  }
  if (!result) {
    const simd = kernelBytes('lithe-simd.wasm');
    if (!WebAssembly.validate(simd)) throw new Error('this JavaScript engine does not support WebAssembly SIMD128');
    result = { module: new WebAssembly.Module(simd), variant: 'simd128' };
  }
  if (prefer === 'auto') cached = result;
  return result;
}

/** Address where host allocations start; below it lives the module's own static data. */
export const HEAP_BASE = 1 << 20;
export const INITIAL_PAGES = 17;
