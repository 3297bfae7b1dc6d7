/** Uploads a TensorMap (Hugging Face names) to a backend as float32 LLaMA weights, checking names and shapes. */
import type { Backend, PackedWeight } from '../../backend/backend.js';
import * as ops from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FormatError, InputError } from '../../util/errors.js';
import type { RawTensor, TensorMap } from '../../io/raw-tensor.js';
import { PackedFormat, uploadPacked } from '../../quant/packed-checkpoint.js';
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

export function uploadLlamaWeights(backend: Backend, c: LlamaConfig, tensors: TensorMap, file: string, packed: PackedFormat | null = null): LlamaWeights {
  const get = (name: string, shape: number[], optional = false): Tensor | null => {
    const raw = tensors.get(name);
    if (!raw) {
      if (optional) return null;
      throw new FormatError(file, `tensor ${name} is missing`);
    }
    if (raw.shape.length !== shape.length || raw.shape.some((d, i) => d !== shape[i])) {
      throw new FormatError(file, `tensor ${name} has shape [${raw.shape}], expected [${shape}] from the config`);
    }
    if (raw.dtype === 'u8') throw new FormatError(file, `tensor ${name} is U8, expected F32, F16 or BF16`);
    return uploadTensor(backend, raw);
  };
  const need = (name: string, shape: number[]) => get(name, shape)!;
  const qDim = c.nHeads * c.headDim, kvDim = c.nKVHeads * c.headDim;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    const lin = (module: string, shape: [number, number]): LinearWeight =>
      packed ? uploadPacked(backend, tensors, `${p}${module}`, shape[0], shape[1], packed, file) : need(`${p}${module}.weight`, shape);
    layers.push({
      attnNorm: need(`${p}input_layernorm.weight`, [c.dim]),
      wq: lin('self_attn.q_proj', [qDim, c.dim]),
      wk: lin('self_attn.k_proj', [kvDim, c.dim]),
      wv: lin('self_attn.v_proj', [kvDim, c.dim]),
      wo: lin('self_attn.o_proj', [c.dim, qDim]),
      bq: get(`${p}self_attn.q_proj.bias`, [qDim], !c.qkvBias),
      bk: get(`${p}self_attn.k_proj.bias`, [kvDim], !c.qkvBias),
      bv: get(`${p}self_attn.v_proj.bias`, [kvDim], !c.qkvBias),
      ffnNorm: need(`${p}post_attention_layernorm.weight`, [c.dim]),
      wGate: lin('mlp.gate_proj', [c.hiddenDim, c.dim]),
      wUp: lin('mlp.up_proj', [c.hiddenDim, c.dim]),
      wDown: lin('mlp.down_proj', [c.dim, c.hiddenDim]),
    });
  }
  const embed = need('model.embed_tokens.weight', [c.vocabSize, c.dim]);
  const lmHead = c.tiedEmbeddings ? embed : need('lm_head.weight', [c.vocabSize, c.dim]);
  return { embed, layers, norm: need('model.norm.weight', [c.dim]), lmHead };
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
