// Plain TypeScript twin of the gemm kernels (float64): the readable definition tests compare the SIMD and WGSL versions with.

/** A'[M,K] B'[K,N] (+ c): A stored [M,K] (or [K,M] when transA), B stored [K,N] (or [N,K] when transB). */
export function gemmRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number, transA: boolean, transB: boolean, c?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = c ? c[i * N + j]! : 0;
      for (let k = 0; k < K; k++) s += a[transA ? k * M + i : i * K + k]! * b[transB ? j * K + k : k * N + j]!;
      out[i * N + j] = s;
    }
  }
  return out;
}

/** out[N] = sum over rows of x[M,N] (+ acc) */
export function colSumRef(x: ArrayLike<number>, M: number, N: number, acc?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(N);
  for (let j = 0; j < N; j++) {
    let s = acc ? acc[j]! : 0;
    for (let i = 0; i < M; i++) s += x[i * N + j]!;
    out[j] = s;
  }
  return out;
}
