// Plain TypeScript twin of the linear kernels: the readable definition tests compare the SIMD and WGSL versions with.

/** out[M,N] = a[M,K] . w[N,K]^T + bias */
export function linearRef(a: Float32Array, w: Float32Array, bias: Float32Array | null, M: number, N: number, K: number): Float32Array {
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? bias[j]! : 0;
      for (let k = 0; k < K; k++) s += a[i * K + k]! * w[j * K + k]!;
      out[i * N + j] = s;
    }
  }
  return out;
}
