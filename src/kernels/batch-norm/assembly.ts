// Batch normalization over NCHW (or [N, C]: S = 1): per channel c, statistics over the N x S values
// x[(n C + c) S + s]. Training: batch mean and biased variance (two passes), running averages updated with the
// unbiased variance (PyTorch); evaluation: the running statistics. Threads own channels.
import { chunkStart, chunkEnd } from '../common/simd';

@inline function at(n: i32, c: i32, s: i32, C: i32, S: i32): usize {
  return <usize>((n * C + c) * S + s) << 2;
}

export function batch_norm(x: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize, out: usize, mean: usize, invstd: usize,
  N: i32, C: i32, S: i32, train: i32, momentum: f32, eps: f32, tid: i32, nt: i32): void {
  const c0 = chunkStart(C, 1, tid, nt), c1 = chunkEnd(C, 1, tid, nt);
  const M = N * S;
  for (let c = c0; c < c1; c++) {
    const co = <usize>c << 2;
    let mu: f32, inv: f32;
    if (train != 0) {
      let sum: f64 = 0;
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) sum += <f64>load<f32>(x + at(n, c, s, C, S));
      const m = sum / <f64>M;
      let ss: f64 = 0;
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) { const d = <f64>load<f32>(x + at(n, c, s, C, S)) - m; ss += d * d; }
      const v = ss / <f64>M;
      mu = <f32>m;
      inv = <f32>(1.0 / Math.sqrt(v + <f64>eps));
      store<f32>(runMean + co, (1 - momentum) * load<f32>(runMean + co) + momentum * mu);
      const unbiased = M > 1 ? ss / <f64>(M - 1) : v;
      store<f32>(runVar + co, (1 - momentum) * load<f32>(runVar + co) + momentum * <f32>unbiased);
    } else {
      mu = load<f32>(runMean + co);
      inv = 1 / Mathf.sqrt(load<f32>(runVar + co) + eps);
    }
    store<f32>(mean + co, mu);
    store<f32>(invstd + co, inv);
    const g = load<f32>(gamma + co) * inv, b = load<f32>(beta + co) - mu * g;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) { const o = at(n, c, s, C, S); store<f32>(out + o, load<f32>(x + o) * g + b); }
  }
}

/**
 * xhat = (x - mean) invstd: dgamma += sum dy xhat, dbeta += sum dy; dx += gamma invstd (dy - (dbeta + xhat dgamma) / M)
 * in training (the statistics depend on x), dx += gamma invstd dy in evaluation. dx, dgamma, dbeta may be 0.
 */
export function batch_norm_backward(x: usize, gamma: usize, mean: usize, invstd: usize, dy: usize, dx: usize, dgamma: usize, dbeta: usize,
  N: i32, C: i32, S: i32, train: i32, tid: i32, nt: i32): void {
  const c0 = chunkStart(C, 1, tid, nt), c1 = chunkEnd(C, 1, tid, nt);
  const M = <f32>(N * S);
  for (let c = c0; c < c1; c++) {
    const co = <usize>c << 2;
    const mu = load<f32>(mean + co), inv = load<f32>(invstd + co);
    let sdy: f32 = 0, sdyx: f32 = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const o = at(n, c, s, C, S);
      const d = load<f32>(dy + o);
      sdy += d;
      sdyx += d * (load<f32>(x + o) - mu) * inv;
    }
    if (dgamma != 0) store<f32>(dgamma + co, load<f32>(dgamma + co) + sdyx);
    if (dbeta != 0) store<f32>(dbeta + co, load<f32>(dbeta + co) + sdy);
    if (dx == 0) continue;
    const k = load<f32>(gamma + co) * inv;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const o = at(n, c, s, C, S);
      let g = load<f32>(dy + o);
      if (train != 0) g -= (sdy + (load<f32>(x + o) - mu) * inv * sdyx) / M;
      store<f32>(dx + o, load<f32>(dx + o) + k * g);
    }
  }
}
