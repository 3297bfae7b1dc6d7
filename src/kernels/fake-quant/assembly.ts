// Dynamic activation fake-quantization (QuaRot's ActQuantizer): for every group of `group` floats of every row
// (group = n: per token), min/max widened to include 0 and multiplied by clip; asymmetric: scale = (max-min)/maxq,
// zero = round(-min/scale), x <- scale * (clamp(round(x/scale) + zero, 0, maxq) - zero) with maxq = 2^bits - 1;
// symmetric: scale = max(|min|, max)/maxq, x <- scale * clamp(round(x/scale), -maxq-1, maxq), maxq = 2^(bits-1)-1.
// All-zero groups get scale 1 (asymmetric: range [-1, 1]). Rounding is half to even, as torch.round.
import { chunkStart, chunkEnd } from '../common/simd';

export function fake_quant_rows(x: usize, rows: i32, n: i32, group: i32, bits: i32, asym: i32, clip: f32, tid: i32, nt: i32): void {
  const groups = rows * (n / group);
  const g0 = chunkStart(groups, 1, tid, nt), g1 = chunkEnd(groups, 1, tid, nt);
  for (let g = g0; g < g1; g++) {
    const p = x + <usize>g * (<usize>group << 2);
    let mn = f32x4.splat(0), mx = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= group; i += 4) { const v = v128.load(p + (<usize>i << 2)); mn = f32x4.min(mn, v); mx = f32x4.max(mx, v); }
    let lo = min(min(f32x4.extract_lane(mn, 0), f32x4.extract_lane(mn, 1)), min(f32x4.extract_lane(mn, 2), f32x4.extract_lane(mn, 3)));
    let hi = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    for (; i < group; i++) { const v = load<f32>(p + (<usize>i << 2)); lo = min(lo, v); hi = max(hi, v); }
    lo *= clip; hi *= clip;
    let scale: f32, zero: f32, qmin: f32, qmax: f32;
    if (asym) {
      if (lo == 0 && hi == 0) { lo = -1; hi = 1; }
      qmax = <f32>((1 << bits) - 1); qmin = 0;
      scale = (hi - lo) / qmax;
      zero = nearest(-lo / scale);
    } else {
      qmax = <f32>((1 << (bits - 1)) - 1); qmin = -qmax - 1;
      const m = max(abs(lo), hi);
      scale = m == 0 ? 1 : m / qmax;
      zero = 0;
    }
    const sv = f32x4.splat(scale), zv = f32x4.splat(zero), lov = f32x4.splat(qmin), hiv = f32x4.splat(qmax);
    i = 0;
    for (; i + 4 <= group; i += 4) {
      const a = p + (<usize>i << 2);
      const q = f32x4.min(hiv, f32x4.max(lov, f32x4.add(f32x4.nearest(f32x4.div(v128.load(a), sv)), zv)));
      v128.store(a, f32x4.mul(sv, f32x4.sub(q, zv)));
    }
    for (; i < group; i++) {
      const a = p + (<usize>i << 2);
      const q = min(qmax, max(qmin, nearest(load<f32>(a) / scale) + zero));
      store<f32>(a, scale * (q - zero));
    }
  }
}
