/**
 * `npm run bench -- quant-table [--methods fp,rtn,gptq,quarot-rtn,quarot-gptq] [--settings W4A16,...] [--max-windows K]
 * [--jobs N] [--threads T] [--nsamples N]`: the weight/activation quantization comparison on lithe-ref-a. Each
 * weight variant is quantized once by `lithe quantize` (W4 per channel, symmetric, MSE clip: QuaRot's README
 * settings; GPTQ percdamp 0.01, 128 C4 windows of 512, seed 0; QuaRot R1 seed 0), then evaluated by `lithe eval
 * ppl` on WikiText-2 at each activation setting: A16, A8, A4 with KV4 and with KV16 (activations asymmetric per
 * token with clip 0.9, o_proj per head; K after R3 and V per head, asymmetric). Runs are separate processes, --jobs
 * at a time.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markdownTable } from '../src/util/table.js';
import { runCli } from '../src/eval/prune-report.js';

type Record = (name: string, command: string, table: string, notes?: string) => void;

const WEIGHTS: { [k: string]: string[] | null } = {
  fp: null,
  rtn: ['--method', 'rtn'],
  gptq: ['--method', 'gptq'],
  'quarot-rtn': ['--method', 'quarot', '--w-method', 'rtn'],
  'quarot-gptq': ['--method', 'quarot', '--w-method', 'gptq'],
  'dartquant-rtn': ['--method', 'dartquant', '--w-method', 'rtn'],
  'dartquant-gptq': ['--method', 'dartquant', '--w-method', 'gptq'],
};
const LABELS: { [k: string]: string } = { fp: 'FP (bf16 weights)', rtn: 'RTN', gptq: 'GPTQ', 'quarot-rtn': 'QuaRot + RTN', 'quarot-gptq': 'QuaRot + GPTQ',
  'dartquant-rtn': 'DartQuant + RTN', 'dartquant-gptq': 'DartQuant + GPTQ' };
const SETTINGS: { [k: string]: string[] } = {
  W4A16: [], W4A8: ['--a-bits', '8'], W4A4KV4: ['--a-bits', '4', '--kv-bits', '4'], W4A4KV16: ['--a-bits', '4'],
};

async function pool<T>(items: T[], jobs: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export async function quantTableBench(argv: string[], record: Record, shared: string): Promise<void> {
  const flag = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
  const methods = flag('--methods', Object.keys(WEIGHTS).join(',')).split(','), settings = flag('--settings', Object.keys(SETTINGS).join(',')).split(',');
  const jobs = Number(flag('--jobs', '1')), threads = flag('--threads', String(os.availableParallelism())), maxWindows = flag('--max-windows', '');
  const nsamples = flag('--nsamples', '128');
  for (const m of methods) if (!(m in WEIGHTS)) throw new Error(`quant-table: unknown method ${m} (${Object.keys(WEIGHTS).join(', ')})`);
  for (const s of settings) if (!(s in SETTINGS)) throw new Error(`quant-table: unknown setting ${s} (${Object.keys(SETTINGS).join(', ')})`);
  const model = path.join(shared, 'llm/lithe-ref-a'), data = path.join(shared, 'text/wikitext-2-raw/test.joined.txt');
  if (!existsSync(model) || !existsSync(data)) {
    console.log(`quant-table: skipped, ${model} or ${data} not present`);
    return;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lithe-quant-table-'));
  const t0 = performance.now();
  const folders: { [m: string]: string } = {}, seconds: { [m: string]: number } = {};
  const dart: { [m: string]: { seconds: number; peakRssBytes: number; capture: { bytes: number; seconds: number }; r1Training: { steps: number; lossFirst: number; lossLast: number } } } = {};
  const rss: { [m: string]: number } = {};
  await pool(methods, jobs, async (m) => {
    if (!WEIGHTS[m]) { folders[m] = model; return; }
    const out = path.join(tmp, m), t = performance.now();
    const j = await runCli(['quantize', model, ...WEIGHTS[m]!, '--w-bits', '4', '--sym', '--w-clip', '--nsamples', nsamples, '--seqlen', '512', '--seed', '0', '--threads', threads, '--out', out]);
    folders[m] = out;
    rss[m] = j['peak_rss_bytes'] as number;
    if ((j['rotation'] as { method?: string } | null)?.method === 'dartquant') dart[m] = j['rotation'] as (typeof dart)[string];
    seconds[m] = (performance.now() - t) / 1000;
    process.stderr.write(`quantized ${m} in ${seconds[m]!.toFixed(0)} s\n`);
  });
  const ppl: { [k: string]: number } = {};
  const evals = methods.flatMap((m) => settings.map((s) => [m, s] as const));
  await pool(evals, jobs, async ([m, s]) => {
    const j = await runCli(['eval', 'ppl', folders[m]!, '--data', data, '--seqlen', '512', ...(maxWindows ? ['--max-windows', maxWindows] : []), ...SETTINGS[s]!, '--threads', threads]);
    ppl[`${m} ${s}`] = j['ppl'] as number;
    process.stderr.write(`${m} ${s}: ${(j['ppl'] as number).toFixed(3)} (${j['quantized']})\n`);
  });
  // the end-to-end alternative's cost (SpinQuant: R1/R2 learned through the full model loss): forward throughput
  // measured here, times the documented schedule (100 steps of 8 x 2048 tokens, forward + backward ~ 3 forwards)
  let spin = '';
  if (Object.keys(dart).length) {
    const f = await runCli(['eval', 'ppl', model, '--data', data, '--seqlen', '1024', '--max-windows', '16', '--threads', threads]);
    const tps = f['tokens_per_s'] as number, est = (100 * 3 * 8 * 2048) / tps;
    const d = Object.values(dart)[0]!;
    spin = `\n\nRotation calibration cost (same machine, ${threads} threads): DartQuant capture + R1 (${d.r1Training.steps} steps, Whip ${d.r1Training.lossFirst.toFixed(2)} -> ${d.r1Training.lossLast.toFixed(2)}) + R2 ` +
      `took ${d.seconds.toFixed(0)} s (capture ${d.capture.seconds.toFixed(0)} s, ${(d.capture.bytes / 2 ** 20).toFixed(0)} MiB of activations), peak RSS of the whole quantize run ` +
      `${Object.keys(dart).map((m) => `${m} ${(rss[m]! / 2 ** 20).toFixed(0)} MiB`).join(', ')} vs ${Object.keys(rss).filter((m) => !dart[m]).map((m) => `${m} ${(rss[m]! / 2 ** 20).toFixed(0)} MiB`).join(', ')}. ` +
      `An end-to-end rotation training on SpinQuant's schedule (100 steps x 8 x 2048 tokens, forward + backward ~ 3 forwards) would take ~${est.toFixed(0)} s at the measured forward ` +
      `throughput of ${tps.toFixed(0)} tokens/s (${(est / d.seconds).toFixed(1)}x DartQuant), before the optimizer and without counting the stored activations the backward pass needs; Lithe has no autograd, so this side is a cost model on a measured forward, not a run.`;
  }
  const rows = methods.map((m) => [LABELS[m]!, ...settings.map((s) => ppl[`${m} ${s}`]!.toFixed(2)), seconds[m] !== undefined ? seconds[m]!.toFixed(0) : '']);
  const header = ['weights', ...settings, 'quantize s (wall)'];
  record('quant-table', `npm run bench -- quant-table ${argv.join(' ')}`.trim(), markdownTable(header, rows),
    `lithe-ref-a, WikiText-2 raw test, ${maxWindows || 785} windows of 512. Weights W4 per channel, symmetric, MSE clip (FP row: the bf16 weights, with the same activation settings, so its W4 columns read W16). ` +
    `GPTQ: ${nsamples} C4 windows of 512 (seed 0), percdamp 0.01, true-sequential. QuaRot: fused norms, random Hadamard R1 (seed 0), Hadamard R2 per head, R4 online on the down_proj input, R3 online where K is quantized. ` +
    `DartQuant: the reference schedule (R1 lr 1.5e-3, R2 lr 1e-3, momentum 0.9, 10 epochs, batches of 64, 10% R1 subsets drawn fresh each epoch), 128 tokens kept per calibration window. ` +
    `Activations asymmetric per token, clip 0.9, o_proj per head; K and V asymmetric per head. ${jobs} runs in parallel, ${threads} threads each; ${((performance.now() - t0) / 60000).toFixed(1)} min in all.${spin}`);
}
