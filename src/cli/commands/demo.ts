import { stderrLine } from '../output.js';
import { defaultThreads } from '../options.js';
import { createProgress } from '../progress.js';
import type { CommonFlags, Context } from './common.js';
import { runGeneration } from './generate.js';
import { DEFAULT_MODEL, DEFAULT_TEXT, DEFAULT_TOKENIZER, assetPath, createBackend, documentLoss, loadModel, readText, splitBlocks } from '../../index.js';

/** The embedded default: stories260K tells a story, then is scored on 200 bundled TinyStories blocks. */
export async function demoCommand(flags: CommonFlags & { maxTokens: number }, ctx: Context): Promise<void> {
  const backend = await createBackend(flags.backend, flags.threads ?? defaultThreads(), stderrLine);
  try {
    const model = await loadModel(backend, assetPath(DEFAULT_MODEL), { tokenizer: assetPath(DEFAULT_TOKENIZER) });
    const c = model.config;
    ctx.out.line(`lithe demo: stories260K (${model.parameterCount.toLocaleString('en-US')} parameters, ${c.nLayers} layers, dim ${c.dim}, ${c.nHeads}/${c.nKVHeads} heads) on ${backend.description}`);
    ctx.out.line('greedy story from BOS:');
    ctx.out.line();
    const g = await runGeneration(model, { prompt: '', maxTokens: flags.maxTokens, temperature: 0, topP: 1, seed: 0, bos: true, greedy: true }, ctx);
    ctx.out.line();
    ctx.out.line(`generated ${g.ids.length} tokens at ${g.tokensPerSecond.toFixed(0)} tokens/s`);
    const docs = splitBlocks(readText(assetPath(DEFAULT_TEXT)));
    const bar = createProgress('perplexity', docs.length, 'documents', ctx.out.json);
    const r = await documentLoss(model, docs, { maxTokens: 512, signal: ctx.signal, onDocument: (d) => bar.update(d) });
    bar.stop();
    ctx.out.line(`perplexity on ${docs.length} TinyStories validation blocks: ${r.ppl.toFixed(4)} (loss ${r.meanNll.toFixed(4)} nats/token over ${r.predicted} tokens; reference 1.4388), ${r.tokensPerSecond.toFixed(0)} tokens/s`);
    ctx.out.result({ story: g.text, generated_tokens: g.ids.length, decode_tokens_per_s: g.tokensPerSecond, ppl: r.ppl, mean_nll: r.meanNll, tokens: r.predicted, documents: r.documents, seconds: r.seconds, tokens_per_s: r.tokensPerSecond, backend: backend.description });
  } finally {
    await backend.dispose();
  }
}
