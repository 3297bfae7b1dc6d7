// conv2d's gradient through the im2col lowering (kernels/conv), batched over the images so a step is a few large
// GEMMs instead of one per image: col[g][n P + p][k] holds every image's patches (k = (c kh + i) kw + j over the
// group's Cg channels), dyr[g][n P + p][o] the output gradient as rows; then (kernels/conv-backward/index.ts)
//   dW[g] += dyr[g]^T col[g]   (GEMM),   dcol[g] = dyr[g] W[g]   (GEMM),   dx += col2im(dcol),   dbias += column sums of dyr.
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
