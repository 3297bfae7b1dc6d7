/**
 * `npm run bench -- webgpu [--model DIR] [--torch FILE] [--windows N] [--quick]`: the WebGPU backend on the first
 * adapter found (on the device machine: Dawn's Vulkan on the NVIDIA driver), side by side with the native stack
 * when `--torch` names the JSON that bench/device/torch_peak.py wrote in the same call:
 * - WGSL sgemm (f32) TFLOP/s at 4096^3 and 8192^3 vs PyTorch's f32 (no TF32) and bf16 matrix products;
 * - dense flash attention and block-sparse attention (random block masks at density 0.5 and 0.2, block 64) at the
 *   CogVideoX-5B shape (17,776 tokens, 48 heads, d 64) vs PyTorch SDPA (bf16 flash, f32);
 * - perplexity throughput (tokens/s) of a model folder on the WebGPU backend vs the CPU backend.
 * Times are medians of calls that each wait for the device (Backend.finish).
 */
import * as ops from '../src/ops/index.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { BlockMask } from '../src/attention/mask.js';
import { gemmRows } from '../src/eval/bench-gemm.js';
import { loadModel } from '../src/load/load-model.js';
import { readText } from '../src/data/text.js';
import { perplexity } from '../src/eval/perplexity.js';
import { markdownTable } from '../src/util/table.js';
import { timed } from '../src/util/timing.js';
import { f32ToF16Bits } from '../src/tensor/dtype.js';

type Record_ = (name: string, command: string, table: string, notes?: string) => void;

/** Median milliseconds of `reps` calls of `fn`, each waiting for the device. */
async function medianMs(be: Backend, fn: () => void, reps: number): Promise<number> {
  return (await timed(reps, async () => { fn(); await be.finish(); })).ms;
}

export async function webgpuBench(argv: string[], record: Record_, shared: string): Promise<void> {
  const arg = (k: string) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : undefined; };
  const quick = argv.includes('--quick');
  const torch = arg('--torch') && existsSync(arg('--torch')!) ? JSON.parse(readFileSync(arg('--torch')!, 'utf8')) as Record<string, number | string> : null;
  const gpu = await WebGpuBackend.create();
  const rows: (string | number)[][] = [];
  const tf = (flop: number, ms: number) => (flop / ms / 1e9).toFixed(2);
  try {
    console.error(`webgpu: ${gpu.description}; features ${gpu.features.join(', ') || 'none'}`);
    // 1. sgemm
    const sizes = quick ? [1024] : [4096, 8192];
    for (const n of sizes) {
      const [r] = await gemmRows(gpu, [['sgemm', n, n, n]], 2, gpu.description);
      const t32 = torch?.[`mm_f32_${n}_ms`] as number | undefined, tbf = torch?.[`mm_bf16_${n}_ms`] as number | undefined;
      rows.push([`sgemm f32 ${n}^3`, r!.medianMs.toFixed(2), tf(2 * n ** 3, r!.medianMs), t32 ? `${tf(2 * n ** 3, t32)} (f32, no TF32)` : '', t32 ? (t32 / r!.medianMs).toFixed(3) : '',
        tbf ? `${tf(2 * n ** 3, tbf)} (bf16)` : '']);
      console.error(`webgpu: sgemm ${n} done`);
    }
    const hasF16 = gpu.features.includes('shader-f16');
    for (const n of hasF16 ? sizes : []) {
      const a = gpu.alloc([n, n], 'f16'), w = gpu.alloc([n, n], 'f16'), o = gpu.alloc([n, n]);
      const half = Uint16Array.from({ length: n * n }, (_, i) => f32ToF16Bits(Math.sin(i * 0.37)));
      gpu.write(a, half); gpu.write(w, half);
      const ms = await medianMs(gpu, () => ops.linearF16(gpu, a, w, o), 5);
      const tbf = torch?.[`mm_bf16_${n}_ms`] as number | undefined;
      rows.push([`hgemm f16 ${n}^3`, ms.toFixed(2), tf(2 * n ** 3, ms), tbf ? `${tf(2 * n ** 3, tbf)} (bf16, tensor cores)` : '', tbf ? (tbf / ms).toFixed(3) : '', '']);
      for (const t of [a, w, o]) gpu.free(t);
    }
    if (!hasF16) rows.push(['hgemm f16', '', 'not run: the adapter offers no shader-f16', '', '', '']);
    // 2. attention at the CogVideoX-5B shape
    const heads = quick ? 4 : 48, N = quick ? 2048 : 17776, d = 64, block = 64;
    const n = heads * N * d;
    const fill = (s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s) * 1.5);
    const q = gpu.alloc([n]), k = gpu.alloc([n]), v = gpu.alloc([n]), out = gpu.alloc([n]);
    gpu.write(q, fill(0.37)); gpu.write(k, fill(0.11)); gpu.write(v, fill(0.07));
    const p = { heads, tokens: N, headDim: d, block, scale: 1 / 8 };
    const flop = 4 * heads * N * N * d;
    const dense = await medianMs(gpu, () => ops.blockAttention(gpu, q, k, v, out, p), 3);
    const sdpa = torch?.['sdpa_bf16_ms'] as number | undefined, sdpa32 = torch?.['sdpa_f32_ms'] as number | undefined;
    rows.push([`flash attention f32, ${N} tokens, ${heads} heads, d ${d}`, dense.toFixed(1), tf(flop, dense), sdpa ? `${tf(flop, sdpa)} (SDPA bf16); ${sdpa32 ? tf(flop, sdpa32) : '?'} (SDPA f32)` : '', sdpa32 ? (sdpa32 / dense).toFixed(3) : '', '']);
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const density of [0.5, 0.2]) {
      const mask = BlockMask.from(heads, N, block, (_h, qb, kb) => qb === kb || rnd() < density);
      const m = mask.upload(gpu);
      const ms = await medianMs(gpu, () => ops.blockAttention(gpu, q, k, v, out, p, m), 3);
      m.release();
      rows.push([`block-sparse attention, random mask, density ${mask.density().toFixed(3)}`, ms.toFixed(1), `${tf(flop * mask.density(), ms)} effective`, '', '', `${(dense / ms).toFixed(2)}x vs dense (1/density ${(1 / mask.density()).toFixed(2)})`]);
    }
    await gpu.read(out.view([4], 0));
    for (const t of [q, k, v, out]) gpu.free(t);
    console.error('webgpu: attention done');
    // 3. perplexity throughput
    const model = arg('--model');
    const data = path.join(shared, 'text/wikitext-2-raw/test.joined.txt');
    if (model && existsSync(model) && existsSync(data)) {
      const windows = Number(arg('--windows') ?? 20);
      const text = readText(data);
      for (const be of [gpu as Backend, await CpuBackend.create()]) {
        const mdl = await loadModel(be, model);
        const stream = mdl.tokenizer!.encode(text, { bos: true });
        const r = await perplexity(mdl, stream, { seqlen: 512, maxWindows: windows });
        rows.push([`perplexity ${path.basename(model)}, ${r.windows} windows of 512`, '', `${r.tokensPerSecond.toFixed(0)} tokens/s (ppl ${r.ppl.toFixed(3)})`, '', '', be.description]);
        if (be !== gpu) await be.dispose();
      }
    }
  } finally {
    await gpu.dispose();
  }
  const table = markdownTable(['kernel', 'median ms', 'WebGPU TFLOP/s', 'native (PyTorch) TFLOP/s, same call', 'WebGPU / native (same precision)', 'note'], rows);
  record('webgpu', `npm run bench -- webgpu ${argv.join(' ')}`, `Adapter: ${gpu.description}${torch ? `; PyTorch ${torch['torch']} on ${torch['device']}` : ''}\n\n${table}`,
    'WGSL kernels as written (kernels/wgsl): sgemm = 128x128 tiles with 8x8 per thread (64x64 / 4x4 for products with fewer than 256 tiles), f32 FMA on the ALUs (core WebGPU has no tensor-core access); hgemm = the same in f16 where shader-f16 exists; gemv / rmsnorm / softmax reduce through subgroups where available; flash attention = one thread per query row, K/V sub-tiles in workgroup memory. PyTorch numbers: CUDA events, median of 10 after warm-up, same machine and call (bench/device/torch_peak.py).');
}
