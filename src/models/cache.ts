/**
 * KV caches as the decoder block sees them: the block writes a call's new keys/values (after RoPE) into slot(),
 * then attend() computes attention of the queries over everything the layer holds, new tokens included.
 * KVCache keeps float32 rows; quant/kv/cache.ts (QuantizedKVCache) keeps packed low-bit codes.
 */
import type { AttentionParams, Backend } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import * as ops from '../ops/index.js';
import type { DecoderConfig } from './config.js';

export interface AttentionCache {
  readonly capacity: number;
  /** tokens already in the cache (the model advances it after a forward) */
  length: number;
  /** where layer `layer` writes the keys and values [T, kvDim] of tokens [pos0, pos0 + T) */
  slot(layer: number, pos0: number, T: number): { k: Tensor; v: Tensor };
  /** out = attention of q [T, heads * headDim] over the layer's cache including the tokens just written */
  attend(layer: number, q: Tensor, out: Tensor, p: AttentionParams): void;
  free(): void;
}

export class KVCache implements AttentionCache {
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  length = 0;

  constructor(private readonly backend: Backend, config: DecoderConfig, readonly capacity: number) {
    const kvDim = config.nKVHeads * config.headDim;
    for (let i = 0; i < config.nLayers; i++) {
      this.k.push(backend.alloc([capacity, kvDim]));
      this.v.push(backend.alloc([capacity, kvDim]));
    }
  }

  slot(layer: number, pos0: number, T: number): { k: Tensor; v: Tensor } {
    return { k: this.k[layer]!.rows(pos0, T), v: this.v[layer]!.rows(pos0, T) };
  }

  attend(layer: number, q: Tensor, out: Tensor, p: AttentionParams): void {
    ops.attention(this.backend, q, this.k[layer]!, this.v[layer]!, out, p);
  }

  free(): void {
    for (const t of [...this.k, ...this.v]) this.backend.free(t);
  }
}
