/**
 * llama2.c checkpoints (Karpathy): the legacy layout (7 int32 header: dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size (negative = separate classifier), seq_len; then float32 weights grouped by kind across
 * layers, then the RoPE freq_cis tables) and the version-1 export (magic "ak42", 256-byte header, weights
 * reordered). Tensors are returned under Hugging Face names. llama2.c rotates adjacent pairs (neoxRope false).
 */
import { FormatError } from '../../util/errors.js';
import { DecoderConfig, validateConfig } from '../config.js';
import { readFileOrThrow } from '../../io/files.js';
import type { TensorMap } from '../../io/raw-tensor.js';

const MAGIC = 0x616b3432;

interface Header { dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; seqLen: number; shared: boolean; }

export function parseLlama2c(file: string, buf: Uint8Array): { config: DecoderConfig; tensors: TensorMap } {
  if (buf.byteLength < 28) throw new FormatError(file, `too short for a llama2.c checkpoint (${buf.byteLength} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint32(0, true) === MAGIC ? dv.getInt32(4, true) : 0;
  if (version !== 0 && version !== 1) throw new FormatError(file, `llama2.c export version ${version} is not supported (supported: legacy and version 1 float32)`);
  const base = version === 1 ? 8 : 0;
  if (version === 1 && buf.byteLength < 256) throw new FormatError(file, 'truncated version-1 header');
  const ints = Array.from({ length: 7 }, (_, i) => dv.getInt32(base + 4 * i, true));
  const [dim, hidden, layers, heads, kvHeads, vocabRaw, seqLen] = ints as [number, number, number, number, number, number, number];
  const h: Header = { dim, hidden, layers, heads, kvHeads, vocab: Math.abs(vocabRaw), seqLen,
    shared: version === 1 ? dv.getUint8(36) !== 0 : vocabRaw > 0 };
  for (const [k, v] of Object.entries({ dim, hidden, layers, heads, kvHeads, seqLen, vocab: h.vocab })) {
    if (!(v > 0 && v <= 1 << 24)) throw new FormatError(file, `header field ${k} = ${v} is not plausible: not a llama2.c checkpoint`);
  }
  if (dim % heads !== 0) throw new FormatError(file, `header: dim ${dim} is not a multiple of n_heads ${heads}`);
  const hs = dim / heads;
  const kvDim = kvHeads * hs;
  const sizes = {
    emb: h.vocab * dim, attnNorm: layers * dim, wq: layers * dim * dim, wk: layers * kvDim * dim, wv: layers * kvDim * dim,
    wo: layers * dim * dim, ffnNorm: layers * dim, w1: layers * hidden * dim, w2: layers * dim * hidden, w3: layers * hidden * dim,
    finalNorm: dim, freqs: version === 0 ? seqLen * hs : 0, cls: h.shared ? 0 : h.vocab * dim,
  };
  const headerBytes = version === 1 ? 256 : 28;
  const expected = headerBytes + 4 * Object.values(sizes).reduce((a, b) => a + b, 0);
  if (buf.byteLength !== expected) {
    throw new FormatError(file, `size ${buf.byteLength} bytes does not match its header (expected ${expected}: dim ${dim}, ${layers} layers, vocab ${h.vocab})${buf.byteLength < expected ? ': truncated' : ''}`);
  }
  const tensors: TensorMap = new Map();
  let p = headerBytes;
  const take = (n: number) => {
    const data = buf.subarray(p, p + 4 * n);
    p += 4 * n;
    return data;
  };
  const perLayer = (name: (i: number) => string, total: number, shape: number[]) => {
    const all = take(total);
    const each = total / layers;
    for (let i = 0; i < layers; i++) tensors.set(name(i), { dtype: 'f32', shape, data: all.subarray(4 * each * i, 4 * each * (i + 1)) });
  };
  const L = (i: number, s: string) => `model.layers.${i}.${s}.weight`;
  const groups: Record<string, () => void> = {
    emb: () => tensors.set('model.embed_tokens.weight', { dtype: 'f32', shape: [h.vocab, dim], data: take(sizes.emb) }),
    attnNorm: () => perLayer((i) => L(i, 'input_layernorm'), sizes.attnNorm, [dim]),
    wq: () => perLayer((i) => L(i, 'self_attn.q_proj'), sizes.wq, [dim, dim]),
    wk: () => perLayer((i) => L(i, 'self_attn.k_proj'), sizes.wk, [kvDim, dim]),
    wv: () => perLayer((i) => L(i, 'self_attn.v_proj'), sizes.wv, [kvDim, dim]),
    wo: () => perLayer((i) => L(i, 'self_attn.o_proj'), sizes.wo, [dim, dim]),
    ffnNorm: () => perLayer((i) => L(i, 'post_attention_layernorm'), sizes.ffnNorm, [dim]),
    w1: () => perLayer((i) => L(i, 'mlp.gate_proj'), sizes.w1, [hidden, dim]),
    w2: () => perLayer((i) => L(i, 'mlp.down_proj'), sizes.w2, [dim, hidden]),
    w3: () => perLayer((i) => L(i, 'mlp.up_proj'), sizes.w3, [hidden, dim]),
    finalNorm: () => tensors.set('model.norm.weight', { dtype: 'f32', shape: [dim], data: take(dim) }),
    freqs: () => take(sizes.freqs),
    cls: () => { if (!h.shared) tensors.set('lm_head.weight', { dtype: 'f32', shape: [h.vocab, dim], data: take(sizes.cls) }); },
  };
  const order = version === 0
    ? ['emb', 'attnNorm', 'wq', 'wk', 'wv', 'wo', 'ffnNorm', 'w1', 'w2', 'w3', 'finalNorm', 'freqs', 'cls']
    : ['attnNorm', 'ffnNorm', 'finalNorm', 'emb', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3', 'cls'];
  for (const g of order) groups[g]!();
  const config: DecoderConfig = {
    arch: 'llama', dim, hiddenDim: hidden, nLayers: layers, nHeads: heads, nKVHeads: kvHeads, headDim: hs, vocabSize: h.vocab,
    maxSeqLen: seqLen, normEps: 1e-5, ropeTheta: 10000, ropeScaling: null, neoxRope: false, qkvBias: false,
    tiedEmbeddings: h.shared, slidingWindow: 0, bosId: 1, eosIds: [2],
  };
  return { config: validateConfig(config, file), tensors };
}

export function readLlama2c(file: string): { config: DecoderConfig; tensors: TensorMap } {
  return parseLlama2c(file, readFileOrThrow(file));
}
