/**
 * `npm run bench -- kv [--part quality|speed|all] [--scheme kivi|per-token] [--windows W] [--trials N] [--threads T]
 *   [--preset FILE] [--contexts 256,1024,4096]`
 * quality: on the project's HF reference model (lithe-ref-a), uniform KV8 / K8V4 / KV4 / K4V2 / KV2 and KVTuner presets
 *   (profile + clustering + NSGA-II, and the vanilla per-layer search) searched on C4 calibration windows at budgets
 *   3.0, 3.25 and 4.0 bits, all evaluated on WikiText-2 test windows of 512 tokens (perplexity through the cache, KL
 *   and top-1 vs the float cache, greedy continuations).
 * speed: decode tokens/s and cache bytes after a prefill of 256 / 1024 / 4096 tokens (repeated text; the model's
 *   trained window is 1024, so RoPE positions beyond it only matter for speed here), for the float32 cache, KV8,
 *   the KVTuner preset, KV4 and KV2, in one run.
 */
import { median } from '../src/util/timing.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { loadModel } from '../src/load/load-model.js';
import { readText } from '../src/data/text.js';
import { readDocuments, sampleCalibration } from '../src/data/calibration.js';
import { markdownTable } from '../src/util/table.js';
import { LlamaModel } from '../src/models/llama/model.js';
import type { DecoderModel } from '../src/models/index.js';
import { AttentionCache, KVCache } from '../src/models/cache.js';
import { QuantizedKVCache } from '../src/quant/kv/cache.js';
import { KvPair, KvQuantConfig, KvScheme, meanBits, pairName, parsePair, readPreset, schemeDefaults } from '../src/quant/kv/config.js';
import { evaluateConfig, floatReference, QualityAccumulator } from '../src/quant/kv/evaluate.js';
import { adaptiveSpace, defaultGroupCount, searchPreset, vanillaSpace } from '../src/quant/kv/kvtuner.js';
import { profileLayers } from '../src/quant/kv/profile.js';
import { describeConfig, evalInputs, keyValueFinding, kvEvaluate } from '../src/index.js';
import { assetPath, DEFAULT_CALIBRATION } from '../src/util/assets.js';

type Record = (name: string, command: string, table: string, notes?: string) => void;

export async function kvBench(argv: string[], record: Record, shared: string): Promise<void> {
  const flag = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
  const part = flag('--part', 'all'), scheme = flag('--scheme', 'kivi') as KvScheme;
  const threads = Number(flag('--threads', '0')) || undefined;
  const modelDir = path.join(shared, 'llm/lithe-ref-a');
  const wiki = path.join(shared, 'text/wikitext-2-raw/test.joined.txt');
  if (!existsSync(modelDir) || !existsSync(wiki)) {
    console.log(`kv: skipped, ${modelDir} or ${wiki} not present`);
    return;
  }
  const backend = await CpuBackend.create({ threads });
  const model = await loadModel(backend, modelDir);
  const base = { scheme, ...schemeDefaults(scheme), zeroPoint: 'float' as const };
  const L = model.config.nLayers;
  const uniform = (s: string): KvQuantConfig => ({ ...base, layers: Array.from({ length: L }, () => parsePair(s)) });
  let preset: KvQuantConfig | null = flag('--preset', '') ? readPreset(flag('--preset', ''), L, model.config.headDim, { scheme }) : null;
  const command = `npm run bench -- kv ${argv.join(' ')}`.trim();
  try {
    if (part === 'quality' || part === 'all') preset = await quality(model, base, uniform, { windows: Number(flag('--windows', '16')), trials: Number(flag('--trials', '100')), wiki, record, command }) ?? preset;
    if (part === 'speed' || part === 'all') await speed(backend, model, uniform, preset, flag('--contexts', '256,1024,4096').split(',').map(Number), record, command);
  } finally {
    await backend.dispose();
  }
}

async function quality(model: DecoderModel, base: Omit<KvQuantConfig, 'layers'>, uniform: (s: string) => KvQuantConfig,
  o: { windows: number; trials: number; wiki: string; record: Record; command: string }): Promise<KvQuantConfig | null> {
  const L = model.config.nLayers;
  // search on C4 calibration windows (never on the evaluation text)
  const tok = model.tokenizer!;
  const calib = sampleCalibration(tok, readDocuments(assetPath(DEFAULT_CALIBRATION)), { nsamples: 4, seqlen: 256, seed: 0 }).windows;
  const t0 = performance.now();
  const profiles = await profileLayers(model, calib, { base });
  const profileSeconds = (performance.now() - t0) / 1000;
  const calibRef = await floatReference(model, calib);
  const loss = async (layers: KvPair[]) => (await evaluateConfig(model, calib, calibRef, { config: { ...base, layers }, prefill: 0, forceQuant: false })).kl;
  const searched: { name: string; config: KvQuantConfig; trials: number; seconds: number; groups: string }[] = [];
  const adaptive = adaptiveSpace(profiles, defaultGroupCount(L));
  for (const budget of [3, 3.25, 4]) {
    for (const [kind, space] of [['KVTuner', adaptive], ['vanilla', vanillaSpace(L)]] as const) {
      const r = await searchPreset(space, L, { budget, trials: o.trials, populationSize: 50, seed: 0, loss, onTrial: (d) => { if (d % 25 === 0) process.stderr.write(`${kind} ${budget}: ${d} trials\n`); } });
      if (!r.best) continue;
      searched.push({ name: `${kind} <= ${budget}`, config: { ...base, layers: r.best.layers }, trials: r.trials, seconds: r.seconds, groups: space.groups.map((g) => `[${g.join(',')}]`).join('') });
    }
  }
  // evaluate everything on WikiText-2
  const { windows, continuations } = await evalInputs(model, { data: o.wiki, seqlen: 512, maxWindows: o.windows, continuations: 8, promptTokens: 32, genTokens: 96 });
  const reference = await floatReference(model, windows);
  const fpAcc = new QualityAccumulator();
  windows.forEach((w, i) => fpAcc.add(w, reference[i]!, reference[i]!, model.config.vocabSize, 0));
  const fp = fpAcc.result();
  const rows: (string | number)[][] = [];
  const configs = [...['KV8', 'K8V4', 'KV4', 'K4V2', 'KV2'].map((s) => ({ name: `uniform ${s}`, config: uniform(s) })), ...searched];
  for (const c of configs) {
    const r = await kvEvaluate(model, c.config, windows, reference, fp, { prefill: 0, forceQuant: false, continuations });
    rows.push([c.name, describeConfig(c.config), r.mean_bits.toFixed(3), r.bytes_per_token.toFixed(0), r.ppl.toFixed(3), `${r.ppl_delta_pct >= 0 ? '+' : ''}${r.ppl_delta_pct.toFixed(3)}%`,
      r.kl.toExponential(2), r.top1.toFixed(4), r.greedy_top1.toFixed(4), r.greedy_kl.toExponential(2), r.greedy_match_prefix.toFixed(3)]);
  }
  const searchNotes = searched.map((s) => `${s.name}: ${s.trials} configurations in ${s.seconds.toFixed(0)} s${s.name.startsWith('KVTuner') ? `, groups ${s.groups}` : ''}`).join('; ');
  o.record('kv quality', o.command, markdownTable(['configuration', 'layers', 'mean bits', 'bytes/token', 'ppl', 'ppl delta', 'KL', 'top-1', 'greedy top-1', 'greedy KL', 'greedy prefix'], rows),
    `lithe-ref-a, scheme ${base.scheme} (group ${base.group}, residual ${base.residual}), float ppl ${fp.ppl.toFixed(3)} on ${windows.length} WikiText-2 test windows of 512 (every position decodes through the cache); ` +
    `${continuations.length} greedy continuations of 96 tokens after 32-token prompts (greedy prefix = share of tokens before the first difference, generated through the real packed cache). ` +
    `Searches: KL vs the float cache on 4 C4 windows of 256, NSGA-II population 50, budgets as upper bounds on mean bits; profile ${profileSeconds.toFixed(0)} s. ${searchNotes}. ` +
    `Profile: ${keyValueFinding(profiles)}; layer attention error at KV4 per layer: ${profiles.map((p) => p.pairs.find((x) => x.pair === 'KV4')!.attnErr.toFixed(3)).join(' ')}. ` +
    `bytes/token: codes + f32 scales/offsets summed over layers (float32 cache: ${2 * L * model.config.nKVHeads * model.config.headDim * 4}).`);
  return searched.find((s) => s.name === 'KVTuner <= 3.25')?.config ?? null;
}

const ROUNDS = 7, STEPS = 16;


/**
 * Times `step(cache, i)` for every configuration in interleaved rounds (ROUNDS x STEPS steps each, configurations
 * alternating every round, so drifts in machine speed hit all alike) and returns the median seconds per step.
 */
async function interleaved<C>(caches: C[], step: (c: C, i: number) => Promise<void>): Promise<number[]> {
  const times = caches.map(() => [] as number[]);
  let i = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < caches.length; k++) {
      const t0 = performance.now();
      for (let s = 0; s < STEPS; s++) await step(caches[k]!, i + s);
      times[k]!.push((performance.now() - t0) / 1000 / STEPS);
    }
    i += STEPS;
  }
  return times.map(median);
}

/** Decode attention of one layer alone (append, kernel, flush), float32 cache vs quantized caches. */
async function attentionOnly(backend: CpuBackend, model: DecoderModel, configs: [string, KvQuantConfig | null][], contexts: number[]): Promise<(string | number)[][]> {
  const c = model.config, kvDim = c.nKVHeads * c.headDim, extra = ROUNDS * STEPS;
  const one = { ...c, nLayers: 1 };
  const rows: (string | number)[][] = [];
  const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.7);
  for (const ctx of contexts) {
    const K = rnd((ctx + extra) * kvDim), V = rnd((ctx + extra) * kvDim).reverse();
    const q = backend.alloc([ctx, c.nHeads * c.headDim]), out = backend.alloc([ctx, c.nHeads * c.headDim]);
    backend.write(q, rnd(ctx * c.nHeads * c.headDim));
    const p = { T: ctx, nHeads: c.nHeads, nKVHeads: c.nKVHeads, headDim: c.headDim, pos0: 0, window: 0, scale: 1 / Math.sqrt(c.headDim) };
    const caches: AttentionCache[] = configs.map(([, config]) => config ? new QuantizedKVCache(backend, one, ctx + extra, { ...config, layers: [config.layers[0]!] }) : new KVCache(backend, one, ctx + extra));
    const put = (cache: AttentionCache, pos0: number, T: number) => {
      const sl = cache.slot(0, pos0, T);
      backend.write(sl.k, K.subarray(pos0 * kvDim, (pos0 + T) * kvDim));
      backend.write(sl.v, V.subarray(pos0 * kvDim, (pos0 + T) * kvDim));
    };
    for (const cache of caches) { put(cache, 0, ctx); cache.attend(0, q.rows(0, ctx), out.rows(0, ctx), p); }
    const secs = await interleaved(caches, async (cache, i) => {
      put(cache, ctx + i, 1);
      cache.attend(0, q.rows(0, 1), out.rows(0, 1), { ...p, T: 1, pos0: ctx + i });
      await backend.read(out.rows(0, 1));
    });
    configs.forEach(([name, config], k) => rows.push([ctx, `${name}, attention only (ms per layer)`, config ? meanBits(config.layers).toFixed(2) : '32', '', (1000 * secs[k]!).toFixed(3), (secs[0]! / secs[k]!).toFixed(2), '']));
    for (const cache of caches) cache.free();
    backend.free(q); backend.free(out);
  }
  return rows;
}

async function speed(backend: CpuBackend, model: DecoderModel, uniform: (s: string) => KvQuantConfig, preset: KvQuantConfig | null, contexts: number[], record: Record, command: string): Promise<void> {
  const extra = ROUNDS * STEPS + 1;
  // positions beyond the trained window only matter for speed here
  const long = new LlamaModel(backend, { ...model.config, maxSeqLen: Math.max(Math.max(...contexts) + extra, model.config.maxSeqLen) }, model.weights, model.tokenizer, model.source);
  const text = model.tokenizer!.encode(readText(assetPath('text/tinystories-val-200.txt')), { bos: true });
  const configs: [string, KvQuantConfig | null][] = [['float32', null], ['KV8', uniform('KV8')], ...(preset ? [[`KVTuner ${meanBits(preset.layers).toFixed(2)}b`, preset] as [string, KvQuantConfig]] : []), ['KV4', uniform('KV4')], ['KV2', uniform('KV2')]];
  const rows: (string | number)[][] = [];
  for (const ctx of contexts) {
    const prompt = Array.from({ length: ctx }, (_, i) => text[i % text.length]!);
    const caches: AttentionCache[] = configs.map(([, config]) => config ? new QuantizedKVCache(backend, long.config, ctx + extra, config) : long.newCache(ctx + extra));
    try {
      for (const cache of caches) {
        long.forward(prompt, { cache, lastOnly: true });
        await backend.read(long.forward([text[0]!], { cache, lastOnly: true })); // warm-up step
      }
      const secs = await interleaved(caches, async (cache, i) => { await backend.read(long.forward([text[(i + 1) % text.length]!], { cache, lastOnly: true })); });
      configs.forEach(([name, config], k) => {
        const cache = caches[k]!;
        const bytes = cache instanceof QuantizedKVCache ? cache.bytesInUse() : 2 * cache.length * long.config.nLayers * long.config.nKVHeads * long.config.headDim * 4;
        rows.push([ctx, name, config ? meanBits(config.layers).toFixed(2) : '32', (bytes / 2 ** 20).toFixed(2), (1 / secs[k]!).toFixed(1), (secs[0]! / secs[k]!).toFixed(2), k > 0 ? (secs[1]! / secs[k]!).toFixed(2) : '-']);
      });
    } finally {
      for (const cache of caches) cache.free();
    }
  }
  rows.push(...await attentionOnly(backend, long, configs, contexts));
  record('kv decode speed', command, markdownTable(['context', 'cache', 'mean bits', 'cache MiB', 'tokens/s', 'vs float32', 'vs KV8'], rows),
    `lithe-ref-a (8 layers, 2 KV heads of 64), ${backend.description}; tokens/s = median over ${ROUNDS} interleaved rounds of ${STEPS} decode steps after the prefill; ` +
    `cache MiB after the run (codes, scales/offsets and float residual windows). KIVI-style scheme, group 32, residual 32. ` +
    `Rows "attention only": one layer's decode attention step (append + kernel + flush) in ms, no weights: the cost the cache format itself adds or saves.` +
    (preset ? ` KVTuner preset: ${preset.layers.map(pairName).join(' ')}.` : ''));
}
