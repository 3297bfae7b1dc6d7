/** Uploads a TensorMap (Hugging Face names) to a backend as float32 LLaMA weights, checking names and shapes. */
import type { Backend } from '../../backend/backend.js';
import * as ops from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FormatError } from '../../util/errors.js';
import { firstNonFinite, type RawTensor, type TensorMap } from '../../io/raw-tensor.js';
import { checkPacked, uploadPacked } from '../packed-storage.js';
import { isSparseFormat, readSparseLinear, uploadSparse, type LinearStorageFormat } from '../sparse-storage.js';
import type { DecoderConfig } from '../config.js';
import { LINEARS, type DecoderWeights, type LayerWeights, type LinearWeight } from '../decoder.js';

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
function llamaTensorSpecs(c: DecoderConfig): TensorSpec[] {
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
export function checkLlamaTensors(c: DecoderConfig, tensors: TensorMap, file: string, packed: LinearStorageFormat | null = null): number {
  let params = 0;
  for (const spec of llamaTensorSpecs(c)) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.linear && packed) {
      const base = spec.name.slice(0, -'.weight'.length);
      if (isSparseFormat(packed)) readSparseLinear(tensors, base, spec.shape[0]!, spec.shape[1]!, packed, file);
      else checkPacked(tensors, base, spec.shape[0]!, spec.shape[1]!, packed, file);
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

export function uploadDecoderWeights(backend: Backend, c: DecoderConfig, tensors: TensorMap, file: string, packed: LinearStorageFormat | null = null): DecoderWeights {
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
      !packed ? need(`${p}${module}.weight`)
        : isSparseFormat(packed) ? uploadSparse(backend, readSparseLinear(tensors, `${p}${module}`, shape[0], shape[1], packed, file), `${file}: ${p}${module}`)
          : uploadPacked(backend, tensors, `${p}${module}`, shape[0], shape[1], packed, file);
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

