// Plain TypeScript twin (float64) of causal (or non-causal: p.causal false) GQA attention and its gradient.
import type { AttentionParams } from '../attention/index.js';
type A = ArrayLike<number>;

/** q/out [T, nH hd]; k/v [S, nKV hd] */
export function attentionF64Ref(q: A, k: A, v: A, p: AttentionParams): Float64Array {
  return attentionGrads(q, k, v, p, null).out;
}

export function attentionBackwardRef(q: A, k: A, v: A, p: AttentionParams, dout: A): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const r = attentionGrads(q, k, v, p, dout);
  return { dq: r.dq, dk: r.dk, dv: r.dv };
}

function attentionGrads(q: A, k: A, v: A, p: AttentionParams, dout: A | null) {
  const { T, nHeads: nH, nKVHeads: nKV, headDim: hd, pos0, window, scale } = p;
  const out = new Float64Array(T * nH * hd), dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  const group = nH / nKV;
  // non-causal: every query sees all S rows of k (pos0 = window = 0)
  const S = p.causal === false ? k.length / (nKV * hd) : 0;
  for (let h = 0; h < nH; h++) {
    const g = Math.floor(h / group);
    for (let i = 0; i < T; i++) {
      const last = S ? S - 1 : pos0 + i, first = window > 0 ? Math.max(0, last - window + 1) : 0;
      const qi = (i * nH + h) * hd, kj = (j: number) => (j * nKV + g) * hd;
      const s: number[] = [];
      for (let j = first; j <= last; j++) { let d = 0; for (let e = 0; e < hd; e++) d += q[qi + e]! * k[kj(j) + e]!; s.push(scale * d); }
      const m = Math.max(...s), ex = s.map((x) => Math.exp(x - m)), z = ex.reduce((a, b) => a + b, 0), P = ex.map((x) => x / z);
      for (let j = first; j <= last; j++) for (let e = 0; e < hd; e++) out[qi + e] += P[j - first]! * v[kj(j) + e]!;
      if (!dout) continue;
      let D = 0;
      for (let e = 0; e < hd; e++) D += dout[qi + e]! * out[qi + e]!;
      for (let j = first; j <= last; j++) {
        let dp = 0;
        for (let e = 0; e < hd; e++) dp += dout[qi + e]! * v[kj(j) + e]!;
        const ds = P[j - first]! * (dp - D);
        for (let e = 0; e < hd; e++) {
          dq[qi + e] += scale * ds * k[kj(j) + e]!;
          dk[kj(j) + e] += scale * ds * q[qi + e]!;
          dv[kj(j) + e] += P[j - first]! * dout[qi + e]!;
        }
      }
    }
  }
  return { out, dq, dk, dv };
}
