/**
 * Quality of a quantized KV cache, measured in batched passes. One forward over a window reproduces decoding it
 * token by token through QuantizedKVCache: every layer's keys/values are fake-quantized with the cache's groups
 * (fakeQuantize) and each query row t reads the quantized copy for tokens the cache would hold quantized at its
 * step (decodeBounds) and the float copy for the residual window. Positions < prefill attend like the cache's
 * prefill (float, or through the store with forceQuant). Tests check the equivalence against the real cache.
 *
 * Metrics against the float cache, over the scored positions (>= prefill): teacher-forced NLL (perplexity),
 * KL(p_fp || p_q) of next-token distributions, and top-1 agreement (the quantized argmax equals the float
 * greedy token).
 */
import type { AttentionParams } from '../../backend/backend.js';
import { hostMemory, type HostMemoryBackend } from '../../backend/backend.js';
import { KV_ATTENTION } from '../../kernels/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as ops from '../../ops/index.js';
import { cancellationPoint, InputError } from '../../util/errors.js';
import { decodeBounds } from './cache.js';
import { channelGroup, KvPair, KvQuantConfig } from './config.js';
import { fakeQuantize } from './quantizer.js';
import { DecoderModel } from '../../models/index.js';

export interface KvEvalSetup {
  config: KvQuantConfig;
  /** positions [0, prefill) form the prompt prefill; later positions are decode steps */
  prefill: number;
  forceQuant: boolean;
}

/** The quantized KV cache needs host memory (its codes are written from JS) and the kv_attention op: the CPU backend. */
export function cpuBackendOf(model: DecoderModel): HostMemoryBackend {
  const be = hostMemory(model.backend);
  if (!be || !be.supports(KV_ATTENTION)) throw new InputError(`KV-cache quantization needs the cpu backend (this model runs on ${model.backend.name})`);
  return be;
}

export type AttendHook = (layer: number, q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: AttentionParams) => void;

/** The attention replacement that makes model.block() behave as decoding through the quantized cache. */
export function quantizedAttention(model: DecoderModel, setup: KvEvalSetup, layers?: ReadonlySet<number>): AttendHook {
  const be = cpuBackendOf(model), c = model.config;
  const { config, prefill, forceQuant } = setup;
  const cg = channelGroup(config, c.headDim);
  return (layer, q, k, v, out, p) => {
    const pair = config.layers[layer]!;
    if ((layers && !layers.has(layer)) || (pair.k === 16 && pair.v === 16)) { ops.attention(be, q, k, v, out, p); return; }
    const T = p.T;
    const host = (t: Tensor) => be.f32View(t).slice();
    const kq = be.alloc(k.shape), vq = be.alloc(v.shape), bounds = be.alloc([T, 2], 'i32');
    try {
      if (pair.k !== 16) {
        const kivi = config.scheme === 'kivi';
        be.write(kq, fakeQuantize(host(k), T, c.nKVHeads, c.headDim, pair.k, kivi ? 'channel' : 'token', kivi ? config.group : cg, config.zeroPoint));
      }
      if (pair.v !== 16) be.write(vq, fakeQuantize(host(v), T, c.nKVHeads, c.headDim, pair.v, 'token', cg, config.zeroPoint));
      be.write(bounds, rowBounds(T, prefill, forceQuant, config.residual, pair));
      ops.attention(be, q, k, v, out, p, { k: kq, v: vq, bounds });
    } finally {
      be.free(kq); be.free(vq); be.free(bounds);
    }
  };
}

/** (bK, bV) per query row of a window: see the file comment. */
export function rowBounds(T: number, prefill: number, forceQuant: boolean, residual: number, pair: KvPair): Int32Array {
  const b = new Int32Array(2 * T);
  const atPrefill = decodeBounds(prefill, residual, pair);
  for (let t = 0; t < T; t++) {
    const [bK, bV] = t >= prefill ? decodeBounds(t, residual, pair) : forceQuant ? atPrefill : [0, 0];
    b[2 * t] = bK;
    b[2 * t + 1] = bV;
  }
  return b;
}

/** Log-softmax of the logits of a window, row-major [T, vocab]. */
export async function windowLogProbs(model: DecoderModel, ids: ArrayLike<number>, attend?: AttendHook, start?: { layer: number; h: Tensor }): Promise<Float32Array> {
  const be = model.backend, T = ids.length, V = model.config.vocabSize;
  const h = start ? start.h : model.embed(ids);
  try {
    for (let i = start?.layer ?? 0; i < model.config.nLayers; i++) model.block(i, h, { pos0: 0, attend });
    const logits = model.head(h);
    const lse = be.alloc([T]);
    try {
      ops.logsumexp(be, logits, lse);
      const l = await be.read(lse), lg = await be.read(logits);
      for (let t = 0; t < T; t++) for (let j = 0; j < V; j++) lg[t * V + j] -= l[t]!;
      return lg;
    } finally {
      be.free(lse);
    }
  } finally {
    if (!start) be.free(h);
  }
}

export interface KvQuality {
  /** mean next-token NLL over scored positions (nats) */
  nll: number;
  ppl: number;
  /** mean KL(p_fp || p_q) per scored position (nats) */
  kl: number;
  /** fraction of scored positions whose argmax equals the float model's */
  top1: number;
  positions: number;
}

/** Accumulates the metrics of quantized log-probs against float ones over positions [from, T-1). */
export class QualityAccumulator {
  private nll = 0; private kl = 0; private agree = 0; private n = 0;

  add(ids: ArrayLike<number>, fp: Float32Array, q: Float32Array, V: number, from: number): void {
    for (let t = from; t < ids.length - 1; t++) {
      const o = t * V;
      this.nll -= q[o + ids[t + 1]!]!;
      let kl = 0, af = 0, aq = 0;
      for (let j = 0; j < V; j++) {
        const lf = fp[o + j]!, lq = q[o + j]!;
        kl += Math.exp(lf) * (lf - lq);
        if (lf > fp[o + af]!) af = j;
        if (lq > q[o + aq]!) aq = j;
      }
      this.kl += Math.max(kl, 0);
      if (af === aq) this.agree++;
      this.n++;
    }
  }

  result(): KvQuality {
    const n = Math.max(this.n, 1);
    return { nll: this.nll / n, ppl: Math.exp(this.nll / n), kl: this.kl / n, top1: this.agree / n, positions: this.n };
  }
}

/** Float reference log-probs of each window, computed once and reused for every configuration. */
export async function floatReference(model: DecoderModel, windows: readonly ArrayLike<number>[], signal?: AbortSignal): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const w of windows) {
    await cancellationPoint(signal);
    out.push(await windowLogProbs(model, w));
  }
  return out;
}

/** Quality of one configuration on windows with their float reference. */
export async function evaluateConfig(model: DecoderModel, windows: readonly ArrayLike<number>[], reference: readonly Float32Array[], setup: KvEvalSetup,
  signal?: AbortSignal): Promise<KvQuality> {
  const acc = new QualityAccumulator();
  const hook = quantizedAttention(model, setup);
  for (let i = 0; i < windows.length; i++) {
    await cancellationPoint(signal);
    acc.add(windows[i]!, reference[i]!, await windowLogProbs(model, windows[i]!, hook), model.config.vocabSize, setup.prefill);
  }
  return acc.result();
}
