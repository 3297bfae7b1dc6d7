// Backward of causal grouped-query attention (the attention op), recomputing each query row's softmax from q and k
// (FlashAttention's backward: nothing of size T x S is stored). Per query row i of head h over keys j:
//   P_ij = softmax_j(scale q_i.k_j), D_i = dO_i.O_i, dS_ij = P_ij (dO_i.v_j - D_i),
//   dq_i += scale sum_j dS_ij k_j, dk_j += scale dS_ij q_i, dv_j += P_ij dO_i.
// Threads own KV heads (with every query head of their group), so dk and dv never race.
import { exp1, fma4, hsum } from '../common/simd';

@inline function dot(a: usize, b: usize, d: i32): f32 {
  let s = f32x4.splat(0);
  for (let e = 0; e < d; e += 4) s = fma4(v128.load(a + (<usize>e << 2)), v128.load(b + (<usize>e << 2)), s);
  return hsum(s);
}

/** y += alpha x over d floats (d a multiple of 4) */
@inline function axpy(y: usize, alpha: f32, x: usize, d: i32): void {
  const av = f32x4.splat(alpha);
  for (let e = 0; e < d; e += 4) { const o = <usize>e << 2; v128.store(y + o, fma4(av, v128.load(x + o), v128.load(y + o))); }
}

export function attention_backward(q: usize, k: usize, v: usize, o: usize, dout: usize, dq: usize, dk: usize, dv: usize,
  T: i32, nH: i32, nKV: i32, hd: i32, pos0: i32, window: i32, scale: f32, scratch: usize, tid: i32, nt: i32): void {
  const qd = nH * hd, kvd = nKV * hd, group = nH / nKV;
  const p = scratch + (<usize>(tid * (pos0 + T)) << 2);
  for (let g = tid; g < nKV; g += nt) {
    for (let h = g * group; h < (g + 1) * group; h++) {
      for (let i = 0; i < T; i++) {
        const last = pos0 + i, first = window > 0 ? max(0, last - window + 1) : 0;
        const qi = q + (<usize>(i * qd + h * hd) << 2), oi = <usize>(i * qd + h * hd) << 2;
        let m: f32 = -Infinity;
        for (let j = first; j <= last; j++) {
          const s = scale * dot(qi, k + (<usize>(j * kvd + g * hd) << 2), hd);
          store<f32>(p + (<usize>(j - first) << 2), s);
          m = max(m, s);
        }
        let z: f32 = 0;
        for (let j = first; j <= last; j++) { const e = exp1(load<f32>(p + (<usize>(j - first) << 2)) - m); store<f32>(p + (<usize>(j - first) << 2), e); z += e; }
        const inv: f32 = 1 / z;
        const D = dot(dout + oi, o + oi, hd);
        for (let j = first; j <= last; j++) {
          const kj = <usize>(j * kvd + g * hd) << 2;
          const pj = load<f32>(p + (<usize>(j - first) << 2)) * inv;
          const ds = pj * (dot(dout + oi, v + kj, hd) - D);
          if (dq != 0) axpy(dq + oi, scale * ds, k + kj, hd);
          if (dk != 0) axpy(dk + kj, scale * ds, qi, hd);
          if (dv != 0) axpy(dv + kj, pj, dout + oi, hd);
        }
      }
    }
  }
}
