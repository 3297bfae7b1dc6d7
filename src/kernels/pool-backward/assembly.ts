// Pooling gradients. max: each output's gradient goes to the input its maximum came from (the forward's indices,
// h W + w inside the plane); avg: each output's gradient spreads evenly over its window. Threads own planes, so
// overlapping windows never race. Geometry words as in kernels/pool: a | b << 16.

export function max_pool2d_backward(dy: usize, indices: usize, dx: usize, planes: i32, hw: i32, ohw: i32, tid: i32, nt: i32): void {
  const HW = (hw & 0xffff) * (hw >>> 16), P = (ohw & 0xffff) * (ohw >>> 16);
  const per = (planes + nt - 1) / nt;
  const q0 = min(planes, tid * per), q1 = min(planes, q0 + per);
  for (let q = q0; q < q1; q++) {
    const src = dy + (<usize>(q * P) << 2), idx = indices + (<usize>(q * P) << 2), plane = dx + (<usize>(q * HW) << 2);
    for (let i = 0; i < P; i++) {
      const o = plane + (<usize>load<i32>(idx + (<usize>i << 2)) << 2);
      store<f32>(o, load<f32>(o) + load<f32>(src + (<usize>i << 2)));
    }
  }
}

export function avg_pool2d_backward(dy: usize, dx: usize, planes: i32, hw: i32, ohw: i32, khw: i32, s: i32, p: i32, includePad: i32, tid: i32, nt: i32): void {
  const H = hw & 0xffff, W = hw >>> 16, OH = ohw & 0xffff, OW = ohw >>> 16;
  const kh = khw & 0xffff, kw = khw >>> 16, sh = s & 0xffff, sw = s >>> 16, pt = p & 0xffff, pl = p >>> 16;
  const per = (planes + nt - 1) / nt;
  const q0 = min(planes, tid * per), q1 = min(planes, q0 + per);
  for (let q = q0; q < q1; q++) {
    const plane = dx + (<usize>(q * H * W) << 2);
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const h0 = oh * sh - pt, w0 = ow * sw - pl;
      const ha = max(h0, 0), hb = min(h0 + kh, H), wa = max(w0, 0), wb = min(w0 + kw, W);
      const count = includePad != 0 ? kh * kw : (hb - ha) * (wb - wa);
      const g = load<f32>(dy + (<usize>((q * OH + oh) * OW + ow) << 2)) / <f32>count;
      for (let h = ha; h < hb; h++) for (let w = wa; w < wb; w++) {
        const o = plane + (<usize>(h * W + w) << 2);
        store<f32>(o, load<f32>(o) + g);
      }
    }
  }
}
