/**
 * attention: causal grouped-query attention of q [T, nHeads * headDim] over k/v [>= pos0 + T, nKVHeads * headDim]
 * (a KV cache), optionally with a sliding window; `mixed` reads some keys/values from dequantized copies
 * (KV-cache quantization evaluates every decode step in one pass with it; CPU only). With `causal: false`
 * (encoders, cross-attention) every query sees all S rows of k/v (S may differ from T); pos0 and window must be 0.
 */
import { defineOp, lastDim, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { InputError } from '../../util/errors.js';
import { ATTENTION as ATTENTION_WGSL } from './wgsl.js';
import { attentionGrad } from '../attention-backward/index.js';

/** Parameters of causal grouped-query attention over a KV cache. */
export interface AttentionParams {
  /** query tokens in this call */
  T: number;
  nHeads: number;
  nKVHeads: number;
  headDim: number;
  /** absolute position of the first query token; keys 0..pos0+T-1 must be in the cache */
  pos0: number;
  /** sliding-window length (Mistral); 0 = full causal */
  window: number;
  scale: number;
  /** false: non-causal, every query sees all rows of k/v (pos0 and window must be 0); absent or true: causal */
  causal?: boolean;
}

/**
 * The key count the kernels take as their non-causal switch: 0 for causal attention, else S, the rows of k
 * (kvRows) that every query sees. Refuses pos0 or window with non-causal attention (they mean positions in a causal cache).
 */
export function nonCausalKeys(op: string, p: AttentionParams, kvRows: number): number {
  if (p.causal !== false) return 0;
  if (p.pos0 !== 0 || p.window !== 0) opError(op, `non-causal attention takes pos0 = 0 and window = 0, got pos0=${p.pos0} window=${p.window}`);
  if (!(kvRows >= 1)) opError(op, 'non-causal attention needs at least one key');
  return kvRows;
}

/**
 * Mixed attention inputs: dequantized copies of the keys/values (same layout as k/v) and an i32 tensor [T, 2]
 * of per-query-row bounds (bK, bV): keys j < bK come from k, values j < bV from v of this object.
 */
export interface MixedKV { k: Tensor; v: Tensor; bounds: Tensor }

export interface AttentionArgs {
  q: Tensor; k: Tensor; v: Tensor; out: Tensor; p: AttentionParams; mixed?: MixedKV;
  /** the training tape's forward: the CPU may run it as banded GEMMs (kernels/attention-backward), same values in another summation order */
  training?: boolean;
}

export const ATTENTION = defineOp<AttentionArgs>({
  name: 'attention',
  check({ q, k, v, out, p, mixed }) {
    requireF32('attention', q, k, v, out);
    const qd = p.nHeads * p.headDim, kvd = p.nKVHeads * p.headDim;
    if (p.nHeads % p.nKVHeads) opError('attention', `${p.nHeads} heads are not a multiple of ${p.nKVHeads} kv heads`);
    if (p.headDim % 4) opError('attention', `head dim ${p.headDim} is not a multiple of 4`);
    const need = p.causal === false ? 1 : p.pos0 + p.T;
    if (q.size !== p.T * qd || out.size !== q.size || lastDim(k) !== kvd || lastDim(v) !== kvd || k.size < need * kvd || v.size < need * kvd) {
      opError('attention', `q[${q.shape}] k[${k.shape}] v[${v.shape}] out[${out.shape}] do not fit T=${p.T} pos0=${p.pos0}`);
    }
    const nc = nonCausalKeys('attention', p, k.size / kvd);
    if (nc && (v.size !== k.size || mixed)) opError('attention', `non-causal: k[${k.shape}] and v[${v.shape}] must hold the same rows, and no mixed mode`);
    if (mixed && (mixed.k.size !== k.size || mixed.v.size !== v.size || mixed.bounds.dtype !== 'i32' || mixed.bounds.size !== 2 * p.T)) {
      opError('attention', `mixed k[${mixed.k.shape}] v[${mixed.v.shape}] bounds[${mixed.bounds.shape}] do not fit`);
    }
  },
  cpu(kr, { q, k, v, out, p, mixed, training }) {
    const nc = nonCausalKeys('attention', p, k.size / (p.nKVHeads * p.headDim)), keys = nc || p.pos0 + p.T;
    if (training && !mixed && p.T >= 64) {
      const per = kr.exported('attention_forward_gemm_scratch')(keys, p.headDim);
      const scratch = kr.scratch('attention_forward_gemm', kr.threads * per), gemm = kr.scratch('gemm', Math.ceil(kr.exported('gemm_scratch_bytes')() * kr.threads / 4));
      kr.call('attention_forward_gemm', [kr.ptr(q), kr.ptr(k), kr.ptr(v), kr.ptr(out), p.T, p.nHeads, p.nKVHeads, p.headDim, p.pos0, p.window, p.scale, nc,
        kr.ptr(scratch), kr.ptr(gemm)], 4 * p.T * keys * p.nHeads * p.headDim);
      return;
    }
    const m = mixed ? [kr.ptr(mixed.k), kr.ptr(mixed.v), kr.ptr(mixed.bounds)] : [0, 0, 0];
    const scratch = kr.scratch('attention', Math.ceil(kr.exported('attention_scratch_bytes')() * kr.threads / 4));
    kr.call('attention', [kr.ptr(q), kr.ptr(k), kr.ptr(v), kr.ptr(out), p.T, p.nHeads, p.nKVHeads, p.headDim,
      p.nHeads * p.headDim, p.nKVHeads * p.headDim, p.pos0, p.window, p.scale, nc, kr.ptr(scratch), ...m], 4 * p.T * keys * p.nHeads * p.headDim);
  },
  webgpu(kr, { q, k, v, out, p, mixed }) {
    if (mixed) throw new InputError('the quantized-KV evaluation (mixed attention) runs on the cpu backend only');
    if (p.headDim > 256) opError('attention', `head dim ${p.headDim} > 256`);
    const nc = nonCausalKeys('attention', p, k.size / (p.nKVHeads * p.headDim));
    kr.dispatch('attention', () => ATTENTION_WGSL, [q, k, v, out], [p.T, p.nHeads, p.nKVHeads, p.headDim, p.nHeads * p.headDim, p.nKVHeads * p.headDim,
      p.pos0, p.window, { f: p.scale }, q.offset, k.offset, v.offset, out.offset, nc], p.T * p.nHeads);
  },
  grad: attentionGrad,
});
