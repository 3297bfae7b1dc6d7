// Plain TypeScript twin (float64) of the loss kernels and their gradients.
import { logSoftmaxRef, softmaxF64Ref } from '../activation-grad/reference.js';
type A = ArrayLike<number>;

/** mean over rows of -log softmax(x)[label] */
export function crossEntropyRef(x: A, labels: ArrayLike<number>, C: number): number {
  const lp = logSoftmaxRef(x, C);
  let s = 0;
  for (let r = 0; r < labels.length; r++) s -= lp[r * C + labels[r]!]!;
  return s / labels.length;
}
export function crossEntropyBackwardRef(x: A, labels: ArrayLike<number>, C: number, dy: number): Float64Array {
  const p = softmaxF64Ref(x, C), B = labels.length;
  for (let r = 0; r < B; r++) p[r * C + labels[r]!] -= 1;
  return p.map((v) => (v * dy) / B);
}

export function mseRef(a: A, b: A): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}
export function mseBackwardRef(a: A, b: A, dy: number): { da: Float64Array; db: Float64Array } {
  const da = Float64Array.from(a, (v, i) => (2 * dy * (v - b[i]!)) / a.length);
  return { da, db: da.map((v) => -v) };
}

/** T^2 / B sum_rows KL(softmax(t/T) || softmax(s/T)) (Hinton et al.'s distillation loss) */
export function klDivRef(s: A, t: A, C: number, T: number): number {
  const ls = logSoftmaxRef(Array.from(s, (v) => v / T), C), lt = logSoftmaxRef(Array.from(t, (v) => v / T), C);
  let kl = 0;
  for (let i = 0; i < ls.length; i++) kl += Math.exp(lt[i]!) * (lt[i]! - ls[i]!);
  return (T * T * kl) / (s.length / C);
}
export function klDivBackwardRef(s: A, t: A, C: number, T: number, dy: number): Float64Array {
  const ps = softmaxF64Ref(Array.from(s, (v) => v / T), C), pt = softmaxF64Ref(Array.from(t, (v) => v / T), C), B = s.length / C;
  return ps.map((v, i) => (dy * T * (v - pt[i]!)) / B);
}
