// Plain TypeScript twin (float64) of dropout: the same counter-based mask.
function lowbias32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16; x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15; x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

export const dropoutThreshold = (p: number): number => Math.round(p * 2 ** 24);

/** the keep mask of dropout(p, seed) over n elements, as 0/1 */
export function dropoutMaskRef(n: number, p: number, seed: number): Float64Array {
  const s = lowbias32(seed), th = dropoutThreshold(p);
  return Float64Array.from({ length: n }, (_, i) => ((lowbias32((i ^ s) >>> 0) >>> 8) >= th ? 1 : 0));
}

export function dropoutRef(x: ArrayLike<number>, p: number, seed: number): Float64Array {
  const m = dropoutMaskRef(x.length, p, seed);
  return m.map((k, i) => (k * x[i]!) / (1 - p));
}
