/**
 * Per-input statistics of a linear layer, accumulated one calibration sequence at a time with the reference
 * update rules (locuslab/wanda and zyxxmu/DSnoT lib/layerwrapper.py, IST-DASLab/sparsegpt add_batch):
 * - scalerRow[j]: running mean over sequences of sum_t x_tj^2 (Wanda's ||X_j||^2 / nsamples)
 * - sumRow[j]:    running mean over sequences of sum_t x_tj (DSnoT's signed mean, in "sum over seqlen" units)
 * - mean[j], variance[j]: per-token mean and population variance, combined across sequences as token-weighted
 *   averages of the per-sequence values (the between-sequence mean shift is ignored, as in the reference)
 * - hessian: H = (2 / nsamples) sum X^T X (SparseGPT/GPTQ), accumulated in float64
 * q/k/v share one input and so one LinearStats (likewise gate/up); the reference recomputes identical copies.
 */
export class LinearStats {
  nsamples = 0;
  ntokens = 0;
  readonly scalerRow: Float64Array;
  readonly sumRow: Float64Array;
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  private gram: Float64Array | null;

  constructor(readonly columns: number, withHessian: boolean) {
    this.scalerRow = new Float64Array(columns);
    this.sumRow = new Float64Array(columns);
    this.mean = new Float64Array(columns);
    this.variance = new Float64Array(columns);
    this.gram = withHessian ? new Float64Array(columns * columns) : null;
  }

  /** One sequence's inputs x [T, columns] (and, with a Hessian, its Gram matrix X^T X [columns, columns]). */
  addSequence(x: Float32Array, gram?: Float32Array): void {
    const C = this.columns, T = x.length / C;
    const sum = new Float64Array(C), sq = new Float64Array(C);
    for (let t = 0; t < T; t++) {
      const r = t * C;
      for (let j = 0; j < C; j++) {
        const v = x[r + j]!;
        sum[j]! += v;
        sq[j]! += v * v;
      }
    }
    const nOld = this.ntokens;
    for (let j = 0; j < C; j++) {
      const m = sum[j]! / T;
      const v = Math.max(0, sq[j]! / T - m * m);
      this.variance[j] = nOld === 0 ? v : (this.variance[j]! * nOld + v * T) / (nOld + T);
      this.mean[j] = nOld === 0 ? m : (this.mean[j]! * nOld + m * T) / (nOld + T);
    }
    this.ntokens += T;
    const keep = this.nsamples / (this.nsamples + 1);
    this.nsamples += 1;
    for (let j = 0; j < C; j++) {
      this.scalerRow[j] = this.scalerRow[j]! * keep + sq[j]! / this.nsamples;
      this.sumRow[j] = this.sumRow[j]! * keep + sum[j]! / this.nsamples;
    }
    if (this.gram) {
      if (!gram || gram.length !== C * C) throw new Error('LinearStats: a Gram matrix is required with a Hessian');
      const g = this.gram;
      for (let i = 0; i < g.length; i++) g[i]! += gram[i]!;
    }
  }

  get hasHessian(): boolean {
    return this.gram !== null;
  }

  /** H = (2 / nsamples) * sum X^T X (a fresh copy the caller may modify). */
  hessian(): Float64Array {
    if (!this.gram) throw new Error('LinearStats: no Hessian was collected');
    const s = 2 / this.nsamples;
    return this.gram.map((v) => v * s);
  }
}
