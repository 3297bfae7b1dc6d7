// Backward of causal grouped-query attention (the attention op), recomputing each query row's softmax from q and k
// (FlashAttention's backward: nothing of size T x S is stored). Per query row i of head h over keys j:
//   P_ij = softmax_j(scale q_i.k_j), D_i = dO_i.O_i, dS_ij = P_ij (dO_i.v_j - D_i),
//   dq_i += scale sum_j dS_ij k_j, dk_j += scale dS_ij q_i, dv_j += P_ij dO_i.
// Threads own KV heads (with every query head of their group), so dk and dv never race. Two forms:
// attention_backward, one query row at a time (no T x S memory), and attention_backward_gemm, which recomputes a
// head's whole probability matrix and runs the five products as GEMMs (kernels/gemm; T x S floats three times per
// thread of scratch).
import { exp1, exp4, fma4, hsum } from '../common/simd';
import { gemm, transpose, GEMM_SCRATCH_BYTES } from '../gemm/assembly';

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

/** y[r * ys + e] += alpha x[r * d + e] for rows r < rows, e < d (a GEMM result added into a strided head slice) */
function addRows(y: usize, ys: i32, alpha: f32, x: usize, rows: i32, d: i32): void {
  for (let r = 0; r < rows; r++) axpy(y + (<usize>(r * ys) << 2), alpha, x + (<usize>(r * d) << 2), d);
}

export function attention_backward_gemm(q: usize, k: usize, v: usize, o: usize, dout: usize, dq: usize, dk: usize, dv: usize,
  T: i32, nH: i32, nKV: i32, hd: i32, pos0: i32, window: i32, scale: f32, scratch: usize, gemmScratch: usize, tid: i32, nt: i32): void {
  const qd = nH * hd, kvd = nKV * hd, group = nH / nKV, S = pos0 + T;
  const per = <usize>(3 * T * S + S * hd) << 2;
  const P = scratch + <usize>tid * per, dP = P + (<usize>(T * S) << 2), PT = dP + (<usize>(T * S) << 2), tmp = PT + (<usize>(T * S) << 2);
  const gs = gemmScratch + <usize>tid * <usize>GEMM_SCRATCH_BYTES;
  for (let g = tid; g < nKV; g += nt) {
    const kg = k + (<usize>(g * hd) << 2), vg = v + (<usize>(g * hd) << 2);
    for (let h = g * group; h < (g + 1) * group; h++) {
      const qh = q + (<usize>(h * hd) << 2), oh = <usize>(h * hd) << 2;
      // P = softmax over each row's visible keys of scale Q_h K_g^T (zero elsewhere)
      gemm(qh, qd, 1, kg, kvd, 1, 0, P, T, S, hd, 0, gs, 0, 1);
      for (let i = 0; i < T; i++) {
        const row = P + (<usize>(i * S) << 2), last = pos0 + i, first = window > 0 ? max(0, last - window + 1) : 0;
        let m: f32 = -Infinity;
        for (let j = first; j <= last; j++) m = max(m, scale * load<f32>(row + (<usize>j << 2)));
        let z: f32 = 0;
        for (let j = 0; j < first; j++) store<f32>(row + (<usize>j << 2), 0);
        for (let j = last + 1; j < S; j++) store<f32>(row + (<usize>j << 2), 0);
        const vs = f32x4.splat(scale), vm = f32x4.splat(m);
        let zv = f32x4.splat(0), j = first;
        for (; j + 4 <= last + 1; j += 4) {
          const e = exp4(f32x4.sub(f32x4.mul(vs, v128.load(row + (<usize>j << 2))), vm));
          v128.store(row + (<usize>j << 2), e);
          zv = f32x4.add(zv, e);
        }
        z = hsum(zv);
        for (; j <= last; j++) { const e = exp1(scale * load<f32>(row + (<usize>j << 2)) - m); store<f32>(row + (<usize>j << 2), e); z += e; }
        const inv: f32 = 1 / z;
        for (let j = first; j <= last; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) * inv);
      }
      // dV_g += P^T dO_h
      if (dv != 0) {
        transpose(P, T, S, PT, 0, 1);
        gemm(PT, T, 1, dout + oh, 1, qd, 0, tmp, S, hd, T, 0, gs, 0, 1);
        addRows(dv + (<usize>(g * hd) << 2), kvd, 1, tmp, S, hd);
      }
      if (dq == 0 && dk == 0) continue;
      // dS = P (dO_h V_g^T - D), D_i = dO_i . O_i, into dP
      gemm(dout + oh, qd, 1, vg, kvd, 1, 0, dP, T, S, hd, 0, gs, 0, 1);
      for (let i = 0; i < T; i++) {
        const D = dot(dout + oh + (<usize>(i * qd) << 2), o + oh + (<usize>(i * qd) << 2), hd);
        const pr = P + (<usize>(i * S) << 2), dr = dP + (<usize>(i * S) << 2);
        for (let j = 0; j < S; j++) store<f32>(dr + (<usize>j << 2), load<f32>(pr + (<usize>j << 2)) * (load<f32>(dr + (<usize>j << 2)) - D));
      }
      // dQ_h += scale dS K_g; dK_g += scale dS^T Q_h
      if (dq != 0) {
        gemm(dP, S, 1, kg, 1, kvd, 0, tmp, T, hd, S, 0, gs, 0, 1);
        addRows(dq + oh, qd, scale, tmp, T, hd);
      }
      if (dk != 0) {
        transpose(dP, T, S, PT, 0, 1);
        gemm(PT, T, 1, qh, 1, qd, 0, tmp, S, hd, T, 0, gs, 0, 1);
        addRows(dk + (<usize>(g * hd) << 2), kvd, scale, tmp, S, hd);
      }
    }
  }
}
