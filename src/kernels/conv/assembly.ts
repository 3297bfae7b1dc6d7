// conv2d as im2col + sgemm (the lowering of Chellapilla et al. 2006, "High Performance Convolutional Neural Networks
// for Document Processing", and Caffe): for one image, conv2d_im2col writes, per group g, the matrix
// col[g][p][k] (p = output pixel oh*OW + ow, k = (c*kh + i)*kw + j over the group's Cg input channels); then the
// gemm family's sgemm computes out[g] [Og, P] = W[g] [Og, K] . col[g] [P, K]^T, which is the NCHW output directly.
// Taps that fall into the padding are zeros. Threads split the G*P rows of col.
import { sgemm, GEMM_SCRATCH_BYTES } from '../gemm/assembly';

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
