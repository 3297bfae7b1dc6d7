// Plain TypeScript twin of the elementwise kernels: the readable definition tests compare the SIMD and WGSL versions with.

export function siluMulRef(g: Float32Array, u: Float32Array): Float32Array {
  return g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!);
}
