// 2-D max and average pooling of [N*C planes, H, W] (NCHW), windows kh x kw at strides (sh, sw), with padding
// (pt, pl) at the top/left (the bottom/right padding only changes the output size, which the caller passes).
// max_pool2d also writes, per output, the index h*W + w of the maximum inside its input plane (PyTorch's
// return_indices convention; the first maximum in window order wins; padding never wins). Threads split the planes'
// output rows; 2x2 windows at stride 2 without padding take four outputs at a time (maxPool2x2Row). Packed arguments: hw = H | W << 16, ohw = OH | OW << 16, khw = kh | kw << 16, s = sh | sw << 16,
// p = pt | pl << 16.

/**
 * 2x2 windows at stride 2 without padding, four outputs at a time: the even and odd lanes of input rows h and h + 1
 * are the four taps in window order; a tap replaces the best only when strictly greater (the first maximum wins,
 * NaN never), as in the scalar loop. Returns the first output column it left to that loop.
 */
function maxPool2x2Row(plane: usize, W: i32, h: i32, OW: i32, out: usize, idx: usize): i32 {
  const row0 = plane + (<usize>(h * W) << 2), row1 = row0 + (<usize>W << 2);
  const step = i32x4.splat(8), dW = i32x4.splat(W), one = i32x4.splat(1);
  let at00 = i32x4.add(i32x4.splat(h * W), v128(0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0));
  let ow = 0;
  for (; ow + 4 <= OW; ow += 4) {
    const o = <usize>(ow * 2) << 2;
    const a0 = v128.load(row0 + o), a1 = v128.load(row0 + o, 16), b0 = v128.load(row1 + o), b1 = v128.load(row1 + o, 16);
    const t00 = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), t01 = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
    const t10 = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), t11 = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7);
    let best = f32x4.splat(-Infinity), at = at00;
    let m = f32x4.gt(t00, best);
    best = v128.bitselect(t00, best, m); at = v128.bitselect(at00, at, m);
    const at01 = i32x4.add(at00, one), at10 = i32x4.add(at00, dW), at11 = i32x4.add(at10, one);
    m = f32x4.gt(t01, best);
    best = v128.bitselect(t01, best, m); at = v128.bitselect(at01, at, m);
    m = f32x4.gt(t10, best);
    best = v128.bitselect(t10, best, m); at = v128.bitselect(at10, at, m);
    m = f32x4.gt(t11, best);
    best = v128.bitselect(t11, best, m); at = v128.bitselect(at11, at, m);
    v128.store(out + (<usize>ow << 2), best);
    if (idx != 0) v128.store(idx + (<usize>ow << 2), at);
    at00 = i32x4.add(at00, step);
  }
  return ow;
}

export function max_pool2d(x: usize, out: usize, idx: usize, planes: i32, hw: i32, ohw: i32, khw: i32, s: i32, p: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, OH = ohw & 0xffff, OW = ohw >>> 16;
  const kh = khw & 0xffff, kw = khw >>> 16, sh = s & 0xffff, sw = s >>> 16, pt = p & 0xffff, pl = p >>> 16;
  const rows = planes * OH;
  const per = (rows + nt - 1) / nt;
  const r0 = min(rows, tid * per), r1 = min(rows, r0 + per);
  const twoByTwo = kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0;
  for (let r = r0; r < r1; r++) {
    const pl_ = r / OH, oh = r - pl_ * OH;
    const plane = x + (<usize>pl_ * <usize>(H * W) << 2);
    const h0 = max(oh * sh - pt, 0), h1 = min(oh * sh - pt + kh, H);
    const orow = <usize>r * <usize>OW;
    let ow = 0;
    if (twoByTwo) ow = maxPool2x2Row(plane, W, oh * 2, OW, out + (orow << 2), idx != 0 ? idx + (orow << 2) : 0);
    for (; ow < OW; ow++) {
      const w0 = max(ow * sw - pl, 0), w1 = min(ow * sw - pl + kw, W);
      let best: f32 = -Infinity;
      let at: i32 = h0 * W + w0;
      for (let h = h0; h < h1; h++) {
        for (let w = w0; w < w1; w++) {
          const v = load<f32>(plane + (<usize>(h * W + w) << 2));
          if (v > best) { best = v; at = h * W + w; }
        }
      }
      store<f32>(out + ((orow + <usize>ow) << 2), best);
      if (idx != 0) store<i32>(idx + ((orow + <usize>ow) << 2), at);
    }
  }
}

/** includePad: divide by kh*kw (padding counts as zeros); else by the number of taps inside the image. */
export function avg_pool2d(x: usize, out: usize, planes: i32, hw: i32, ohw: i32, khw: i32, s: i32, p: i32, includePad: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, OH = ohw & 0xffff, OW = ohw >>> 16;
  const kh = khw & 0xffff, kw = khw >>> 16, sh = s & 0xffff, sw = s >>> 16, pt = p & 0xffff, pl = p >>> 16;
  const rows = planes * OH;
  const per = (rows + nt - 1) / nt;
  const r0 = min(rows, tid * per), r1 = min(rows, r0 + per);
  for (let r = r0; r < r1; r++) {
    const pl_ = r / OH, oh = r - pl_ * OH;
    const plane = x + (<usize>pl_ * <usize>(H * W) << 2);
    const h0 = max(oh * sh - pt, 0), h1 = min(oh * sh - pt + kh, H);
    const orow = <usize>r * <usize>OW;
    for (let ow = 0; ow < OW; ow++) {
      const w0 = max(ow * sw - pl, 0), w1 = min(ow * sw - pl + kw, W);
      let sum: f32 = 0;
      for (let h = h0; h < h1; h++) {
        for (let w = w0; w < w1; w++) sum += load<f32>(plane + (<usize>(h * W + w) << 2));
      }
      const n = includePad != 0 ? kh * kw : max(1, (h1 - h0) * (w1 - w0));
      store<f32>(out + ((orow + <usize>ow) << 2), sum / <f32>n);
    }
  }
}
