// 2-D max and average pooling of [N*C planes, H, W] (NCHW), windows kh x kw at strides (sh, sw), with padding
// (pt, pl) at the top/left (the bottom/right padding only changes the output size, which the caller passes).
// max_pool2d also writes, per output, the index h*W + w of the maximum inside its input plane (PyTorch's
// return_indices convention; the first maximum in window order wins; padding never wins). Threads split the planes'
// output rows. Packed arguments: hw = H | W << 16, ohw = OH | OW << 16, khw = kh | kw << 16, s = sh | sw << 16,
// p = pt | pl << 16.

export function max_pool2d(x: usize, out: usize, idx: usize, planes: i32, hw: i32, ohw: i32, khw: i32, s: i32, p: i32, tid: i32, nt: i32): void {
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
