// Plain TypeScript twin of the fake-quant kernels: the readable definition tests compare the SIMD and WGSL versions with.
import type { FakeQuantParams } from './index.js';
import { roundHalfEven } from '../../util/rounding.js';

/** Twin of fake_quant_rows (float32 arithmetic step by step, so it is bit-exact): a quantized copy of x. */
export function fakeQuantRef(x: Float32Array, p: FakeQuantParams): Float32Array {
  const f = Math.fround, out = Float32Array.from(x);
  for (let g0 = 0; g0 < x.length; g0 += p.group) {
    let lo = 0, hi = 0;
    for (let i = g0; i < g0 + p.group; i++) { lo = Math.min(lo, x[i]!); hi = Math.max(hi, x[i]!); }
    const clip = f(p.clip);
    lo = f(lo * clip); hi = f(hi * clip);
    let scale: number, zero = 0, qmin: number, qmax: number;
    if (p.asym) {
      if (lo === 0 && hi === 0) { lo = -1; hi = 1; }
      qmax = 2 ** p.bits - 1; qmin = 0;
      scale = f(f(hi - lo) / qmax);
      zero = roundHalfEven(f(-lo / scale));
    } else {
      qmax = 2 ** (p.bits - 1) - 1; qmin = -qmax - 1;
      const m = Math.max(Math.abs(lo), hi);
      scale = m === 0 ? 1 : f(m / qmax);
    }
    for (let i = g0; i < g0 + p.group; i++) {
      const q = Math.min(qmax, Math.max(qmin, roundHalfEven(f(x[i]! / scale)) + zero));
      out[i] = f(scale * (q - zero));
    }
  }
  return out;
}
