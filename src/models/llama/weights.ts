/** Uploads a TensorMap (Hugging Face names) to a backend as float32 LLaMA weights, checking names and shapes. */
import type { Backend } from '../../backend/backend.js';
import * as ops from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FormatError } from '../../util/errors.js';
import type { RawTensor, TensorMap } from '../../io/raw-tensor.js';
import type { LlamaConfig } from './config.js';

/** The linear layers of a block in Hugging Face module order (the order reference hashes use). */
export const LINEARS: [string, keyof LayerWeights][] = [['self_attn.q_proj', 'wq'], ['self_attn.k_proj', 'wk'], ['self_attn.v_proj', 'wv'],
  ['self_attn.o_proj', 'wo'], ['mlp.gate_proj', 'wGate'], ['mlp.up_proj', 'wUp'], ['mlp.down_proj', 'wDown']];

export interface LayerWeights {
  attnNorm: Tensor;
  wq: Tensor; wk: Tensor; wv: Tensor; wo: Tensor;
  bq: Tensor | null; bk: Tensor | null; bv: Tensor | null;
  ffnNorm: Tensor;
  wGate: Tensor; wUp: Tensor; wDown: Tensor;
}

export interface LlamaWeights {
  embed: Tensor;
  layers: LayerWeights[];
  norm: Tensor;
  /** the output projection; the same tensor as embed when embeddings are tied */
  lmHead: Tensor;
}

export function uploadTensor(backend: Backend, raw: RawTensor): Tensor {
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

export function uploadLlamaWeights(backend: Backend, c: LlamaConfig, tensors: TensorMap, file: string): LlamaWeights {
  const get = (name: string, shape: number[], optional = false): Tensor | null => {
    const raw = tensors.get(name);
    if (!raw) {
      if (optional) return null;
      throw new FormatError(file, `tensor ${name} is missing`);
    }
    if (raw.shape.length !== shape.length || raw.shape.some((d, i) => d !== shape[i])) {
      throw new FormatError(file, `tensor ${name} has shape [${raw.shape}], expected [${shape}] from the config`);
    }
    return uploadTensor(backend, raw);
  };
  const need = (name: string, shape: number[]) => get(name, shape)!;
  const qDim = c.nHeads * c.headDim, kvDim = c.nKVHeads * c.headDim;
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `model.layers.${i}.`;
    layers.push({
      attnNorm: need(`${p}input_layernorm.weight`, [c.dim]),
      wq: need(`${p}self_attn.q_proj.weight`, [qDim, c.dim]),
      wk: need(`${p}self_attn.k_proj.weight`, [kvDim, c.dim]),
      wv: need(`${p}self_attn.v_proj.weight`, [kvDim, c.dim]),
      wo: need(`${p}self_attn.o_proj.weight`, [c.dim, qDim]),
      bq: get(`${p}self_attn.q_proj.bias`, [qDim], !c.qkvBias),
      bk: get(`${p}self_attn.k_proj.bias`, [kvDim], !c.qkvBias),
      bv: get(`${p}self_attn.v_proj.bias`, [kvDim], !c.qkvBias),
      ffnNorm: need(`${p}post_attention_layernorm.weight`, [c.dim]),
      wGate: need(`${p}mlp.gate_proj.weight`, [c.hiddenDim, c.dim]),
      wUp: need(`${p}mlp.up_proj.weight`, [c.hiddenDim, c.dim]),
      wDown: need(`${p}mlp.down_proj.weight`, [c.dim, c.hiddenDim]),
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
    out.push([`${p}input_layernorm.weight`, l.attnNorm], [`${p}self_attn.q_proj.weight`, l.wq], [`${p}self_attn.k_proj.weight`, l.wk],
      [`${p}self_attn.v_proj.weight`, l.wv], [`${p}self_attn.o_proj.weight`, l.wo]);
    if (l.bq) out.push([`${p}self_attn.q_proj.bias`, l.bq]);
    if (l.bk) out.push([`${p}self_attn.k_proj.bias`, l.bk]);
    if (l.bv) out.push([`${p}self_attn.v_proj.bias`, l.bv]);
    out.push([`${p}post_attention_layernorm.weight`, l.ffnNorm], [`${p}mlp.gate_proj.weight`, l.wGate], [`${p}mlp.up_proj.weight`, l.wUp], [`${p}mlp.down_proj.weight`, l.wDown]);
  });
  out.push(['model.norm.weight', w.norm]);
  if (w.lmHead !== w.embed) out.push(['lm_head.weight', w.lmHead]);
  return out;
}
