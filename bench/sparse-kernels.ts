/**
 * Sparse GEMV micro-benchmark (`node dist/bench/sparse-kernels.js [cold|hot] [rounds] [shape filter]` after `npm run build`): one
 * input row times W [rows, cols] for TinyLlama-shaped layers, dense float32 and dense int8/int4 (linearQ, g128) against
 * the sparse storages (bitmask f32, int8 and int4 at 50/70/80%, 1x8 blocks f32 at 70/80%, 2:4 and 4:8 f32, 2:4 int8
 * and int4),
 * at 1 and 2 threads.
 * cold (default): every storage is uploaded in enough copies to fill 1 GiB and the calls rotate through them, so the
 * weights stream from DRAM as in decoding a model larger than the caches; hot: one copy, called repeatedly (stays
 * in cache when it fits). Prints the median ms per call over rounds, GB/s of stored weight bytes and the speed-up
 * over dense float32. Weights are random with a random pruning mask (the kernels' cost does not depend on values).
 */
import * as ops from '../src/ops/index.js';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { getCode, packedBytes, packWeights } from '../src/quant/pack.js';
import { packBitmask, packBitmaskQ4, packBitmaskQ8, packBlock8, packNM, packNMQ4, packNMQ8, sparseBytes, type SparseWeight } from '../src/tensor/sparse-format.js';
import { sparseTensorList, uploadSparse } from '../src/models/sparse-storage.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { machineDescription } from '../src/util/machine.js';
import { median } from '../src/util/timing.js';

const SHAPES: [string, number, number][] = [['down_proj 2048x5632', 2048, 5632], ['gate/up 5632x2048', 5632, 2048], ['4096x4096', 4096, 4096]];
const mode = process.argv[2] ?? 'cold';
if (mode !== 'cold' && mode !== 'hot') throw new Error(`mode: expected cold or hot, got ${mode}`);
const rounds = Number(process.argv[3] ?? 5);
const only = process.argv[4] ?? '';
const WORKING_SET = 2 ** 30; // bytes of weights a cold run rotates through (over the test machine's 480 MB L3)

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

function keepUnstructured(n: number, sparsity: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => (rand() >= sparsity ? 1 : 0));
}

function keepNM(rows: number, cols: number, n: number, m: number): Uint8Array {
  const keep = new Uint8Array(rows * cols);
  for (let g = 0; g < (rows * cols) / m; g++) {
    let k = 0;
    while (k < n) {
      const j = Math.floor(rand() * m);
      if (!keep[g * m + j]) { keep[g * m + j] = 1; k++; }
    }
  }
  return keep;
}

function applyKeep(w: Float32Array, keep: Uint8Array): Float32Array {
  return w.map((v, i) => (keep[i] ? (v === 0 ? 1e-3 : v) : 0));
}

async function main(): Promise<void> {
  console.log(`machine: ${machineDescription()}; ${mode}, ${rounds} rounds, median ms per call`);
  console.log('| shape | threads | storage | MB | ms | GB/s | x dense f32 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, rows, cols] of SHAPES.filter(([n]) => n.includes(only))) {
    const w = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * 0.1);
    const x = Float32Array.from({ length: cols }, () => rand() - 0.5);
    const q = packWeights(w, rows, cols, { bits: 8, sym: false }, 128);
    const q4 = packWeights(w, rows, cols, { bits: 4, sym: false }, 128);
    const codes4 = new Uint8Array(rows * cols); // one int4 code per weight, as the sparse packers take them
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) codes4[r * cols + c] = getCode(q4, r, c);
    const sparse: [string, SparseWeight][] = [];
    for (const s of [0.5, 0.7, 0.8]) {
      const keep = keepUnstructured(rows * cols, s);
      sparse.push([`bitmask f32 ${s * 100}%`, packBitmask(applyKeep(w, keep), rows, cols)]);
      sparse.push([`bitmask int8 ${s * 100}%`, packBitmaskQ8(q.codes, keep, rows, cols, 128, q.scales, q.zeros)]);
      sparse.push([`bitmask int4 ${s * 100}%`, packBitmaskQ4(codes4, keep, rows, cols, 128, q4.scales, q4.zeros)]);
    }
    for (const s of [0.7, 0.8]) {
      const blocks = keepUnstructured((rows * cols) / 8, s);
      sparse.push([`1x8 blocks f32 ${s * 100}%`, packBlock8(applyKeep(w, Uint8Array.from({ length: rows * cols }, (_, i) => blocks[i >> 3]!)), rows, cols)]);
    }
    const k24 = keepNM(rows, cols, 2, 4), k48 = keepNM(rows, cols, 4, 8);
    sparse.push(['2:4 f32', packNM(applyKeep(w, k24), rows, cols, 2, 4)]);
    sparse.push(['4:8 f32', packNM(applyKeep(w, k48), rows, cols, 4, 8)]);
    sparse.push(['2:4 int8', packNMQ8(q.codes, k24, rows, cols, 2, 4, 128, q.scales, q.zeros)]);
    sparse.push(['2:4 int4', packNMQ4(codes4, k24, rows, cols, 2, 4, 128, q4.scales, q4.zeros)]);
    for (const threads of [1, 2]) {
      type Made = { calls: (() => void)[] };
      const storages: [string, number, (be: CpuBackend, tx: Tensor, out: Tensor) => Made][] = [
        ['dense f32', rows * cols * 4, (be, tx, out) => {
          const t = be.alloc([rows, cols]);
          be.write(t, w);
          return { calls: [() => ops.linear(be, tx, t, null, out)] };
        }],
        ['dense int8 g128', packedBytes(q), (be, tx, out) => {
          const up = (a: ArrayBufferView, n: number, dtype?: 'u8') => { const t = be.alloc([n], dtype); be.write(t, a); return t; };
          const tc = up(q.codes, q.codes.length, 'u8'), ts = up(q.scales, q.scales.length), tz = up(q.zeros, q.zeros.length);
          return { calls: [() => ops.linear(be, tx, { kind: 'packed', shape: [rows, cols], container: 8, group: 128, codes: tc, scales: ts, zeros: tz }, null, out)] };
        }],
        ['dense int4 g128', packedBytes(q4), (be, tx, out) => {
          const up = (a: ArrayBufferView, n: number, dtype?: 'u8') => { const t = be.alloc([n], dtype); be.write(t, a); return t; };
          const tc = up(q4.codes, q4.codes.length, 'u8'), ts = up(q4.scales, q4.scales.length), tz = up(q4.zeros, q4.zeros.length);
          return { calls: [() => ops.linear(be, tx, { kind: 'packed', shape: [rows, cols], container: 4, group: 128, codes: tc, scales: ts, zeros: tz }, null, out)] };
        }],
        ...sparse.map(([label, sw]): [string, number, (be: CpuBackend, tx: Tensor, out: Tensor) => Made] => [label, sparseBytes(sw), (be, tx, out) => {
          const st = uploadSparse(be, sw, label);
          return { calls: [() => ops.linear(be, tx, st, null, out)] };
        }]),
      ];
      let denseMs = 0;
      for (const [label, bytes, make] of storages) {
        // a fresh backend per storage: its memory holds only this storage's copies
        const be = await CpuBackend.create({ threads });
        const tx = be.alloc([1, cols]), out = be.alloc([1, rows]);
        be.write(tx, x);
        const copies = mode === 'cold' ? Math.ceil(WORKING_SET / bytes) : 1;
        const calls = Array.from({ length: copies }, () => make(be, tx, out)).flatMap((m) => m.calls);
        const reps = mode === 'cold' ? calls.length : Math.max(5, Math.round(1e8 / (rows * cols)));
        const times: number[] = [];
        for (let round = 0; round <= rounds; round++) {
          const t0 = performance.now();
          for (let k = 0; k < reps; k++) calls[k % calls.length]!();
          if (round > 0) times.push((performance.now() - t0) / reps); // round 0 warms up
        }
        await be.dispose();
        const ms = median(times);
        if (label === 'dense f32') denseMs = ms;
        console.log(`| ${name} | ${threads} | ${label} | ${(bytes / 1e6).toFixed(1)} | ${ms.toFixed(3)} | ${(bytes / ms / 1e6).toFixed(1)} | ${(denseMs / ms).toFixed(2)} |`);
      }
    }
  }
}

await main();
