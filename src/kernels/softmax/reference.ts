// Plain TypeScript twin of the softmax kernels: the readable definition tests compare the SIMD and WGSL versions with.

export function softmaxRef(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, x[r * n + i]!);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[r * n + i]! - m);
    for (let i = 0; i < n; i++) out[r * n + i] = Math.exp(x[r * n + i]! - m) / s;
  }
  return out;
}

export function logsumexpRef(x: Float32Array, n: number): Float64Array {
  const rows = x.length / n;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, x[r * n + i]!);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[r * n + i]! - m);
    out[r] = m + Math.log(s);
  }
  return out;
}
