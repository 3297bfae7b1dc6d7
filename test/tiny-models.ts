// Small random LLaMA-family checkpoints written as Hugging Face folders, and an independent float64 forward
// pass over the same weights (built from the reference kernels) to check the engine against.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeSafetensors } from '../src/io/safetensors.js';
import type { RawTensor, TensorMap } from '../src/io/raw-tensor.js';
import { f32ToBf16Bits, f32ToF16Bits, bf16BitsToF32, f16BitsToF32 } from '../src/tensor/dtype.js';
import { attentionRef, linearRef, rmsnormRef, ropeRef, siluMulRef } from './reference.js';
import { ropeTables } from '../src/models/llama/rope.js';
import { randn } from './helpers.js';
import { tempDir } from './temp-dir.js';

export interface TinySpec {
  modelType: 'llama' | 'qwen2' | 'mistral';
  dtype: 'f32' | 'f16' | 'bf16';
  dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number;
  tied: boolean; window?: number; sharded?: boolean; maxPos?: number;
}

/** Weights as float32 values exactly representable in the storage dtype, by HF name. */
export type Weights = Map<string, { shape: number[]; values: Float32Array }>;

export function tinyWeights(s: TinySpec, r: () => number): Weights {
  const hd = s.dim / s.heads, q = s.heads * hd, kv = s.kvHeads * hd;
  const w: Weights = new Map();
  const round = (v: Float32Array) => s.dtype === 'bf16' ? v.map((x) => bf16BitsToF32(f32ToBf16Bits(x))) : s.dtype === 'f16' ? v.map((x) => f16BitsToF32(f32ToF16Bits(x))) : v;
  const add = (name: string, shape: number[], scale: number, offset = 0) => {
    const v = randn(shape.reduce((a, b) => a * b, 1), r, scale).map((x) => x + offset);
    w.set(name, { shape, values: round(v) });
  };
  add('model.embed_tokens.weight', [s.vocab, s.dim], 1);
  for (let i = 0; i < s.layers; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}input_layernorm.weight`, [s.dim], 0.1, 1);
    add(`${p}self_attn.q_proj.weight`, [q, s.dim], 1 / Math.sqrt(s.dim));
    add(`${p}self_attn.k_proj.weight`, [kv, s.dim], 1 / Math.sqrt(s.dim));
    add(`${p}self_attn.v_proj.weight`, [kv, s.dim], 1 / Math.sqrt(s.dim));
    if (s.modelType === 'qwen2') {
      add(`${p}self_attn.q_proj.bias`, [q], 0.5);
      add(`${p}self_attn.k_proj.bias`, [kv], 0.5);
      add(`${p}self_attn.v_proj.bias`, [kv], 0.5);
    }
    add(`${p}self_attn.o_proj.weight`, [s.dim, q], 1 / Math.sqrt(q));
    add(`${p}post_attention_layernorm.weight`, [s.dim], 0.1, 1);
    add(`${p}mlp.gate_proj.weight`, [s.hidden, s.dim], 1 / Math.sqrt(s.dim));
    add(`${p}mlp.up_proj.weight`, [s.hidden, s.dim], 1 / Math.sqrt(s.dim));
    add(`${p}mlp.down_proj.weight`, [s.dim, s.hidden], 1 / Math.sqrt(s.hidden));
  }
  add('model.norm.weight', [s.dim], 0.1, 1);
  if (!s.tied) add('lm_head.weight', [s.vocab, s.dim], 1 / Math.sqrt(s.dim));
  return w;
}

function encode(values: Float32Array, dtype: TinySpec['dtype']): Uint8Array {
  if (dtype === 'f32') return new Uint8Array(values.buffer.slice(0));
  const bits = Uint16Array.from(values, dtype === 'bf16' ? f32ToBf16Bits : f32ToF16Bits);
  return new Uint8Array(bits.buffer);
}

export function writeTinyModel(s: TinySpec, w: Weights, dir = tempDir('lithe-tiny-')): string {
  const config: Record<string, unknown> = {
    architectures: ['X'], model_type: s.modelType, hidden_size: s.dim, intermediate_size: s.hidden, num_hidden_layers: s.layers,
    num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, vocab_size: s.vocab, max_position_embeddings: s.maxPos ?? 128,
    rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: s.tied, hidden_act: 'silu', bos_token_id: 1, eos_token_id: 2,
  };
  if (s.window) { config['sliding_window'] = s.window; if (s.modelType === 'qwen2') config['use_sliding_window'] = true; }
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const raw: TensorMap = new Map([...w].map(([k, v]) => [k, { dtype: s.dtype, shape: v.shape, data: encode(v.values, s.dtype) } as RawTensor]));
  if (!s.sharded) {
    writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(raw));
  } else {
    const names = [...raw.keys()];
    const half = Math.ceil(names.length / 2);
    const weightMap: Record<string, string> = {};
    [names.slice(0, half), names.slice(half)].forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(path.join(dir, file), encodeSafetensors(new Map(part.map((n) => [n, raw.get(n)!]))));
      for (const n of part) weightMap[n] = file;
    });
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  }
  return dir;
}

/** Logits [T, vocab] of a full causal forward over ids (positions 0..T-1), from the reference kernels. */
export function referenceForward(s: TinySpec, w: Weights, ids: number[]): Float32Array {
  const hd = s.dim / s.heads, T = ids.length, q = s.heads * hd, kv = s.kvHeads * hd;
  const g = (n: string) => w.get(n)?.values ?? null;
  const emb = g('model.embed_tokens.weight')!;
  const h = new Float32Array(T * s.dim);
  ids.forEach((id, t) => h.set(emb.subarray(id * s.dim, (id + 1) * s.dim), t * s.dim));
  const { cos, sin } = ropeTables(T, hd, 10000);
  const window = s.window && (s.modelType === 'mistral' || s.modelType === 'qwen2') ? s.window : 0;
  for (let i = 0; i < s.layers; i++) {
    const p = `model.layers.${i}.`;
    const x = rmsnormRef(h, g(`${p}input_layernorm.weight`)!, 1e-6);
    const Q = linearRef(x, g(`${p}self_attn.q_proj.weight`)!, g(`${p}self_attn.q_proj.bias`), T, q, s.dim);
    const K = linearRef(x, g(`${p}self_attn.k_proj.weight`)!, g(`${p}self_attn.k_proj.bias`), T, kv, s.dim);
    const V = linearRef(x, g(`${p}self_attn.v_proj.weight`)!, g(`${p}self_attn.v_proj.bias`), T, kv, s.dim);
    ropeRef(Q, q, cos, sin, { T, heads: s.heads, headDim: hd, pos0: 0, neox: true });
    ropeRef(K, kv, cos, sin, { T, heads: s.kvHeads, headDim: hd, pos0: 0, neox: true });
    const att = attentionRef(Q, K, V, { T, nHeads: s.heads, nKVHeads: s.kvHeads, headDim: hd, pos0: 0, window, scale: 1 / Math.sqrt(hd) });
    const o = linearRef(att, g(`${p}self_attn.o_proj.weight`)!, null, T, s.dim, q);
    o.forEach((v, j) => (h[j] = h[j]! + v));
    const x2 = rmsnormRef(h, g(`${p}post_attention_layernorm.weight`)!, 1e-6);
    const gate = linearRef(x2, g(`${p}mlp.gate_proj.weight`)!, null, T, s.hidden, s.dim);
    const up = linearRef(x2, g(`${p}mlp.up_proj.weight`)!, null, T, s.hidden, s.dim);
    const d = linearRef(siluMulRef(gate, up), g(`${p}mlp.down_proj.weight`)!, null, T, s.dim, s.hidden);
    d.forEach((v, j) => (h[j] = h[j]! + v));
  }
  const xf = rmsnormRef(h, g('model.norm.weight')!, 1e-6);
  return linearRef(xf, g(s.tied ? 'model.embed_tokens.weight' : 'lm_head.weight')!, null, T, s.vocab, s.dim);
}
