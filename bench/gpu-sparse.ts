/**
 * `npm run bench -- gpu-sparse [--torch FILE]`: the WGSL sparse GEMV (bitmask 50% / 70%, 2:4 and 4:8 with float32 values;
 * bitmask 70% with int8 and int4 codes, 2:4 with int8 codes, group 128) against
 * the dense WGSL GEMV on the first WebGPU adapter, one input row at the shapes 4096x4096, 11008x4096 and 4096x11008,
 * beside PyTorch's dense f32 / bf16 GEMV measured in the same device call (bench/device/torch_gemv.py). Batches of 50
 * calls then finish(), the storages' batches interleaved in 9 rounds, median per storage; GB/s of the bytes each storage holds. `--shapes RxC,...` for other shapes
 * (a software adapter's 128 MiB binding limit needs smaller ones).
 */
import { readFileSync } from 'node:fs';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import * as ops from '../src/ops/index.js';
import { packBitmask, packBitmaskQ4, packBitmaskQ8, packNM, packNMQ8, sparseBytes, type SparseWeight } from '../src/tensor/sparse-format.js';
import { getCode, packWeights } from '../src/quant/pack.js';
import { uploadSparse } from '../src/models/sparse-storage.js';
import type { Tensor } from '../src/tensor/tensor.js';
import type { SparseTensors } from '../src/tensor/sparse-format.js';
import { markdownTable } from '../src/util/table.js';
import { median } from '../src/util/timing.js';

type Record = (name: string, command: string, table: string, notes?: string) => void;

/** N:M by magnitude: the n largest |w| of every m consecutive weights stay */
function keepLargest(dense: Float32Array, n: number, m: number): Float32Array {
  const d = dense.slice(), idx = Array.from({ length: m }, (_, j) => j);
  for (let i = 0; i < d.length; i += m) {
    idx.sort((a, b) => Math.abs(d[i + a]!) - Math.abs(d[i + b]!));
    for (let j = 0; j < m - n; j++) d[i + idx[j]!] = 0;
  }
  return d;
}

/** asymmetric int8/int4 codes of dense per row and 128 columns, one code per byte */
function codesOf(dense: Float32Array, R: number, C: number, bits: 4 | 8): { codes: Uint8Array; scales: Float32Array; zeros: Float32Array } {
  const q = packWeights(dense, R, C, { bits, sym: false }, 128);
  return { codes: Uint8Array.from({ length: R * C }, (_, i) => getCode(q, Math.floor(i / C), i % C)), scales: q.scales, zeros: q.zeros };
}

export async function gpuSparseBench(argv: string[], record: Record): Promise<void> {
  const flag = (n: string) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : undefined; };
  const torchFile = flag('--torch');
  const torch = torchFile ? JSON.parse(readFileSync(torchFile, 'utf8')) as Record_ : null;
  const gpu = await WebGpuBackend.create();
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const rows: (string | number)[][] = [];
  const shapes = (flag('--shapes') ?? '4096x4096,11008x4096,4096x11008').split(',').map((t) => t.split('x').map(Number) as [number, number]);
  for (const [R, C] of shapes) {
    const dense = Float32Array.from({ length: R * C }, () => rand() - 0.5);
    const x = gpu.alloc([1, C]), out = gpu.alloc([1, R]);
    gpu.write(x, Float32Array.from({ length: C }, () => rand() - 0.5));
    const tw = gpu.alloc([R, C]);
    gpu.write(tw, dense);
    const keep70 = Uint8Array.from(dense, (v) => +(Math.abs(v) >= 0.35));
    let q8c: ReturnType<typeof codesOf> | undefined;
    const q8 = () => (q8c ??= codesOf(dense, R, C, 8));
    const variants: [string, () => SparseWeight][] = [
      ['bitmask 50%', () => packBitmask(dense.map((v) => (Math.abs(v) < 0.25 ? 0 : v)), R, C)],
      ['bitmask 70%', () => packBitmask(dense.map((v) => (Math.abs(v) < 0.35 ? 0 : v)), R, C)],
      ['2:4', () => packNM(keepLargest(dense, 2, 4), R, C, 2, 4)],
      ['4:8', () => packNM(keepLargest(dense, 4, 8), R, C, 4, 8)],
      ['bitmask 70% int8', () => packBitmaskQ8(q8().codes, keep70, R, C, 128, q8().scales, q8().zeros)],
      ['bitmask 70% int4', () => { const q = codesOf(dense, R, C, 4); return packBitmaskQ4(q.codes, keep70, R, C, 128, q.scales, q.zeros); }],
      ['2:4 int8', () => packNMQ8(q8().codes, Uint8Array.from(keepLargest(dense, 2, 4), (v) => +(v !== 0)), R, C, 2, 4, 128, q8().scales, q8().zeros)],
    ];
    const weights: { name: string; bytes: number; w: Tensor | SparseTensors }[] = [{ name: 'dense f32 (WGSL gemv)', bytes: 4 * R * C, w: tw }];
    for (const [name, make] of variants) { const sw = make(); weights.push({ name, bytes: sparseBytes(sw), w: uploadSparse(gpu, sw) }); }
    // rounds: every storage's batch of 50 calls in turn, so clock changes of the GPU fall on all of them alike
    const batch = async (w: Tensor | SparseTensors) => {
      const t0 = performance.now();
      for (let i = 0; i < 50; i++) ops.linear(gpu, x, w, null, out);
      await gpu.finish();
      return (performance.now() - t0) / 50;
    };
    for (const { w } of weights) for (let i = 0; i < 4; i++) await batch(w); // warm-up
    const ts = weights.map(() => [] as number[]);
    for (let round = 0; round < 9; round++) for (let v = 0; v < weights.length; v++) ts[v]!.push(await batch(weights[v]!.w));
    const ms = ts.map(median), denseMs = ms[0]!;
    const tf = torch?.[`gemv_f32_${R}x${C}_ms`] as number | undefined, tb = torch?.[`gemv_bf16_${R}x${C}_ms`] as number | undefined;
    weights.forEach(({ name, bytes }, v) => rows.push([`${R}x${C}`, name, (bytes / (R * C)).toFixed(3), (1000 * ms[v]!).toFixed(1), (bytes / ms[v]! / 1e6).toFixed(0),
      (denseMs / ms[v]!).toFixed(2), tf ? (tf / ms[v]!).toFixed(2) : '', tb ? (tb / ms[v]!).toFixed(2) : '']));
    gpu.free(tw);
    if (tf) rows.push([`${R}x${C}`, 'PyTorch f32 (TF32 off)', '4.000', (1000 * tf).toFixed(1), (4 * R * C / tf / 1e6).toFixed(0), (denseMs / tf).toFixed(2), '1.00', tb ? (tb / tf).toFixed(2) : '']);
    if (tb) rows.push([`${R}x${C}`, 'PyTorch bf16', '2.000', (1000 * tb).toFixed(1), (2 * R * C / tb / 1e6).toFixed(0), (denseMs / tb).toFixed(2), tf ? (tf / tb).toFixed(2) : '', '1.00']);
  }
  record('gpu-sparse', `npm run bench -- gpu-sparse ${argv.join(' ')}`.trim(),
    markdownTable(['W', 'storage', 'bytes/weight', 'us per GEMV', 'GB/s (stored bytes)', 'speedup vs dense WGSL', 'vs PyTorch f32', 'vs PyTorch bf16'], rows),
    `WebGPU adapter: ${gpu.description}. One input row; 9 rounds, each timing a batch of 50 calls (finish() after each batch) of every storage in turn after 4 warm-up batches each; the median batch per storage. ${torch ? `PyTorch ${torch['torch']} on ${torch['device']} in the same call (CUDA events, bench/device/torch_gemv.py).` : 'No PyTorch numbers (--torch FILE).'} Random weights pruned by magnitude; the kernel cost does not depend on the values.`);
  await gpu.dispose();
}

type Record_ = { [k: string]: number | string };
