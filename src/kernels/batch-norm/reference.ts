// Plain TypeScript twin (float64) of batch normalization and its gradient (NCHW, statistics per channel).
type A = ArrayLike<number>;

export interface BatchNormRefResult { out: Float64Array; mean: Float64Array; invstd: Float64Array; runMean: Float64Array; runVar: Float64Array }

export function batchNormRef(x: A, gamma: A, beta: A, runMean: A, runVar: A, N: number, C: number, S: number, train: boolean, momentum: number, eps: number): BatchNormRefResult {
  const out = new Float64Array(x.length), mean = new Float64Array(C), invstd = new Float64Array(C);
  const rm = Float64Array.from(runMean), rv = Float64Array.from(runVar), M = N * S;
  for (let c = 0; c < C; c++) {
    const vals: number[] = [];
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) vals.push(x[(n * C + c) * S + s]!);
    if (train) {
      const m = vals.reduce((a, b) => a + b, 0) / M;
      const ss = vals.reduce((a, b) => a + (b - m) ** 2, 0);
      mean[c] = m;
      invstd[c] = 1 / Math.sqrt(ss / M + eps);
      rm[c] = (1 - momentum) * rm[c]! + momentum * m;
      rv[c] = (1 - momentum) * rv[c]! + momentum * (M > 1 ? ss / (M - 1) : ss / M);
    } else {
      mean[c] = runMean[c]!;
      invstd[c] = 1 / Math.sqrt(runVar[c]! + eps);
    }
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const i = (n * C + c) * S + s;
      out[i] = (x[i]! - mean[c]!) * invstd[c]! * gamma[c]! + beta[c]!;
    }
  }
  return { out, mean, invstd, runMean: rm, runVar: rv };
}

export function batchNormBackwardRef(x: A, gamma: A, mean: A, invstd: A, dy: A, N: number, C: number, S: number, train: boolean): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const dx = new Float64Array(x.length), dgamma = new Float64Array(C), dbeta = new Float64Array(C), M = N * S;
  for (let c = 0; c < C; c++) {
    let sdy = 0, sdyx = 0;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const i = (n * C + c) * S + s;
      sdy += dy[i]!;
      sdyx += dy[i]! * (x[i]! - mean[c]!) * invstd[c]!;
    }
    dgamma[c] = sdyx;
    dbeta[c] = sdy;
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) {
      const i = (n * C + c) * S + s;
      const g = train ? dy[i]! - (sdy + (x[i]! - mean[c]!) * invstd[c]! * sdyx) / M : dy[i]!;
      dx[i] = gamma[c]! * invstd[c]! * g;
    }
  }
  return { dx, dgamma, dbeta };
}
