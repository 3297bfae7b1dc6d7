// RMSNorm rows (split across threads).
import { hsum, chunkStart, chunkEnd } from '../common/simd';

/** out[r] = x[r] * w / sqrt(mean(x[r]^2) + eps)  (LLaMA RMSNorm, float32 accumulate). */
export function rmsnorm(x: usize, w: usize, out: usize, rows: i32, n: i32, eps: f32, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  const n4 = n & ~3;
  for (let r = r0; r < r1; r++) {
    const xr = x + (<usize>(r * n) << 2);
    const orow = out + (<usize>(r * n) << 2);
    let s = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const v = v128.load(xr + (<usize>i << 2));
      s = f32x4.add(s, f32x4.mul(v, v));
    }
    let ss = hsum(s);
    for (let i = n4; i < n; i++) { const v = load<f32>(xr + (<usize>i << 2)); ss += v * v; }
    const inv: f32 = 1.0 / Mathf.sqrt(ss / <f32>n + eps);
    const iv = f32x4.splat(inv);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(orow + o, f32x4.mul(v128.load(w + o), f32x4.mul(v128.load(xr + o), iv)));
    }
    for (let i = n4; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(orow + o, load<f32>(w + o) * (load<f32>(xr + o) * inv));
    }
  }
}

