// Plain TypeScript twin of the fill-copy kernels (float64).

/** dst[r, dc + j] (+)= src[r, sc + j] */
export function copyColumnsRef(src: ArrayLike<number>, sw: number, sc: number, dst: ArrayLike<number>, dw: number, dc: number, rows: number, cols: number, accumulate: boolean): Float64Array {
  const out = Float64Array.from(dst);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) out[r * dw + dc + j] = (accumulate ? out[r * dw + dc + j]! : 0) + src[r * sw + sc + j]!;
  return out;
}

export function sumSquaresRef(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}
