/**
 * kv_attention: attention of q [T, nHeads * headDim] over one layer of the packed low-bit KV cache
 * (quant/kv/cache.ts), described by the i32 words of `desc` (see assembly.ts). CPU only: the packed cache lives in
 * the wasm memory; `backend.supports(KV_ATTENTION)` tells whether a backend has it.
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface KvAttentionParams { T: number; nHeads: number; nKVHeads: number; headDim: number; scale: number; tokens: number }
export interface KvAttentionArgs { desc: Tensor; q: Tensor; out: Tensor; p: KvAttentionParams; scratch: Tensor; scratchFloats: number }

export const KV_ATTENTION = defineOp<KvAttentionArgs>({
  name: 'kv_attention',
  check({ desc, q, out, p }) {
    requireF32('kv_attention', q, out);
    if (desc.dtype !== 'i32') opError('kv_attention', 'desc must be i32');
    if (q.size !== p.T * p.nHeads * p.headDim || out.size !== q.size) opError('kv_attention', `q[${q.shape}] out[${out.shape}] do not fit`);
  },
  cpu(k, { desc, q, out, p, scratch, scratchFloats }) {
    if (scratch.size < scratchFloats * k.threads) opError('kv_attention', 'scratch too small');
    k.call('kv_attention', [k.ptr(desc), k.ptr(q), k.ptr(out), p.T, p.nHeads, p.nKVHeads, p.headDim, p.scale, k.ptr(scratch), scratchFloats],
      4 * p.T * p.tokens * p.nHeads * p.headDim);
  },
});
