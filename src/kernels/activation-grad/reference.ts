// Plain TypeScript twin (float64) of the activation kernels and their gradients.
type A = ArrayLike<number>;
const GELU_C = Math.sqrt(2 / Math.PI), GELU_A = 0.044715;

export const reluBackwardRef = (x: A, dy: A): Float64Array => Float64Array.from(x, (v, i) => (v > 0 ? dy[i]! : 0));

export const geluRef = (x: A): Float64Array => Float64Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + GELU_A * v ** 3))));
export function geluBackwardRef(x: A, dy: A): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const t = Math.tanh(GELU_C * (v + GELU_A * v ** 3));
    return (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * v * v)) * dy[i]!;
  });
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
export const siluMulF64Ref = (g: A, u: A): Float64Array => Float64Array.from(g, (v, i) => v * sigmoid(v) * u[i]!);
export function siluMulBackwardRef(g: A, u: A, dy: A): { dg: Float64Array; du: Float64Array } {
  const dg = new Float64Array(g.length), du = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const s = sigmoid(g[i]!);
    dg[i] = dy[i]! * u[i]! * s * (1 + g[i]! * (1 - s));
    du[i] = dy[i]! * g[i]! * s;
  }
  return { dg, du };
}

function rowsOf(x: A, n: number, f: (row: number[]) => number[]): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) out.set(f(Array.from({ length: n }, (_, i) => x[r * n + i]!)), r * n);
  return out;
}
const lse = (row: number[]) => { const m = Math.max(...row); return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)); };

export const softmaxF64Ref = (x: A, n: number): Float64Array => rowsOf(x, n, (row) => { const l = lse(row); return row.map((v) => Math.exp(v - l)); });
export const logSoftmaxRef = (x: A, n: number): Float64Array => rowsOf(x, n, (row) => { const l = lse(row); return row.map((v) => v - l); });

export function softmaxBackwardRef(y: A, dy: A, n: number): Float64Array {
  const out = new Float64Array(y.length);
  for (let r = 0; r < y.length / n; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += y[r * n + i]! * dy[r * n + i]!;
    for (let i = 0; i < n; i++) out[r * n + i] = y[r * n + i]! * (dy[r * n + i]! - s);
  }
  return out;
}

export function logSoftmaxBackwardRef(y: A, dy: A, n: number): Float64Array {
  const out = new Float64Array(y.length);
  for (let r = 0; r < y.length / n; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += dy[r * n + i]!;
    for (let i = 0; i < n; i++) out[r * n + i] = dy[r * n + i]! - Math.exp(y[r * n + i]!) * s;
  }
  return out;
}
