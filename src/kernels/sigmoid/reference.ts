// Plain TypeScript twin (float64) of sigmoid and its gradient.
type A = ArrayLike<number>;

export function sigmoidRef(x: A): Float64Array {
  return Float64Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
}

/** dx = dy sigmoid'(x) = dy s (1 - s) */
export function sigmoidBackwardRef(x: A, dy: A): Float64Array {
  return Float64Array.from(x, (v, i) => { const s = 1 / (1 + Math.exp(-v)); return dy[i]! * s * (1 - s); });
}
