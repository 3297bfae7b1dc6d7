/**
 * Perplexity with the reference protocol (locuslab/wanda lib/eval.py, GPTQ/SparseGPT): tokenize the whole text
 * once, cut it into floor(n / seqlen) non-overlapping windows (tail dropped), score each window independently
 * (positions 0..seqlen-1, no cache), nll_i = mean cross-entropy of its seqlen-1 next-token predictions,
 * ppl = exp(mean_i nll_i). Options: a BOS at the head of every window (the window then holds seqlen-1 text
 * tokens), and a cap on the number of windows.
 */
import { cancellationPoint, InputError } from '../util/errors.js';
import * as ops from '../ops/index.js';
import { DecoderModel } from '../models/index.js';

export interface PerplexityOptions {
  seqlen: number;
  maxWindows?: number;
  bosPerWindow?: boolean;
  signal?: AbortSignal;
  onWindow?: (done: number, total: number, tokens: number) => void;
}

export interface PerplexityResult {
  ppl: number;
  /** mean over windows of the window-mean negative log-likelihood (nats) */
  meanNll: number;
  windows: number;
  /** tokens in the tokenized stream */
  tokens: number;
  /** predicted (scored) tokens */
  predicted: number;
  seconds: number;
  tokensPerSecond: number;
  /** per-window mean nll, for inspection */
  windowNll: number[];
}

/** Sum of next-token negative log-likelihoods of a sequence (predictions for positions 1..T-1). */
export async function sequenceNll(model: DecoderModel, ids: ArrayLike<number>): Promise<{ sum: number; count: number }> {
  const T = ids.length;
  if (T < 2) return { sum: 0, count: 0 };
  const be = model.backend;
  const logits = model.forward(ids);
  const V = model.config.vocabSize;
  const lseT = be.alloc([T]);
  try {
    ops.logsumexp(be, logits, lseT);
    const lse = await be.read(lseT);
    const lg = await be.read(logits);
    let sum = 0;
    for (let t = 0; t < T - 1; t++) sum += lse[t]! - lg[t * V + ids[t + 1]!]!;
    return { sum, count: T - 1 };
  } finally {
    be.free(lseT);
  }
}

export async function perplexity(model: DecoderModel, stream: ArrayLike<number>, o: PerplexityOptions): Promise<PerplexityResult> {
  const bos = model.config.bosId;
  if (o.bosPerWindow && bos === null) throw new InputError('--bos-per-window: this model has no BOS token');
  if (!Number.isInteger(o.seqlen) || o.seqlen < 2) throw new InputError(`--seqlen must be an integer >= 2, got ${o.seqlen}`);
  if (o.seqlen > model.config.maxSeqLen) throw new InputError(`--seqlen ${o.seqlen} exceeds the model's context length ${model.config.maxSeqLen}`);
  const step = o.bosPerWindow ? o.seqlen - 1 : o.seqlen;
  let windows = Math.floor(stream.length / step);
  if (o.maxWindows !== undefined) windows = Math.min(windows, o.maxWindows);
  if (windows < 1) throw new InputError(`the text has ${stream.length} tokens, fewer than one window of ${o.seqlen}`);
  const windowNll: number[] = [];
  const t0 = performance.now();
  for (let w = 0; w < windows; w++) {
    await cancellationPoint(o.signal);
    const text = Array.prototype.slice.call(stream, w * step, (w + 1) * step) as number[];
    const ids = o.bosPerWindow ? [bos!, ...text] : text;
    const { sum, count } = await sequenceNll(model, ids);
    if (!Number.isFinite(sum)) throw new InputError(`perplexity window ${w + 1} of ${windows}: the loss is ${sum} (NaN or infinite logits)`);
    windowNll.push(sum / count);
    o.onWindow?.(w + 1, windows, (w + 1) * o.seqlen);
  }
  const seconds = (performance.now() - t0) / 1000;
  const meanNll = windowNll.reduce((a, b) => a + b, 0) / windows;
  return { ppl: Math.exp(meanNll), meanNll, windows, tokens: stream.length, predicted: windows * (o.seqlen - 1), seconds, tokensPerSecond: (windows * o.seqlen) / seconds, windowNll };
}

export interface DocumentLossResult {
  /** mean negative log-likelihood per predicted token, over all documents */
  meanNll: number;
  ppl: number;
  documents: number;
  predicted: number;
  seconds: number;
  tokensPerSecond: number;
}

/**
 * llama2.c-style loss over separate documents: each is encoded with BOS, truncated to maxTokens, and the loss is
 * averaged over every predicted token of every document (not per document).
 */
export async function documentLoss(model: DecoderModel, documents: string[], o: { maxTokens: number; signal?: AbortSignal; onDocument?: (done: number, total: number, tokens: number) => void }): Promise<DocumentLossResult> {
  const tok = model.tokenizer;
  if (!tok) throw new InputError('this model has no tokenizer; pass --tokenizer');
  let sum = 0, count = 0, tokens = 0;
  const t0 = performance.now();
  for (let i = 0; i < documents.length; i++) {
    await cancellationPoint(o.signal);
    const ids = tok.encode(documents[i]!, { bos: true }).slice(0, Math.min(o.maxTokens, model.config.maxSeqLen));
    const r = await sequenceNll(model, ids);
    if (!Number.isFinite(r.sum)) throw new InputError(`document ${i + 1} of ${documents.length}: the loss is ${r.sum} (NaN or infinite logits)`);
    sum += r.sum;
    count += r.count;
    tokens += ids.length;
    o.onDocument?.(i + 1, documents.length, tokens);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { meanNll: sum / count, ppl: Math.exp(sum / count), documents: documents.length, predicted: count, seconds, tokensPerSecond: tokens / seconds };
}
