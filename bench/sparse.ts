/**
 * `npm run bench -- sparse [--part kernels|decode|ppl|all] [--threads 1,2]` (issue 18, sparse inference).
 * kernels: GEMV (1 row) and GEMM (--rows, default 16) through ops.linear for 4096x4096, 11008x4096, 4096x11008 at
 *   50/60/70/80% unstructured (bitmask f32), 2:4 (N:M f32) and bitmask int8 and int4 at 70%, beside dense f32 and packed
 *   int8 / int4 (g128), in one run; each storage uploaded in copies filling --working-set MiB (default 1024, over
 *   the 480 MiB L3) and called in rotation, so weights stream from DRAM. [--rounds R] [--shapes 4096x4096,...]
 * decode: greedy decode tokens/s of a LLaMA shaped like TinyLlama-1.1B (tied embeddings, so dense f32 fits the
 *   4 GiB WebAssembly memory) with seeded Gaussian weights, magnitude-pruned: dense f32, 70% bitmask f32, 70%
 *   bitmask int8 and int4 (g128), 2:4 f32; the model is rebuilt per variant and thread count from the same seeds.
 *   [--tokens 8] [--prompt 8] [--layers 22 (fewer: a smoke run only)] [--variants dense,70%,70%+int8,70%+int4,2:4]
 * ppl: lithe-ref-a pruned (Wanda / SparseGPT, 50% and 2:4) once, written dense-with-zeros and sparse, both
 *   reloaded and evaluated on WikiText-2 test windows of 512. [--windows 40] [--nsamples 32] [--methods wanda,sparsegpt]
 * Weights are generated here and never written to the repository (ppl's checkpoints go to a temporary folder).
 */
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as ops from '../src/ops/index.js';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { packedBytes, packWeights } from '../src/quant/pack.js';
import { packBitmask, packNM, sparseBytes, type SparseTensors, type SparseWeight } from '../src/tensor/sparse-format.js';
import { packSparse, sparseCheckpointTensors, SPARSE_FORMAT, uploadSparse, type SparseFormat } from '../src/models/sparse-storage.js';
import type { PackedWeight } from '../src/tensor/packed.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { LlamaModel } from '../src/models/llama/model.js';
import type { DecoderConfig } from '../src/models/config.js';
import { LINEARS, type DecoderModel, type LayerWeights, type LinearWeight } from '../src/models/decoder.js';
import { generate } from '../src/models/generate.js';
import { loadModel } from '../src/load/load-model.js';
import { calibrationFor } from '../src/calib/calibration-set.js';
import { pruneModel } from '../src/prune/prune-model.js';
import { writeHfCheckpoint } from '../src/export/hf-checkpoint.js';
import { readText } from '../src/data/text.js';
import { perplexity } from '../src/eval/perplexity.js';
import { markdownTable } from '../src/util/table.js';
import { median } from '../src/util/timing.js';

type Record = (name: string, command: string, table: string, notes?: string) => void;

// Standard normal quantiles z with P(|Z| < z) = s, i.e. Phi^-1((1 + s) / 2) (normal tables): magnitude pruning of
// N(0, sigma^2) weights at sparsity s zeroes |w| < sigma z, no sort needed.
const HALF_NORMAL_Q: { [s: string]: number } = { '0.5': 0.6744898, '0.6': 0.8416212, '0.7': 1.0364334, '0.8': 1.2815516 };

/** Seeded uniform [0, 1) (mulberry32). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** out = N(0, sigma^2) draws from `seed` (Box-Muller). */
function gaussFill(out: Float32Array, seed: number, sigma: number): Float32Array {
  const u = uniform(seed);
  for (let i = 0; i < out.length; i += 2) {
    const r = sigma * Math.sqrt(-2 * Math.log(1 - u())), a = 2 * Math.PI * u();
    out[i] = r * Math.cos(a);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** Zeroes |w| < sigma z(s) in place (magnitude pruning of Gaussian weights at sparsity s). */
function pruneGaussian(w: Float32Array, sigma: number, sparsity: number): Float32Array {
  const t = sigma * HALF_NORMAL_Q[String(sparsity)]!;
  for (let i = 0; i < w.length; i++) if (Math.abs(w[i]!) < t) w[i] = 0;
  return w;
}

/** 2:4 by magnitude: in every group of 4 consecutive weights of a row, zeroes the two smallest |w| in place. */
function prune24(w: Float32Array): Float32Array {
  for (let g = 0; g < w.length; g += 4) {
    let a = 0, b = 1; // the two largest so far, |w[a]| >= |w[b]|
    if (Math.abs(w[g + 1]!) > Math.abs(w[g]!)) { a = 1; b = 0; }
    for (let j = 2; j < 4; j++) {
      const v = Math.abs(w[g + j]!);
      if (v > Math.abs(w[g + a]!)) { b = a; a = j; } else if (v > Math.abs(w[g + b]!)) b = j;
    }
    for (let j = 0; j < 4; j++) if (j !== a && j !== b) w[g + j] = 0;
  }
  return w;
}

function zeroFraction(w: Float32Array): number {
  let z = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) z++;
  return z / w.length;
}

/** A backend's garbage: the 4 GiB memories of disposed backends are freed only by a collection. */
function collect(): void {
  v8.setFlagsFromString('--expose_gc');
  (vm.runInNewContext('gc') as () => void)();
}

function copyTensor(be: CpuBackend, t: Tensor): Tensor {
  const c = be.alloc(t.shape, t.dtype);
  be.bytes(c).set(be.bytes(t));
  return c;
}

// ---------------------------------------------------------------- kernels

const GEMM_CALLS = 4, GEMM_ROUNDS = 3;

type KernelStorage = { label: string; bytes: number; upload: (be: CpuBackend) => LinearWeight; copy: (be: CpuBackend, w: LinearWeight) => LinearWeight };

function kernelStorages(rows: number, cols: number, seed: number): KernelStorage[] {
  const sigma = 0.02, w = gaussFill(new Float32Array(rows * cols), seed, sigma);
  const out: KernelStorage[] = [];
  out.push({ label: 'dense f32', bytes: rows * cols * 4, upload: (be) => { const t = be.alloc([rows, cols]); be.write(t, w); return t; }, copy: (be, t) => copyTensor(be, t as Tensor) });
  for (const bits of [8, 4] as const) {
    const p = packWeights(w, rows, cols, { bits, sym: false }, 128);
    out.push({ label: `dense int${bits} g128`, bytes: packedBytes(p), upload: (be) => {
      const up = (a: ArrayBufferView, n: number, dtype?: 'u8') => { const t = be.alloc([n], dtype); be.write(t, a); return t; };
      return { kind: 'packed', shape: [rows, cols], container: bits, group: 128, codes: up(p.codes, p.codes.length, 'u8'), scales: up(p.scales, p.scales.length), zeros: up(p.zeros, p.zeros.length) } satisfies PackedWeight;
    }, copy: (be, x) => { const p = x as PackedWeight; return { ...p, codes: copyTensor(be, p.codes), scales: copyTensor(be, p.scales), zeros: copyTensor(be, p.zeros) }; } });
  }
  const sparse = (label: string, sw: SparseWeight) => out.push({ label, bytes: sparseBytes(sw), upload: (be) => uploadSparse(be, sw, label), copy: (be, x) => {
    const s = x as SparseTensors, c = (t: Tensor | null) => (t ? copyTensor(be, t) : null);
    return { ...s, layout: copyTensor(be, s.layout), offsets: c(s.offsets), values: copyTensor(be, s.values), scales: c(s.scales), zeros: c(s.zeros) };
  } });
  for (const s of [0.5, 0.6, 0.7, 0.8]) {
    const pw = pruneGaussian(w.slice(), sigma, s);
    sparse(`bitmask f32 ${s * 100}%`, packBitmask(pw, rows, cols));
    if (s === 0.7) sparse('bitmask int8 g128 70%', packSparse(pw, rows, cols, { format: SPARSE_FORMAT, layout: 'bitmask', values: 'q8', group: 128 }));
    if (s === 0.7) sparse('bitmask int4 g128 70%', packSparse(pw, rows, cols, { format: SPARSE_FORMAT, layout: 'bitmask', values: 'q4', group: 128 }));
  }
  sparse('2:4 f32', packNM(prune24(w.slice()), rows, cols, 2, 4));
  return out;
}

async function kernelsPart(argv: string[], flag: (n: string, d: string) => string, threadList: number[], record: Record): Promise<void> {
  const M = Number(flag('--rows', '16')), rounds = Number(flag('--rounds', '5')), ws = Number(flag('--working-set', '1024')) * 2 ** 20;
  const shapes = flag('--shapes', '4096x4096,11008x4096,4096x11008').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const rows: (string | number)[][] = [];
  const best = new Map<number, number>(); // threads -> best GEMV GB/s
  const measured: { threads: number; shape: string; label: string; kind: string; bytes: number; ms: number; kept: string }[] = [];
  for (const [R, C] of shapes) {
    const t0 = performance.now();
    const storages = kernelStorages(R, C, R * 7919 + C);
    console.error(`kernels ${R}x${C}: packed ${storages.length} storages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const x = gaussFill(new Float32Array(M * C), 99, 1);
    for (const threads of threadList) {
      for (const st of storages) {
        const be = await CpuBackend.create({ threads });
        const first = st.upload(be);
        const copies = Math.max(1, Math.ceil(ws / st.bytes));
        const ws_ = [first, ...Array.from({ length: copies - 1 }, () => st.copy(be, first))];
        const x1 = be.alloc([1, C]), xm = be.alloc([M, C]), o1 = be.alloc([1, R]), om = be.alloc([M, R]);
        be.write(x1, x.subarray(0, C));
        be.write(xm, x);
        for (const [kind, xin, out] of [['GEMV', x1, o1], [`GEMM ${M} rows`, xm, om]] as const) {
          // GEMV: every copy once per round (streams the working set); GEMM is compute-bound (ms >> bytes / bandwidth),
          // so GEMM_CALLS copies per round and GEMM_ROUNDS rounds bound its time
          const gemv = kind === 'GEMV', use = gemv ? ws_ : ws_.slice(0, GEMM_CALLS), nr = gemv ? rounds : Math.min(rounds, GEMM_ROUNDS);
          const times: number[] = [];
          for (let round = 0; round <= nr; round++) {
            const s = performance.now();
            for (const w of use) ops.linear(be, xin, w, null, out);
            if (round > 0) times.push((performance.now() - s) / use.length); // round 0 warms up
          }
          const ms = median(times);
          measured.push({ threads, shape: `${R}x${C}`, label: st.label, kind, bytes: st.bytes, ms, kept: '' });
          if (kind === 'GEMV') best.set(threads, Math.max(best.get(threads) ?? 0, st.bytes / ms / 1e6));
        }
        await be.dispose();
        collect();
      }
    }
  }
  const denseMs = new Map(measured.filter((m) => m.label === 'dense f32').map((m) => [`${m.threads} ${m.shape} ${m.kind}`, m.ms]));
  for (const m of measured) {
    const n = m.kind === 'GEMV' ? 1 : M, gbs = m.bytes / m.ms / 1e6;
    rows.push([m.threads, m.shape, m.kind, m.label, (m.bytes / 1e6).toFixed(1), m.ms.toFixed(3), ((2 * n * Number(m.shape.split('x')[0]) * Number(m.shape.split('x')[1])) / m.ms / 1e6).toFixed(1),
      gbs.toFixed(1), m.kind === 'GEMV' ? `${((100 * gbs) / best.get(m.threads)!).toFixed(0)}%` : '', (denseMs.get(`${m.threads} ${m.shape} ${m.kind}`)! / m.ms).toFixed(2)]);
  }
  const bestLine = [...best].map(([t, g]) => `${t} thread${t > 1 ? 's' : ''}: ${g.toFixed(1)} GB/s`).join(', ');
  record('sparse kernels', `npm run bench -- sparse ${argv.join(' ')}`.trim(),
    markdownTable(['threads', 'rows x cols', 'product', 'storage', 'stored MB', 'ms', 'GFLOP/s (dense-equiv.)', 'GB/s stored', 'of best GEMV GB/s', 'x dense f32'], rows),
    `ops.linear on each storage; GEMV: median of ${rounds} rounds after a warm-up round, each storage uploaded in copies filling ${ws / 2 ** 20} MiB and every copy called once per round (${ws >= 1024 * 2 ** 20 ? 'weights streamed from DRAM, not from the 480 MiB L3' : ws <= 2 ** 20 ? 'weights held in the caches: the kernels\' compute ceiling, not a streaming rate' : 'a working set the caches may partly hold'}); `
    + `GEMM: ${GEMM_CALLS} copies per round, median of ${Math.min(rounds, GEMM_ROUNDS)} rounds after a warm-up (compute-bound: its time is many times the weights' streaming time). `
    + `GFLOP/s counts the dense product's 2 x rows x cols per input row, whatever the storage skips; GB/s counts the bytes the storage holds (values/codes, mask or N:M indices, row offsets, int8/int4 scales and zeros, per-tensor padding) per call. `
    + `"of best GEMV GB/s" compares with the fastest streaming GEMV of the same thread count in this run (${bestLine}), the memory-bandwidth ceiling this run reached: GEMV rows near 100% are memory-bound, lower ones are limited by decoding the mask/indices or codes. `
    + `GEMM rows reuse each weight for ${M} input rows, so their GB/s is not a bandwidth figure; packed int8/int4 with more than one row dequantize the whole matrix to float32 and run the float GEMM. `
    + `Weights: N(0, 0.02^2), pruned by magnitude (|w| below the Gaussian quantile; 2:4: the two largest |w| of every 4). Machine shared with other jobs: noisy.`);
}

// ---------------------------------------------------------------- decode

const TINYLLAMA: DecoderConfig = {
  arch: 'llama', dim: 2048, hiddenDim: 5632, nLayers: 22, nHeads: 32, nKVHeads: 4, headDim: 64, vocabSize: 32000, maxSeqLen: 2048, normEps: 1e-5,
  ropeTheta: 10000, ropeScaling: null, neoxRope: true, qkvBias: false, tiedEmbeddings: true, slidingWindow: 0, bosId: 1, eosIds: [2],
};
const SIGMA = 0.02;

type Variant = { label: string; make: (w: Float32Array, rows: number, cols: number) => SparseWeight | null };
const VARIANTS: Variant[] = [
  { label: 'dense f32', make: () => null },
  { label: '70% bitmask f32', make: (w, r, c) => packBitmask(pruneGaussian(w, SIGMA, 0.7), r, c) },
  { label: '70% bitmask int8 g128', make: (w, r, c) => packSparse(pruneGaussian(w, SIGMA, 0.7), r, c, { format: SPARSE_FORMAT, layout: 'bitmask', values: 'q8', group: 128 } satisfies SparseFormat) },
  { label: '70% bitmask int4 g128', make: (w, r, c) => packSparse(pruneGaussian(w, SIGMA, 0.7), r, c, { format: SPARSE_FORMAT, layout: 'bitmask', values: 'q4', group: 128 } satisfies SparseFormat) },
  { label: '2:4 f32', make: (w, r, c) => packNM(prune24(w), r, c, 2, 4) },
];
const VARIANT_KEYS: { [k: string]: string } = { dense: 'dense f32', '70%': '70% bitmask f32', '70%+int8': '70% bitmask int8 g128', '70%+int4': '70% bitmask int4 g128', '2:4': '2:4 f32' };

interface Built { model: LlamaModel; memBytes: number; fileBytes: number; linearFileBytes: number; linearDenseBytes: number; zeros: number; buildSeconds: number }

/** The TinyLlama-shaped model in `v`'s storage on `be`; every matrix from its own seed, so all variants share weights. */
function buildModel(be: CpuBackend, c: DecoderConfig, v: Variant): Built {
  const t0 = performance.now();
  const qDim = c.nHeads * c.headDim, kvDim = c.nKVHeads * c.headDim;
  const shapes: { [k: string]: [number, number] } = {
    wq: [qDim, c.dim], wk: [kvDim, c.dim], wv: [kvDim, c.dim], wo: [c.dim, qDim], wGate: [c.hiddenDim, c.dim], wUp: [c.hiddenDim, c.dim], wDown: [c.dim, c.hiddenDim],
  };
  const buf = new Float32Array(Math.max(...Object.values(shapes).map(([r, k]) => r * k)));
  const ones = (n: number) => { const t = be.alloc([n]); be.f32View(t).fill(1); return t; };
  let memBytes = 0, linearFileBytes = 0, linearDenseBytes = 0, zeros = 0, count = 0;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const lin: { [k: string]: LinearWeight } = {};
    LINEARS.forEach(([name, key], j) => {
      const [rows, cols] = shapes[key]!, n = rows * cols, seed = 1_000_003 * (i + 1) + 7919 * (j + 1);
      const w = gaussFill(buf.subarray(0, n), seed, SIGMA);
      const sw = v.make(w, rows, cols);
      linearDenseBytes += 4 * n;
      if (!sw) {
        const t = be.alloc([rows, cols]);
        be.write(t, w);
        lin[key] = t;
        memBytes += 4 * n;
        linearFileBytes += 4 * n;
      } else {
        lin[key] = uploadSparse(be, sw, `layer ${i} ${name}`);
        memBytes += sparseBytes(sw);
        linearFileBytes += sparseCheckpointTensors('x', sw).reduce((a, [, r]) => a + r.data.byteLength, 0);
        zeros += zeroFraction(w) * n; // w was pruned in place by make()
      }
      count += n;
    });
    layers.push({ attnNorm: ones(c.dim), ffnNorm: ones(c.dim), bq: null, bk: null, bv: null, ...lin } as unknown as LayerWeights);
  }
  const embed = be.alloc([c.vocabSize, c.dim]);
  gaussFill(be.f32View(embed), 7, SIGMA);
  const norm = ones(c.dim);
  const other = 4 * (c.vocabSize * c.dim + c.dim * (2 * c.nLayers + 1));
  memBytes += 4 * c.vocabSize * c.dim;
  const model = new LlamaModel(be, c, { embed, layers, norm, lmHead: embed }, null, { path: '(random TinyLlama-shaped weights)', format: 'huggingface' });
  return { model, memBytes, fileBytes: linearFileBytes + other, linearFileBytes, linearDenseBytes, zeros: zeros / count, buildSeconds: (performance.now() - t0) / 1000 };
}

async function decodePart(argv: string[], flag: (n: string, d: string) => string, threadList: number[], record: Record): Promise<void> {
  const tokens = Number(flag('--tokens', '8')), promptLen = Number(flag('--prompt', '8')), nLayers = Number(flag('--layers', '22'));
  const keys = flag('--variants', 'dense,70%,70%+int8,70%+int4,2:4').split(',');
  const variants = keys.map((k) => { const l = VARIANT_KEYS[k]; if (!l) throw new Error(`--variants: unknown ${k} (dense, 70%, 70%+int8, 70%+int4, 2:4)`); return VARIANTS.find((v) => v.label === l)!; });
  const c = { ...TINYLLAMA, nLayers };
  const prompt = Array.from({ length: promptLen }, (_, i) => 3 + ((i * 7919 + 13) % (c.vocabSize - 3)));
  type Row = { threads: number; v: string; tps: number; built: Built; ids: number[]; prefill: number };
  const results: Row[] = [];
  // thread counts inner: the same variant's numbers side by side; every (variant, threads) gets a fresh backend
  for (const v of variants) {
    for (const threads of threadList) {
      const be = await CpuBackend.create({ threads });
      try {
        const built = buildModel(be, c, v);
        console.error(`decode ${v.label}, ${threads} thread(s): built in ${built.buildSeconds.toFixed(1)} s, ${(be.peakBytes / 2 ** 30).toFixed(2)} GiB`);
        const r = await generate(built.model, prompt, { maxTokens: tokens, temperature: 0, stopAtEos: false });
        results.push({ threads, v: v.label, tps: r.tokensPerSecond, built, ids: r.ids, prefill: r.prefillSeconds });
        console.error(`  ${r.tokensPerSecond.toFixed(3)} tokens/s (${r.ids.length} tokens)`);
      } finally {
        await be.dispose();
        collect();
      }
    }
  }
  const dense = (t: number) => results.find((r) => r.threads === t && r.v === 'dense f32');
  const denseLinear = results[0]!.built.linearDenseBytes, denseFile = denseLinear + 4 * (c.vocabSize * c.dim + c.dim * (2 * c.nLayers + 1));
  const rows = results.map((r) => {
    const d = dense(r.threads);
    const bytesPerToken = r.built.memBytes; // every weight is read once per decoded token (lm_head = the tied embedding)
    return [r.threads, r.v, (100 * r.built.zeros).toFixed(1) + '%', r.tps.toFixed(3), d ? (r.tps / d.tps).toFixed(2) : 'n/a',
      (bytesPerToken / 1e9).toFixed(2), ((bytesPerToken * r.tps) / 1e9).toFixed(1), (r.built.fileBytes / 1e9).toFixed(3), (r.built.fileBytes / denseFile).toFixed(3),
      (r.built.linearFileBytes / denseLinear).toFixed(3), r.prefill.toFixed(2)];
  });
  const goals: string[] = [];
  for (const t of threadList) {
    const d = dense(t), g = (label: string, goal: number) => {
      const r = results.find((x) => x.threads === t && x.v === label);
      if (d && r) goals.push(`${t} thread${t > 1 ? 's' : ''}, ${label}: ${(r.tps / d.tps).toFixed(2)}x dense f32 (goal >= ${goal}x: ${r.tps / d.tps >= goal ? 'met' : 'not met'})`);
    };
    g('70% bitmask f32', 2.5); g('2:4 f32', 1.7); g('70% bitmask int8 g128', 5);
  }
  for (const bits of [8, 4]) {
    const q = results.find((r) => r.v === `70% bitmask int${bits} g128`);
    if (!q) continue;
    // `lithe pack --sparse --w-bits 8|4 --dtype bf16`: the tensors that stay dense (embedding, norms) in bf16
    const bf16File = q.built.linearFileBytes + 2 * (c.vocabSize * c.dim + c.dim * (2 * c.nLayers + 1));
    goals.push(`file size, 70% + int${bits}: ${(q.built.fileBytes / denseFile).toFixed(3)}x of f32 for the whole checkpoint with the tied 32000x2048 embedding in f32 (262 MB), `
      + `${(bf16File / denseFile).toFixed(3)}x with it in bf16 (\`lithe pack --sparse --w-bits ${bits} --dtype bf16\`${bits === 8 ? `; goal <= 0.15x: ${bf16File / denseFile <= 0.15 ? 'met' : 'not met'}` : ''}), ${(q.built.linearFileBytes / denseLinear).toFixed(3)}x for the linears alone`);
  }
  const same = variants.length > 1 ? results.filter((r) => r.threads === threadList[0]).map((r) => `${r.v}: ${r.ids.slice(0, 4).join(' ')}`).join('; ') : '';
  record('sparse decode (TinyLlama-1.1B shape, random weights)', `npm run bench -- sparse ${argv.join(' ')}`.trim(),
    markdownTable(['threads', 'weights', 'zeros in linears', 'decode tokens/s', 'x dense f32', 'GB read per token', 'GB/s', 'checkpoint GB', 'x f32 file', 'x f32 linears', 'prefill s'], rows),
    `LlamaModel with TinyLlama-1.1B's shape (hidden 2048, intermediate 5632, ${c.nLayers} layers${c.nLayers !== 22 ? ' (REDUCED: a smoke run, not the goal shape)' : ''}, 32 heads / 4 KV heads, head dim 64, vocab 32000) but tied embeddings (one 32000x2048 f32 table as embedding and lm_head, so dense f32 `
    + `fits the 4 GiB WebAssembly memory; the lm_head stays dense f32 in every variant), weights N(0, 0.02^2) from per-matrix seeds (identical across variants), pruned by magnitude: 70% = |w| below 0.02 x 1.0364 (the Gaussian 70% quantile of |w|), `
    + `2:4 = the two largest |w| of every 4 columns; int8/int4 = asymmetric codes (255/15 steps) per row and 128 columns. Greedy decode of ${tokens} tokens after a ${promptLen}-token prompt (tokens/s over the ${tokens - 1} steps after the first; one generation per row, no repeats), `
    + `each (variant, threads) on a fresh backend. "GB read per token" = bytes of all weights as held in memory (every weight is read once per token; KV cache and activations not counted); GB/s = that x tokens/s, to compare with the kernels' streaming GB/s. `
    + `Checkpoint GB = what a safetensors checkpoint would hold (linears as sparse_layout + sparse_values (+ int8/int4 scales/zeros), no offsets or padding; embedding and norms f32), computed, not written. `
    + `First greedy tokens (${threadList[0]} thread): ${same}. Machine shared with other jobs: noisy.\n\nGoals: ${goals.join('; ')}.`);
}

// ---------------------------------------------------------------- ppl

async function pplPart(argv: string[], flag: (n: string, d: string) => string, threadList: number[], record: Record, shared: string): Promise<void> {
  const modelDir = path.join(shared, 'llm/lithe-ref-a'), data = path.join(shared, 'text/wikitext-2-raw/test.joined.txt');
  if (!existsSync(modelDir) || !existsSync(data)) {
    console.log(`sparse ppl: skipped, ${modelDir} or ${data} not present`);
    return;
  }
  const windows = Number(flag('--windows', '40')), nsamples = Number(flag('--nsamples', '32')), threads = threadList[threadList.length - 1]!;
  const methods = flag('--methods', 'wanda,sparsegpt').split(',');
  const settings: { setting: string; target: { sparsity: number } | { nm: { n: number; m: number } }; fmt: SparseFormat }[] = [
    { setting: '50%', target: { sparsity: 0.5 }, fmt: { format: SPARSE_FORMAT, layout: 'bitmask', values: 'f32' } },
    { setting: '2:4', target: { nm: { n: 2, m: 4 } }, fmt: { format: SPARSE_FORMAT, layout: 'nm', n: 2, m: 4, values: 'f32' } },
  ];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lithe-sparse-bench-'));
  const rows: (string | number)[][] = [];
  let stream: number[] | null = null;
  try {
    for (const method of methods) {
      for (const s of settings) {
        const dir = path.join(tmp, `${method}-${s.setting.replace(':', 'x').replace('%', 'pct')}`);
        const be = await CpuBackend.create({ threads });
        let sparsity = 0;
        try {
          const model = await loadModel(be, modelDir) as DecoderModel;
          stream ??= model.tokenizer!.encode(readText(data), { bos: true });
          const calib = calibrationFor(model, { nsamples, seqlen: 512, seed: 0 });
          const report = await pruneModel(model, calib, { method, target: s.target as never, storage: 'f32' });
          sparsity = report.totalSparsity;
          await writeHfCheckpoint(model, new Map(), `${dir}-dense`, { lithe_version: 1 }, 'f32');
          await writeHfCheckpoint(model, new Map(), `${dir}-sparse`, { lithe_version: 1, sparse: s.fmt }, 'f32', undefined, s.fmt);
        } finally {
          await be.dispose();
        }
        const ppl: number[] = [];
        for (const storage of ['dense', 'sparse']) {
          const b = await CpuBackend.create({ threads });
          try {
            const m = await loadModel(b, `${dir}-${storage}`) as DecoderModel;
            const r = await perplexity(m, stream!, { seqlen: 512, maxWindows: windows });
            ppl.push(r.ppl);
            rows.push([method, s.setting, (100 * sparsity).toFixed(2) + '%', storage, (statSync(path.join(`${dir}-${storage}`, 'model.safetensors')).size / 1e6).toFixed(2), r.windows, r.ppl.toFixed(6),
              storage === 'dense' ? '' : ((ppl[1]! - ppl[0]!) / ppl[0]!).toExponential(2)]);
            console.error(`ppl ${method} ${s.setting} ${storage}: ${r.ppl}`);
          } finally {
            await b.dispose();
          }
        }
        rmSync(`${dir}-dense`, { recursive: true, force: true });
        rmSync(`${dir}-sparse`, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  record('sparse checkpoints: perplexity dense-with-zeros vs sparse (lithe-ref-a)', `npm run bench -- sparse ${argv.join(' ')}`.trim(),
    markdownTable(['method', 'setting', 'sparsity', 'storage', 'model.safetensors MB', 'windows', 'ppl', 'rel. diff vs dense'], rows),
    `lithe-ref-a pruned once per row pair by the library (pruneModel, ${nsamples} calibration windows of 512 from the bundled C4 sample, seed 0; fewer than the papers' 128 to keep the run short: the point is dense vs sparse storage of the same weights), `
    + `written by writeHfCheckpoint dense (f32 with zeros) and sparse (lithe-sparse-v1: bitmask for 50%, N:M for 2:4, f32 values), both reloaded by loadModel and evaluated on the first ${windows} WikiText-2 raw test windows of 512 tokens, ${threads} thread(s).`);
}

export async function sparseBench(argv: string[], record: Record, shared: string): Promise<void> {
  const flag = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
  const part = flag('--part', 'all');
  if (!['kernels', 'decode', 'ppl', 'all'].includes(part)) throw new Error(`--part: expected kernels, decode, ppl or all, got ${part}`);
  const threadList = flag('--threads', '1,2').split(',').map(Number);
  if (threadList.some((t) => !(Number.isInteger(t) && t > 0))) throw new Error(`--threads: expected a comma list of positive integers, got ${flag('--threads', '')}`);
  if (part === 'kernels' || part === 'all') await kernelsPart(argv, flag, threadList, record);
  if (part === 'decode' || part === 'all') await decodePart(argv, flag, threadList, record);
  if (part === 'ppl' || part === 'all') await pplPart(argv, flag, threadList, record, shared);
}
