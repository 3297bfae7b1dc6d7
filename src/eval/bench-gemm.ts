/**
 * GEMM / GEMV throughput of a backend (the CPU one by default): sgemm 1024x1024x1024 and a 1x4096x4096 GEMV (memory-bound, like
 * LLM decode), each at 1 thread and at all threads, median of repeated runs after a warm-up (the first calls
 * run V8's baseline wasm tier).
 */
import type { Backend } from '../backend/backend.js';
import { CpuBackend } from '../backend/cpu/cpu-backend.js';
import { median } from '../util/timing.js';
import { markdownTable } from '../util/table.js';
import * as ops from '../ops/index.js';

export interface GemmRow {
  kernel: string;
  M: number; N: number; K: number;
  threads: number;
  variant: string;
  gflops: number;
  medianMs: number;
}


export const CPU_GEMM_SHAPES: [string, number, number, number][] = [['sgemm', 1024, 1024, 1024], ['gemv', 1, 4096, 4096]];
export const GPU_GEMM_SHAPES: [string, number, number, number][] = [['sgemm', 1024, 1024, 1024], ['sgemm', 4096, 4096, 4096], ['gemv', 1, 4096, 4096]];

/** Median time of `linear` on any backend (waiting for the device after each call), after 5 warm-up calls. */
export async function gemmRows(be: Backend, shapes: [string, number, number, number][], minSeconds: number, variant: string): Promise<GemmRow[]> {
  const rows: GemmRow[] = [];
  for (const [kernel, M, N, K] of shapes) {
    const a = be.alloc([M, K]), w = be.alloc([N, K]), out = be.alloc([M, N]);
    const fill = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s));
    be.write(a, fill(M * K, 0.37));
    be.write(w, fill(N * K, 0.11));
    for (let i = 0; i < 5; i++) ops.linear(be, a, w, null, out);
    await be.finish();
    const times: number[] = [];
    const t0 = performance.now();
    while (times.length < 5 || performance.now() - t0 < minSeconds * 1000) {
      const s = performance.now();
      ops.linear(be, a, w, null, out);
      await be.finish();
      times.push(performance.now() - s);
    }
    await be.read(out.view([1], 0));
    const ms = median(times);
    rows.push({ kernel, M, N, K, threads: be.threads, variant, gflops: (2 * M * N * K) / (ms * 1e6), medianMs: ms });
    for (const t of [a, w, out]) be.free(t);
  }
  return rows;
}

export async function benchGemm(threadCounts: number[], minSeconds = 1): Promise<GemmRow[]> {
  const rows: GemmRow[] = [];
  for (const threads of threadCounts) {
    const be = await CpuBackend.create({ threads });
    try {
      rows.push(...await gemmRows(be, CPU_GEMM_SHAPES, minSeconds, be.variant));
    } finally {
      await be.dispose();
    }
  }
  return rows;
}

export function gemmTable(rows: GemmRow[]): string {
  return markdownTable(['kernel', 'M x N x K', 'threads', 'backend', 'median ms', 'GFLOP/s'],
    rows.map((r) => [r.kernel, `${r.M}x${r.N}x${r.K}`, r.threads, r.variant, r.medianMs.toFixed(2), r.gflops.toFixed(1)]));
}
