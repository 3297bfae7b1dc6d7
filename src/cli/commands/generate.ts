import { generate } from '../../models/llama/generate.js';
import type { LlamaModel } from '../../models/llama/model.js';
import { CommonFlags, Context, openModel, requireTokenizer } from './common.js';

export interface GenerateFlags extends CommonFlags {
  prompt: string;
  maxTokens: number;
  greedy?: boolean;
  temperature: number;
  topP: number;
  seed: number;
  bos: boolean;
}

/** Generates from a prompt, streaming text as it comes; returns the result for callers such as demo. */
export async function runGeneration(model: LlamaModel, flags: GenerateFlags, ctx: Context) {
  const tok = requireTokenizer(model);
  const prompt = flags.prompt ? tok.encode(flags.prompt, { bos: flags.bos }) : tok.bosId !== null ? [tok.bosId] : [];
  const promptText = tok.decode(prompt);
  ctx.out.write(promptText);
  const ids: number[] = [];
  let shown = promptText.length;
  const r = await generate(model, prompt, {
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
  return { ...r, text, prompt: promptText };
}

export async function generateCommand(modelPath: string, flags: GenerateFlags, ctx: Context): Promise<void> {
  const model = await openModel(modelPath, flags);
  try {
    const r = await runGeneration(model, flags, ctx);
    ctx.out.line(`-- ${r.ids.length} tokens, prefill ${r.promptTokens} tokens in ${r.prefillSeconds.toFixed(3)} s, decode ${r.tokensPerSecond.toFixed(1)} tokens/s (${model.backend.description})`);
    ctx.out.result({ text: r.text, ids: r.ids, prompt_tokens: r.promptTokens, generated_tokens: r.ids.length, prefill_s: r.prefillSeconds, decode_s: r.decodeSeconds, tokens_per_s: r.tokensPerSecond, backend: model.backend.description });
  } finally {
    await model.backend.dispose();
  }
}
