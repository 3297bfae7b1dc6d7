// Plain TypeScript twin (float64) of the CTC loss (Graves et al. 2006) on logits [T, B, C] and its gradient.
type A = ArrayLike<number>;

const lse2 = (a: number, b: number) => (a === -Infinity ? b : b === -Infinity ? a : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b))));

export interface CtcProblem { T: number; B: number; C: number; blank: number; targets: A; maxLen: number; targetLengths: A; inputLengths: A }

/** per item: log-softmax over classes, alpha (forward) and beta (backward, excluding the current frame) in log space */
function item(x: A, p: CtcProblem, b: number) {
  const { B, C, blank } = p, Tb = p.inputLengths[b]!, L = p.targetLengths[b]!, S = 2 * L + 1;
  const lab = (s: number) => (s % 2 === 0 ? blank : p.targets[b * p.maxLen + (s - 1) / 2]!);
  const lp: number[][] = [];
  for (let t = 0; t < Tb; t++) {
    const row = Array.from({ length: C }, (_, c) => x[(t * B + b) * C + c]!), m = Math.max(...row);
    const z = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    lp.push(row.map((v) => v - z));
  }
  const skip = (s: number) => s >= 2 && lab(s) !== blank && lab(s) !== lab(s - 2);
  const alpha = Array.from({ length: Tb }, () => new Array<number>(S).fill(-Infinity));
  alpha[0]![0] = lp[0]![lab(0)]!;
  if (S > 1) alpha[0]![1] = lp[0]![lab(1)]!;
  for (let t = 1; t < Tb; t++) for (let s = 0; s < S; s++) {
    let a = alpha[t - 1]![s]!;
    if (s >= 1) a = lse2(a, alpha[t - 1]![s - 1]!);
    if (skip(s)) a = lse2(a, alpha[t - 1]![s - 2]!);
    alpha[t]![s] = a + lp[t]![lab(s)]!;
  }
  const beta = Array.from({ length: Tb }, () => new Array<number>(S).fill(-Infinity));
  beta[Tb - 1]![S - 1] = 0;
  if (S > 1) beta[Tb - 1]![S - 2] = 0;
  for (let t = Tb - 2; t >= 0; t--) for (let s = 0; s < S; s++) {
    let v = beta[t + 1]![s]! + lp[t + 1]![lab(s)]!;
    if (s + 1 < S) v = lse2(v, beta[t + 1]![s + 1]! + lp[t + 1]![lab(s + 1)]!);
    if (s + 2 < S && skip(s + 2)) v = lse2(v, beta[t + 1]![s + 2]! + lp[t + 1]![lab(s + 2)]!);
    beta[t]![s] = v;
  }
  const logp = S > 1 ? lse2(alpha[Tb - 1]![S - 1]!, alpha[Tb - 1]![S - 2]!) : alpha[Tb - 1]![S - 1]!;
  return { lp, alpha, beta, logp, lab, S, Tb, L };
}

/** mean over the batch of -log p(target | x) / target length (PyTorch's reduction 'mean') */
export function ctcLossRef(x: A, p: CtcProblem): number {
  let s = 0;
  for (let b = 0; b < p.B; b++) { const it = item(x, p, b); s += -it.logp / Math.max(1, it.L); }
  return s / p.B;
}

/** d loss / d logits (frames past an item's input length get none) */
export function ctcLossBackwardRef(x: A, p: CtcProblem, dy: number): Float64Array {
  const g = new Float64Array(p.T * p.B * p.C);
  for (let b = 0; b < p.B; b++) {
    const it = item(x, p, b), w = dy / (p.B * Math.max(1, it.L));
    for (let t = 0; t < it.Tb; t++) {
      const occ = new Array<number>(p.C).fill(0);
      for (let s = 0; s < it.S; s++) occ[it.lab(s)] += Math.exp(it.alpha[t]![s]! + it.beta[t]![s]! - it.logp);
      for (let c = 0; c < p.C; c++) g[(t * p.B + b) * p.C + c] = w * (Math.exp(it.lp[t]![c]!) - occ[c]!);
    }
  }
  return g;
}
