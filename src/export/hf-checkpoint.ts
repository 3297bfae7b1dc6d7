/**
 * Writes a model as a Hugging Face folder that `lithe` and transformers load: config.json, model.safetensors
 * (in the source's storage type), the tokenizer, and lithe.json describing what was done. Checkpoints whose
 * RoPE pairs adjacent dimensions (llama2.c, GGUF llama) get their q/k rows permuted to the rotate-half layout
 * Hugging Face uses (the inverse of convert_hf_to_gguf's permutation), so attention scores are unchanged.
 * The folder is assembled in a SafeOutput's temporary folder and renamed onto the target at the end (absent or
 * empty): no partial output, and nothing of the user's is ever deleted.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { f32ToBf16Bits, f32ToF16Bits } from '../tensor/dtype.js';
import type { FileDType, RawTensor, TensorMap } from '../io/raw-tensor.js';
import { encodeSafetensors } from '../io/safetensors.js';
import { readJson } from '../io/files.js';
import type { PackedLinear } from '../quant/pack.js';
import { packedTensors } from '../models/packed-storage.js';
import { Llama2cTokenizer } from '../io/tokenizer-llama2c.js';
import { DecoderModel, namedWeights } from '../models/index.js';
import { SafeOutput } from '../io/safe-write.js';
import { packSparse, sparseCheckpointTensors, type SparseFormat } from '../models/sparse-storage.js';

/** The files of a Hugging Face folder besides its tensors that a rewritten checkpoint carries over. */
export const HF_SIDE_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.bin'];

function encode(values: Float32Array, dtype: FileDType): Uint8Array {
  if (dtype === 'f32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bits = Uint16Array.from(values, dtype === 'bf16' ? f32ToBf16Bits : f32ToF16Bits);
  return new Uint8Array(bits.buffer);
}

/** Rows of each head reordered from adjacent pairs (2i, 2i+1) to halves (i, i + d/2). */
function toRotateHalf<T extends Float32Array | Uint8Array>(w: T, heads: number, headDim: number, cols: number): T {
  const out = w.slice() as T;
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const base = h * headDim;
      out.set(w.subarray((base + 2 * i) * cols, (base + 2 * i + 1) * cols), (base + i) * cols);
      out.set(w.subarray((base + 2 * i + 1) * cols, (base + 2 * i + 2) * cols), (base + half + i) * cols);
    }
  }
  return out;
}

export function llama2cTokenizerBytes(t: Llama2cTokenizer): Uint8Array {
  const pieces = t.pieces.map((p) => Buffer.from(p, 'latin1'));
  const maxLen = Math.max(...pieces.map((p) => p.length));
  const out = Buffer.alloc(4 + pieces.reduce((a, p) => a + 8 + p.length, 0));
  out.writeUInt32LE(maxLen, 0);
  let o = 4;
  pieces.forEach((p, i) => {
    out.writeFloatLE(t.scores[i]!, o);
    out.writeUInt32LE(p.length, o + 4);
    p.copy(out, o + 8);
    o += 8 + p.length;
  });
  return out;
}

/**
 * `out`: a folder output prepared before the work (SafeOutput.folder), or a folder name (prepared here).
 * `dtype`: store every float tensor in this type (default: each tensor's type in the source). `packed`: linears
 * (by module name, without ".weight") stored as integer codes (models/packed-storage.ts) instead of floats.
 * `sparse`: every linear stored sparse in that format (models/sparse-storage.ts; the caller's lithe.json says so).
 */
export async function writeHfCheckpoint(model: DecoderModel, sourceTensors: TensorMap, out: SafeOutput | string, lithe: Record<string, unknown>, dtype?: FileDType,
  packed?: Map<string, PackedLinear>, sparse?: SparseFormat): Promise<void> {
  const dir = typeof out === 'string' ? SafeOutput.folder(out, { inputs: [model.source.path] }) : out;
  const c = model.config;
  const linearNames = new Set(Array.from({ length: model.blockCount }, (_, i) => model.linears(i).map((l) => `${model.checkpointName(i, l.name)}.weight`)).flat());
  const tmp = dir.tmp;
  try {
    const tensors: TensorMap = new Map();
    for (const [name, t] of namedWeights(model.weights)) {
      const p = packed?.get(name.replace(/\.weight$/, ''));
      if (p) {
        const heads = /self_attn\.(q|k)_proj\.weight$/.test(name) && !c.neoxRope ? (name.includes('q_proj') ? c.nHeads : c.nKVHeads) : 0;
        const rows = (a: Uint8Array, width: number) => (heads ? toRotateHalf(a, heads, c.headDim, width) : a);
        const ng = p.cols / p.group;
        const bytes = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
        const laid = { ...p, codes: rows(p.codes, (p.cols * p.bits) / 8), scales: new Float32Array(rows(bytes(p.scales), 4 * ng).buffer), zeros: new Float32Array(rows(bytes(p.zeros), 4 * ng).buffer) };
        for (const [n, raw] of packedTensors(name.replace(/\.weight$/, ''), laid)) tensors.set(n, raw);
        continue;
      }
      let values = await model.backend.read(t);
      if (!c.neoxRope && /self_attn\.(q|k)_proj\.weight$/.test(name)) {
        values = toRotateHalf(values, name.includes('q_proj') ? c.nHeads : c.nKVHeads, c.headDim, c.dim);
      }
      if (sparse && linearNames.has(name)) {
        const [rows, cols] = t.shape as [number, number];
        for (const [n, raw] of sparseCheckpointTensors(name.replace(/\.weight$/, ''), packSparse(values, rows, cols, sparse))) tensors.set(n, raw);
        continue;
      }
      const src = sourceTensors.get(name)?.dtype;
      const type = dtype ?? (src && src !== 'u8' ? src : 'f32');
      tensors.set(name, { dtype: type, shape: [...t.shape], data: encode(values, type) } as RawTensor);
    }
    dir.put('model.safetensors', encodeSafetensors(tensors, { format: 'pt' }));
    const src = model.source.path;
    if (model.source.format === 'huggingface') {
      for (const f of HF_SIDE_FILES) {
        if (existsSync(path.join(src, f))) dir.copyIn(path.join(src, f), f);
      }
      const cfg = readJson(path.join(tmp, 'config.json')) as Record<string, unknown>;
      if (cfg['tie_word_embeddings'] !== c.tiedEmbeddings) {
        // untied by a rotation: the written lm_head must be read
        dir.put('config.json', JSON.stringify({ ...cfg, tie_word_embeddings: c.tiedEmbeddings }, null, 2));
      }
    } else {
      const config = {
        architectures: [c.arch === 'qwen2' ? 'Qwen2ForCausalLM' : c.arch === 'mistral' ? 'MistralForCausalLM' : 'LlamaForCausalLM'],
        model_type: c.arch, hidden_size: c.dim, intermediate_size: c.hiddenDim, num_hidden_layers: c.nLayers, num_attention_heads: c.nHeads,
        num_key_value_heads: c.nKVHeads, head_dim: c.headDim, vocab_size: c.vocabSize, max_position_embeddings: c.maxSeqLen, rms_norm_eps: c.normEps,
        rope_theta: c.ropeTheta, tie_word_embeddings: c.tiedEmbeddings, hidden_act: 'silu', attention_bias: c.qkvBias,
        bos_token_id: c.bosId, eos_token_id: c.eosIds.length === 1 ? c.eosIds[0] : c.eosIds, torch_dtype: 'float32',
        ...(c.slidingWindow ? { sliding_window: c.slidingWindow } : {}),
      };
      dir.put('config.json', JSON.stringify(config, null, 2));
      if (model.tokenizer instanceof Llama2cTokenizer) dir.put('tokenizer.bin', llama2cTokenizerBytes(model.tokenizer));
    }
    dir.put('lithe.json', JSON.stringify(lithe, null, 2));
    dir.commit();
  } catch (e) {
    dir.discard();
    throw e;
  }
}

/**
 * The library's save: a model as a Hugging Face folder that Lithe and transformers load (float tensors in `dtype`,
 * default f32; the linears of `packed`, by checkpoint name, as integer codes), refusing an existing non-empty folder.
 */
export async function saveModel(model: DecoderModel, outDir: string, o: { lithe?: Record<string, unknown>; dtype?: FileDType; packed?: Map<string, PackedLinear> } = {}): Promise<void> {
  await writeHfCheckpoint(model, new Map(), outDir, o.lithe ?? { lithe_version: 1 }, o.dtype ?? 'f32', o.packed);
}
