// CTC loss (Graves et al. 2006) on logits x [T, B, C], per batch item in log space (float64 recursions): the
// log-softmax of each frame, alpha over the blank-extended label sequence (S = 2L + 1), beta (excluding the current
// frame), -log p = -logsumexp(alpha[T-1][S-1], alpha[T-1][S-2]). Backward recomputes them: d/dx[t, c] =
// softmax(x_t)[c] - sum over positions s with label c of exp(alpha_t(s) + beta_t(s) + log p). Threads own items.

@inline function lse2(a: f64, b: f64): f64 {
  if (a == -Infinity) return b;
  if (b == -Infinity) return a;
  return Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
}

@inline function at(base: usize, r: i32, c: i32, w: i32): usize {
  return base + (<usize>(r * w + c) << 3);
}

@inline function label(targets: usize, maxLen: i32, b: i32, s: i32, blank: i32): i32 {
  return (s & 1) == 0 ? blank : load<i32>(targets + (<usize>(b * maxLen + ((s - 1) >> 1)) << 2));
}

/**
 * work: per thread T*C + 2*T*(2*maxLen+1) float64s. nll[b] = -log p / max(1, L). With dx != 0: dx += w (softmax - occupancy),
 * w = dy[0] * scale / max(1, L), for the frames t < inputLengths[b].
 */
export function ctc_loss(x: usize, targets: usize, targetLengths: usize, inputLengths: usize, T: i32, B: i32, C: i32, blank: i32, maxLen: i32,
  work: usize, nll: usize, dx: usize, dy: usize, scale: f64, tid: i32, nt: i32): void {
  const Smax = 2 * maxLen + 1;
  const lp = work + (<usize>tid * <usize>(T * C + 2 * T * Smax) << 3), alpha = lp + (<usize>(T * C) << 3), beta = alpha + (<usize>(T * Smax) << 3);
  for (let b = tid; b < B; b += nt) {
    const Tb = load<i32>(inputLengths + (<usize>b << 2)), L = load<i32>(targetLengths + (<usize>b << 2)), S = 2 * L + 1;
    for (let t = 0; t < Tb; t++) {
      const row = x + (<usize>((t * B + b) * C) << 2);
      let m: f64 = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, <f64>load<f32>(row + (<usize>c << 2)));
      let z: f64 = 0;
      for (let c = 0; c < C; c++) z += Math.exp(<f64>load<f32>(row + (<usize>c << 2)) - m);
      const lz = m + Math.log(z);
      for (let c = 0; c < C; c++) store<f64>(lp + (<usize>(t * C + c) << 3), <f64>load<f32>(row + (<usize>c << 2)) - lz);
    }
    for (let s = 0; s < S; s++) store<f64>(at(alpha, 0, s, Smax), s < 2 ? load<f64>(at(lp, 0, label(targets, maxLen, b, s, blank), C)) : -Infinity);
    for (let t = 1; t < Tb; t++) {
      for (let s = 0; s < S; s++) {
        const ls = label(targets, maxLen, b, s, blank);
        let a = load<f64>(at(alpha, t - 1, s, Smax));
        if (s >= 1) a = lse2(a, load<f64>(at(alpha, t - 1, s - 1, Smax)));
        if (s >= 2 && ls != blank && ls != label(targets, maxLen, b, s - 2, blank)) a = lse2(a, load<f64>(at(alpha, t - 1, s - 2, Smax)));
        store<f64>(at(alpha, t, s, Smax), a + load<f64>(at(lp, t, ls, C)));
      }
    }
    const logp = S > 1 ? lse2(load<f64>(at(alpha, Tb - 1, S - 1, Smax)), load<f64>(at(alpha, Tb - 1, S - 2, Smax))) : load<f64>(at(alpha, Tb - 1, 0, Smax));
    const Lc = <f64>max(1, L);
    store<f32>(nll + (<usize>b << 2), <f32>(-logp / Lc));
    if (dx == 0) continue;
    for (let s = 0; s < S; s++) store<f64>(at(beta, Tb - 1, s, Smax), s >= S - 2 ? 0 : -Infinity);
    for (let t = Tb - 2; t >= 0; t--) {
      for (let s = 0; s < S; s++) {
        let v = load<f64>(at(beta, t + 1, s, Smax)) + load<f64>(at(lp, t + 1, label(targets, maxLen, b, s, blank), C));
        if (s + 1 < S) v = lse2(v, load<f64>(at(beta, t + 1, s + 1, Smax)) + load<f64>(at(lp, t + 1, label(targets, maxLen, b, s + 1, blank), C)));
        if (s + 2 < S) {
          const l2 = label(targets, maxLen, b, s + 2, blank);
          if (l2 != blank && l2 != label(targets, maxLen, b, s, blank)) v = lse2(v, load<f64>(at(beta, t + 1, s + 2, Smax)) + load<f64>(at(lp, t + 1, l2, C)));
        }
        store<f64>(at(beta, t, s, Smax), v);
      }
    }
    const w = <f64>load<f32>(dy) * scale / Lc;
    for (let t = 0; t < Tb; t++) {
      const drow = dx + (<usize>((t * B + b) * C) << 2);
      for (let c = 0; c < C; c++) { const o = drow + (<usize>c << 2); store<f32>(o, load<f32>(o) + <f32>(w * Math.exp(load<f64>(at(lp, t, c, C))))); }
      for (let s = 0; s < S; s++) {
        const o = drow + (<usize>label(targets, maxLen, b, s, blank) << 2);
        store<f32>(o, load<f32>(o) - <f32>(w * Math.exp(load<f64>(at(alpha, t, s, Smax)) + load<f64>(at(beta, t, s, Smax)) - logp)));
      }
    }
  }
}
