/**
 * GEMM / GEMV throughput of the CPU backend: sgemm 1024x1024x1024 and a 1x4096x4096 GEMV (memory-bound, like
 * LLM decode), each at 1 thread and at all threads, median of repeated runs after a warm-up (the first calls
 * run V8's baseline wasm tier).
 */
import { CpuBackend } from '../backend/cpu/cpu-backend.js';

export interface GemmRow {
  kernel: string;
  M: number; N: number; K: number;
  threads: number;
  variant: string;
  gflops: number;
  medianMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchGemm(threadCounts: number[], minSeconds = 1): Promise<GemmRow[]> {
  const rows: GemmRow[] = [];
  for (const threads of threadCounts) {
    const be = await CpuBackend.create({ threads });
    try {
      for (const [kernel, M, N, K] of [['sgemm', 1024, 1024, 1024], ['gemv', 1, 4096, 4096]] as const) {
        const a = be.alloc([M, K]), w = be.alloc([N, K]), out = be.alloc([M, N]);
        const fill = (t: Float32Array, s: number) => { for (let i = 0; i < t.length; i++) t[i] = Math.sin(i * s); };
        fill(be.f32View(a), 0.37);
        fill(be.f32View(w), 0.11);
        for (let i = 0; i < 5; i++) be.linear(a, w, null, out);
        const times: number[] = [];
        const t0 = performance.now();
        while (times.length < 5 || performance.now() - t0 < minSeconds * 1000) {
          const s = performance.now();
          be.linear(a, w, null, out);
          times.push(performance.now() - s);
        }
        const ms = median(times);
        rows.push({ kernel, M, N, K, threads, variant: be.variant, gflops: (2 * M * N * K) / (ms * 1e6), medianMs: ms });
        for (const t of [a, w, out]) be.free(t);
      }
    } finally {
      await be.dispose();
    }
  }
  return rows;
}
