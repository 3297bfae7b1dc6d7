// Plain TypeScript twin (float64) of LayerNorm and its gradient.
type A = ArrayLike<number>;

function stats(x: A, r: number, n: number): [number, number] {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[r * n + i]!;
  const mu = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[r * n + i]! - mu) ** 2;
  return [mu, ss / n];
}

export function layerNormRef(x: A, w: A, b: A | null, eps: number): Float64Array {
  const n = w.length, out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    const [mu, v] = stats(x, r, n), rs = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < n; i++) out[r * n + i] = (x[r * n + i]! - mu) * rs * w[i]! + (b ? b[i]! : 0);
  }
  return out;
}

export function layerNormBackwardRef(x: A, w: A, eps: number, dy: A): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const n = w.length, dx = new Float64Array(x.length), dw = new Float64Array(n), db = new Float64Array(n);
  for (let r = 0; r < x.length / n; r++) {
    const [mu, v] = stats(x, r, n), rs = 1 / Math.sqrt(v + eps);
    const xh = Array.from({ length: n }, (_, i) => (x[r * n + i]! - mu) * rs), g = Array.from({ length: n }, (_, i) => dy[r * n + i]! * w[i]!);
    const mg = g.reduce((a, c) => a + c, 0) / n, mgx = g.reduce((a, c, i) => a + c * xh[i]!, 0) / n;
    for (let i = 0; i < n; i++) {
      dx[r * n + i] = rs * (g[i]! - mg - xh[i]! * mgx);
      dw[i] += dy[r * n + i]! * xh[i]!;
      db[i] += dy[r * n + i]!;
    }
  }
  return { dx, dw, db };
}
