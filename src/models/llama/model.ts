/**
 * LLaMA-family decoder (LLaMA, Qwen2, Mistral, llama2.c) as block-wise executables, so calibration can run one
 * block at a time:
 *   h = embed(ids);  for i: block(i, h, {pos0, cache});  logits = head(h)
 * block: h += Wo . attn(rope(Wq x), rope(Wk x), Wv x) with x = rmsnorm(h); h += Wdown (silu(Wgate x) * Wup x)
 * with x = rmsnorm(h). Keys/values are written straight into the KV cache rows [pos0, pos0 + T).
 * `activationDType` f16/bf16 rounds every op's output to that type (kernels still compute in f32), which is how a
 * model run in half precision with f32 accumulation behaves; the reference pruning/quantization code runs so.
 */
import type { AttentionParams, Backend } from '../../backend/backend.js';
import type { Tensor } from '../../tensor/tensor.js';
import { InputError } from '../../util/errors.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import type { DecoderConfig } from '../config.js';
import { ropeTables } from './rope.js';
import * as ops from '../../ops/index.js';
import { AttentionCache, KVCache } from '../cache.js';
import { LINEARS, namedWeights, type ActivationHook, type BlockState, type DecoderModel, type DecoderWeights, type LinearInputs, type LinearWeight, type ModelSource } from '../decoder.js';
import type { LinearInfo, StatsGroup } from '../model.js';
import type { PackedWeight } from '../../tensor/packed.js';
import type { SparseTensors } from '../../tensor/sparse-format.js';
import { sparseTensorList } from '../sparse-storage.js';

export { KVCache } from '../cache.js';

interface Scratch {
  cap: number;
  ids: Tensor; xa: Tensor; xb: Tensor; q: Tensor; att: Tensor; o: Tensor; gate: Tensor; up: Tensor; k: Tensor; v: Tensor;
}

export class LlamaModel implements DecoderModel {
  readonly family = 'llama';
  private scratch: Scratch | null = null;
  private logits: Tensor | null = null;
  private rope: { cos: Tensor; sin: Tensor; len: number } | null = null;
  /** the type activations are rounded to after every op ('f32': no rounding) */
  activationDType: 'f32' | 'f16' | 'bf16' = 'f32';
  /** rewrites activations at the points of ActivationPoint (quant/rotation/online.ts builds these) */
  activationHook: ActivationHook | null = null;

  constructor(
    readonly backend: Backend,
    readonly config: DecoderConfig,
    readonly weights: DecoderWeights,
    readonly tokenizer: TextTokenizer | null,
    readonly source: ModelSource,
  ) {}

  get parameterCount(): number {
    const w = this.weights;
    let n = w.embed.size + w.norm.size + (w.lmHead === w.embed ? 0 : w.lmHead.size);
    for (const l of w.layers) {
      for (const t of Object.values(l)) if (t) n += (t as Tensor).size;
    }
    return n;
  }

  newCache(capacity = this.config.maxSeqLen): KVCache {
    return new KVCache(this.backend, this.config, capacity);
  }

  /** Rounds op outputs to activationDType (a no-op in f32); returns its argument. */
  private act(t: Tensor): Tensor {
    if (this.activationDType !== 'f32') ops.roundTo(this.backend, t, this.activationDType);
    return t;
  }

  private ensureScratch(T: number): Scratch {
    if (this.scratch && this.scratch.cap >= T) return this.scratch;
    this.freeScratch();
    const c = this.config, be = this.backend;
    const qDim = c.nHeads * c.headDim, kvDim = c.nKVHeads * c.headDim;
    this.scratch = {
      cap: T, ids: be.alloc([T], 'i32'), xa: be.alloc([T, c.dim]), xb: be.alloc([T, c.dim]), q: be.alloc([T, qDim]), att: be.alloc([T, qDim]),
      o: be.alloc([T, c.dim]), gate: be.alloc([T, c.hiddenDim]), up: be.alloc([T, c.hiddenDim]), k: be.alloc([T, kvDim]), v: be.alloc([T, kvDim]),
    };
    return this.scratch;
  }

  private ensureRope(len: number): { cos: Tensor; sin: Tensor } {
    if (len > this.config.maxSeqLen) {
      throw new InputError(`sequence of ${len} tokens exceeds the model's context length (${this.config.maxSeqLen})`);
    }
    if (this.rope && this.rope.len >= len) return this.rope;
    const n = Math.min(this.config.maxSeqLen, Math.max(len, 2 * (this.rope?.len ?? 0), 256));
    const { cos, sin } = ropeTables(n, this.config.headDim, this.config.ropeTheta, this.config.ropeScaling);
    if (this.rope) { this.backend.free(this.rope.cos); this.backend.free(this.rope.sin); }
    const half = this.config.headDim / 2;
    const tc = this.backend.alloc([n, half]), ts = this.backend.alloc([n, half]);
    this.backend.write(tc, cos);
    this.backend.write(ts, sin);
    this.rope = { cos: tc, sin: ts, len: n };
    return this.rope;
  }

  /** Hidden states [T, dim] of token ids (a new tensor; the caller frees it). */
  embed(ids: ArrayLike<number>): Tensor {
    const T = ids.length, V = this.config.vocabSize;
    for (let i = 0; i < T; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new InputError(`token id ${id} at position ${i} is outside the vocabulary (0..${V - 1})`);
    }
    const s = this.ensureScratch(T);
    const idsT = s.ids.view([T]);
    this.backend.write(idsT, Int32Array.from(ids));
    const h = this.backend.alloc([T, this.config.dim]);
    ops.embed(this.backend, this.weights.embed, idsT, h);
    return this.act(h);
  }

  /** Runs decoder block i on h [T, dim] in place. */
  block(i: number, h: Tensor, state: BlockState): void {
    const c = this.config, be = this.backend, w = this.weights.layers[i]!;
    const T = h.shape[0]!;
    const { pos0, cache } = state;
    const s = this.ensureScratch(T);
    const rope = this.ensureRope(pos0 + T);
    const qDim = c.nHeads * c.headDim, kvDim = c.nKVHeads * c.headDim;
    const xa = s.xa.view([T, c.dim]), xb = s.xb.view([T, c.dim]), q = s.q.view([T, qDim]), att = s.att.view([T, qDim]), o = s.o.view([T, c.dim]);
    let kNew: Tensor, vNew: Tensor;
    if (cache) {
      if (pos0 + T > cache.capacity) throw new InputError(`KV cache holds ${cache.capacity} tokens; ${pos0 + T} needed`);
      ({ k: kNew, v: vNew } = cache.slot(i, pos0, T));
    } else {
      if (pos0 !== 0) throw new Error('block without a cache must start at position 0');
      kNew = s.k.view([T, kvDim]); vNew = s.v.view([T, kvDim]);
    }
    const r = (t: Tensor) => this.act(t);
    ops.rmsnorm(be, h, w.attnNorm, c.normEps, xa); r(xa);
    const hook = this.activationHook ?? (() => {});
    hook(i, 'attnIn', xa);
    ops.linear(be, xa, w.wq, w.bq, q); r(q);
    ops.linear(be, xa, w.wk, w.bk, kNew); r(kNew);
    ops.linear(be, xa, w.wv, w.bv, vNew); r(vNew);
    hook(i, 'v', vNew);
    ops.rope(be, q, rope.cos, rope.sin, { T, heads: c.nHeads, headDim: c.headDim, pos0, neox: c.neoxRope }); r(q);
    hook(i, 'q', q);
    ops.rope(be, kNew, rope.cos, rope.sin, { T, heads: c.nKVHeads, headDim: c.headDim, pos0, neox: c.neoxRope }); r(kNew);
    hook(i, 'k', kNew);
    const p: AttentionParams = { T, nHeads: c.nHeads, nKVHeads: c.nKVHeads, headDim: c.headDim, pos0, window: c.slidingWindow, scale: 1 / Math.sqrt(c.headDim) };
    if (cache) cache.attend(i, q, att, p);
    else if (state.attend) state.attend(i, q, kNew, vNew, att, p);
    else ops.attention(be, q, kNew, vNew, att, p);
    r(att);
    hook(i, 'oIn', att);
    ops.linear(be, att, w.wo, null, o); r(o);
    ops.addInPlace(be, h, o); r(h);
    ops.rmsnorm(be, h, w.ffnNorm, c.normEps, xb); r(xb);
    hook(i, 'mlpIn', xb);
    const gate = s.gate.view([T, c.hiddenDim]), up = s.up.view([T, c.hiddenDim]);
    ops.linear(be, xb, w.wGate, null, gate); r(gate);
    ops.linear(be, xb, w.wUp, null, up); r(up);
    ops.siluMul(be, gate, up, gate); r(gate);
    hook(i, 'downIn', gate);
    ops.linear(be, gate, w.wDown, null, o); r(o);
    ops.addInPlace(be, h, o); r(h);
  }

  /** Views of the linear-layer inputs of the last block() call on T tokens (calibration statistics read these). */
  linearInputs(T: number): LinearInputs {
    const s = this.ensureScratch(T), c = this.config;
    return { attn: s.xa.view([T, c.dim]), o: s.att.view([T, c.nHeads * c.headDim]), mlp: s.xb.view([T, c.dim]), down: s.gate.view([T, c.hiddenDim]) };
  }

  /** Final norm + output projection: logits [T, vocab] in a model-owned buffer, valid until the next head() call. */
  head(h: Tensor): Tensor {
    const c = this.config, T = h.shape[0]!;
    const s = this.ensureScratch(T);
    if (!this.logits || this.logits.shape[0]! < T) {
      if (this.logits) this.backend.free(this.logits);
      this.logits = this.backend.alloc([T, c.vocabSize]);
    }
    const xb = s.xb.view([T, c.dim]);
    ops.rmsnorm(this.backend, h, this.weights.norm, c.normEps, xb);
    this.act(xb);
    const out = this.logits.view([T, c.vocabSize]);
    ops.linear(this.backend, xb, this.weights.lmHead, null, out);
    return this.act(out);
  }

  /**
   * Logits of ids placed at positions [pos0, pos0 + T). With a cache, keys/values are appended to it (its
   * length must equal pos0). lastOnly computes the output projection for the final position only.
   */
  forward(ids: ArrayLike<number>, options: { cache?: AttentionCache; lastOnly?: boolean } = {}): Tensor {
    const { cache } = options;
    const pos0 = cache ? cache.length : 0;
    const h = this.embed(ids);
    try {
      for (let i = 0; i < this.config.nLayers; i++) this.block(i, h, { pos0, cache });
      if (cache) cache.length = pos0 + ids.length;
      return this.head(options.lastOnly ? h.rows(ids.length - 1, 1) : h);
    } finally {
      this.backend.free(h);
    }
  }

  get blockCount(): number {
    return this.config.nLayers;
  }

  get hiddenSize(): number {
    return this.config.dim;
  }

  /** q/k/v share the block's attention input, gate/up the MLP input (statistics groups attn, o, mlp, down). */
  linears(_block: number): LinearInfo[] {
    const c = this.config, qDim = c.nHeads * c.headDim, kvDim = c.nKVHeads * c.headDim;
    const shapes: Record<string, [number, number]> = {
      'self_attn.q_proj': [qDim, c.dim], 'self_attn.k_proj': [kvDim, c.dim], 'self_attn.v_proj': [kvDim, c.dim], 'self_attn.o_proj': [c.dim, qDim],
      'mlp.gate_proj': [c.hiddenDim, c.dim], 'mlp.up_proj': [c.hiddenDim, c.dim], 'mlp.down_proj': [c.dim, c.hiddenDim],
    };
    return LINEARS.map(([name]) => ({ name, group: GROUP_OF[name]!, shape: shapes[name]! }));
  }

  statsGroups(_block: number): StatsGroup[] {
    const c = this.config;
    return [{ name: 'attn', width: c.dim }, { name: 'o', width: c.nHeads * c.headDim }, { name: 'mlp', width: c.dim }, { name: 'down', width: c.hiddenDim }];
  }

  linearWeight(block: number, name: string): LinearWeight {
    return this.weights.layers[block]![linearKey(name)] as LinearWeight;
  }

  checkpointName(block: number, name: string): string {
    return `model.layers.${block}.${name}`;
  }

  setLinearWeight(block: number, name: string, w: LinearWeight): void {
    const layer = this.weights.layers[block]!, key = linearKey(name), old = layer[key] as LinearWeight;
    (layer as unknown as Record<string, LinearWeight>)[key] = w;
    if (old !== w) freeWeight(this.backend, old);
  }

  groupInputs(T: number): Record<string, Tensor> {
    return { ...this.linearInputs(T) };
  }

  namedWeights(): [string, Tensor][] {
    return namedWeights(this.weights);
  }

  private freeScratch(): void {
    if (!this.scratch) return;
    const { cap: _cap, ...tensors } = this.scratch;
    for (const t of Object.values(tensors)) this.backend.free(t);
    this.scratch = null;
  }
}

const GROUP_OF: Record<string, string> = {
  'self_attn.q_proj': 'attn', 'self_attn.k_proj': 'attn', 'self_attn.v_proj': 'attn', 'self_attn.o_proj': 'o', 'mlp.gate_proj': 'mlp', 'mlp.up_proj': 'mlp', 'mlp.down_proj': 'down',
};

function linearKey(name: string): (typeof LINEARS)[number][1] {
  const k = LINEARS.find(([n]) => n === name)?.[1];
  if (!k) throw new Error(`no linear ${name} in a LLaMA block`);
  return k;
}

function freeWeight(be: Backend, w: LinearWeight): void {
  const kind = (w as { kind?: string }).kind;
  if (kind === 'packed') for (const t of [(w as PackedWeight).codes, (w as PackedWeight).scales, (w as PackedWeight).zeros]) be.free(t);
  else if (kind === 'sparse') for (const t of sparseTensorList(w as SparseTensors)) be.free(t);
  else be.free(w as Tensor);
}
