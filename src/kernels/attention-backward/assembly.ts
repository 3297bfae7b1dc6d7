// Backward of causal grouped-query attention (the attention op), recomputing each query row's softmax from q and k
// (FlashAttention's backward: nothing of size T x S is stored). Per query row i of head h over keys j:
//   P_ij = softmax_j(scale q_i.k_j), D_i = dO_i.O_i, dS_ij = P_ij (dO_i.v_j - D_i),
//   dq_i += scale sum_j dS_ij k_j, dk_j += scale dS_ij q_i, dv_j += P_ij dO_i.
// Threads own KV heads (with every query head of their group), so dk and dv never race. Two forms:
// attention_backward, one query row at a time (no T x S memory), and attention_backward_gemm, which recomputes a
// head's whole probability matrix and runs the five products as GEMMs (kernels/gemm; T x S floats three times per
// thread of scratch), each over blocks of 64 rows restricted to the causal (and window) band those rows can see.
// nc > 0: non-causal (pos0 = window = 0), every query sees keys [0, nc), S = nc; the band is then all S keys.
import { exp1, exp4, fma4, hmax, hsum } from '../common/simd';
import { gemm, GEMM_SCRATCH_BYTES } from '../gemm/assembly';

/** query rows (and key rows) per block of the banded products */
const BAND: i32 = 64;

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
  T: i32, nH: i32, nKV: i32, hd: i32, pos0: i32, window: i32, scale: f32, nc: i32, scratch: usize, tid: i32, nt: i32): void {
  const qd = nH * hd, kvd = nKV * hd, group = nH / nKV;
  const p = scratch + (<usize>(tid * (nc > 0 ? nc : pos0 + T)) << 2);
  for (let g = tid; g < nKV; g += nt) {
    for (let h = g * group; h < (g + 1) * group; h++) {
      for (let i = 0; i < T; i++) {
        const last = nc > 0 ? nc - 1 : pos0 + i, first = window > 0 ? max(0, last - window + 1) : 0;
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

/** rows of a block of queries [r0, r1) see keys [colLo(r0), colHi(r1)): the causal (and window) band */
@inline function colLo(r0: i32, pos0: i32, window: i32): i32 {
  return window > 0 ? max(0, pos0 + r0 - window + 1) : 0;
}

/** ... and up to key colHi(r1) exclusive (nc > 0: non-causal, all nc keys) */
@inline function colHi(r1: i32, pos0: i32, nc: i32): i32 {
  return nc > 0 ? nc : pos0 + r1;
}

export function attention_backward_gemm(q: usize, k: usize, v: usize, o: usize, dout: usize, dq: usize, dk: usize, dv: usize,
  T: i32, nH: i32, nKV: i32, hd: i32, pos0: i32, window: i32, scale: f32, nc: i32, scratch: usize, gemmScratch: usize, tid: i32, nt: i32): void {
  const qd = nH * hd, kvd = nKV * hd, group = nH / nKV, S = nc > 0 ? nc : pos0 + T;
  // tmp holds dV/dK [S, hd] and dQ [T, hd] (T > S only when non-causal)
  const per = <usize>(3 * T * S + max(S, T) * hd) << 2;
  const P = scratch + <usize>tid * per, dP = P + (<usize>(T * S) << 2), PT = dP + (<usize>(T * S) << 2), tmp = PT + (<usize>(T * S) << 2);
  const gs = gemmScratch + <usize>tid * <usize>GEMM_SCRATCH_BYTES;
  for (let g = tid; g < nKV; g += nt) {
    const kg = k + (<usize>(g * hd) << 2), vg = v + (<usize>(g * hd) << 2);
    for (let h = g * group; h < (g + 1) * group; h++) {
      const qh = q + (<usize>(h * hd) << 2), oh = <usize>(h * hd) << 2;
      // P = softmax over each row's visible keys of scale Q_h K_g^T (zero elsewhere); per block of BAND query rows
      // only the band of keys they can see is computed (into dP's space, then copied)
      for (let r0 = 0; r0 < T; r0 += BAND) {
        const r1 = min(T, r0 + BAND), c0 = colLo(r0, pos0, window), c1 = colHi(r1, pos0, nc), w = c1 - c0;
        gemm(qh + (<usize>(r0 * qd) << 2), qd, 1, kg + (<usize>(c0 * kvd) << 2), kvd, 1, 0, dP, r1 - r0, w, hd, 0, gs, 0, 1);
        for (let i = r0; i < r1; i++) memory.copy(P + (<usize>(i * S + c0) << 2), dP + (<usize>((i - r0) * w) << 2), <usize>w << 2);
      }
      for (let i = 0; i < T; i++) {
        const last = nc > 0 ? nc - 1 : pos0 + i;
        softmaxSpan(P + (<usize>(i * S) << 2), window > 0 ? max(0, last - window + 1) : 0, last, S, scale);
      }
      // dV_g += P^T dO_h
      if (dv != 0) {
        bandTransposedProduct(P, dout + oh, qd, tmp, T, S, hd, pos0, window, nc, gs);
        addRows(dv + (<usize>(g * hd) << 2), kvd, 1, tmp, S, hd);
      }
      if (dq == 0 && dk == 0) continue;
      // dS = P (dO_h V_g^T - D), D_i = dO_i . O_i, into dP (the band per block of rows, through the PT scratch; zero elsewhere)
      for (let r0 = 0; r0 < T; r0 += BAND) {
        const r1 = min(T, r0 + BAND), c0 = colLo(r0, pos0, window), c1 = colHi(r1, pos0, nc), w = c1 - c0;
        gemm(dout + oh + (<usize>(r0 * qd) << 2), qd, 1, vg + (<usize>(c0 * kvd) << 2), kvd, 1, 0, PT, r1 - r0, w, hd, 0, gs, 0, 1);
        for (let i = r0; i < r1; i++) {
          const D = dot(dout + oh + (<usize>(i * qd) << 2), o + oh + (<usize>(i * qd) << 2), hd);
          const pr = P + (<usize>(i * S) << 2), dr = dP + (<usize>(i * S) << 2), br = PT + (<usize>((i - r0) * w) << 2);
          for (let j = 0; j < c0; j++) store<f32>(dr + (<usize>j << 2), 0);
          const vD = f32x4.splat(D);
          let j = c0;
          for (; j + 4 <= c1; j += 4) v128.store(dr + (<usize>j << 2), f32x4.mul(v128.load(pr + (<usize>j << 2)), f32x4.sub(v128.load(br + (<usize>(j - c0) << 2)), vD)));
          for (; j < c1; j++) store<f32>(dr + (<usize>j << 2), load<f32>(pr + (<usize>j << 2)) * (load<f32>(br + (<usize>(j - c0) << 2)) - D));
          for (let j = c1; j < S; j++) store<f32>(dr + (<usize>j << 2), 0);
        }
      }
      // dQ_h += scale dS K_g (each block of rows over its band of keys); dK_g += scale dS^T Q_h
      if (dq != 0) {
        for (let r0 = 0; r0 < T; r0 += BAND) {
          const r1 = min(T, r0 + BAND), c0 = colLo(r0, pos0, window), c1 = colHi(r1, pos0, nc);
          gemm(dP + (<usize>(r0 * S + c0) << 2), S, 1, kg + (<usize>(c0 * kvd) << 2), 1, kvd, 0, tmp + (<usize>(r0 * hd) << 2), r1 - r0, hd, c1 - c0, 0, gs, 0, 1);
        }
        addRows(dq + oh, qd, scale, tmp, T, hd);
      }
      if (dk != 0) {
        bandTransposedProduct(dP, qh, qd, tmp, T, S, hd, pos0, window, nc, gs);
        addRows(dk + (<usize>(g * hd) << 2), kvd, scale, tmp, S, hd);
      }
    }
  }
}

/**
 * tmp [S, hd] = X^T [S, T] Y [T, hd] (Y's rows ys floats apart) for a banded X [T, S] (P or dS), read transposed
 * through the gemm's strides (a block of 64 key columns and at most T rows: no transposed copy): key rows [j0, j1)
 * only meet the queries that see them, [j0 - pos0, j1 - 1 + window - pos0] (all later queries without a window; all queries when non-causal).
 */
function bandTransposedProduct(X: usize, y: usize, ys: i32, tmp: usize, T: i32, S: i32, hd: i32, pos0: i32, window: i32, nc: i32, gs: usize): void {
  for (let j0 = 0; j0 < S; j0 += BAND) {
    const j1 = min(S, j0 + BAND), i0 = nc > 0 ? 0 : min(T, max(0, j0 - pos0)), i1 = window > 0 ? max(i0, min(T, j1 - 1 + window - pos0)) : T;
    // K = i1 - i0 may be 0: the gemm then writes zeros
    gemm(X + (<usize>(i0 * S + j0) << 2), 1, S, y + (<usize>(i0 * ys) << 2), 1, ys, 0, tmp + (<usize>(j0 * hd) << 2), j1 - j0, hd, i1 - i0, 0, gs, 0, 1);
  }
}

/** row [0, n) = softmax over [lo, hi] of scale row (zero outside), in place */
function softmaxSpan(row: usize, lo: i32, hi: i32, n: i32, scale: f32): void {
  // the largest scaled score is scale times the largest score (or the smallest when scale < 0): rounding is monotone
  const sgn = f32x4.splat(scale < 0 ? -1 : 1);
  let vmax = f32x4.splat(-Infinity), j = lo;
  for (; j + 4 <= hi + 1; j += 4) vmax = f32x4.max(vmax, f32x4.mul(sgn, v128.load(row + (<usize>j << 2))));
  let mx = hmax(vmax);
  for (; j <= hi; j++) mx = max(mx, f32x4.extract_lane(sgn, 0) * load<f32>(row + (<usize>j << 2)));
  const m: f32 = abs(scale) * mx;
  memory.fill(row, 0, <usize>lo << 2);
  memory.fill(row + (<usize>(hi + 1) << 2), 0, <usize>(n - hi - 1) << 2);
  const vs = f32x4.splat(scale), vm = f32x4.splat(m);
  let zv = f32x4.splat(0);
  j = lo;
  for (; j + 4 <= hi + 1; j += 4) {
    const e = exp4(f32x4.sub(f32x4.mul(vs, v128.load(row + (<usize>j << 2))), vm));
    v128.store(row + (<usize>j << 2), e);
    zv = f32x4.add(zv, e);
  }
  let z = hsum(zv);
  for (; j <= hi; j++) { const e = exp1(scale * load<f32>(row + (<usize>j << 2)) - m); store<f32>(row + (<usize>j << 2), e); z += e; }
  const inv = f32x4.splat(1 / z);
  j = lo;
  for (; j + 4 <= hi + 1; j += 4) v128.store(row + (<usize>j << 2), f32x4.mul(v128.load(row + (<usize>j << 2)), inv));
  for (; j <= hi; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) * f32x4.extract_lane(inv, 0));
}

/** floats of scratch one thread of attention_forward_gemm needs */
export function attention_forward_gemm_scratch(S: i32, hd: i32): i32 {
  return BAND * S + BAND * hd;
}

/**
 * The attention op's forward as the training tape runs it on the CPU (out [T, nH hd], the same softmax(scale q k^T) v
 * as kernels/attention, summed in another order): per query head and block of BAND query rows, the scores of the
 * band of keys those rows see (a GEMM), each row's softmax, then the block's output (a GEMM). Threads own query heads.
 */
export function attention_forward_gemm(q: usize, k: usize, v: usize, out: usize, T: i32, nH: i32, nKV: i32, hd: i32, pos0: i32, window: i32, scale: f32,
  nc: i32, scratch: usize, gemmScratch: usize, tid: i32, nt: i32): void {
  const qd = nH * hd, kvd = nKV * hd, group = nH / nKV, S = nc > 0 ? nc : pos0 + T;
  const sc = scratch + (<usize>(tid * attention_forward_gemm_scratch(S, hd)) << 2), ob = sc + (<usize>(BAND * S) << 2);
  const gs = gemmScratch + <usize>tid * <usize>GEMM_SCRATCH_BYTES;
  for (let h = tid; h < nH; h += nt) {
    const g = h / group, qh = q + (<usize>(h * hd) << 2), kg = k + (<usize>(g * hd) << 2), vg = v + (<usize>(g * hd) << 2);
    for (let r0 = 0; r0 < T; r0 += BAND) {
      const r1 = min(T, r0 + BAND), c0 = colLo(r0, pos0, window), c1 = colHi(r1, pos0, nc), w = c1 - c0;
      gemm(qh + (<usize>(r0 * qd) << 2), qd, 1, kg + (<usize>(c0 * kvd) << 2), kvd, 1, 0, sc, r1 - r0, w, hd, 0, gs, 0, 1);
      for (let i = r0; i < r1; i++) {
        const last = nc > 0 ? nc - 1 : pos0 + i, first = window > 0 ? max(0, last - window + 1) : 0;
        softmaxSpan(sc + (<usize>((i - r0) * w) << 2), first - c0, last - c0, w, scale);
      }
      gemm(sc, w, 1, vg + (<usize>(c0 * kvd) << 2), 1, kvd, 0, ob, r1 - r0, hd, w, 0, gs, 0, 1);
      for (let i = r0; i < r1; i++) memory.copy(out + (<usize>(i * qd + h * hd) << 2), ob + (<usize>((i - r0) * hd) << 2), <usize>hd << 2);
    }
  }
}
