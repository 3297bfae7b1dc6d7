// Plain TypeScript twin of the embed kernels: the readable definition tests compare the SIMD and WGSL versions with.

export function embedRef(table: Float32Array, dim: number, ids: Int32Array): Float32Array {
  const out = new Float32Array(ids.length * dim);
  ids.forEach((id, t) => out.set(table.subarray(id * dim, (id + 1) * dim), t * dim));
  return out;
}
