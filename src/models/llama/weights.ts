/** Uploads a TensorMap (Hugging Face names) to a backend as float32 LLaMA weights, checking names and shapes. */
import type { Backend, PackedWeight } from '../../backend/backend.js';
import * as ops from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FormatError, InputError } from '../../util/errors.js';
import { firstNonFinite, type RawTensor, type TensorMap } from '../../io/raw-tensor.js';
import { checkPacked, PackedFormat, uploadPacked } from '../../quant/packed-checkpoint.js';
import type { LlamaConfig } from './config.js';

/** The linear layers of a block in Hugging Face module order (the order reference hashes use). */
export const LINEARS: [string, keyof LayerWeights][] = [['self_attn.q_proj', 'wq'], ['self_attn.k_proj', 'wk'], ['self_attn.v_proj', 'wv'],
  ['self_attn.o_proj', 'wo'], ['mlp.gate_proj', 'wGate'], ['mlp.up_proj', 'wUp'], ['mlp.down_proj', 'wDown']];

/** A linear's weights: float32 [out, in], or packed integer codes (a checkpoint written with packed storage). */
export type LinearWeight = Tensor | PackedWeight;

/** The float tensor of a linear; packed weights are for inference only (a clear error for anything else). */
export function floatWeight(w: LinearWeight): Tensor {
  if ((w as PackedWeight).kind === 'packed') {
    throw new InputError('this needs float linear weights, but the model holds packed integer weights (load the source model, or a checkpoint written with --storage dequantized)');
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

export interface LlamaWeights {
  embed: Tensor;
  layers: LayerWeights[];
  norm: Tensor;
  /** the output projection; the same tensor as embed when embeddings are tied */
  lmHead: Tensor;
}

export function uploadTensor(backend: Backend, raw: RawTensor): Tensor {
  if (raw.dtype === 'u8') throw new Error('uploadTensor: u8 data are packed codes, not float weights');
  const out = backend.alloc(raw.shape, 'f32');
  if (raw.dtype === 'f32') {
    backend.write(out, raw.data);
  } else {
    const tmp = backend.alloc(raw.shape, raw.dtype);
    backend.write(tmp, raw.data);
    ops.toF32(backend, tmp, out);
    backend.free(tmp);
  }
  return out;
}

interface TensorSpec {
  name: string;
  shape: number[];
  /** may be absent (biases of a model without qkv bias) */
  optional?: boolean;
  /** a linear's weight: stored packed (base = name without ".weight") in a packed checkpoint */
  linear?: boolean;
}

/** Every tensor a config needs, by Hugging Face name, with its shape (embeddings once when tied). */
function llamaTensorSpecs(c: LlamaConfig): TensorSpec[] {
  const qDim = c.nHeads * c.headDim, kvDim = c.nKVHeads * c.headDim;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, c.dim] }];
  const shapes: Record<string, [number, number]> = {
    'self_attn.q_proj': [qDim, c.dim], 'self_attn.k_proj': [kvDim, c.dim], 'self_attn.v_proj': [kvDim, c.dim], 'self_attn.o_proj': [c.dim, qDim],
    'mlp.gate_proj': [c.hiddenDim, c.dim], 'mlp.up_proj': [c.hiddenDim, c.dim], 'mlp.down_proj': [c.dim, c.hiddenDim],
  };
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    specs.push({ name: `${p}input_layernorm.weight`, shape: [c.dim] }, { name: `${p}post_attention_layernorm.weight`, shape: [c.dim] });
    for (const [module] of LINEARS) specs.push({ name: `${p}${module}.weight`, shape: shapes[module]!, linear: true });
    for (const [m, n] of [['q', qDim], ['k', kvDim], ['v', kvDim]] as const) specs.push({ name: `${p}self_attn.${m}_proj.bias`, shape: [n], optional: !c.qkvBias });
  }
  specs.push({ name: 'model.norm.weight', shape: [c.dim] });
  if (!c.tiedEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, c.dim] });
  return specs;
}

/**
 * Checks every tensor the config needs before anything is uploaded: present, shaped as the config says, a float
 * type (or the packed triple), and finite (NaN or infinite weights would only show up later as NaN losses or
 * <unk> tokens). Returns the parameter count, packed linears counted by their logical rows x cols.
 */
export function checkLlamaTensors(c: LlamaConfig, tensors: TensorMap, file: string, packed: PackedFormat | null = null): number {
  let params = 0;
  for (const spec of llamaTensorSpecs(c)) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.linear && packed) {
      checkPacked(tensors, spec.name.slice(0, -'.weight'.length), spec.shape[0]!, spec.shape[1]!, packed, file);
      params += count;
      continue;
    }
    const raw = tensors.get(spec.name);
    if (!raw) {
      if (spec.optional) continue;
      throw new FormatError(file, `tensor ${spec.name} is missing`);
    }
    if (raw.shape.length !== spec.shape.length || raw.shape.some((d, i) => d !== spec.shape[i])) {
      throw new FormatError(file, `tensor ${spec.name} has shape [${raw.shape}], expected [${spec.shape}] from the config`);
    }
    if (raw.dtype === 'u8') throw new FormatError(file, `tensor ${spec.name} is U8, expected F32, F16 or BF16`);
    const bad = firstNonFinite(raw);
    if (bad >= 0) throw new FormatError(file, `tensor ${spec.name}: element ${bad} is NaN or infinite`);
    params += count;
  }
  return params;
}

export function uploadLlamaWeights(backend: Backend, c: LlamaConfig, tensors: TensorMap, file: string, packed: PackedFormat | null = null): LlamaWeights {
  checkLlamaTensors(c, tensors, file, packed);
  const get = (name: string): Tensor | null => {
    const raw = tensors.get(name);
    return raw ? uploadTensor(backend, raw) : null;
  };
  const need = (name: string) => get(name)!;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    const lin = (module: string, shape: [number, number]): LinearWeight =>
      packed ? uploadPacked(backend, tensors, `${p}${module}`, shape[0], shape[1], packed, file) : need(`${p}${module}.weight`);
    const qDim = c.nHeads * c.headDim, kvDim = c.nKVHeads * c.headDim;
    layers.push({
      attnNorm: need(`${p}input_layernorm.weight`),
      wq: lin('self_attn.q_proj', [qDim, c.dim]),
      wk: lin('self_attn.k_proj', [kvDim, c.dim]),
      wv: lin('self_attn.v_proj', [kvDim, c.dim]),
      wo: lin('self_attn.o_proj', [c.dim, qDim]),
      bq: get(`${p}self_attn.q_proj.bias`),
      bk: get(`${p}self_attn.k_proj.bias`),
      bv: get(`${p}self_attn.v_proj.bias`),
      ffnNorm: need(`${p}post_attention_layernorm.weight`),
      wGate: lin('mlp.gate_proj', [c.hiddenDim, c.dim]),
      wUp: lin('mlp.up_proj', [c.hiddenDim, c.dim]),
      wDown: lin('mlp.down_proj', [c.dim, c.hiddenDim]),
    });
  }
  const embed = need('model.embed_tokens.weight');
  const lmHead = c.tiedEmbeddings ? embed : need('lm_head.weight');
  return { embed, layers, norm: need('model.norm.weight'), lmHead };
}

/** Every weight tensor under its Hugging Face name (embeddings once when tied). */
export function namedWeights(w: LlamaWeights): [string, Tensor][] {
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
