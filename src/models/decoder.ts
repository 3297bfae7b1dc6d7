/**
 * The decoder-only transformer as methods see it (LLaMA, Qwen2, Mistral today; any family with pre-norm blocks of
 * attention and a gated MLP): its configuration (config.ts), weights, activation points, caches and the
 * `DecoderModel` interface a family implements (models/llama is one). Rotations, KV-cache quantization and
 * perplexity work on this interface; calibration and pruning need only the generic `Model` (model.ts).
 */
import type { Tensor } from '../tensor/tensor.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { AttentionParams } from '../kernels/attention/index.js';
import { InputError } from '../util/errors.js';
import type { AttentionCache, KVCache } from './cache.js';
import type { DecoderConfig } from './config.js';
import type { LinearWeight, Model } from './model.js';

export type { LinearWeight } from './model.js';

/** Where a block's activations may be rewritten in place (online rotations, activation/KV fake quantization). */
export type ActivationPoint =
  /** input of q/k/v_proj (after the norm) */ 'attnIn'
  /** queries / keys after RoPE */ | 'q' | 'k'
  /** values at the v_proj output (before the cache) */ | 'v'
  /** input of o_proj */ | 'oIn'
  /** input of gate/up_proj */ | 'mlpIn'
  /** input of down_proj */ | 'downIn';
export type ActivationHook = (layer: number, point: ActivationPoint, x: Tensor) => void;

export interface BlockState {
  /** absolute position of the first token of h */
  pos0: number;
  /** with a cache, keys/values go to (and attention reads from) it; without, a scratch cache holds this call's tokens */
  cache?: AttentionCache;
  /** without a cache: replaces the attention call (KV-cache quantization evaluates through this) */
  attend?: (layer: number, q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: AttentionParams) => void;
}


/** The inputs of a block's linear layers from its last run (valid until the next model call). */
export interface LinearInputs {
  /** input of q_proj, k_proj, v_proj [T, dim] */
  attn: Tensor;
  /** input of o_proj [T, heads * headDim] */
  o: Tensor;
  /** input of gate_proj, up_proj [T, dim] */
  mlp: Tensor;
  /** input of down_proj [T, hidden] */
  down: Tensor;
}

export interface ModelSource {
  /** the path the model was loaded from */
  path: string;
  format: 'huggingface' | 'gguf' | 'llama2c';
  /** a rotated checkpoint's online transforms (lithe.json "online"): R4 = Hadamard on the down_proj input */
  online?: { r4: boolean } | null;
}

/** The linear layers of a block in Hugging Face module order (the order reference hashes use). */
export const LINEARS: [string, keyof LayerWeights][] = [['self_attn.q_proj', 'wq'], ['self_attn.k_proj', 'wk'], ['self_attn.v_proj', 'wv'],
  ['self_attn.o_proj', 'wo'], ['mlp.gate_proj', 'wGate'], ['mlp.up_proj', 'wUp'], ['mlp.down_proj', 'wDown']];


/** The float tensor of a linear; packed weights are for inference only (a clear error for anything else). */
export function floatWeight(w: LinearWeight): Tensor {
  const kind = (w as { kind?: string }).kind;
  if (kind === 'packed' || kind === 'sparse') {
    throw new InputError(`this needs float linear weights, but the model holds ${kind} weights (load the source model, or a checkpoint written with dense float storage)`);
  }
  return w as Tensor;
}

export interface LayerWeights {
  attnNorm: Tensor;
  wq: LinearWeight; wk: LinearWeight; wv: LinearWeight; wo: LinearWeight;
  bq: Tensor | null; bk: Tensor | null; bv: Tensor | null;
  ffnNorm: Tensor;
  wGate: LinearWeight; wUp: LinearWeight; wDown: LinearWeight;
}

export interface DecoderWeights {
  embed: Tensor;
  layers: LayerWeights[];
  norm: Tensor;
  /** the output projection; the same tensor as embed when embeddings are tied */
  lmHead: Tensor;
}

/** Every weight tensor under its Hugging Face name (embeddings once when tied). */
export function namedWeights(w: DecoderWeights): [string, Tensor][] {
  const out: [string, Tensor][] = [['model.embed_tokens.weight', w.embed]];
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    out.push([`${p}input_layernorm.weight`, l.attnNorm], [`${p}self_attn.q_proj.weight`, floatWeight(l.wq)], [`${p}self_attn.k_proj.weight`, floatWeight(l.wk)],
      [`${p}self_attn.v_proj.weight`, floatWeight(l.wv)], [`${p}self_attn.o_proj.weight`, floatWeight(l.wo)]);
    if (l.bq) out.push([`${p}self_attn.q_proj.bias`, l.bq]);
    if (l.bk) out.push([`${p}self_attn.k_proj.bias`, l.bk]);
    if (l.bv) out.push([`${p}self_attn.v_proj.bias`, l.bv]);
    out.push([`${p}post_attention_layernorm.weight`, l.ffnNorm], [`${p}mlp.gate_proj.weight`, floatWeight(l.wGate)], [`${p}mlp.up_proj.weight`, floatWeight(l.wUp)], [`${p}mlp.down_proj.weight`, floatWeight(l.wDown)]);
  });
  out.push(['model.norm.weight', w.norm]);
  if (w.lmHead !== w.embed) out.push(['lm_head.weight', w.lmHead]);
  return out;
}

/** A decoder-only language model: the generic Model plus what decoder methods (rotations, KV caches) use. */
export interface DecoderModel extends Model {
  readonly config: DecoderConfig;
  readonly weights: DecoderWeights;
  readonly tokenizer: TextTokenizer | null;
  readonly source: ModelSource;
  /** the type activations are rounded to after every op ('f32': no rounding) */
  activationDType: 'f32' | 'f16' | 'bf16';
  /** rewrites activations at the points of ActivationPoint */
  activationHook: ActivationHook | null;
  readonly parameterCount: number;
  newCache(capacity?: number): KVCache;
  embed(ids: ArrayLike<number>): Tensor;
  block(i: number, h: Tensor, state: BlockState): void;
  head(h: Tensor): Tensor;
  forward(ids: ArrayLike<number>, options?: { cache?: AttentionCache; lastOnly?: boolean }): Tensor;
  /** views of the linear inputs of the last block() call on T tokens */
  linearInputs(T: number): LinearInputs;
}

/** The model's tokenizer, or an InputError saying how to give one. */
export function requireTokenizer(model: DecoderModel): TextTokenizer {
  if (!model.tokenizer) throw new InputError(`${model.source.path}: no tokenizer found; pass --tokenizer FILE`);
  return model.tokenizer;
}
