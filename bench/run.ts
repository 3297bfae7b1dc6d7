/**
 * `npm run bench -- NAME`: runs a benchmark, prints its table and appends it with the machine's description
 * to bench/RESULTS.md. Benchmarks: gemm (kernel GFLOP/s), qgemv (int4/int8 dequant GEMV vs float32), ppl (reference model on WikiText-2: value vs the
 * transformers reference and tokens/s; needs ../shared/data), prune-fidelity (official pruning runs redone), stereo
 * (Middlebury accuracy and speed vs OpenCV StereoSGBM, bench/stereo.ts), kv (KV-cache quantization quality and decode
 * speed on the reference model, bench/kv.ts), quant-fidelity (the official RTN/GPTQ runs redone, bench/quant-fidelity.ts), quant-table
 * (bench/quant-table.ts), attention (sparse attention for video DiTs vs dense flash attention, bench/attention.ts), arm
 * (only the RainFusion ARM's confusion matrix on held-out generator seeds), webgpu (WGSL kernels vs PyTorch on the
 * device machine's GPU, bench/webgpu.ts), gpu-sparse (WGSL sparse GEMV vs dense and PyTorch, bench/gpu-sparse.ts),
 * sparse (sparse kernels, decode and checkpoints, bench/sparse.ts), train (LeNet-5 on MNIST to held-out accuracy;
 * training steps/s beside PyTorch, bench/train.ts).
 */
import * as ops from '../src/ops/index.js';
import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchGemm } from '../src/eval/bench-gemm.js';
import { gemmTable } from '../src/index.js';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { loadModel } from '../src/load/load-model.js';
import { readText } from '../src/data/text.js';
import { perplexity } from '../src/eval/perplexity.js';
import { markdownTable } from '../src/util/table.js';
import { machineDescription } from '../src/util/machine.js';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { ReportConfig, reportMarkdown, runReport } from '../src/eval/prune-report.js';
import { stereoBench } from './stereo.js';
import { kvBench } from './kv.js';
import { packedBytes, packWeights } from '../src/quant/pack.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { quantFidelityBench } from './quant-fidelity.js';
import { quantTableBench } from './quant-table.js';
import { armBench, attentionBench } from './attention.js';
import { webgpuBench } from './webgpu.js';
import { gpuSparseBench } from './gpu-sparse.js';
import { trainBench } from './train.js';
import { sparseBench } from './sparse.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.LITHE_SHARED_DATA ?? path.resolve(root, '../shared/data');

function record(name: string, command: string, table: string, notes = ''): void {
  const entry = `\n## ${name} — ${new Date().toISOString().slice(0, 10)}\n\nMachine: ${machineDescription()}  \nCommand: \`${command}\`\n\n${table}\n${notes ? `\n${notes}\n` : ''}`;
  console.log(entry);
  appendFileSync(path.join(root, 'bench/RESULTS.md'), entry);
}

async function gemm(): Promise<void> {
  const rows = await benchGemm([1, os.availableParallelism()], 2);
  // Native ceilings (AVX-512 kernels, OpenBLAS) were measured on one machine kind only (../shared/docs/reference/
  // engine-options.md); they are not printed here, where they would read as this machine's.
  record('gemm', 'npm run bench -- gemm', gemmTable(rows));
}

/**
 * GEMV with float32 weights vs packed int8 and int4 weights (group 128, dequantized in registers) on one input
 * row, in one run: milliseconds per product (median of interleaved rounds), weight bytes read per second, and the
 * speedup over float32. Decode-time matrix-vector products are memory-bound, so the gain should approach the
 * byte ratio (float32 / int4 = 7.1x with the group scales and zeros) once the weights do not fit the CPU caches.
 */
async function qgemv(): Promise<void> {
  const shapes: [string, number, number][] = [['lithe-ref-a up_proj', 1152, 384], ['lithe-ref-a down_proj', 384, 1152], ['lithe-ref-a lm_head', 8192, 384], ['LLaMA-7B q_proj', 4096, 4096]];
  const rows: (string | number)[][] = [];
  for (const threads of [1, os.availableParallelism()]) {
    const be = await CpuBackend.create({ threads });
    for (const [name, N, K] of shapes) {
      const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7071) * 0.05);
      const w = rnd(N * K), x = rnd(K);
      const tw = be.alloc([N, K]), tx = be.alloc([1, K]), out = be.alloc([1, N]);
      be.write(tw, w); be.write(tx, x);
      const variants: [string, number, () => void][] = [['float32', N * K * 4, () => ops.linear(be, tx, tw, null, out)]];
      const held: Tensor[] = [];
      for (const bits of [8, 4] as const) {
        const p = packWeights(w, N, K, { bits, sym: false }, 128);
        const up = (a: ArrayBufferView, n: number, dtype?: 'u8') => { const t = be.alloc([n], dtype); be.write(t, a); held.push(t); return t; };
        const tc = up(p.codes, p.codes.length, 'u8'), ts = up(p.scales, p.scales.length), tz = up(p.zeros, p.zeros.length);
        variants.push([`int${bits} g128`, packedBytes(p), () => ops.linear(be, tx, { kind: 'packed', shape: [N, K], container: bits, group: 128, codes: tc, scales: ts, zeros: tz }, null, out)]);
      }
      const reps = Math.max(20, Math.round(2e8 / (N * K)));
      const times = variants.map(() => [] as number[]);
      for (let round = 0; round < 9; round++) {
        variants.forEach(([, , f], i) => {
          f();
          const t0 = performance.now();
          for (let k = 0; k < reps; k++) f();
          times[i]!.push((performance.now() - t0) / reps);
        });
      }
      await be.read(out);
      const med = times.map((t) => t.sort((a, b) => a - b)[4]!);
      variants.forEach(([v, bytes], i) => rows.push([threads, name, `${N}x${K}`, v, (bytes / 2 ** 20).toFixed(2), med[i]!.toFixed(4), (bytes / med[i]! / 1e6).toFixed(1), (med[0]! / med[i]!).toFixed(2)]));
      for (const t of [tw, tx, out, ...held]) be.free(t);
    }
    await be.dispose();
  }
  record('qgemv', 'npm run bench -- qgemv', markdownTable(['threads', 'matrix', 'N x K', 'weights', 'MiB', 'ms', 'GB/s', 'speedup vs float32'], rows),
    'One input row; median of 9 interleaved rounds. int4/int8: asymmetric codes with an f32 scale and zero per row and 128 columns (GPTQ grid), dequantized in registers (kernels/assembly/qgemv.ts).');
}

async function ppl(): Promise<void> {
  const model = path.join(shared, 'llm/lithe-ref-a');
  const data = path.join(shared, 'text/wikitext-2-raw/test.joined.txt');
  const refFile = path.join(model, 'reference.json');
  if (!existsSync(refFile) || !existsSync(data)) {
    console.log(`ppl: skipped, ${refFile} or ${data} not present`);
    return;
  }
  const reference = (JSON.parse(readFileSync(refFile, 'utf8')) as { perplexity: { wikitext2_test: { ppl: number } } }).perplexity.wikitext2_test.ppl;
  const backend = await CpuBackend.create();
  const m = await loadModel(backend, model);
  const stream = m.tokenizer!.encode(readText(data), { bos: true });
  const r = await perplexity(m, stream, { seqlen: 512 });
  const rel = (r.ppl - reference) / reference;
  const peak = `${(backend.peakBytes / 2 ** 20).toFixed(0)} MiB backend, ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB RSS`;
  record('ppl', 'npm run bench -- ppl', markdownTable(['model', 'data', 'seqlen', 'windows', 'ppl', 'reference (transformers fp32)', 'rel. diff', 'tokens/s', 'peak memory', 'backend'],
    [['lithe-ref-a', 'WikiText-2 raw test', 512, r.windows, r.ppl.toFixed(4), reference.toFixed(4), `${(100 * rel).toFixed(4)}%`, r.tokensPerSecond.toFixed(0), peak, backend.description]]));
  await backend.dispose();
}

/**
 * The official pruning runs on lithe-ref-a (pruning-reference/results.json) redone by Lithe with the same 128
 * calibration windows and the same evaluation; group a: magnitude, Wanda, SparseGPT; group b: DSnoT.
 * Flags: --group a|b|all, --methods m1,m2, --settings 50%,2:4, --inits wanda, --skips mlp (subsets), --jobs N (parallel runs),
 * --threads T (per run), --act-dtype f16 (also round activations as the reference's f16 forwards do). Each finished
 * run is also printed as a JSON line on stderr. Models are held in f16 as the official main.py holds them
 * (--dtype f16): it matters for SparseGPT's updated weights.
 */
async function pruneFidelity(): Promise<void> {
  const argv = process.argv.slice(3);
  const flag = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
  const group = flag('--group', 'all'), jobs = Number(flag('--jobs', '1')), threads = Number(flag('--threads', String(os.availableParallelism())));
  const model = path.join(shared, 'llm/lithe-ref-a');
  const data = path.join(shared, 'text/wikitext-2-raw/test.joined.txt');
  const refFile = path.join(model, 'pruning-reference/results.json');
  if (!existsSync(refFile) || !existsSync(data)) {
    console.log(`prune-fidelity: skipped, ${refFile} or ${data} not present`);
    return;
  }
  type Ref = { method: string; init: string | null; sparsity: number; nm: string | null; skip_layer: string | null; ppl: number; mask_sha256: string; sparsity_achieved: number };
  const allRuns = (JSON.parse(readFileSync(refFile, 'utf8')) as { runs: Ref[] }).runs;
  const denseRef = allRuns.find((r) => r.method === 'dense');
  const refs = allRuns.filter((r) => r.method !== 'dense');
  const act = flag('--act-dtype', 'f32');
  const methods = flag('--methods', ''), settings = flag('--settings', ''), inits = flag('--inits', ''), skips = flag('--skips', '');
  const settingOf = (r: Ref) => r.nm ?? `${Math.round(r.sparsity * 100)}%`;
  const chosen = refs.filter((r) => (group === 'all' || (group === 'a') === (r.method !== 'dsnot'))
    && (!methods || methods.split(',').includes(r.method)) && (!settings || settings.split(',').includes(settingOf(r)))
    && (!inits || r.method !== 'dsnot' || inits.split(',').includes(r.init!)) && (!skips || r.method !== 'dsnot' || skips.split(',').includes(r.skip_layer!)));
  const configs: (ReportConfig & { ref: Ref })[] = chosen.map((r) => {
    const setting = r.nm ?? `${Math.round(r.sparsity * 100)}%`;
    const target = r.nm ? ['--nm', r.nm] : ['--sparsity', String(r.sparsity)];
    const dsnot = r.method === 'dsnot' ? ['--init', r.init!, '--skip-layer', r.skip_layer === 'no_skip' ? 'none' : r.skip_layer!] : [];
    const label = r.method === 'dsnot' ? `DSnoT on ${r.init} (skip ${r.skip_layer})` : r.method;
    return { label, method: r.method, init: r.init, variant: 'reference', setting, args: ['--method', r.method, ...dsnot, ...target, '--dtype', 'f16', '--act-dtype', act], ref: r };
  });
  const t0 = performance.now();
  const rows = await runReport(configs, { model, evalFiles: [data], evalSeqlen: 512, calibArgs: ['--seqlen', '512', '--nsamples', '128', '--seed', '0'], jobs, threads, dense: false,
    onRow: (r, d, n) => console.error(`[${d}/${n}] ${r.setting} ${r.label}: ${r.error ?? r.ppl[data]?.toFixed(4)} ${JSON.stringify(r)}`) });
  const byLabel = new Map(configs.map((c) => [`${c.setting} ${c.label}`, c.ref]));
  const table = reportMarkdown(rows, [data], (r) => {
    const ref = byLabel.get(`${r.setting} ${r.label}`);
    if (!ref) return [denseRef ? denseRef.ppl.toFixed(2) : '', '', ''];
    const lp = r.ppl[data];
    return [ref.ppl.toFixed(2), lp !== undefined ? `${(100 * (lp - ref.ppl) / ref.ppl).toFixed(2)}%` : '', r.maskSha256 === ref.mask_sha256 ? 'identical' : 'differs'];
  }, ['official ppl', 'diff', 'mask vs official']);
  record(`prune-fidelity (group ${group})`, `npm run bench -- prune-fidelity ${argv.join(' ')}`, table,
    `lithe-ref-a, the official calibration windows (seed 0, 128 x 512 from the C4 sample; drawn by Lithe's CPython-identical sampler, token sha256 equal to the reference's), WikiText-2 raw test, 785 windows of 512. Weights held in f16, activations rounded to ${act}${act === 'f32' ? ' (none)' : ''}. ${jobs} runs in parallel, ${threads} threads each; ${((performance.now() - t0) / 60000).toFixed(1)} min in all. Times are per run on this machine.`);
}

const benches: Record<string, () => Promise<void>> = { gemm, qgemv, ppl, 'prune-fidelity': pruneFidelity, stereo: () => stereoBench(process.argv.slice(3), record),
  kv: () => kvBench(process.argv.slice(3), record, shared),
  'quant-fidelity': () => quantFidelityBench(process.argv.slice(3), record, shared),
  'quant-table': () => quantTableBench(process.argv.slice(3), record, shared),
  webgpu: () => webgpuBench(process.argv.slice(3), record, shared),
  'gpu-sparse': () => gpuSparseBench(process.argv.slice(3), record),
  train: () => trainBench(process.argv.slice(3), record, shared),
  sparse: () => sparseBench(process.argv.slice(3), record, shared),
  attention: async () => { const r = await attentionBench(process.argv.slice(3)); record('attention', r.command, r.table, r.notes); },
  arm: async () => { const r = await armBench(process.argv.slice(3)); record('attention ARM on held-out seeds', r.command, r.table); } };
const name = process.argv[2];
if (!name || !benches[name]) {
  console.error(`usage: npm run bench -- ${Object.keys(benches).join('|')}`);
  process.exit(2);
}
await benches[name]!();
