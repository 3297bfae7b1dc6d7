/**
 * attention_backward: the gradients (accumulated) of causal or non-causal grouped-query attention (the attention op) with respect
 * to q, k and v, recomputing the softmax row by row from q and k (no T x S matrix is kept). `out` is the forward's
 * output. The attention op's gradient slot calls it; the mixed (quantized-KV) mode has no gradient.
 */
import { defineOp, opError, requireF32, type GradFn } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { nonCausalKeys, type AttentionArgs, type AttentionParams } from '../attention/index.js';
import { ATTENTION_BACKWARD_KV, ATTENTION_BACKWARD_Q } from './wgsl.js';

export interface AttentionBackwardArgs {
  q: Tensor; k: Tensor; v: Tensor; out: Tensor; dout: Tensor;
  dq: Tensor | null; dk: Tensor | null; dv: Tensor | null;
  p: AttentionParams;
  /** one query row at a time (no T x S scratch); chosen anyway when a head's T x S matrices would pass 64 MiB */
  rowwise?: boolean;
}

export const ATTENTION_BACKWARD = defineOp<AttentionBackwardArgs>({
  name: 'attention_backward',
  check(a) {
    requireF32('attention_backward', a.q, a.k, a.v, a.out, a.dout, ...[a.dq, a.dk, a.dv].filter((t): t is Tensor => t !== null));
    const { T, nHeads, nKVHeads, headDim, pos0 } = a.p;
    if (nHeads % nKVHeads || headDim % 4) opError('attention_backward', `${nHeads} heads / ${nKVHeads} kv heads of ${headDim}: heads must group evenly and headDim be a multiple of 4`);
    const nc = nonCausalKeys('attention_backward', a.p, a.k.size / (nKVHeads * headDim));
    if (a.q.size !== T * nHeads * headDim || a.out.size !== a.q.size || a.dout.size !== a.q.size || a.k.size < (nc ? nc : pos0 + T) * nKVHeads * headDim || a.v.size !== a.k.size ||
      (a.dq && a.dq.size !== a.q.size) || (a.dk && a.dk.size !== a.k.size) || (a.dv && a.dv.size !== a.v.size)) opError('attention_backward', 'shapes do not fit');
  },
  cpu(k, a) {
    const { T, nHeads, nKVHeads, headDim, pos0, window, scale } = a.p, p = (t: Tensor | null) => (t ? k.ptr(t) : 0);
    const nc = nonCausalKeys('attention_backward', a.p, a.k.size / (nKVHeads * headDim)), S = nc || pos0 + T;
    const args = [k.ptr(a.q), k.ptr(a.k), k.ptr(a.v), k.ptr(a.out), k.ptr(a.dout), p(a.dq), p(a.dk), p(a.dv), T, nHeads, nKVHeads, headDim, pos0, window, scale, nc];
    const flops = 8 * T * S * nHeads * headDim;
    const perThread = 3 * T * S + Math.max(S, T) * headDim; // as attention_backward_gemm lays it out
    if (!a.rowwise && perThread <= (16 << 20)) {
      // the probability matrix of a head fits a 64 MiB scratch per thread: GEMMs
      const scratch = k.scratch('attention_backward_gemm', k.threads * perThread), gemm = k.scratch('gemm', Math.ceil(k.exported('gemm_scratch_bytes')() * k.threads / 4));
      k.call('attention_backward_gemm', [...args, k.ptr(scratch), k.ptr(gemm)], flops);
    } else {
      const scratch = k.scratch('attention_backward', k.threads * S);
      k.call('attention_backward', [...args, k.ptr(scratch)], flops);
    }
  },
  // a query-side kernel (dq, and each row's logsumexp and dout . out) then a key-side kernel (dk, dv): see wgsl.ts
  webgpu(kr, a) {
    const { T, nHeads, nKVHeads, headDim, pos0, window, scale } = a.p, { dq, dk, dv } = a;
    if (headDim > 256) opError('attention_backward', `head dim ${headDim} > 256`);
    const nc = nonCausalKeys('attention_backward', a.p, a.k.size / (nKVHeads * headDim));
    const stats = kr.scratch('attention_backward_stats', 2 * T * nHeads), head = [T, nHeads, nKVHeads, headDim, pos0, window, { f: scale }];
    kr.dispatch(`attention_backward_q${dq ? '' : '_nodq'}`, () => ATTENTION_BACKWARD_Q(!!dq), [a.q, a.k, a.v, a.out, a.dout, stats, ...(dq ? [dq] : [])],
      [...head, a.q.offset, a.k.offset, a.v.offset, a.out.offset, a.dout.offset, dq?.offset ?? 0, stats.offset, nc], T * nHeads);
    if (!dk && !dv) return;
    kr.dispatch(`attention_backward_kv_${dk ? 'k' : ''}${dv ? 'v' : ''}`, () => ATTENTION_BACKWARD_KV(!!dk, !!dv),
      [a.q, a.k, a.v, a.dout, stats, ...[dk, dv].filter((t): t is Tensor => t !== null)],
      [...head, a.q.offset, a.k.offset, a.v.offset, a.dout.offset, stats.offset, dk?.offset ?? 0, dv?.offset ?? 0, nc], (nc || pos0 + T) * nKVHeads);
  },
});

export const attentionGrad: GradFn<AttentionArgs> = (r, { q, k, v, out, p, mixed }, grad) => {
  if (mixed) throw new Error('attention: the mixed (quantized-KV) mode has no gradient');
  const dout = grad(out), dq = grad(q), dk = grad(k), dv = grad(v);
  if (dout && (dq || dk || dv)) r.run(ATTENTION_BACKWARD, { q, k, v, out, dout, dq, dk, dv, p });
};
