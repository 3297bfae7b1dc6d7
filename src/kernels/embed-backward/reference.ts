// Plain TypeScript twin (float64) of the embedding's gradient.
export function embedBackwardRef(ids: ArrayLike<number>, dy: ArrayLike<number>, vocab: number, dim: number): Float64Array {
  const d = new Float64Array(vocab * dim);
  for (let t = 0; t < ids.length; t++) for (let j = 0; j < dim; j++) d[ids[t]! * dim + j] += dy[t * dim + j]!;
  return d;
}
