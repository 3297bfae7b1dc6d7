/** Uploads a TensorMap (Hugging Face names) to a backend as float32 LLaMA weights, checking names and shapes. */
import type { Backend, PackedWeight } from '../../backend/backend.js';
import * as ops from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FormatError, InputError } from '../../util/errors.js';
import type { RawTensor, TensorMap } from '../../io/raw-tensor.js';
import { PackedFormat, uploadPacked } from '../packed-storage.js';
import type { DecoderConfig } from '../config.js';
import type { DecoderWeights, LayerWeights, LinearWeight } from '../decoder.js';

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

export function uploadDecoderWeights(backend: Backend, c: DecoderConfig, tensors: TensorMap, file: string, packed: PackedFormat | null = null): DecoderWeights {
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

