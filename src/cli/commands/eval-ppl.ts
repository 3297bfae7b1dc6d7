import { createProgress } from '../progress.js';
import { CommonFlags, Context, openModel } from './common.js';
import { ActQuantFlags, DecoderModel, OptionError, PerplexityOptions, PerplexityResult, describeOnline, documentLoss, onlineConfig, onlineHook, perplexity, readText, requireTokenizer, splitBlocks, storedOnline } from '../../index.js';

export interface PplFlags extends CommonFlags, ActQuantFlags {
  data: string;
  seqlen?: number;
  maxWindows?: number;
  bosPerWindow?: boolean;
  protocol: string;
  field?: string;
  maxDocs?: number;
  actDtype?: 'f32' | 'f16' | 'bf16';
}

/** The windows protocol with a progress bar (windows done, tokens/s); shared by `eval ppl` and `prune --eval`. */
export async function windowedPerplexity(model: DecoderModel, stream: number[], o: PerplexityOptions): Promise<PerplexityResult> {
  const total = Math.min(Math.floor(stream.length / (o.bosPerWindow ? o.seqlen - 1 : o.seqlen)), o.maxWindows ?? Infinity);
  const t0 = performance.now();
  const bar = createProgress('eval ppl', Math.max(total, 0), 'windows');
  try {
    return await perplexity(model, stream, { ...o, onWindow: (d, _t, n) => bar.update(d, { value: n / ((performance.now() - t0) / 1000), unit: 'tok/s' }) });
  } finally {
    bar.stop();
  }
}

/** Perplexity (windows protocol) on each of `files` after compression; shared by `prune --eval` and `quantize --eval`. */
export async function evaluateFiles(model: DecoderModel, files: string[], texts: string[], o: { evalSeqlen?: number; maxWindows?: number }, ctx: Context): Promise<Record<string, unknown>[]> {
  const evaluation: Record<string, unknown>[] = [];
  for (let k = 0; k < texts.length; k++) {
    const seqlen = o.evalSeqlen ?? Math.min(2048, model.config.maxSeqLen);
    const r = await windowedPerplexity(model, requireTokenizer(model).encode(texts[k]!, { bos: true }), { seqlen, maxWindows: o.maxWindows, signal: ctx.signal });
    evaluation.push({ data: files[k], seqlen, windows: r.windows, ppl: r.ppl, seconds: r.seconds });
    ctx.out.line(`perplexity ${r.ppl.toFixed(4)} on ${files[k]} (${r.windows} windows of ${seqlen})`);
  }
  return evaluation;
}

export async function evalPplCommand(modelPath: string, flags: PplFlags, ctx: Context): Promise<void> {
  if (flags.protocol !== 'windows' && flags.protocol !== 'documents') throw new OptionError('--protocol', `expected windows or documents, got "${flags.protocol}"`);
  const text = readText(flags.data, { field: flags.field, maxDocs: flags.maxDocs });
  const model = await openModel(modelPath, flags);
  model.activationDType = flags.actDtype ?? 'f32';
  const online = onlineConfig(flags, storedOnline(model));
  model.activationHook = onlineHook(model, online);
  try {
    const tok = requireTokenizer(model);
    const seqlen = flags.seqlen ?? Math.min(2048, model.config.maxSeqLen);
    const common = { model: modelPath, data: flags.data, backend: model.backend.description, act_dtype: model.activationDType, quantized: describeOnline(online) };
    if (flags.protocol === 'documents') {
      const docs = splitBlocks(text).slice(0, Math.min(flags.maxDocs ?? Infinity, flags.maxWindows ?? Infinity)); // --max-windows: at most k documents
      const t0 = performance.now();
      const bar = createProgress('eval ppl', docs.length, 'documents');
      const r = await documentLoss(model, docs, { maxTokens: seqlen, signal: ctx.signal, onDocument: (d, _t, n) => bar.update(d, { value: n / ((performance.now() - t0) / 1000), unit: 'tok/s' }) });
      bar.stop();
      ctx.out.line(`perplexity ${r.ppl.toFixed(4)} (mean loss ${r.meanNll.toFixed(4)} nats/token) over ${r.predicted} predicted tokens in ${r.documents} documents; ${r.seconds.toFixed(1)} s, ${r.tokensPerSecond.toFixed(0)} tokens/s`);
      ctx.out.result({ ...common, protocol: 'documents', ppl: r.ppl, mean_nll: r.meanNll, documents: r.documents, tokens: r.predicted, seconds: r.seconds, tokens_per_s: r.tokensPerSecond, max_tokens: seqlen });
      return;
    }
    const t1 = performance.now();
    const stream = tok.encode(text, { bos: !flags.bosPerWindow });
    const tokenizeSeconds = (performance.now() - t1) / 1000;
    const r = await windowedPerplexity(model, stream, { seqlen, maxWindows: flags.maxWindows, bosPerWindow: flags.bosPerWindow, signal: ctx.signal });
    ctx.out.line(`perplexity ${r.ppl.toFixed(4)} (mean window loss ${r.meanNll.toFixed(4)} nats) over ${r.windows} windows of ${seqlen} tokens (${r.tokens} tokens in the text); ${r.seconds.toFixed(1)} s, ${r.tokensPerSecond.toFixed(0)} tokens/s`);
    ctx.out.result({ ...common, protocol: 'windows', ppl: r.ppl, mean_nll: r.meanNll, windows: r.windows, seqlen, tokens: r.tokens, predicted: r.predicted, seconds: r.seconds, tokenize_s: tokenizeSeconds, tokens_per_s: r.tokensPerSecond, bos_per_window: !!flags.bosPerWindow });
  } finally {
    await model.backend.dispose();
  }
}
