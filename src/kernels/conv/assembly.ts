// conv2d as im2col + sgemm (the lowering of Chellapilla et al. 2006, "High Performance Convolutional Neural Networks
// for Document Processing", and Caffe): for one image, conv2d_im2col writes, per group g, the matrix
// col[g][p][k] (p = output pixel oh*OW + ow, k = (c*kh + i)*kw + j over the group's Cg input channels); then the
// gemm family's sgemm computes out[g] [Og, P] = W[g] [Og, K] . col[g] [P, K]^T, which is the NCHW output directly.
// Taps that fall into the padding are zeros. Threads split the G*P rows of col.
import { sgemm, GEMM_SCRATCH_BYTES } from '../gemm/assembly';
import { fma4 } from '../common/simd';

/**
 * col[g, p, k] = x[g*Cg + c, oh*sh - pt + i*dh, ow*sw - pl + j*dw] (0 outside), for one image x [C, H, W].
 * hw = H | W << 16, ohw = OH | OW << 16, khw = kh | kw << 16, s = sh | sw << 16, d = dh | dw << 16, p = pt | pl << 16.
 */
export function conv2d_im2col(x: usize, col: usize, G: i32, Cg: i32, hw: i32, ohw: i32, khw: i32, s: i32, d: i32, p: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, OH = ohw & 0xffff, OW = ohw >>> 16;
  const kh = khw & 0xffff, kw = khw >>> 16, sh = s & 0xffff, sw = s >>> 16, dh = d & 0xffff, dw = d >>> 16;
  const pt = p & 0xffff, pl = p >>> 16;
  const P = OH * OW, K = Cg * kh * kw, rows = G * P;
  const per = (rows + nt - 1) / nt;
  const r0 = min(rows, tid * per), r1 = min(rows, r0 + per);
  for (let r = r0; r < r1; r++) {
    const g = r / P, pix = r - g * P;
    const oh = pix / OW, ow = pix - oh * OW;
    const h0 = oh * sh - pt, w0 = ow * sw - pl;
    let dst = col + (<usize>r * <usize>K << 2);
    for (let c = 0; c < Cg; c++) {
      const plane = x + (<usize>((g * Cg + c) * H * W) << 2);
      for (let i = 0; i < kh; i++) {
        const h = h0 + i * dh;
        if (h < 0 || h >= H) {
          for (let j = 0; j < kw; j++) { store<f32>(dst, 0); dst += 4; }
          continue;
        }
        const row = plane + (<usize>(h * W) << 2);
        if (dw == 1 && w0 >= 0 && w0 + kw <= W) {
          memory.copy(dst, row + (<usize>w0 << 2), <usize>kw << 2);
          dst += <usize>kw << 2;
          continue;
        }
        for (let j = 0; j < kw; j++) {
          const w = w0 + j * dw;
          store<f32>(dst, w >= 0 && w < W ? load<f32>(row + (<usize>w << 2)) : 0);
          dst += 4;
        }
      }
    }
  }
}

/**
 * The whole batch in one dispatch: each thread takes a range of the N images and, for each, runs conv2d_im2col and
 * the sgemm of every group on its own (its col scratch is G*P*K floats at col + tid*G*P*K*4, its sgemm scratch
 * GEMM_SCRATCH_BYTES at gemm + tid*GEMM_SCRATCH_BYTES). For batches of at least as many images as threads: it
 * replaces 1 + G dispatches per image by one.
 */
export function conv2d_batch(x: usize, w: usize, out: usize, col: usize, gemm: usize, N: i32, C: i32, O: i32, G: i32,
  hw: i32, ohw: i32, khw: i32, s: i32, d: i32, p: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, P = (ohw & 0xffff) * (ohw >>> 16);
  const Cg = C / G, Og = O / G, K = Cg * (khw & 0xffff) * (khw >>> 16);
  const per = (N + nt - 1) / nt;
  const n0 = min(N, tid * per), n1 = min(N, n0 + per);
  const myCol = col + (<usize>tid * <usize>(G * P * K) << 2);
  const myGemm = gemm + <usize>tid * <usize>GEMM_SCRATCH_BYTES;
  for (let n = n0; n < n1; n++) {
    conv2d_im2col(x + (<usize>n * <usize>(C * H * W) << 2), myCol, G, Cg, hw, ohw, khw, s, d, p, 0, 1);
    for (let g = 0; g < G; g++) {
      sgemm(w + (<usize>(g * Og * K) << 2), myCol + (<usize>(g * P * K) << 2), 0, out + (<usize>((n * O + g * Og) * P) << 2), Og, P, K, myGemm, 0, 1);
    }
  }
}

// ---- direct stride-1 convolution (no patch matrix) ----
// For stride 1 and dilation 1 the im2col product needs no patch matrix: with the image copied into a zero-padded
// plane xp [C, Hp, Wp] (Hp = OH + kh - 1, Wp = OW + kw - 1), the eight patch rows of output pixels (oh, ow..ow+7)
// at tap k = (c kh + i) kw + j are the eight consecutive floats xp[c, oh + i, ow + j ..]. So the 6x8 / 4x8 / 1x8
// register tiles of the GEMM (kernels/gemm) read them straight from xp: same products, same order over k (0..K-1,
// one accumulator per output), then the bias, so the same bits as im2col + sgemm + channel_affine (whose last
// P mod 8 pixels run through the same tiles too).

/** v, plus what is at p when a */
@inline function addTo(a: bool, p: usize, v: f32): f32 {
  return a ? load<f32>(p) + v : v;
}

/** out[o][px..px+nv) for rows o of a tile: two vectors, nv (< 8) lanes of them when the row block is cut; acc: added to what is there */
@inline function storeRow(dst: usize, v0: v128, v1: v128, nv: i32, acc: i32): void {
  if (nv >= 8) {
    if (acc != 0) { v0 = f32x4.add(v128.load(dst), v0); v1 = f32x4.add(v128.load(dst, 16), v1); }
    v128.store(dst, v0); v128.store(dst, v1, 16);
    return;
  }
  const a = acc != 0;
  if (nv >= 4) {
    v128.store(dst, a ? f32x4.add(v128.load(dst), v0) : v0);
    if (nv > 4) store<f32>(dst, addTo(a, dst + 16, f32x4.extract_lane(v1, 0)), 16);
    if (nv > 5) store<f32>(dst, addTo(a, dst + 20, f32x4.extract_lane(v1, 1)), 20);
    if (nv > 6) store<f32>(dst, addTo(a, dst + 24, f32x4.extract_lane(v1, 2)), 24);
    return;
  }
  store<f32>(dst, addTo(a, dst + 0, f32x4.extract_lane(v0, 0)));
  if (nv > 1) store<f32>(dst, addTo(a, dst + 4, f32x4.extract_lane(v0, 1)), 4);
  if (nv > 2) store<f32>(dst, addTo(a, dst + 8, f32x4.extract_lane(v0, 2)), 8);
}

/** v + bias[o] (no add without a bias: -0 stays -0, as in the im2col path) */
@inline function withBias(v: v128, bias: usize, o: i32): v128 {
  return bias != 0 ? f32x4.add(v, f32x4.splat(load<f32>(bias + (<usize>o << 2)))) : v;
}

/** rows o0..o0+5 of out for the 8 pixels at xb (the padded plane at (oh, ow)); w: the tile's weights tap-major, taps sak bytes apart */
function direct6x8(w: usize, sak: usize, xb: usize, C: i32, plane: usize, rowB: usize, kh: i32, kw: i32, out: usize, P: usize, nv: i32, bias: usize, o0: i32, acc: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const sa: usize = 4;
  let ap = w;
  for (let c = 0; c < C; c++) {
    let xr = xb + <usize>c * plane;
    for (let i = 0; i < kh; i++) {
      let p = xr;
      for (let j = 0; j < kw; j++) {
        const b0 = v128.load(p), b1 = v128.load(p, 16);
        let av = v128.load32_splat(ap);
        c00 = fma4(av, b0, c00); c01 = fma4(av, b1, c01);
        av = v128.load32_splat(ap + sa);
        c10 = fma4(av, b0, c10); c11 = fma4(av, b1, c11);
        av = v128.load32_splat(ap + 2 * sa);
        c20 = fma4(av, b0, c20); c21 = fma4(av, b1, c21);
        av = v128.load32_splat(ap + 3 * sa);
        c30 = fma4(av, b0, c30); c31 = fma4(av, b1, c31);
        av = v128.load32_splat(ap + 4 * sa);
        c40 = fma4(av, b0, c40); c41 = fma4(av, b1, c41);
        av = v128.load32_splat(ap + 5 * sa);
        c50 = fma4(av, b0, c50); c51 = fma4(av, b1, c51);
        ap += sak;
        p += 4;
      }
      xr += rowB;
    }
  }
  const pb = P << 2;
  storeRow(out, withBias(c00, bias, o0), withBias(c01, bias, o0), nv, acc);
  storeRow(out + pb, withBias(c10, bias, o0 + 1), withBias(c11, bias, o0 + 1), nv, acc);
  storeRow(out + 2 * pb, withBias(c20, bias, o0 + 2), withBias(c21, bias, o0 + 2), nv, acc);
  storeRow(out + 3 * pb, withBias(c30, bias, o0 + 3), withBias(c31, bias, o0 + 3), nv, acc);
  storeRow(out + 4 * pb, withBias(c40, bias, o0 + 4), withBias(c41, bias, o0 + 4), nv, acc);
  storeRow(out + 5 * pb, withBias(c50, bias, o0 + 5), withBias(c51, bias, o0 + 5), nv, acc);
}

function direct4x8(w: usize, sak: usize, xb: usize, C: i32, plane: usize, rowB: usize, kh: i32, kw: i32, out: usize, P: usize, nv: i32, bias: usize, o0: i32, acc: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const sa: usize = 4;
  let ap = w;
  for (let c = 0; c < C; c++) {
    let xr = xb + <usize>c * plane;
    for (let i = 0; i < kh; i++) {
      let p = xr;
      for (let j = 0; j < kw; j++) {
        const b0 = v128.load(p), b1 = v128.load(p, 16);
        const a0 = v128.load32_splat(ap), a1 = v128.load32_splat(ap + sa), a2 = v128.load32_splat(ap + 2 * sa), a3 = v128.load32_splat(ap + 3 * sa);
        c00 = fma4(a0, b0, c00); c01 = fma4(a0, b1, c01);
        c10 = fma4(a1, b0, c10); c11 = fma4(a1, b1, c11);
        c20 = fma4(a2, b0, c20); c21 = fma4(a2, b1, c21);
        c30 = fma4(a3, b0, c30); c31 = fma4(a3, b1, c31);
        ap += sak;
        p += 4;
      }
      xr += rowB;
    }
  }
  const pb = P << 2;
  storeRow(out, withBias(c00, bias, o0), withBias(c01, bias, o0), nv, acc);
  storeRow(out + pb, withBias(c10, bias, o0 + 1), withBias(c11, bias, o0 + 1), nv, acc);
  storeRow(out + 2 * pb, withBias(c20, bias, o0 + 2), withBias(c21, bias, o0 + 2), nv, acc);
  storeRow(out + 3 * pb, withBias(c30, bias, o0 + 3), withBias(c31, bias, o0 + 3), nv, acc);
}

function direct1x8(w: usize, sak: usize, xb: usize, C: i32, plane: usize, rowB: usize, kh: i32, kw: i32, out: usize, nv: i32, bias: usize, o0: i32, acc: i32): void {
  let c00 = f32x4.splat(0), c01 = c00;
  let ap = w;
  for (let c = 0; c < C; c++) {
    let xr = xb + <usize>c * plane;
    for (let i = 0; i < kh; i++) {
      let p = xr;
      for (let j = 0; j < kw; j++) {
        const a0 = v128.load32_splat(ap);
        c00 = fma4(a0, v128.load(p), c00); c01 = fma4(a0, v128.load(p, 16), c01);
        ap += sak;
        p += 4;
      }
      xr += rowB;
    }
  }
  storeRow(out, withBias(c00, bias, o0), withBias(c01, bias, o0), nv, acc);
}

/** floats of padded-image scratch one thread of conv2d_direct needs: C Hp Wp plus the row blocks' overreach */
export function conv2d_direct_scratch(C: i32, Hp: i32, Wp: i32): i32 {
  return C * Hp * Wp + 8;
}

/**
 * out [N, O, OH, OW] = conv2d(x [N, C, H, W], w) (+ bias [O]) at stride 1, dilation 1, one group, with the weights
 * tap-major: wt [C kh kw, O] (the [O, C, kh, kw] weights transposed, so a tile's six weights of a tap share a cache
 * line) (acc != 0: out += that instead); threads take whole images, each with its padded copy at
 * pad + tid * conv2d_direct_scratch(C, Hp, Wp) floats. Packed geometry as conv2d_im2col (p = pt | pl << 16).
 */
export function conv2d_direct(x: usize, wt: usize, bias: usize, out: usize, pad: usize, N: i32, C: i32, O: i32, hw: i32, ohw: i32, khw: i32, p: i32, acc: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, OH = ohw & 0xffff, OW = ohw >>> 16, kh = khw & 0xffff, kw = khw >>> 16;
  const pt = p & 0xffff, pl = p >>> 16, Hp = OH + kh - 1, Wp = OW + kw - 1, P = OH * OW, sak = <usize>O << 2;
  const per = (N + nt - 1) / nt;
  const n0 = min(N, tid * per), n1 = min(N, n0 + per);
  const size = conv2d_direct_scratch(C, Hp, Wp);
  const xp = pad + (<usize>tid * <usize>size << 2);
  const plane = <usize>(Hp * Wp) << 2, rowB = <usize>Wp << 2;
  // the image's rows that land inside the padded plane (padding past the output's reach is never read)
  const hEnd = min(H, Hp - pt), wEnd = min(W, Wp - pl);
  for (let n = n0; n < n1; n++) {
    memory.fill(xp, 0, <usize>size << 2);
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < hEnd; h++) {
        memory.copy(xp + <usize>c * plane + <usize>((h + pt) * Wp + pl) * 4, x + (<usize>(((n * C + c) * H + h) * W) << 2), <usize>max(0, wEnd) << 2);
      }
    }
    const outN = out + (<usize>n * <usize>(O * P) << 2);
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow += 8) {
        const nv = min(8, OW - ow);
        const xb = xp + <usize>(oh * Wp + ow) * 4, ob = outN + (<usize>(oh * OW + ow) << 2);
        let o = 0;
        for (; o + 6 <= O; o += 6) direct6x8(wt + (<usize>o << 2), sak, xb, C, plane, rowB, kh, kw, ob + (<usize>(o * P) << 2), <usize>P, nv, bias, o, acc);
        for (; o + 4 <= O; o += 4) direct4x8(wt + (<usize>o << 2), sak, xb, C, plane, rowB, kh, kw, ob + (<usize>(o * P) << 2), <usize>P, nv, bias, o, acc);
        for (; o < O; o++) direct1x8(wt + (<usize>o << 2), sak, xb, C, plane, rowB, kh, kw, ob + (<usize>(o * P) << 2), nv, bias, o, acc);
      }
    }
  }
}

/**
 * wf [O kh kw, C] (tap-major, as conv2d_direct reads) = w [O, C, kh, kw] with each kernel turned by 180 degrees: the
 * weights of the stride-1 convolution whose output is conv2d's input gradient (dx = conv2d(dy padded by k - 1 - pad, wf)).
 */
export function conv2d_flip_weights(w: usize, wf: usize, O: i32, C: i32, khw: i32, tid: i32, nt: i32): void {
  const kh = khw & 0xffff, kw = khw >>> 16, T = kh * kw;
  const per = (O + nt - 1) / nt;
  const o0 = min(O, tid * per), o1 = min(O, o0 + per);
  for (let o = o0; o < o1; o++) for (let c = 0; c < C; c++) for (let t = 0; t < T; t++) {
    store<f32>(wf + (<usize>((o * T + T - 1 - t) * C + c) << 2), load<f32>(w + (<usize>((o * C + c) * T + t) << 2)));
  }
}
