// gemm: C[M,N] (+)= A'[M,K] . B'[K,N] (+ bias[N]) where A' is A or A^T and B' is B or B^T, addressed through strides:
// the linear layer's forward (B' = W^T) and the products of its backward pass (dX = dY W, dW = dY^T X).
// Goto-style blocking (Goto & van de Geijn 2008, "Anatomy of High-Performance Matrix Multiplication"): each thread owns
// a range of 8-column panels of B'; for every KC-deep slice it packs up to NCP of them into [k][8] order, then packs
// MC-row blocks of A' into [six rows][k][6] order, and 6x8 register tiles (12 f32x4 accumulators) run over the packed
// pair. Packing A' lets the tile address its six rows by constant offsets from one pointer: without it, the row
// addresses cost V8 an lea each per k, and the loop becomes issue-bound below the two FMA ports' rate. The same
// packing reads a transposed A' (a stored [K,M]) directly. M tails (fewer than six rows of a block) use unpacked 4x8
// and 1x8 tiles; the N tail (N % 8) runs the same tiles through an 8-wide copy of its columns. The sum over k runs in one FMA chain per output whatever the
// blocking, so results do not depend on KC, MC or the thread count.
import { fma4 } from '../common/simd';

const KC: i32 = 512;
const NCP: i32 = 64;
const MC: i32 = 48;
const B_BYTES: i32 = KC * NCP * 8 * 4;
const A_BYTES: i32 = MC * KC * 4;
const SCRATCH: i32 = B_BYTES + A_BYTES + 6 * 8 * 4;
/** bytes of packing scratch one thread needs */
export const GEMM_SCRATCH_BYTES: i32 = SCRATCH;

export function gemm_scratch_bytes(): i32 {
  return SCRATCH;
}

/** B'(n, k) = b[n * sbn + k * sbk] for panels [pFirst, pEnd), depth [kc, kc + kb), into dst as [k][8]. */
function pack(b: usize, sbn: i32, sbk: i32, N: i32, pFirst: i32, pEnd: i32, kc: i32, kb: i32, dst: usize): void {
  for (let p = pFirst; p < pEnd; p++) {
    const base = dst + (<usize>((p - pFirst) * kb * 8) << 2);
    const n0 = p * 8;
    const nv = min(8, N - n0);
    let k = 0;
    if (sbk == 1 && nv == 8) {
      // B' rows contiguous along k (a linear's W [N, K]): four k at a time from each of the 8 rows, two 4x4 transposes
      const rs = <usize>sbn << 2;
      for (; k + 4 <= kb; k += 4) {
        const src = b + (<usize>(n0 * sbn + kc + k) << 2);
        const r0 = v128.load(src), r1 = v128.load(src + rs), r2 = v128.load(src + 2 * rs), r3 = v128.load(src + 3 * rs);
        const r4 = v128.load(src + 4 * rs), r5 = v128.load(src + 5 * rs), r6 = v128.load(src + 6 * rs), r7 = v128.load(src + 7 * rs);
        const a01l = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), a01h = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const a23l = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), a23h = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const b01l = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5), b01h = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7);
        const b23l = v128.shuffle<f32>(r6, r7, 0, 4, 1, 5), b23h = v128.shuffle<f32>(r6, r7, 2, 6, 3, 7);
        const d = base + (<usize>(k * 8) << 2);
        v128.store(d, v128.shuffle<f32>(a01l, a23l, 0, 1, 4, 5)); v128.store(d, v128.shuffle<f32>(b01l, b23l, 0, 1, 4, 5), 16);
        v128.store(d, v128.shuffle<f32>(a01l, a23l, 2, 3, 6, 7), 32); v128.store(d, v128.shuffle<f32>(b01l, b23l, 2, 3, 6, 7), 48);
        v128.store(d, v128.shuffle<f32>(a01h, a23h, 0, 1, 4, 5), 64); v128.store(d, v128.shuffle<f32>(b01h, b23h, 0, 1, 4, 5), 80);
        v128.store(d, v128.shuffle<f32>(a01h, a23h, 2, 3, 6, 7), 96); v128.store(d, v128.shuffle<f32>(b01h, b23h, 2, 3, 6, 7), 112);
      }
    }
    for (; k < kb; k++) {
      const d = base + (<usize>(k * 8) << 2);
      const src = b + (<usize>(n0 * sbn + (kc + k) * sbk) << 2);
      if (sbn == 1 && nv == 8) {
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        continue;
      }
      for (let c = 0; c < 8; c++) store<f32>(d + (<usize>c << 2), c < nv ? load<f32>(src + (<usize>(c * sbn) << 2)) : 0);
    }
  }
}


/** Rows [0, rows) of A' (rows a multiple of 6) at depth [0, kb), into dst as [row / 6][k][6]. */
function packA(a: usize, sai: i32, sak: i32, rows: i32, kb: i32, dst: usize): void {
  for (let i0 = 0; i0 < rows; i0 += 6) {
    const base = dst + (<usize>(i0 * kb) << 2);
    if (sai == 1) {
      let src = a + (<usize>i0 << 2), d = base;
      const sk = <usize>sak << 2;
      for (let k = 0; k < kb; k++) { v128.store(d, v128.load(src)); store<u64>(d, load<u64>(src, 16), 16); src += sk; d += 24; }
    } else if (sak == 1) {
      // rows contiguous along k: four k of each of the six rows, transposed in registers
      const rs = <usize>sai << 2;
      let src = a + (<usize>(i0 * sai) << 2), d = base, k = 0;
      for (; k + 4 <= kb; k += 4) {
        const r0 = v128.load(src), r1 = v128.load(src + rs), r2 = v128.load(src + 2 * rs), r3 = v128.load(src + 3 * rs);
        const r4 = v128.load(src + 4 * rs), r5 = v128.load(src + 5 * rs);
        const t01l = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t01h = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t23l = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), t23h = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const t45l = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5), t45h = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t01l, t23l, 0, 1, 4, 5)); v128.store64_lane(d + 16, t45l, 0);
        v128.store(d, v128.shuffle<f32>(t01l, t23l, 2, 3, 6, 7), 24); v128.store64_lane(d + 40, t45l, 1);
        v128.store(d, v128.shuffle<f32>(t01h, t23h, 0, 1, 4, 5), 48); v128.store64_lane(d + 64, t45h, 0);
        v128.store(d, v128.shuffle<f32>(t01h, t23h, 2, 3, 6, 7), 72); v128.store64_lane(d + 88, t45h, 1);
        src += 16; d += 96;
      }
      for (; k < kb; k++) {
        for (let r = 0; r < 6; r++) store<f32>(d + (<usize>r << 2), load<f32>(src + <usize>r * rs));
        src += 4; d += 24;
      }
    } else {
      for (let r = 0; r < 6; r++) {
        let src = a + (<usize>((i0 + r) * sai) << 2), d = base + (<usize>r << 2);
        const sk = <usize>sak << 2;
        for (let k = 0; k < kb; k++) { store<f32>(d, load<f32>(src)); src += sk; d += 24; }
      }
    }
  }
}

/** six packed rows of A' times one packed panel of B' */
function tile6x8(ap0: usize, bp: usize, kb: i32, c0: usize, rowBytes: usize, first: bool, bj: usize): void {
  let c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128, c40: v128, c41: v128, c50: v128, c51: v128;
  if (first) {
    c00 = bj != 0 ? v128.load(bj) : f32x4.splat(0); c01 = bj != 0 ? v128.load(bj, 16) : f32x4.splat(0); c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01; c40 = c00; c41 = c01; c50 = c00; c51 = c01;
  } else {
    c00 = v128.load(c0); c01 = v128.load(c0, 16);
    c10 = v128.load(c0 + rowBytes); c11 = v128.load(c0 + rowBytes, 16);
    c20 = v128.load(c0 + 2 * rowBytes); c21 = v128.load(c0 + 2 * rowBytes, 16);
    c30 = v128.load(c0 + 3 * rowBytes); c31 = v128.load(c0 + 3 * rowBytes, 16);
    c40 = v128.load(c0 + 4 * rowBytes); c41 = v128.load(c0 + 4 * rowBytes, 16);
    c50 = v128.load(c0 + 5 * rowBytes); c51 = v128.load(c0 + 5 * rowBytes, 16);
  }
  let ap = ap0;
  let p = bp;
  const end = bp + (<usize>kb << 5);
  while (p < end) {
    const b0 = v128.load(p);
    const b1 = v128.load(p, 16);
    let av = v128.load32_splat(ap);
    c00 = fma4(av, b0, c00); c01 = fma4(av, b1, c01);
    av = v128.load32_splat(ap, 4);
    c10 = fma4(av, b0, c10); c11 = fma4(av, b1, c11);
    av = v128.load32_splat(ap, 8);
    c20 = fma4(av, b0, c20); c21 = fma4(av, b1, c21);
    av = v128.load32_splat(ap, 12);
    c30 = fma4(av, b0, c30); c31 = fma4(av, b1, c31);
    av = v128.load32_splat(ap, 16);
    c40 = fma4(av, b0, c40); c41 = fma4(av, b1, c41);
    av = v128.load32_splat(ap, 20);
    c50 = fma4(av, b0, c50); c51 = fma4(av, b1, c51);
    ap += 24;
    p += 32;
  }
  v128.store(c0, c00); v128.store(c0, c01, 16);
  v128.store(c0 + rowBytes, c10); v128.store(c0 + rowBytes, c11, 16);
  v128.store(c0 + 2 * rowBytes, c20); v128.store(c0 + 2 * rowBytes, c21, 16);
  v128.store(c0 + 3 * rowBytes, c30); v128.store(c0 + 3 * rowBytes, c31, 16);
  v128.store(c0 + 4 * rowBytes, c40); v128.store(c0 + 4 * rowBytes, c41, 16);
  v128.store(c0 + 5 * rowBytes, c50); v128.store(c0 + 5 * rowBytes, c51, 16);
}

function tile4x8(a: usize, sai: usize, sak: usize, bp: usize, kb: i32, c0: usize, rowBytes: usize, first: bool, bj: usize): void {
  let c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128;
  if (first) {
    c00 = bj != 0 ? v128.load(bj) : f32x4.splat(0); c01 = bj != 0 ? v128.load(bj, 16) : f32x4.splat(0);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
  } else {
    c00 = v128.load(c0); c01 = v128.load(c0, 16);
    c10 = v128.load(c0 + rowBytes); c11 = v128.load(c0 + rowBytes, 16);
    c20 = v128.load(c0 + 2 * rowBytes); c21 = v128.load(c0 + 2 * rowBytes, 16);
    c30 = v128.load(c0 + 3 * rowBytes); c31 = v128.load(c0 + 3 * rowBytes, 16);
  }
  let ap = a;
  let p = bp;
  for (let k = 0; k < kb; k++) {
    const b0 = v128.load(p);
    const b1 = v128.load(p, 16);
    const a0 = v128.load32_splat(ap);
    const a1 = v128.load32_splat(ap + sai);
    const a2 = v128.load32_splat(ap + 2 * sai);
    const a3 = v128.load32_splat(ap + 3 * sai);
    c00 = fma4(a0, b0, c00); c01 = fma4(a0, b1, c01);
    c10 = fma4(a1, b0, c10); c11 = fma4(a1, b1, c11);
    c20 = fma4(a2, b0, c20); c21 = fma4(a2, b1, c21);
    c30 = fma4(a3, b0, c30); c31 = fma4(a3, b1, c31);
    ap += sak;
    p += 32;
  }
  v128.store(c0, c00); v128.store(c0, c01, 16);
  v128.store(c0 + rowBytes, c10); v128.store(c0 + rowBytes, c11, 16);
  v128.store(c0 + 2 * rowBytes, c20); v128.store(c0 + 2 * rowBytes, c21, 16);
  v128.store(c0 + 3 * rowBytes, c30); v128.store(c0 + 3 * rowBytes, c31, 16);
}

function tile1x8(a: usize, sak: usize, bp: usize, kb: i32, c0: usize, first: bool, bj: usize): void {
  let c00: v128, c01: v128;
  if (first) { c00 = bj != 0 ? v128.load(bj) : f32x4.splat(0); c01 = bj != 0 ? v128.load(bj, 16) : f32x4.splat(0); } else { c00 = v128.load(c0); c01 = v128.load(c0, 16); }
  let ap = a;
  let p = bp;
  for (let k = 0; k < kb; k++) {
    const a0 = v128.load32_splat(ap);
    c00 = fma4(a0, v128.load(p), c00);
    c01 = fma4(a0, v128.load(p, 16), c01);
    ap += sak;
    p += 32;
  }
  v128.store(c0, c00); v128.store(c0, c01, 16);
}

/**
 * The last panel when N % 8 != 0 (nv < 8 columns): rows' C values (or bias / 0 when first) are copied into an
 * 8-wide buffer ce, the same tiles run on it, and the nv columns go back.
 */
function edgeRows(tile: i32, a: usize, sai: usize, sak: usize, bp: usize, kb: i32, c0: usize, rowBytes: usize, first: bool, bias: usize, nv: i32, ce: usize): void {
  const rows = tile == 1 ? 1 : tile == 4 ? 4 : 6;
  for (let r = 0; r < rows; r++) {
    for (let col = 0; col < 8; col++) {
      const v: f32 = col >= nv ? 0 : !first ? load<f32>(c0 + <usize>r * rowBytes + (<usize>col << 2)) : bias != 0 ? load<f32>(bias + (<usize>col << 2)) : 0;
      store<f32>(ce + (<usize>(r * 8 + col) << 2), v);
    }
  }
  if (tile == 6) tile6x8(a, bp, kb, ce, 32, false, 0);
  else if (tile == 4) tile4x8(a, sai, sak, bp, kb, ce, 32, false, 0);
  else tile1x8(a, sak, bp, kb, ce, false, 0);
  for (let r = 0; r < rows; r++) for (let col = 0; col < nv; col++) store<f32>(c0 + <usize>r * rowBytes + (<usize>col << 2), load<f32>(ce + (<usize>(r * 8 + col) << 2)));
}

/**
 * C[M,N] = (accumulate ? C : bias (per column, if bias != 0) or 0) + A'B'. A'(i, k) = a[i * sai + k * sak], B'(n, k) = b[n * sbn + k * sbk] (strides in
 * floats: A stored [M,K] is (K, 1), stored [K,M] is (1, M); B stored [K,N] is (1, N), stored [N,K] is (K, 1)).
 */
export function gemm(a: usize, sai: i32, sak: i32, b: usize, sbn: i32, sbk: i32, bias: usize, c: usize, M: i32, N: i32, K: i32, accumulate: i32, scratch: usize, tid: i32, nt: i32): void {
  const panels = (N + 7) >> 3;
  const per = (panels + nt - 1) / nt;
  const pBegin = min(panels, tid * per);
  const pStop = min(panels, pBegin + per);
  if (pBegin >= pStop) return;
  const pk = scratch + <usize>tid * <usize>SCRATCH, pa = pk + <usize>B_BYTES, ce = pa + <usize>A_BYTES;
  const saiB = <usize>sai << 2, sakB = <usize>sak << 2, rowBytes = <usize>N << 2;
  if (K == 0) {
    if (accumulate == 0) for (let i = 0; i < M; i++) for (let j = pBegin * 8; j < min(N, pStop * 8); j++) store<f32>(c + (<usize>(i * N + j) << 2), bias != 0 ? load<f32>(bias + (<usize>j << 2)) : 0);
    return;
  }
  for (let jb = pBegin; jb < pStop; jb += NCP) {
    const jbEnd = min(pStop, jb + NCP);
    for (let kc = 0; kc < K; kc += KC) {
      const kb = min(KC, K - kc);
      pack(b, sbn, sbk, N, jb, jbEnd, kc, kb, pk);
      const first = kc == 0 && accumulate == 0;
      const aK = a + <usize>kc * sakB;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic), m6 = mc - mc % 6;
        const aI = aK + <usize>ic * saiB;
        packA(aI, sai, sak, m6, kb, pa);
        for (let p = jb; p < jbEnd; p++) {
          const j = p * 8, nv = N - j;
          const bp = pk + (<usize>((p - jb) * kb * 8) << 2);
          const cj = c + (<usize>j << 2) + <usize>ic * rowBytes, bj = bias != 0 ? bias + (<usize>j << 2) : 0;
          let i = 0;
          if (nv < 8) {
            for (; i < m6; i += 6) edgeRows(6, pa + (<usize>(i * kb) << 2), 0, 0, bp, kb, cj + <usize>i * rowBytes, rowBytes, first, bj, nv, ce);
            for (; i + 4 <= mc; i += 4) edgeRows(4, aI + <usize>i * saiB, saiB, sakB, bp, kb, cj + <usize>i * rowBytes, rowBytes, first, bj, nv, ce);
            for (; i < mc; i++) edgeRows(1, aI + <usize>i * saiB, saiB, sakB, bp, kb, cj + <usize>i * rowBytes, rowBytes, first, bj, nv, ce);
            continue;
          }
          for (; i < m6; i += 6) tile6x8(pa + (<usize>(i * kb) << 2), bp, kb, cj + <usize>i * rowBytes, rowBytes, first, bj);
          for (; i + 4 <= mc; i += 4) tile4x8(aI + <usize>i * saiB, saiB, sakB, bp, kb, cj + <usize>i * rowBytes, rowBytes, first, bj);
          for (; i < mc; i++) tile1x8(aI + <usize>i * saiB, sakB, bp, kb, cj + <usize>i * rowBytes, first, bj);
        }
      }
    }
  }
}

/** out[N] += sum over the M rows of x[M,N] (the gradient of a bias): threads own column ranges. */
export function col_sum(x: usize, out: usize, M: i32, N: i32, tid: i32, nt: i32): void {
  const units = (N + 3) >> 2;
  const per = (units + nt - 1) / nt;
  const j0 = min(N, tid * per * 4), j1 = min(N, (tid + 1) * per * 4);
  const rb = <usize>N << 2;
  let j = j0;
  for (; j + 4 <= j1; j += 4) {
    let s = f32x4.splat(0);
    let p = x + (<usize>j << 2);
    for (let i = 0; i < M; i++) { s = f32x4.add(s, v128.load(p)); p += rb; }
    const o = out + (<usize>j << 2);
    v128.store(o, f32x4.add(v128.load(o), s));
  }
  for (; j < j1; j++) {
    let s: f32 = 0;
    let p = x + (<usize>j << 2);
    for (let i = 0; i < M; i++) { s += load<f32>(p); p += rb; }
    store<f32>(out + (<usize>j << 2), load<f32>(out + (<usize>j << 2)) + s);
  }
}

/** dst[cols, rows] = src[rows, cols]^T in 32x32 tiles; threads own ranges of source column tiles. */
export function transpose(src: usize, rows: i32, cols: i32, dst: usize, tid: i32, nt: i32): void {
  const tiles = (cols + 31) >> 5;
  const per = (tiles + nt - 1) / nt;
  const t0 = min(tiles, tid * per), t1 = min(tiles, t0 + per);
  for (let tc = t0; tc < t1; tc++) {
    const c0 = tc << 5, c1 = min(cols, c0 + 32);
    for (let r0 = 0; r0 < rows; r0 += 32) {
      const r1 = min(rows, r0 + 32);
      for (let c = c0; c < c1; c++) {
        const d = dst + (<usize>(c * rows) << 2);
        for (let r = r0; r < r1; r++) store<f32>(d + (<usize>r << 2), load<f32>(src + (<usize>(r * cols + c) << 2)));
      }
    }
  }
}

// The former linear-layout sgemm entry points, for callers that use them (C = A W^T + bias, A [M,K], W [N,K]).
export function sgemm_scratch_bytes(): i32 {
  return SCRATCH;
}

export function sgemm(a: usize, w: usize, bias: usize, c: usize, M: i32, N: i32, K: i32, scratch: usize, tid: i32, nt: i32): void {
  gemm(a, K, 1, w, K, 1, bias, c, M, N, K, 0, scratch, tid, nt);
}
