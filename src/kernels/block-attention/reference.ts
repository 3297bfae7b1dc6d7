// Plain TypeScript twin of the block-attention kernels: the readable definition tests compare the SIMD and WGSL versions with.
import type { BlockAttentionParams } from './index.js';

/**
 * Non-causal block attention in float64 with a two-pass softmax: q/k/v [heads, tokens, d]; `keep(h, qb, kb)`
 * says whether query block qb of head h attends key block kb (absent: dense). Rows that attend nothing get 0.
 * Also returns each row's log-sum-exp and the softmax mass of every (query block, key block) pair of a dense call.
 */
export function blockAttentionRef(q: Float32Array, k: Float32Array, v: Float32Array, p: BlockAttentionParams,
  keep?: (h: number, qb: number, kb: number) => boolean): { out: Float64Array; lse: Float64Array; mass: Float64Array } {
  const { heads, tokens: N, headDim: d, block, scale } = p;
  const nb = Math.ceil(N / block);
  const out = new Float64Array(heads * N * d), lse = new Float64Array(heads * N), mass = new Float64Array(heads * nb * nb);
  const s = new Float64Array(N);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < N; i++) {
      const qb = Math.floor(i / block);
      let m = -Infinity;
      for (let j = 0; j < N; j++) {
        if (keep && !keep(h, qb, Math.floor(j / block))) { s[j] = -Infinity; continue; }
        let acc = 0;
        for (let c = 0; c < d; c++) acc += q[(h * N + i) * d + c]! * k[(h * N + j) * d + c]!;
        s[j] = acc * scale;
        m = Math.max(m, s[j]!);
      }
      if (m === -Infinity) { lse[h * N + i] = -Infinity; continue; }
      let z = 0;
      for (let j = 0; j < N; j++) z += s[j] === -Infinity ? 0 : Math.exp(s[j]! - m);
      lse[h * N + i] = m + Math.log(z);
      for (let j = 0; j < N; j++) {
        if (s[j] === -Infinity) continue;
        const pr = Math.exp(s[j]! - m) / z;
        mass[(h * nb + qb) * nb + Math.floor(j / block)] += pr;
        for (let c = 0; c < d; c++) out[(h * N + i) * d + c] += pr * v[(h * N + j) * d + c]!;
      }
    }
  }
  return { out, lse, mass };
}
