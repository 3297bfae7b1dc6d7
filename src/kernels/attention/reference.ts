// Plain TypeScript twin of the attention kernels: the readable definition tests compare the SIMD and WGSL versions with.
import type { AttentionParams } from './index.js';

/** Causal (or, with p.causal false, non-causal) GQA attention with a full (not online) softmax in float64. q/out [T, nH*hd]; k/v [S, nKV*hd]. */
/** mixed: dequantized copies kq/vq and per-row bounds (bK, bV): keys j < bK from kq, values j < bV from vq. */
export function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, p: AttentionParams,
  mixed?: { kq: Float32Array; vq: Float32Array; bounds: Int32Array }): Float32Array {
  const { T, nHeads, nKVHeads, headDim: hd, pos0, window, scale } = p;
  // non-causal: every query sees all rows of k (pos0 = window = 0)
  const S = p.causal === false ? k.length / (nKVHeads * hd) : 0;
  const out = new Float32Array(T * nHeads * hd);
  const group = nHeads / nKVHeads;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / group);
      const last = S ? S - 1 : pos0 + t;
      const first = window > 0 ? Math.max(0, last - window + 1) : 0;
      const scores: number[] = [];
      const bK = mixed ? mixed.bounds[2 * t]! : 0, bV = mixed ? mixed.bounds[2 * t + 1]! : 0;
      for (let j = first; j <= last; j++) {
        let s = 0;
        const kk = j < bK ? mixed!.kq : k;
        for (let d = 0; d < hd; d++) s += q[(t * nHeads + h) * hd + d]! * kk[(j * nKVHeads + kvh) * hd + d]!;
        scores.push(s * scale);
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < hd; d++) {
        let acc = 0;
        for (let j = first; j <= last; j++) acc += e[j - first]! * (j < bV ? mixed!.vq : v)[(j * nKVHeads + kvh) * hd + d]!;
        out[(t * nHeads + h) * hd + d] = acc / z;
      }
    }
  }
  return out;
}
