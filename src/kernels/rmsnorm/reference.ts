// Plain TypeScript twin of the rmsnorm kernels: the readable definition tests compare the SIMD and WGSL versions with.

export function rmsnormRef(x: Float32Array, w: Float32Array, eps: number): Float32Array {
  const n = w.length;
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[r * n + i] = w[i]! * x[r * n + i]! * inv;
  }
  return out;
}
