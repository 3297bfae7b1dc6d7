// Plain TypeScript twin of the rmsnorm kernels: the readable definition tests compare the SIMD and WGSL versions with.

/** RMSNorm in float64 (also the forward of the backward's twin, kernels/rmsnorm-backward). */
export function rmsnormF64Ref(x: ArrayLike<number>, w: ArrayLike<number>, eps: number): Float64Array {
  const n = w.length, out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[r * n + i] = w[i]! * x[r * n + i]! * inv;
  }
  return out;
}

export function rmsnormRef(x: Float32Array, w: Float32Array, eps: number): Float32Array {
  return Float32Array.from(rmsnormF64Ref(x, w, eps));
}
