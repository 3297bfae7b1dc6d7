/**
 * GGUF models (llama.cpp) through @huggingface/gguf (header, metadata, tensor infos; it bounds every count and
 * string length). Supported: architectures llama / qwen2 / mistral with F32, F16 or BF16 tensors; tokenizer
 * models "llama" (SentencePiece scores, encoded like llama2.c) and "gpt2" (byte-level BPE, rebuilt as a
 * tokenizer.json for @huggingface/tokenizers, with the pre-tokenizer `tokenizer.ggml.pre` names). GGUF llama weights use adjacent-pair RoPE (convert_hf_to_gguf
 * permutes q/k); qwen2 keeps rotate-half.
 */
import { gguf, GGMLQuantizationType } from '@huggingface/gguf';
import { statSync } from 'node:fs';
import { FormatError } from '../../util/errors.js';
import { DecoderArch, DecoderConfig, validateConfig } from '../config.js';
import { readFileOrThrow } from '../../io/files.js';
import { FILE_DTYPE_BYTES, FileDType, TensorMap } from '../../io/raw-tensor.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import { Llama2cTokenizer } from '../../io/tokenizer-llama2c.js';
import { HfTokenizer } from '../../io/tokenizer-hf.js';

const DTYPES = new Map<number, FileDType>([[GGMLQuantizationType.F32, 'f32'], [GGMLQuantizationType.F16, 'f16'], [GGMLQuantizationType.BF16, 'bf16']]);

const NAMES: [RegExp, string][] = [
  [/^token_embd\.weight$/, 'model.embed_tokens.weight'],
  [/^output_norm\.weight$/, 'model.norm.weight'],
  [/^output\.weight$/, 'lm_head.weight'],
  [/^blk\.(\d+)\.attn_norm\.weight$/, 'model.layers.$1.input_layernorm.weight'],
  [/^blk\.(\d+)\.ffn_norm\.weight$/, 'model.layers.$1.post_attention_layernorm.weight'],
  [/^blk\.(\d+)\.attn_(q|k|v)\.(weight|bias)$/, 'model.layers.$1.self_attn.$2_proj.$3'],
  [/^blk\.(\d+)\.attn_output\.weight$/, 'model.layers.$1.self_attn.o_proj.weight'],
  [/^blk\.(\d+)\.ffn_gate\.weight$/, 'model.layers.$1.mlp.gate_proj.weight'],
  [/^blk\.(\d+)\.ffn_up\.weight$/, 'model.layers.$1.mlp.up_proj.weight'],
  [/^blk\.(\d+)\.ffn_down\.weight$/, 'model.layers.$1.mlp.down_proj.weight'],
];

export interface GgufModel {
  config: DecoderConfig;
  tensors: TensorMap;
  tokenizer: TextTokenizer | null;
  metadata: Record<string, unknown>;
}

export async function readGguf(file: string): Promise<GgufModel> {
  const size = (() => {
    try {
      return statSync(file).size;
    } catch {
      return readFileOrThrow(file).byteLength; // raises the typed not-found error
    }
  })();
  let parsed: Awaited<ReturnType<typeof gguf>>;
  try {
    parsed = await gguf(file, { allowLocalFile: true });
  } catch (e) {
    throw new FormatError(file, `not a readable GGUF file (${(e as Error).message})`);
  }
  const md = parsed.metadata as unknown as Record<string, unknown>;
  const arch = md['general.architecture'];
  if (arch !== 'llama' && arch !== 'qwen2' && arch !== 'mistral') throw new FormatError(file, `general.architecture ${JSON.stringify(arch)} is not supported (supported: llama, qwen2, mistral)`);
  const key = (k: string) => `${arch}.${k}`;
  const num = (k: string, fallback?: number): number => {
    const v = md[key(k)];
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n === 'number' && Number.isFinite(n)) return n;
    if (fallback !== undefined) return fallback;
    throw new FormatError(file, `metadata ${key(k)} is missing or not a number`);
  };
  const buf = readFileOrThrow(file);
  if (buf.byteLength !== size) throw new FormatError(file, 'file changed while reading');
  const dataStart = Number(parsed.tensorDataOffset);
  const tensors: TensorMap = new Map();
  for (const info of parsed.tensorInfos) {
    const dtype = DTYPES.get(info.dtype);
    if (!dtype) throw new FormatError(file, `tensor ${info.name}: type ${GGMLQuantizationType[info.dtype] ?? info.dtype} is not supported (supported: F32, F16, BF16)`);
    const shape = info.shape.map(Number).reverse();
    const bytes = shape.reduce((a, b) => a * b, 1) * FILE_DTYPE_BYTES[dtype];
    const begin = dataStart + Number(info.offset);
    if (!Number.isSafeInteger(bytes) || begin + bytes > buf.byteLength) throw new FormatError(file, `tensor ${info.name}: data runs past the end of the file: truncated`);
    const mapped = NAMES.find(([re]) => re.test(info.name));
    if (!mapped) continue;
    tensors.set(info.name.replace(mapped[0], mapped[1]), { dtype, shape, data: buf.subarray(begin, begin + bytes) });
  }
  const emb = tensors.get('model.embed_tokens.weight');
  if (!emb) throw new FormatError(file, 'tensor token_embd.weight is missing');
  const dim = num('embedding_length');
  const nHeads = num('attention.head_count');
  const tokens = md['tokenizer.ggml.tokens'];
  const eos = md['tokenizer.ggml.eos_token_id'];
  const bos = md['tokenizer.ggml.bos_token_id'];
  const config: DecoderConfig = {
    arch: arch as DecoderArch,
    dim,
    hiddenDim: num('feed_forward_length'),
    nLayers: num('block_count'),
    nHeads,
    nKVHeads: num('attention.head_count_kv', nHeads),
    headDim: num('attention.key_length', dim / nHeads),
    vocabSize: emb.shape[0]!,
    maxSeqLen: num('context_length', 2048),
    normEps: num('attention.layer_norm_rms_epsilon', 1e-5),
    ropeTheta: num('rope.freq_base', 10000),
    ropeScaling: null,
    neoxRope: arch === 'qwen2',
    qkvBias: tensors.has('model.layers.0.self_attn.q_proj.bias'),
    tiedEmbeddings: !tensors.has('lm_head.weight'),
    slidingWindow: arch === 'mistral' ? num('attention.sliding_window', 0) : 0,
    bosId: typeof bos === 'number' ? bos : null,
    eosIds: typeof eos === 'number' ? [eos] : [],
  };
  validateConfig(config, file);
  return { config, tensors, tokenizer: Array.isArray(tokens) ? ggufTokenizer(md, file) : null, metadata: md };
}

/**
 * Pre-tokenizer regexes of byte-level BPE vocabularies by `tokenizer.ggml.pre`, as llama.cpp runs them
 * (src/llama-vocab.cpp; its rewrite of each model's tokenizer.json pattern without (?i:) groups). Qwen2 splits
 * numbers into single digits, LLaMA 3 into groups of up to three, GPT-2 keeps them whole.
 */
const LLAMA3_PRE = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_PRE = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** null = GPT-2's pattern (ByteLevel's own regex); a missing key or "default" also gets it, as Lithe always did. */
export const GGUF_PRE_TOKENIZERS: Record<string, string | null> = {
  'default': null, 'gpt-2': null, 'phi-2': null,
  'llama3': LLAMA3_PRE, 'llama-v3': LLAMA3_PRE, 'llama-bpe': LLAMA3_PRE,
  'qwen2': QWEN2_PRE, 'deepseek-r1-qwen': QWEN2_PRE,
};

function preTokenizer(md: Record<string, unknown>, file: string): Record<string, unknown> {
  const pre = md['tokenizer.ggml.pre'] ?? 'default';
  if (typeof pre !== 'string' || !(pre in GGUF_PRE_TOKENIZERS)) {
    throw new FormatError(file, `tokenizer.ggml.pre ${JSON.stringify(pre)} is not supported (supported: ${Object.keys(GGUF_PRE_TOKENIZERS).join(', ')})`);
  }
  const regex = GGUF_PRE_TOKENIZERS[pre];
  if (!regex) return { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return { type: 'Sequence', pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  ] };
}

function ggufTokenizer(md: Record<string, unknown>, file: string): TextTokenizer {
  const model = md['tokenizer.ggml.model'];
  const tokens = md['tokenizer.ggml.tokens'] as string[];
  if (model === 'llama') {
    const scores = md['tokenizer.ggml.scores'];
    if (!Array.isArray(scores) || scores.length !== tokens.length) throw new FormatError(file, 'tokenizer.ggml.scores is missing or does not match the token list');
    return new Llama2cTokenizer(tokens.map((t) => String(t).replaceAll('\u2581', ' ')), Float32Array.from(scores as number[]));
  }
  if (model === 'gpt2') {
    const merges = md['tokenizer.ggml.merges'];
    if (!Array.isArray(merges)) throw new FormatError(file, 'tokenizer.ggml.merges is missing');
    const types = (md['tokenizer.ggml.token_type'] ?? []) as number[];
    const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
    const added = tokens.flatMap((t, i) => (types[i] === 3 ? [{ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] : []));
    const json = {
      version: '1.0', added_tokens: added, normalizer: null,
      pre_tokenizer: preTokenizer(md, file),
      post_processor: null, decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', vocab, merges, dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false },
    };
    const bos = md['tokenizer.ggml.bos_token_id'], eos = md['tokenizer.ggml.eos_token_id'];
    return HfTokenizer.fromJson(json, {}, file, { bos: typeof bos === 'number' ? bos : null, eos: typeof eos === 'number' ? [eos] : [] });
  }
  throw new FormatError(file, `tokenizer.ggml.model ${JSON.stringify(model)} is not supported (supported: llama, gpt2)`);
}
