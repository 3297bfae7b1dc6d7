/**
 * Evaluating a KV-cache configuration the way `lithe kv eval` and the kv benchmark report it: perplexity, KL, top-1
 * and greedy agreement against the float cache, bytes per token; the evaluation inputs; the key/value finding.
 */
import { generate, requireTokenizer, type DecoderModel } from '../../models/index.js';
import { readText } from '../../data/text.js';
import { assetPath, DEFAULT_TEXT } from '../../util/assets.js';
import { cancellationPoint, InputError, OptionError } from '../../util/errors.js';
import { bytesPerToken, QuantizedKVCache } from './cache.js';
import { meanBits, pairName, type KvQuantConfig } from './config.js';
import { cpuBackendOf, evaluateConfig, quantizedAttention, windowLogProbs, type KvQuality, QualityAccumulator } from './evaluate.js';
import type { LayerProfile } from './profile.js';
export interface KvEvalReport {
  config: string;
  mean_bits: number;
  /** cache bytes per token summed over layers, and per layer (codes + scales/offsets; the residual window excluded) */
  bytes_per_token: number;
  bytes_per_token_per_layer: number[];
  fp_ppl: number;
  ppl: number;
  ppl_delta_pct: number;
  kl: number;
  top1: number;
  greedy_top1: number;
  greedy_kl: number;
  greedy_match_prefix: number;
}

/** Quality of one configuration against the float cache (text windows + greedy continuations). */
export async function kvEvaluate(model: DecoderModel, config: KvQuantConfig, windows: Int32Array[], reference: Float32Array[], fp: KvQuality,
  o: { prefill: number; forceQuant: boolean; continuations: Continuation[]; signal?: AbortSignal }): Promise<KvEvalReport> {
  const be = cpuBackendOf(model), c = model.config;
  const q = await evaluateConfig(model, windows, reference, { config, prefill: o.prefill, forceQuant: o.forceQuant }, o.signal);
  const acc = new QualityAccumulator();
  let prefix = 0;
  for (const cont of o.continuations) {
    await cancellationPoint(o.signal);
    acc.add(cont.ids, cont.reference, await windowLogProbs(model, cont.ids, quantizedAttention(model, { config, prefill: cont.prompt, forceQuant: o.forceQuant })), c.vocabSize, cont.prompt - 1);
    // free-running greedy through the real cache: tokens until the first difference
    const gen = await generate(model, cont.ids.slice(0, cont.prompt), { maxTokens: cont.ids.length - cont.prompt, stopAtEos: false, cache: (cap) => new QuantizedKVCache(be, c, cap, config, { forceQuant: o.forceQuant }) });
    let m = 0;
    while (m < gen.ids.length && gen.ids[m] === cont.ids[cont.prompt + m]) m++;
    prefix += m / Math.max(1, cont.ids.length - cont.prompt);
  }
  const g = acc.result();
  const perLayer = config.layers.map((p) => bytesPerToken(p, config, c.nKVHeads, c.headDim));
  return {
    config: describeConfig(config), mean_bits: meanBits(config.layers), bytes_per_token: perLayer.reduce((a, b) => a + b, 0), bytes_per_token_per_layer: perLayer, fp_ppl: fp.ppl, ppl: q.ppl, ppl_delta_pct: 100 * (q.ppl / fp.ppl - 1),
    kl: q.kl, top1: q.top1, greedy_top1: g.top1, greedy_kl: g.kl, greedy_match_prefix: o.continuations.length ? prefix / o.continuations.length : 0,
  };
}

export function describeConfig(c: KvQuantConfig): string {
  const names = c.layers.map(pairName);
  return names.every((n) => n === names[0]) ? names[0]! : names.join(' ');
}

/** A greedy continuation of the float model: prompt + generated ids and the float log-probs along them. */
export interface Continuation {
  ids: number[];
  prompt: number;
  reference: Float32Array;
}

/** Text windows for evaluation (the perplexity protocol's non-overlapping windows) and greedy float continuations. */
export async function evalInputs(model: DecoderModel, flags: { data?: string; seqlen?: number; maxWindows: number; continuations: number; promptTokens: number; genTokens: number }) {
  const tok = requireTokenizer(model);
  const data = flags.data ?? assetPath(DEFAULT_TEXT);
  const seqlen = flags.seqlen ?? Math.min(256, model.config.maxSeqLen);
  if (seqlen > model.config.maxSeqLen) throw new OptionError('--seqlen', `${seqlen} exceeds the model's context length ${model.config.maxSeqLen}`);
  const stream = tok.encode(readText(data), { bos: true });
  const n = Math.min(Math.floor(stream.length / seqlen), flags.maxWindows);
  if (n < 1) throw new InputError(`${data}: ${stream.length} tokens, fewer than one window of ${seqlen}`);
  const windows = Array.from({ length: n }, (_, w) => Int32Array.from(stream.slice(w * seqlen, (w + 1) * seqlen)));
  if (flags.promptTokens + flags.genTokens > model.config.maxSeqLen) throw new OptionError('--gen-tokens', `prompt + generated tokens exceed the context length ${model.config.maxSeqLen}`);
  const continuations: Continuation[] = [];
  for (let i = 0; i < Math.min(flags.continuations, n); i++) {
    const prompt = Array.from(windows[i]!.subarray(0, flags.promptTokens));
    const gen = await generate(model, prompt, { maxTokens: flags.genTokens, stopAtEos: false });
    const ids = [...prompt, ...gen.ids];
    continuations.push({ ids, prompt: prompt.length, reference: await windowLogProbs(model, ids) });
  }
  return { data, seqlen, windows, continuations };
}

/** How often keys need more precision: KV error of K{hi}V{lo} vs K{lo}V{hi}, counted over layers and bit pairs. */
export function keyValueFinding(profiles: LayerProfile[]): string {
  let keyWorse = 0, total = 0;
  for (const lp of profiles) {
    const err = (k: number, v: number) => lp.pairs.find((p) => p.k === k && p.v === v)?.attnErr;
    for (const [hi, lo] of [[8, 4], [8, 2], [4, 2]]) {
      const a = err(lo!, hi!), b = err(hi!, lo!);
      if (a === undefined || b === undefined) continue;
      total++;
      if (a > b) keyWorse++;
    }
  }
  return `quantizing keys lower hurts more than values in ${keyWorse}/${total} (layer, bit-pair) comparisons`;
}
