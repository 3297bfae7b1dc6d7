/** Autoregressive generation with a KV cache: one prefill over the prompt, then one token per step. */
import { cancellationPoint, InputError } from '../util/errors.js';
import type { AttentionCache } from './cache.js';
import type { DecoderModel } from './decoder.js';
import { Sampler, SamplerOptions } from './sampler.js';
import { firstNonFiniteValue } from '../util/finite.js';

export interface GenerateOptions extends Partial<SamplerOptions> {
  maxTokens: number;
  /** stop at end-of-sequence (and BOS, which starts a new document); default true */
  stopAtEos?: boolean;
  signal?: AbortSignal;
  /** builds the KV cache (default: a float32 KVCache); e.g. a QuantizedKVCache */
  cache?: (capacity: number) => AttentionCache;
  /** called with each new token id */
  onToken?: (id: number) => void;
}

export interface GenerateResult {
  /** generated ids (prompt excluded) */
  ids: number[];
  promptTokens: number;
  prefillSeconds: number;
  decodeSeconds: number;
  /** decode tokens per second (excluding the prefill) */
  tokensPerSecond: number;
}

export async function generate(model: DecoderModel, prompt: number[], options: GenerateOptions): Promise<GenerateResult> {
  if (prompt.length === 0) throw new InputError('generate: the prompt has no tokens (pass --bos or some text)');
  const c = model.config;
  const capacity = Math.min(c.maxSeqLen, prompt.length + options.maxTokens);
  if (prompt.length >= capacity) throw new InputError(`generate: prompt of ${prompt.length} tokens leaves no room in the ${c.maxSeqLen}-token context`);
  const sampler = new Sampler({ temperature: options.temperature ?? 0, topP: options.topP ?? 1, seed: options.seed ?? 0 });
  const stop = new Set(options.stopAtEos === false ? [] : [...c.eosIds, ...(c.bosId !== null ? [c.bosId] : [])]);
  const cache = options.cache ? options.cache(capacity) : model.newCache(capacity);
  const ids: number[] = [];
  try {
    const t0 = performance.now();
    let logits = await model.backend.read(model.forward(prompt, { cache, lastOnly: true }));
    const t1 = performance.now();
    while (ids.length < options.maxTokens && cache.length < capacity) {
      await cancellationPoint(options.signal);
      if (firstNonFiniteValue(logits) >= 0) {
        throw new InputError(`generation step ${ids.length + 1}${ids.length === 0 ? ' (after the prompt)' : ''}: the logits are NaN or infinite`);
      }
      const next = sampler.sample(logits);
      if (stop.has(next)) break;
      ids.push(next);
      options.onToken?.(next);
      if (ids.length === options.maxTokens || cache.length >= capacity) break;
      logits = await model.backend.read(model.forward([next], { cache, lastOnly: true }));
    }
    const t2 = performance.now();
    const decodeSeconds = (t2 - t1) / 1000;
    return { ids, promptTokens: prompt.length, prefillSeconds: (t1 - t0) / 1000, decodeSeconds, tokensPerSecond: ids.length > 1 ? (ids.length - 1) / decodeSeconds : 0 };
  } finally {
    cache.free();
  }
}
