/**
 * A real quantized KV cache (KIVI, Liu et al., ICML 2024, jy-yuan/KIVI `models/llama_kivi.py`), with a
 * (key bits, value bits) pair per layer as KVTuner (Li et al., ICML 2025) configures it. Per layer and KV head it
 * stores packed 2/4/8-bit codes with an f32 scale and offset per group, plus a float32 residual window:
 *  - keys: new tokens enter the window; when it holds R tokens the whole window is quantized (KIVI scheme:
 *    per channel, in groups of G tokens; per-token scheme: per token, in groups of G channels) and emptied;
 *  - values: a sliding window; once it holds more than R tokens the oldest is quantized (per token) and leaves;
 *  - a decode step attends with its own token still in float, then flushes (KIVI's order);
 *  - prefill ("default mode"): attention runs on the original float keys/values, the store is then filled by
 *    the same rules (keys: L - L mod R quantized; values: all but the last R). With `forceQuant` the prefill
 *    attends through the store instead (KVTuner's force_quant);
 *  - a multi-token call after the prefill attends through the store as it is after all of its tokens are in.
 * R = 0 (per-token scheme): every token is quantized once its own step is done. 16 bits = not quantized: the side
 * stays float32; a layer with K16V16 is exactly a float KV cache (same kernel as KVCache).
 *
 * KVTuner's own cache is a simulation that re-quantizes the whole dequantized concatenation at each flush and
 * flushes values in blocks like keys; with the per-token scheme (R = 0) both rules give the same attention.
 * Lithe implements KIVI's rules, which a real kernel needs. `decodeBounds()` states which tokens a step reads
 * quantized; the batched evaluator (evaluate.ts) uses it so its numbers equal decoding through this cache.
 */
import type { AttentionParams, HostMemoryBackend } from '../../backend/backend.js';
import type { AttentionCache } from '../../models/cache.js';
import type { DecoderConfig } from '../../models/config.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as ops from '../../ops/index.js';
import { InputError } from '../../util/errors.js';
import { channelGroup, KvPair, KvQuantConfig, validateConfig } from './config.js';
import { groupParams, packCode, packedRowBytes, quantizeValue, ZeroPoint } from './quantizer.js';

/** Tokens [0, bK) whose keys and [0, bV) whose values the decode step of the token at position t reads quantized. */
export function decodeBounds(t: number, residual: number, pair: KvPair): [number, number] {
  const bK = pair.k === 16 ? 0 : residual > 0 ? residual * Math.floor(t / residual) : t;
  const bV = pair.v === 16 ? 0 : Math.max(0, t - residual);
  return [bK, bV];
}

interface Side {
  bits: number;
  /** token axis = groups of `group` channels per token; channel axis = groups of `group` tokens per channel */
  axis: 'token' | 'channel';
  group: number;
  codes: Tensor | null;
  scale: Tensor | null;
  offset: Tensor | null;
  fp: Tensor;
  fpCap: number;
  /** floats of parameters per head */
  paramsPerHead: number;
  nq: number;
  nf: number;
}

const DESC_WORDS = 22;

/** One layer's store: both sides for all KV heads, laid out head-major for the kernel. */
class LayerStore {
  readonly k: Side;
  readonly v: Side;
  readonly desc: Tensor;

  constructor(private readonly be: HostMemoryBackend, readonly pair: KvPair, private readonly D: number, private readonly nKV: number,
    readonly capacity: number, cfg: KvQuantConfig) {
    const cg = channelGroup(cfg, D);
    this.k = this.side(pair.k, cfg.scheme === 'kivi' ? 'channel' : 'token', cfg.scheme === 'kivi' ? cfg.group : cg, cfg.residual === 0 ? 1 : cfg.residual);
    this.v = this.side(pair.v, 'token', cg, cfg.residual + 1);
    this.desc = be.alloc([DESC_WORDS], 'i32');
  }

  private side(bits: number, axis: 'token' | 'channel', group: number, window: number): Side {
    const { be, D, nKV, capacity } = this;
    if (bits === 16) return { bits, axis, group: D, codes: null, scale: null, offset: null, fp: be.alloc([nKV * capacity * D]), fpCap: capacity, paramsPerHead: 0, nq: 0, nf: 0 };
    const paramsPerHead = axis === 'token' ? capacity * (D / group) : Math.ceil(capacity / group) * D;
    return {
      bits, axis, group, nq: 0, nf: 0, fpCap: window, paramsPerHead,
      codes: be.alloc([nKV * capacity * packedRowBytes(D, bits)], 'u8'),
      scale: be.alloc([nKV * paramsPerHead]), offset: be.alloc([nKV * paramsPerHead]), fp: be.alloc([nKV * window * D]),
    };
  }

  get tokens(): number {
    return this.k.nq + this.k.nf;
  }

  /** Appends one token's keys and values (rows of nKV * D floats). */
  push(kRow: Float32Array, vRow: Float32Array): void {
    for (const [s, row] of [[this.k, kRow], [this.v, vRow]] as const) {
      if (s.nf >= s.fpCap) throw new Error('quantized KV cache: residual window overflow');
      const fp = this.be.f32View(s.fp);
      for (let h = 0; h < this.nKV; h++) fp.set(row.subarray(h * this.D, (h + 1) * this.D), (h * s.fpCap + s.nf) * this.D);
      s.nf++;
    }
  }

  /** Applies the flush rules after a step (see the file comment). */
  flush(residual: number, zero: ZeroPoint): void {
    const k = this.k, v = this.v;
    if (k.bits < 16 && k.nf >= Math.max(residual, 1)) this.quantize(k, 0, k.nf, zero);
    if (v.bits < 16) {
      const over = v.nf - residual;
      if (over > 0) this.quantize(v, 0, over, zero);
    }
  }

  /** Quantizes window tokens [w0, w0 + n) (the oldest) into the store and drops them from the window. */
  private quantize(s: Side, w0: number, n: number, zero: ZeroPoint): void {
    const { D, nKV } = this;
    const be = this.be;
    const fp = be.f32View(s.fp), codes = be.bytes(s.codes!), sc = be.f32View(s.scale!), off = be.f32View(s.offset!);
    const rb = packedRowBytes(D, s.bits), qmax = (1 << s.bits) - 1;
    for (let h = 0; h < nKV; h++) {
      const win = h * s.fpCap * D, codeHead = h * this.capacity * rb, parHead = h * s.paramsPerHead;
      codes.fill(0, codeHead + s.nq * rb, codeHead + (s.nq + n) * rb);
      if (s.axis === 'token') {
        const gpt = D / s.group;
        for (let i = 0; i < n; i++) {
          const src = win + (w0 + i) * D, row = codeHead + (s.nq + i) * rb;
          for (let g = 0; g < gpt; g++) {
            const [a, b] = groupParams(fp, src + g * s.group, s.group, 1, s.bits, zero);
            // values: group-major [g][capacity] (the kernel scales all tokens of a group at once); keys: token-major
            const pi = parHead + (s === this.v ? g * this.capacity + s.nq + i : (s.nq + i) * gpt + g);
            sc[pi] = a;
            off[pi] = b;
            for (let c = g * s.group; c < (g + 1) * s.group; c++) packCode(codes, row, D, s.bits, c, quantizeValue(fp[src + c]!, a, b, qmax));
          }
        }
      } else {
        // per channel over groups of `group` tokens; flushes are whole windows of R (a multiple of group) tokens
        for (let t0 = 0; t0 < n; t0 += s.group) {
          const m = Math.min(s.group, n - t0), block = (s.nq + t0) / s.group;
          for (let c = 0; c < D; c++) {
            const src = win + (w0 + t0) * D + c;
            const [a, b] = groupParams(fp, src, m, D, s.bits, zero);
            sc[parHead + block * D + c] = a;
            off[parHead + block * D + c] = b;
            for (let i = 0; i < m; i++) packCode(codes, codeHead + (s.nq + t0 + i) * rb, D, s.bits, c, quantizeValue(fp[src + i * D]!, a, b, qmax));
          }
        }
      }
      fp.copyWithin(win + w0 * D, win + (w0 + n) * D, win + s.nf * D);
    }
    s.nq += n;
    s.nf -= n;
  }

  /** The kernel's descriptor words (kernels/assembly/kv-attention.ts). */
  writeDescriptor(): void {
    const be = this.be, k = this.k, v = this.v, D = this.D;
    const p = (t: Tensor | null) => (t ? be.ptr(t) : 0);
    const w = new Int32Array(be.memory.buffer, be.ptr(this.desc), DESC_WORDS);
    w.set([p(k.codes), p(k.scale), p(k.offset), p(k.fp), p(v.codes), p(v.scale), p(v.offset), p(v.fp),
      k.bits, v.bits, k.axis === 'channel' ? 1 : 0, k.group, v.group, k.nq, v.nq, this.tokens,
      k.bits < 16 ? this.capacity * packedRowBytes(D, k.bits) : 0, k.paramsPerHead, k.fpCap * D,
      v.bits < 16 ? this.capacity * packedRowBytes(D, v.bits) : 0, v.paramsPerHead, v.fpCap * D]);
  }

  /** Bytes this layer's store uses for its current tokens: codes, scales/offsets and the float window. */
  bytesInUse(): number {
    let b = 0;
    for (const s of [this.k, this.v]) {
      if (s.bits === 16) { b += this.nKV * s.nf * this.D * 4; continue; }
      const params = s.axis === 'token' ? s.nq * (this.D / s.group) : Math.ceil(s.nq / s.group) * this.D;
      b += this.nKV * (s.nq * packedRowBytes(this.D, s.bits) + params * 8 + s.nf * this.D * 4);
    }
    return b;
  }

  free(): void {
    for (const s of [this.k, this.v]) for (const t of [s.codes, s.scale, s.offset, s.fp]) if (t) this.be.free(t);
    this.be.free(this.desc);
  }
}

export interface QuantizedCacheOptions {
  /** prefill attends through the quantized store (KVTuner force_quant) instead of the original keys/values */
  forceQuant?: boolean;
}

export class QuantizedKVCache implements AttentionCache {
  length = 0;
  private readonly layers: (LayerStore | { k: Tensor; v: Tensor })[] = [];
  private staging: { k: Tensor; v: Tensor; T: number } | null = null;
  private readonly scratch: Tensor;
  private readonly scratchFloats: number;
  private readonly kvDim: number;

  constructor(private readonly be: HostMemoryBackend, private readonly model: DecoderConfig, readonly capacity: number,
    readonly config: KvQuantConfig, private readonly options: QuantizedCacheOptions = {}) {
    validateConfig(config, model.nLayers, model.headDim);
    if (model.slidingWindow > 0) throw new InputError('a quantized KV cache does not support sliding-window attention models yet');
    if (model.headDim % 4) throw new InputError(`a quantized KV cache needs a head dim that is a multiple of 4 (got ${model.headDim})`);
    this.kvDim = model.nKVHeads * model.headDim;
    for (const pair of config.layers) {
      this.layers.push(pair.k === 16 && pair.v === 16
        ? { k: be.alloc([capacity, this.kvDim]), v: be.alloc([capacity, this.kvDim]) }
        : new LayerStore(be, pair, model.headDim, model.nKVHeads, capacity, config));
    }
    const G = model.nHeads / model.nKVHeads, D = model.headDim, vpt = D / channelGroup(config, D);
    const cap4 = Math.ceil(capacity / 4) * 4; // keeps every scratch array 16-byte aligned
    this.scratchFloats = G * (cap4 * (1 + vpt) + 2 * D) + D + 4;
    this.scratch = be.alloc([be.threads * this.scratchFloats]);
  }

  slot(layer: number, pos0: number, T: number): { k: Tensor; v: Tensor } {
    const l = this.layers[layer]!;
    if (!(l instanceof LayerStore)) return { k: l.k.rows(pos0, T), v: l.v.rows(pos0, T) };
    if (!this.staging || this.staging.T < T) {
      if (this.staging) { this.be.free(this.staging.k); this.be.free(this.staging.v); }
      this.staging = { k: this.be.alloc([T, this.kvDim]), v: this.be.alloc([T, this.kvDim]), T };
    }
    return { k: this.staging.k.rows(0, T), v: this.staging.v.rows(0, T) };
  }

  attend(layer: number, q: Tensor, out: Tensor, p: AttentionParams): void {
    const l = this.layers[layer]!;
    if (!(l instanceof LayerStore)) { ops.attention(this.be, q, l.k, l.v, out, p); return; }
    const { T, pos0 } = p;
    if (l.tokens !== pos0) throw new Error(`quantized KV cache layer ${layer} holds ${l.tokens} tokens, call starts at ${pos0}`);
    const { residual, zeroPoint } = this.config;
    const kIn = this.be.f32View(this.staging!.k).subarray(0, T * this.kvDim).slice();
    const vIn = this.be.f32View(this.staging!.v).subarray(0, T * this.kvDim).slice();
    const row = (a: Float32Array, t: number) => a.subarray(t * this.kvDim, (t + 1) * this.kvDim);
    if (T === 1) {
      l.push(row(kIn, 0), row(vIn, 0));
      this.kernel(l, q, out, p);
      l.flush(residual, zeroPoint);
      return;
    }
    const prefillFp = pos0 === 0 && !this.options.forceQuant;
    if (prefillFp) ops.attention(this.be, q, this.staging!.k.rows(0, T), this.staging!.v.rows(0, T), out, p);
    for (let t = 0; t < T; t++) {
      l.push(row(kIn, t), row(vIn, t));
      l.flush(residual, zeroPoint);
    }
    if (!prefillFp) this.kernel(l, q, out, p);
  }

  private kernel(l: LayerStore, q: Tensor, out: Tensor, p: AttentionParams): void {
    l.writeDescriptor();
    ops.kvAttention(this.be, l.desc, q, out, { T: p.T, nHeads: p.nHeads, nKVHeads: p.nKVHeads, headDim: p.headDim, scale: p.scale, tokens: l.tokens },
      this.scratch, this.scratchFloats);
  }

  /** Bytes held for the cached tokens (codes, scales/offsets, float windows), summed over layers. */
  bytesInUse(): number {
    return this.layers.reduce((a, l) => a + (l instanceof LayerStore ? l.bytesInUse() : 2 * this.length * this.kvDim * 4), 0);
  }

  free(): void {
    for (const l of this.layers) {
      if (l instanceof LayerStore) l.free();
      else { this.be.free(l.k); this.be.free(l.v); }
    }
    if (this.staging) { this.be.free(this.staging.k); this.be.free(this.staging.v); }
    this.be.free(this.scratch);
  }
}

/**
 * Bytes per cached token of one layer once quantized (codes + scales/offsets; the fixed-size residual window
 * excluded): keys per channel amortise their parameters over a group of tokens. 16-bit sides count as float32,
 * as Lithe stores them.
 */
export function bytesPerToken(pair: KvPair, config: KvQuantConfig, nKV: number, D: number): number {
  const cg = channelGroup(config, D);
  const side = (bits: number, perChannel: boolean) => {
    if (bits === 16) return nKV * D * 4;
    const params = perChannel ? (2 * 4 * D) / config.group : 2 * 4 * (D / cg);
    return nKV * (packedRowBytes(D, bits) + params);
  };
  return side(pair.k, config.scheme === 'kivi') + side(pair.v, false);
}
