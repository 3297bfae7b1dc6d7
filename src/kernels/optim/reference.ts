// Plain TypeScript twin (float64) of the optimizer steps, with PyTorch's formulas.
export interface AdamWHyper { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number }

/** one AdamW step at step t (1-based), in place on p, m, v */
export function adamwStepRef(p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, h: AdamWHyper, t: number): void {
  const bc1 = 1 - h.beta1 ** t, bc2 = 1 - h.beta2 ** t;
  for (let i = 0; i < p.length; i++) {
    p[i]! *= 1 - h.lr * h.weightDecay;
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g[i]!;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g[i]! ** 2;
    p[i]! -= (h.lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + h.eps));
  }
}

export interface SgdHyper { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }

export function sgdStepRef(p: Float64Array, g: ArrayLike<number>, buf: Float64Array, h: SgdHyper, first: boolean): void {
  for (let i = 0; i < p.length; i++) {
    let d = g[i]! + h.weightDecay * p[i]!;
    if (h.momentum !== 0) {
      buf[i] = first ? d : h.momentum * buf[i]! + (1 - h.dampening) * d;
      d = h.nesterov ? d + h.momentum * buf[i]! : buf[i]!;
    }
    p[i]! -= h.lr * d;
  }
}
