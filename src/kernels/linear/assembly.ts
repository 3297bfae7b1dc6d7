// sgemm in the Linear layout: C[M,N] = A[M,K] x W[N,K]^T (+ bias[N]).
// Goto-style blocking: each thread owns a range of 8-column panels of W; for every KC-deep slice it packs its
// panels into [k][8] order in its scratch, then a 4x8 register tile (8 f32x4 accumulators) streams A rows
// through them. M tails use a 1x8 tile, N tails (N % 8) a scalar edge tile.
import { fma4, hsum } from '../common/simd';

const KC: i32 = 256;
const NCP: i32 = 16; // panels (of 8 columns) packed at once: 128 columns x 256 k = 128 KiB
export const GEMM_SCRATCH_BYTES: i32 = KC * NCP * 8 * 4;

export function sgemm_scratch_bytes(): i32 {
  return GEMM_SCRATCH_BYTES;
}

function packPanels(w: usize, N: i32, K: i32, pFirst: i32, pEnd: i32, kc: i32, kb: i32, dst: usize): void {
  for (let p = pFirst; p < pEnd; p++) {
    const base = dst + (<usize>((p - pFirst) * kb * 8) << 2);
    for (let c = 0; c < 8; c++) {
      const row = p * 8 + c;
      if (row < N) {
        let src = w + (<usize>(row * K + kc) << 2);
        let d = base + (<usize>c << 2);
        for (let k = 0; k < kb; k++) {
          store<f32>(d, load<f32>(src));
          src += 4;
          d += 32;
        }
      } else {
        let d = base + (<usize>c << 2);
        for (let k = 0; k < kb; k++) {
          store<f32>(d, 0);
          d += 32;
        }
      }
    }
  }
}

function tile4x8(a: usize, K: i32, bp: usize, kb: i32, c: usize, N: i32, j: i32, bias: usize, first: bool): void {
  const r1 = <usize>N << 2;
  const c0 = c + (<usize>j << 2);
  let c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128;
  if (first) {
    c00 = bias != 0 ? v128.load(bias + (<usize>j << 2)) : f32x4.splat(0);
    c01 = bias != 0 ? v128.load(bias + (<usize>j << 2), 16) : f32x4.splat(0);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
  } else {
    c00 = v128.load(c0); c01 = v128.load(c0, 16);
    c10 = v128.load(c0 + r1); c11 = v128.load(c0 + r1, 16);
    c20 = v128.load(c0 + 2 * r1); c21 = v128.load(c0 + 2 * r1, 16);
    c30 = v128.load(c0 + 3 * r1); c31 = v128.load(c0 + 3 * r1, 16);
  }
  const ar = <usize>K << 2;
  let ap = a;
  let p = bp;
  for (let k = 0; k < kb; k++) {
    const b0 = v128.load(p);
    const b1 = v128.load(p, 16);
    const a0 = v128.load32_splat(ap);
    const a1 = v128.load32_splat(ap + ar);
    const a2 = v128.load32_splat(ap + 2 * ar);
    const a3 = v128.load32_splat(ap + 3 * ar);
    c00 = fma4(a0, b0, c00); c01 = fma4(a0, b1, c01);
    c10 = fma4(a1, b0, c10); c11 = fma4(a1, b1, c11);
    c20 = fma4(a2, b0, c20); c21 = fma4(a2, b1, c21);
    c30 = fma4(a3, b0, c30); c31 = fma4(a3, b1, c31);
    ap += 4;
    p += 32;
  }
  v128.store(c0, c00); v128.store(c0, c01, 16);
  v128.store(c0 + r1, c10); v128.store(c0 + r1, c11, 16);
  v128.store(c0 + 2 * r1, c20); v128.store(c0 + 2 * r1, c21, 16);
  v128.store(c0 + 3 * r1, c30); v128.store(c0 + 3 * r1, c31, 16);
}

function tile1x8(a: usize, bp: usize, kb: i32, c: usize, j: i32, bias: usize, first: bool): void {
  const c0 = c + (<usize>j << 2);
  let c00: v128, c01: v128;
  if (first) {
    c00 = bias != 0 ? v128.load(bias + (<usize>j << 2)) : f32x4.splat(0);
    c01 = bias != 0 ? v128.load(bias + (<usize>j << 2), 16) : f32x4.splat(0);
  } else {
    c00 = v128.load(c0); c01 = v128.load(c0, 16);
  }
  let ap = a;
  let p = bp;
  for (let k = 0; k < kb; k++) {
    const a0 = v128.load32_splat(ap);
    c00 = fma4(a0, v128.load(p), c00);
    c01 = fma4(a0, v128.load(p, 16), c01);
    ap += 4;
    p += 32;
  }
  v128.store(c0, c00); v128.store(c0, c01, 16);
}

/** Columns j..j+nvalid-1 (nvalid < 8) of rows i0..i1-1, scalar. */
function tileEdge(a: usize, K: i32, bp: usize, kb: i32, c: usize, N: i32, i0: i32, i1: i32, j: i32, nvalid: i32, bias: usize, first: bool): void {
  for (let i = i0; i < i1; i++) {
    const arow = a + (<usize>(i * K) << 2);
    for (let col = 0; col < nvalid; col++) {
      const cp = c + (<usize>(i * N + j + col) << 2);
      let acc: f32 = first ? (bias != 0 ? load<f32>(bias + (<usize>(j + col) << 2)) : 0) : load<f32>(cp);
      let p = bp + (<usize>col << 2);
      for (let k = 0; k < kb; k++) {
        acc += load<f32>(arow + (<usize>k << 2)) * load<f32>(p);
        p += 32;
      }
      store<f32>(cp, acc);
    }
  }
}

export function sgemm(a: usize, w: usize, bias: usize, c: usize, M: i32, N: i32, K: i32, scratch: usize, tid: i32, nt: i32): void {
  const panels = (N + 7) >> 3;
  const per = (panels + nt - 1) / nt;
  const pBegin = min(panels, tid * per);
  const pStop = min(panels, pBegin + per);
  if (pBegin >= pStop) return;
  const pk = scratch + <usize>tid * <usize>GEMM_SCRATCH_BYTES;
  for (let jb = pBegin; jb < pStop; jb += NCP) {
    const jbEnd = min(pStop, jb + NCP);
    for (let kc = 0; kc < K; kc += KC) {
      const kb = min(KC, K - kc);
      packPanels(w, N, K, jb, jbEnd, kc, kb, pk);
      const first = kc == 0;
      const aK = a + (<usize>kc << 2);
      for (let p = jb; p < jbEnd; p++) {
        const bp = pk + (<usize>((p - jb) * kb * 8) << 2);
        const j = p * 8;
        if (j + 8 > N) {
          tileEdge(aK, K, bp, kb, c, N, 0, M, j, N - j, bias, first);
          continue;
        }
        let i = 0;
        for (; i + 4 <= M; i += 4) tile4x8(aK + (<usize>(i * K) << 2), K, bp, kb, c + (<usize>(i * N) << 2), N, j, bias, first);
        for (; i < M; i++) tile1x8(aK + (<usize>(i * K) << 2), bp, kb, c + (<usize>(i * N) << 2), j, bias, first);
      }
    }
  }
}

/** y[N] = W[N,K] x[K] (+ bias): four rows at a time, dot products along K (the nn.Linear layout). */
export function gemv(w: usize, x: usize, bias: usize, y: usize, N: i32, K: i32, tid: i32, nt: i32): void {
  const per = (((N + 3) >> 2) + nt - 1) / nt * 4;
  const r0 = min(N, tid * per);
  const r1 = min(N, r0 + per);
  const rs = <usize>K << 2;
  const K4 = K & ~3;
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    const w0 = w + <usize>r * rs;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let k = 0; k < K4; k += 4) {
      const off = <usize>k << 2;
      const xv = v128.load(x + off);
      s0 = fma4(v128.load(w0 + off), xv, s0);
      s1 = fma4(v128.load(w0 + rs + off), xv, s1);
      s2 = fma4(v128.load(w0 + 2 * rs + off), xv, s2);
      s3 = fma4(v128.load(w0 + 3 * rs + off), xv, s3);
    }
    // transpose-add the four accumulators into one vector of row sums
    const t0 = f32x4.add(v128.shuffle<f32>(s0, s1, 0, 4, 1, 5), v128.shuffle<f32>(s0, s1, 2, 6, 3, 7));
    const t1 = f32x4.add(v128.shuffle<f32>(s2, s3, 0, 4, 1, 5), v128.shuffle<f32>(s2, s3, 2, 6, 3, 7));
    let sum = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
    for (let k = K4; k < K; k++) {
      const xk = load<f32>(x + (<usize>k << 2));
      const off = <usize>k << 2;
      const tail = f32x4(load<f32>(w0 + off) * xk, load<f32>(w0 + rs + off) * xk, load<f32>(w0 + 2 * rs + off) * xk, load<f32>(w0 + 3 * rs + off) * xk);
      sum = f32x4.add(sum, tail);
    }
    if (bias != 0) sum = f32x4.add(sum, v128.load(bias + (<usize>r << 2)));
    v128.store(y + (<usize>r << 2), sum);
  }
  for (; r < r1; r++) {
    const wr = w + <usize>r * rs;
    let s = f32x4.splat(0);
    for (let k = 0; k < K4; k += 4) s = fma4(v128.load(wr + (<usize>k << 2)), v128.load(x + (<usize>k << 2)), s);
    let acc = hsum(s);
    for (let k = K4; k < K; k++) acc += load<f32>(wr + (<usize>k << 2)) * load<f32>(x + (<usize>k << 2));
    if (bias != 0) acc += load<f32>(bias + (<usize>r << 2));
    store<f32>(y + (<usize>r << 2), acc);
  }
}
