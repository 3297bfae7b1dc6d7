// Plain TypeScript twin of relu.
export function reluRef(x: Float32Array): Float32Array {
  return x.map((v) => (v > 0 ? v : 0));
}
