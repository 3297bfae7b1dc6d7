// 2-D upsampling of [planes, H, W] by integer factors (sh, sw) and its gradient. mode 0: nearest (source o / s);
// 1: bilinear, source (o + 0.5) / s - 0.5 clamped at 0 (align_corners false); 2: bilinear, source o (I - 1) / (O - 1)
// (align_corners true). The forward splits output rows over threads (nearest with sw = 2 duplicates lanes with one
// SIMD shuffle); the backward is the adjoint as a gather: each thread owns input rows and sums, for every input,
// the outputs that read it times their weights (no scatter, so no races and a fixed summation order), then adds
// that to dx (gradients accumulate). Packed arguments: hw = H | W << 16, s = sh | sw << 16.

@inline function srcCoord(o: i32, I: i32, O: i32, s: i32, mode: i32): f32 {
  if (mode == 2) return O > 1 ? <f32>(o * (I - 1)) / <f32>(O - 1) : 0;
  return max<f32>((<f32>o + 0.5) / <f32>s - 0.5, 0);
}

/** weight of input i in output o along one axis */
@inline function tapWeight(o: i32, i: i32, I: i32, O: i32, s: i32, mode: i32): f32 {
  if (mode == 0) return min(o / s, I - 1) == i ? 1 : 0;
  const src = srcCoord(o, I, O, s, mode);
  const i0 = min(<i32>src, I - 1), i1 = i0 < I - 1 ? i0 + 1 : i0, l1 = src - <f32>i0;
  return (i0 == i ? 1 - l1 : <f32>0) + (i1 == i ? l1 : <f32>0);
}

/** first output that may read input i (a conservative bound; the weights decide) */
@inline function firstReader(i: i32, I: i32, O: i32, s: i32, mode: i32): i32 {
  if (mode == 0) return i * s;
  const q: f32 = mode == 2 ? (I > 1 ? <f32>(O - 1) / <f32>(I - 1) : <f32>O) : <f32>s;
  return max(0, <i32>Mathf.floor(<f32>(i - 2) * q));
}

@inline function endReader(i: i32, I: i32, O: i32, s: i32, mode: i32): i32 {
  if (mode == 0) return i == I - 1 ? O : (i + 1) * s;
  const q: f32 = mode == 2 ? (I > 1 ? <f32>(O - 1) / <f32>(I - 1) : <f32>O) : <f32>s;
  return min(O, <i32>Mathf.ceil(<f32>(i + 2) * q) + 1);
}

export function upsample2d(x: usize, out: usize, planes: i32, hw: i32, s: i32, mode: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, sh = s & 0xffff, sw = s >>> 16, OH = H * sh, OW = W * sw;
  const rows = planes * OH;
  const per = (rows + nt - 1) / nt;
  const r0 = min(rows, tid * per), r1 = min(rows, r0 + per);
  for (let r = r0; r < r1; r++) {
    const q = r / OH, oh = r - q * OH;
    const orow = out + (<usize>r * <usize>OW << 2);
    if (mode == 0) {
      const src = x + (<usize>(q * H + min(oh / sh, H - 1)) * <usize>W << 2);
      let w = 0;
      if (sw == 2) {
        for (; w + 4 <= W; w += 4) {
          const v = v128.load(src + (<usize>w << 2));
          v128.store(orow + (<usize>w << 3), v128.shuffle<f32>(v, v, 0, 0, 1, 1));
          v128.store(orow + (<usize>w << 3) + 16, v128.shuffle<f32>(v, v, 2, 2, 3, 3));
        }
      }
      for (let ow = w * sw; ow < OW; ow++) store<f32>(orow + (<usize>ow << 2), load<f32>(src + (<usize>(ow / sw) << 2)));
      continue;
    }
    const sy = srcCoord(oh, H, OH, sh, mode);
    const h0 = min(<i32>sy, H - 1), h1 = h0 < H - 1 ? h0 + 1 : h0, lh = sy - <f32>h0;
    const a = x + (<usize>(q * H + h0) * <usize>W << 2), b = x + (<usize>(q * H + h1) * <usize>W << 2);
    for (let ow = 0; ow < OW; ow++) {
      const sx = srcCoord(ow, W, OW, sw, mode);
      const w0 = min(<i32>sx, W - 1), w1 = w0 < W - 1 ? w0 + 1 : w0, lw = sx - <f32>w0;
      const top = load<f32>(a + (<usize>w0 << 2)) * (1 - lw) + load<f32>(a + (<usize>w1 << 2)) * lw;
      const bot = load<f32>(b + (<usize>w0 << 2)) * (1 - lw) + load<f32>(b + (<usize>w1 << 2)) * lw;
      store<f32>(orow + (<usize>ow << 2), top * (1 - lh) + bot * lh);
    }
  }
}

export function upsample2d_backward(dy: usize, dx: usize, planes: i32, hw: i32, s: i32, mode: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, sh = s & 0xffff, sw = s >>> 16, OH = H * sh, OW = W * sw;
  const rows = planes * H;
  const per = (rows + nt - 1) / nt;
  const r0 = min(rows, tid * per), r1 = min(rows, r0 + per);
  for (let r = r0; r < r1; r++) {
    const q = r / H, h = r - q * H;
    const oh0 = firstReader(h, H, OH, sh, mode), oh1 = endReader(h, H, OH, sh, mode);
    const plane = dy + (<usize>q * <usize>OH * <usize>OW << 2);
    for (let w = 0; w < W; w++) {
      const ow0 = firstReader(w, W, OW, sw, mode), ow1 = endReader(w, W, OW, sw, mode);
      let acc: f32 = 0;
      for (let oh = oh0; oh < oh1; oh++) {
        const a = tapWeight(oh, h, H, OH, sh, mode);
        if (a == 0) continue;
        const row = plane + (<usize>oh * <usize>OW << 2);
        let t: f32 = 0;
        for (let ow = ow0; ow < ow1; ow++) {
          const b = tapWeight(ow, w, W, OW, sw, mode);
          if (b != 0) t += b * load<f32>(row + (<usize>ow << 2));
        }
        acc += a * t;
      }
      const o = dx + (<usize>(r * W + w) << 2);
      store<f32>(o, load<f32>(o) + acc);
    }
  }
}
