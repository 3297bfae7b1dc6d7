// conv2d's gradient through the im2col lowering (kernels/conv), batched over the images so a step is a few large
// GEMMs instead of one per image: col[g][n P + p][k] holds every image's patches (k = (c kh + i) kw + j over the
// group's Cg channels), dyr[g][n P + p][o] the output gradient as rows; then (kernels/conv-backward/index.ts)
//   dW[g] += dyr[g]^T col[g]   (GEMM),   dcol[g] = dyr[g] W[g]   (GEMM),   dx += col2im(dcol),   dbias += column sums of dyr.
import { fma4 } from '../common/simd';
// Geometry words pack two 16-bit values as in kernels/conv: a | b << 16.

/** col[g][n P + p][k] for all N images of x [N, G Cg, H, W]; threads split the N G P rows */
export function conv2d_im2col_batch(x: usize, col: usize, N: i32, G: i32, Cg: i32, hw: i32, ohw: i32, khw: i32, s: i32, d: i32, p: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, OH = ohw & 0xffff, OW = ohw >>> 16;
  const kh = khw & 0xffff, kw = khw >>> 16, sh = s & 0xffff, sw = s >>> 16, dh = d & 0xffff, dw = d >>> 16;
  const pt = p & 0xffff, pl = p >>> 16;
  const P = OH * OW, K = Cg * kh * kw, rows = N * G * P;
  const per = (rows + nt - 1) / nt;
  const r0 = min(rows, tid * per), r1 = min(rows, r0 + per);
  // r runs over (g, n, oh, ow) with ow fastest: counters, not divisions, per row
  let g = r0 / (N * P), n = (r0 - g * N * P) / P, pix = r0 - (g * N + n) * P, oh = pix / OW, ow = pix - oh * OW;
  for (let r = r0; r < r1; r++) {
    if (r > r0) {
      if (++ow == OW) { ow = 0; if (++oh == OH) { oh = 0; if (++n == N) { n = 0; g++; } } }
    }
    const h0 = oh * sh - pt, w0 = ow * sw - pl;
    let dst = col + (<usize>r * <usize>K << 2);
    const inside = dw == 1 && w0 >= 0 && w0 + kw <= W;
    for (let c = 0; c < Cg; c++) {
      const plane = x + (<usize>(((n * G + g) * Cg + c) * H * W) << 2);
      for (let i = 0; i < kh; i++) {
        const h = h0 + i * dh;
        if (h < 0 || h >= H) {
          for (let j = 0; j < kw; j++) { store<f32>(dst, 0); dst += 4; }
          continue;
        }
        const row = plane + (<usize>(h * W) << 2);
        if (inside) {
          let src = row + (<usize>w0 << 2), j = 0;
          for (; j + 4 <= kw; j += 4) { v128.store(dst, v128.load(src)); dst += 16; src += 16; }
          for (; j < kw; j++) { store<f32>(dst, load<f32>(src)); dst += 4; src += 4; }
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

/** dyr[g][n P + p][o] = dy[n, g Og + o, p] for dy [N, G Og, P]; threads split the rows */
export function nchw_to_rows(dy: usize, dyr: usize, N: i32, G: i32, Og: i32, P: i32, tid: i32, nt: i32): void {
  const rows = G * N * P;
  const per = (rows + nt - 1) / nt;
  const r0 = min(rows, tid * per), r1 = min(rows, r0 + per);
  let g = r0 / (N * P), n = (r0 - g * N * P) / P, pix = r0 - (g * N + n) * P;
  for (let r = r0; r < r1; r++) {
    if (r > r0 && ++pix == P) { pix = 0; if (++n == N) { n = 0; g++; } }
    const src = dy + (<usize>((n * G + g) * Og * P + pix) << 2), dst = dyr + (<usize>(r * Og) << 2);
    for (let o = 0; o < Og; o++) store<f32>(dst + (<usize>o << 2), load<f32>(src + (<usize>(o * P) << 2)));
  }
}

/** dx [N, G Cg, H, W] += the patches of dcol[g][n P + p][k] scattered back; threads own (n, channel) planes */
export function conv2d_col2im(dcol: usize, dx: usize, N: i32, G: i32, Cg: i32, hw: i32, ohw: i32, khw: i32, s: i32, d: i32, p: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, OH = ohw & 0xffff, OW = ohw >>> 16;
  const kh = khw & 0xffff, kw = khw >>> 16, sh = s & 0xffff, sw = s >>> 16, dh = d & 0xffff, dw = d >>> 16;
  const pt = p & 0xffff, pl = p >>> 16;
  const P = OH * OW, K = Cg * kh * kw, C = G * Cg, planes = N * C;
  const per = (planes + nt - 1) / nt;
  const q0 = min(planes, tid * per), q1 = min(planes, q0 + per);
  for (let q = q0; q < q1; q++) {
    const n = q / C, ch = q - n * C, g = ch / Cg, c = ch - g * Cg;
    const plane = dx + (<usize>(q * H * W) << 2);
    for (let pix = 0, oh = 0, ow = 0; pix < P; pix++) {
      const h0 = oh * sh - pt, w0 = ow * sw - pl;
      if (++ow == OW) { ow = 0; oh++; }
      const src = dcol + (<usize>(((g * N + n) * P + pix) * K + c * kh * kw) << 2);
      const inside = dw == 1 && w0 >= 0 && w0 + kw <= W;
      for (let i = 0; i < kh; i++) {
        const h = h0 + i * dh;
        if (h < 0 || h >= H) continue;
        const s0 = src + (<usize>(i * kw) << 2);
        if (inside) {
          let o = plane + (<usize>(h * W + w0) << 2), sp = s0, j = 0;
          for (; j + 4 <= kw; j += 4) { v128.store(o, f32x4.add(v128.load(o), v128.load(sp))); o += 16; sp += 16; }
          for (; j < kw; j++) { store<f32>(o, load<f32>(o) + load<f32>(sp)); o += 4; sp += 4; }
          continue;
        }
        for (let j = 0; j < kw; j++) {
          const w = w0 + j * dw;
          if (w < 0 || w >= W) continue;
          const o = plane + (<usize>(h * W + w) << 2);
          store<f32>(o, load<f32>(o) + load<f32>(s0 + (<usize>j << 2)));
        }
      }
    }
  }
}

// ---- stride-1 weight gradient without a patch matrix ----
// dW[o, c, i, j] += sum over n, oh, ow of dy[n, o, oh, ow] xp[n, c, oh + i, ow + j], with xp the zero-padded image
// [C, Hp, Wq] (Hp = OH + kh - 1, Wq = OWq + kw - 1) and dy copied as rows of OWq = OW rounded up to 4 (zeros past OW),
// so four output columns at a time are a vector of dy times four consecutive floats of xp. Register tiles of 3 (or 1)
// output channels x 4 (or 1) consecutive taps j of one (c, i) row; each tile's lanes are summed into dW per image.

@inline function hsum4(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

@inline function addF(p: usize, v: f32): void {
  store<f32>(p, load<f32>(p) + v);
}

function dw3x4(dyp: usize, dyPlane: usize, OH: i32, OWq: i32, xr: usize, WqB: usize, out: usize, KB: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00;
  let d = dyp;
  for (let oh = 0; oh < OH; oh++) {
    let xq = xr + <usize>oh * WqB;
    for (let ow = 0; ow < OWq; ow += 4) {
      const d0 = v128.load(d), d1 = v128.load(d + dyPlane), d2 = v128.load(d + 2 * dyPlane);
      let xv = v128.load(xq);
      c00 = fma4(d0, xv, c00); c10 = fma4(d1, xv, c10); c20 = fma4(d2, xv, c20);
      xv = v128.load(xq, 4);
      c01 = fma4(d0, xv, c01); c11 = fma4(d1, xv, c11); c21 = fma4(d2, xv, c21);
      xv = v128.load(xq, 8);
      c02 = fma4(d0, xv, c02); c12 = fma4(d1, xv, c12); c22 = fma4(d2, xv, c22);
      xv = v128.load(xq, 12);
      c03 = fma4(d0, xv, c03); c13 = fma4(d1, xv, c13); c23 = fma4(d2, xv, c23);
      d += 16;
      xq += 16;
    }
  }
  addF(out, hsum4(c00)); addF(out + 4, hsum4(c01)); addF(out + 8, hsum4(c02)); addF(out + 12, hsum4(c03));
  addF(out + KB, hsum4(c10)); addF(out + KB + 4, hsum4(c11)); addF(out + KB + 8, hsum4(c12)); addF(out + KB + 12, hsum4(c13));
  addF(out + 2 * KB, hsum4(c20)); addF(out + 2 * KB + 4, hsum4(c21)); addF(out + 2 * KB + 8, hsum4(c22)); addF(out + 2 * KB + 12, hsum4(c23));
}

function dw3x1(dyp: usize, dyPlane: usize, OH: i32, OWq: i32, xr: usize, WqB: usize, out: usize, KB: usize): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0;
  let d = dyp;
  for (let oh = 0; oh < OH; oh++) {
    let xq = xr + <usize>oh * WqB;
    for (let ow = 0; ow < OWq; ow += 4) {
      const xv = v128.load(xq);
      c0 = fma4(v128.load(d), xv, c0); c1 = fma4(v128.load(d + dyPlane), xv, c1); c2 = fma4(v128.load(d + 2 * dyPlane), xv, c2);
      d += 16;
      xq += 16;
    }
  }
  addF(out, hsum4(c0)); addF(out + KB, hsum4(c1)); addF(out + 2 * KB, hsum4(c2));
}

function dw1x4(dyp: usize, OH: i32, OWq: i32, xr: usize, WqB: usize, out: usize): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  let d = dyp;
  for (let oh = 0; oh < OH; oh++) {
    let xq = xr + <usize>oh * WqB;
    for (let ow = 0; ow < OWq; ow += 4) {
      const dv = v128.load(d);
      c0 = fma4(dv, v128.load(xq), c0); c1 = fma4(dv, v128.load(xq, 4), c1); c2 = fma4(dv, v128.load(xq, 8), c2); c3 = fma4(dv, v128.load(xq, 12), c3);
      d += 16;
      xq += 16;
    }
  }
  addF(out, hsum4(c0)); addF(out + 4, hsum4(c1)); addF(out + 8, hsum4(c2)); addF(out + 12, hsum4(c3));
}

function dw1x1(dyp: usize, OH: i32, OWq: i32, xr: usize, WqB: usize, out: usize): void {
  let c0 = f32x4.splat(0);
  let d = dyp;
  for (let oh = 0; oh < OH; oh++) {
    let xq = xr + <usize>oh * WqB;
    for (let ow = 0; ow < OWq; ow += 4) {
      c0 = fma4(v128.load(d), v128.load(xq), c0);
      d += 16;
      xq += 16;
    }
  }
  addF(out, hsum4(c0));
}

/** floats of scratch one thread of conv2d_dw_direct needs: the padded image and the padded rows of dy */
export function conv2d_dw_direct_scratch(C: i32, O: i32, ohw: i32, khw: i32): i32 {
  const OH = ohw & 0xffff, OWq = ((ohw >>> 16) + 3) & ~3, kh = khw & 0xffff, kw = khw >>> 16;
  return C * (OH + kh - 1) * (OWq + kw - 1) + O * OH * OWq;
}

/**
 * dw [O, C, kh, kw] += the weight gradient of a stride-1, dilation-1, one-group conv2d (x [N, C, H, W], dy [N, O, OH, OW]),
 * db [O] += the sums of dy per channel (db != 0). Threads own units (a tile of 3 output channels, one (c, i) row of
 * taps) and each pads every image into its scratch (scratch + tid * conv2d_dw_direct_scratch floats); db: threads
 * own channel ranges. Geometry words as in conv2d_im2col_batch (p = pt | pl << 16).
 */
export function conv2d_dw_direct(x: usize, dy: usize, dw: usize, db: usize, scratch: usize, N: i32, C: i32, O: i32, hw: i32, ohw: i32, khw: i32, p: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, OH = ohw & 0xffff, OW = ohw >>> 16, kh = khw & 0xffff, kw = khw >>> 16;
  const pt = p & 0xffff, pl = p >>> 16, OWq = (OW + 3) & ~3, Hp = OH + kh - 1, Wq = OWq + kw - 1, P = OH * OW;
  if (db != 0) {
    const per = (O + nt - 1) / nt, o0 = min(O, tid * per), o1 = min(O, o0 + per);
    for (let o = o0; o < o1; o++) {
      let s: f32 = 0;
      for (let n = 0; n < N; n++) {
        const src = dy + (<usize>((n * O + o) * P) << 2);
        let v = f32x4.splat(0), q = 0;
        for (; q + 4 <= P; q += 4) v = f32x4.add(v, v128.load(src + (<usize>q << 2)));
        for (; q < P; q++) s += load<f32>(src + (<usize>q << 2));
        s += hsum4(v);
      }
      addF(db + (<usize>o << 2), s);
    }
  }
  if (dw == 0) return;
  const oTiles = (O + 2) / 3, units = oTiles * C * kh;
  const per = (units + nt - 1) / nt, u0 = min(units, tid * per), u1 = min(units, u0 + per);
  if (u0 >= u1) return;
  const size = conv2d_dw_direct_scratch(C, O, ohw, khw);
  const xp = scratch + (<usize>tid * <usize>size << 2), dyp = xp + (<usize>(C * Hp * Wq) << 2);
  const plane = <usize>(Hp * Wq) << 2, WqB = <usize>Wq << 2, dyPlane = <usize>(OH * OWq) << 2, KB = <usize>(C * kh * kw) << 2;
  const hEnd = min(H, Hp - pt), wEnd = max(0, min(W, Wq - pl));
  for (let n = 0; n < N; n++) {
    memory.fill(xp, 0, <usize>size << 2);
    for (let c = 0; c < C; c++) for (let h = 0; h < hEnd; h++) {
      memory.copy(xp + <usize>c * plane + <usize>((h + pt) * Wq + pl) * 4, x + (<usize>(((n * C + c) * H + h) * W) << 2), <usize>wEnd << 2);
    }
    for (let o = 0; o < O; o++) for (let oh = 0; oh < OH; oh++) {
      memory.copy(dyp + <usize>o * dyPlane + <usize>(oh * OWq) * 4, dy + (<usize>(((n * O + o) * OH + oh) * OW) << 2), <usize>OW << 2);
    }
    for (let u = u0; u < u1; u++) {
      const ot = u / (C * kh), ci = u - ot * C * kh, c = ci / kh, i = ci - c * kh, o0 = ot * 3;
      const xr = xp + <usize>c * plane + <usize>i * WqB, d = dyp + <usize>o0 * dyPlane;
      const out = dw + (<usize>((o0 * C + c) * kh + i) * <usize>kw << 2);
      const three = o0 + 3 <= O;
      let j = 0;
      for (; j + 4 <= kw; j += 4) {
        const oj = out + (<usize>j << 2), xj = xr + (<usize>j << 2);
        if (three) dw3x4(d, dyPlane, OH, OWq, xj, WqB, oj, KB);
        else for (let o = o0; o < O; o++) dw1x4(d + <usize>(o - o0) * dyPlane, OH, OWq, xj, WqB, oj + <usize>(o - o0) * KB);
      }
      for (; j < kw; j++) {
        const oj = out + (<usize>j << 2), xj = xr + (<usize>j << 2);
        if (three) dw3x1(d, dyPlane, OH, OWq, xj, WqB, oj, KB);
        else for (let o = o0; o < O; o++) dw1x1(d + <usize>(o - o0) * dyPlane, OH, OWq, xj, WqB, oj + <usize>(o - o0) * KB);
      }
    }
  }
}
