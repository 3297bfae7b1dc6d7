import { CommonFlags, Context, openModel } from './common.js';
import { kvConfigFrom, KvSchemeFlags } from './kv.js';
import { DecoderModel, QuantizedKVCache, cpuBackendOf, describeConfig, generate, meanBits, requireTokenizer } from '../../index.js';

export interface GenerateFlags extends CommonFlags, KvSchemeFlags {
  kvConfig?: string;
  kvPair?: string;
  forceQuant?: boolean;
  prompt: string;
  maxTokens: number;
  greedy?: boolean;
  temperature: number;
  topP: number;
  seed: number;
  bos: boolean;
}

/** Generates from a prompt, streaming text as it comes; returns the result for callers such as demo. */
export async function runGeneration(model: DecoderModel, flags: GenerateFlags, ctx: Context) {
  const tok = requireTokenizer(model);
  const kv = flags.kvConfig || flags.kvPair ? kvConfigFrom({ ...flags, config: flags.kvConfig, bits: flags.kvPair }, model, { config: '--kv-config', bits: '--kv-pair' }) : null;
  const prompt = flags.prompt ? tok.encode(flags.prompt, { bos: flags.bos }) : tok.bosId !== null ? [tok.bosId] : [];
  const promptText = tok.decode(prompt);
  ctx.out.write(promptText);
  const ids: number[] = [];
  let shown = promptText.length;
  let cacheBytes = 0;
  const r = await generate(model, prompt, {
    cache: kv ? (cap) => {
      const c = new QuantizedKVCache(cpuBackendOf(model), model.config, cap, kv, { forceQuant: flags.forceQuant });
      const free = c.free.bind(c);
      c.free = () => { cacheBytes = c.bytesInUse(); free(); };
      return c;
    } : undefined,
    maxTokens: flags.maxTokens, temperature: flags.greedy ? 0 : flags.temperature, topP: flags.topP, seed: flags.seed, signal: ctx.signal,
    onToken: (id) => {
      ids.push(id);
      const text = tok.decode([...prompt, ...ids]);
      if (!text.endsWith('\uFFFD')) {
        ctx.out.write(text.slice(shown));
        shown = text.length;
      }
    },
  });
  const text = tok.decode([...prompt, ...r.ids]).slice(promptText.length);
  ctx.out.line();
  const kvInfo = kv ? { kv_cache: describeConfig(kv), kv_mean_bits: meanBits(kv.layers), kv_cache_bytes: cacheBytes } : {};
  return { ...r, text, prompt: promptText, ...kvInfo };
}

export async function generateCommand(modelPath: string, flags: GenerateFlags, ctx: Context): Promise<void> {
  const model = await openModel(modelPath, flags);
  try {
    const r = await runGeneration(model, flags, ctx);
    const kvLine = 'kv_cache' in r ? `, KV cache ${r.kv_cache} (${r.kv_mean_bits!.toFixed(2)} bits, ${r.kv_cache_bytes} bytes)` : '';
    ctx.out.line(`-- ${r.ids.length} tokens, prefill ${r.promptTokens} tokens in ${r.prefillSeconds.toFixed(3)} s, decode ${r.tokensPerSecond.toFixed(1)} tokens/s (${model.backend.description})${kvLine}`);
    ctx.out.result({ ...('kv_cache' in r ? { kv_cache: r.kv_cache, kv_mean_bits: r.kv_mean_bits, kv_cache_bytes: r.kv_cache_bytes } : {}), text: r.text, ids: r.ids, prompt_tokens: r.promptTokens, generated_tokens: r.ids.length, prefill_s: r.prefillSeconds, decode_s: r.decodeSeconds, tokens_per_s: r.tokensPerSecond, backend: model.backend.description });
  } finally {
    await model.backend.dispose();
  }
}
