/**
 * DartQuant (Shao et al., NeurIPS 2025, arXiv 2511.04063): rotations calibrated on activation distributions
 * instead of end-to-end. (A) one forward of the norm-fused, unrotated model over the calibration windows records
 * the R1 inputs (q_proj and up_proj inputs of every layer: the normalised residual stream) and the R2 inputs
 * (o_proj inputs), keeping `tokens` random positions per window (token subsampling bounds memory); (B) the Whip
 * loss L(O) = mean over tokens of sum over channels exp(-|O|) of the rotated activations O = X R pushes
 * magnitudes away from 0 and so flattens outliers; (C) R = Q(Z) from a QR decomposition of a free matrix Z
 * (initialised to a random Hadamard), gradients through the analytic QR backward (linalg/qr.ts), SGD with momentum;
 * (D) R1: items = (window, layer, q|up) activations, each epoch a 10% subset, batches of 64 items, lr 1.5e-3,
 * momentum 0.9, 10 epochs; (E) R2 per layer: one Z per KV head (all query heads of the group share it), windows and
 * positions shuffled once, batches of 64 windows with 2-step gradient accumulation, lr 1e-3, momentum 0.9,
 * 10 epochs. Reference quirk (option `fixedSubset`): its sampler wraps the drawn indices in RandomSampler, so
 * every epoch reuses the first 10% of the sorted item list (and only samples 0-99 are eligible); the default
 * draws a fresh random 10% per epoch, the documented intent.
 */
import type { CalibrationSet } from '../../data/calibration.js';
import type { Backend } from '../../backend/backend.js';
import * as ops from '../../ops/index.js';
import { qr, qrBackward } from '../../linalg/qr.js';
import { cancellationPoint } from '../../util/errors.js';
import { seededRandom } from '../../util/random.js';
import { applyRotations, fuseNorms, randomHadamard } from './rotate.js';
import { DecoderModel } from '../../models/index.js';

export interface DartOptions {
  epochs: number;
  r1Lr: number;
  r2Lr: number;
  momentum: number;
  /** R1: items per batch; R2: windows per batch */
  bsz: number;
  /** R1: fraction of the items used per epoch */
  subset: number;
  /** the reference's behaviour: the same first `subset` of the sorted items every epoch, samples 0-99 only */
  fixedSubset: boolean;
  r2Accum: number;
  /** token positions kept per window (0 = all) */
  tokens: number;
  seed: number;
  signal?: AbortSignal;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export const DART_DEFAULTS: Omit<DartOptions, 'seed'> = {
  epochs: 10, r1Lr: 1.5e-3, r2Lr: 1e-3, momentum: 0.9, bsz: 64, subset: 0.1, fixedSubset: false, r2Accum: 2, tokens: 128,
};

export interface Captured {
  /** R1 items [tokens, dim]: for window s, layer l: index (s * L + l) * 2 + (0: q_proj input, 1: up_proj input) */
  r1: Float32Array[];
  /** R2 inputs per layer, per window [tokens, nHeads * headDim] */
  r2: Float32Array[][];
  tokens: number;
  bytes: number;
  seconds: number;
}

/**
 * Whip loss of O = X Q (rows x n, divided by `tokens`) and its gradient with respect to Q, X^T dL/dO, both
 * products on the backend (sgemm).
 */
export async function whip(be: Backend, X: Float32Array, rows: number, n: number, Q: Float64Array, tokens = rows): Promise<{ loss: number; gQ: Float64Array }> {
  const x = be.alloc([rows, n]), w = be.alloc([n, n]), o = be.alloc([rows, n]);
  const xt = be.alloc([n, rows]), gt = be.alloc([n, rows]), g = be.alloc([n, n]);
  try {
    be.write(x, X);
    const qt = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) qt[j * n + i] = Q[i * n + j]!;
    be.write(w, qt);
    ops.linear(be, x, w, null, o); // O = X Q
    const O = await be.read(o);
    let loss = 0;
    const Gt = new Float32Array(n * rows), Xt = new Float32Array(n * rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < n; c++) {
        const v = O[r * n + c]!, e = Math.exp(-Math.abs(v));
        loss += e;
        Gt[c * rows + r] = (v > 0 ? -e : v < 0 ? e : 0) / tokens;
        Xt[c * rows + r] = X[r * n + c]!;
      }
    }
    be.write(xt, Xt);
    be.write(gt, Gt);
    ops.linear(be, xt, gt, null, g); // X^T dL/dO
    return { loss: loss / tokens, gQ: Float64Array.from(await be.read(g)) };
  } finally {
    for (const t of [x, w, o, xt, gt, g]) be.free(t);
  }
}

/** Whip loss of X Q without the gradient (float64; for reports and tests). */
export function whipLoss(X: ArrayLike<number>, rows: number, n: number, Q: Float64Array | null): number {
  let loss = 0;
  const row = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      if (!Q) { row[j] = X[r * n + j]!; continue; }
      let s = 0;
      for (let k = 0; k < n; k++) s += X[r * n + k]! * Q[k * n + j]!;
      row[j] = s;
    }
    for (let j = 0; j < n; j++) loss += Math.exp(-Math.abs(row[j]!));
  }
  return loss / rows;
}

/** Step A: the activations R1 and R2 act on, from the norm-fused, unrotated model (dense forwards, block by block). */
export async function captureActivations(model: DecoderModel, calib: CalibrationSet, o: Pick<DartOptions, 'tokens' | 'seed' | 'signal' | 'onProgress'>): Promise<Captured> {
  const t0 = performance.now(), c = model.config, be = model.backend, T = calib.seqlen;
  const keep = o.tokens > 0 ? Math.min(o.tokens, T) : T;
  const rand = seededRandom(o.seed + 1);
  const r1: Float32Array[] = [], r2: Float32Array[][] = Array.from({ length: c.nLayers }, () => []);
  const qd = c.nHeads * c.headDim;
  let bytes = 0;
  for (let s = 0; s < calib.windows.length; s++) {
    await cancellationPoint(o.signal);
    // positions kept for this window (sorted, distinct)
    const pos = keep === T ? Array.from({ length: T }, (_, i) => i) : sample(T, keep, rand);
    const h = model.embed(calib.windows[s]!);
    try {
      for (let l = 0; l < c.nLayers; l++) {
        model.block(l, h, { pos0: 0 });
        const v = model.linearInputs(T);
        const pick = async (t: typeof v.attn, width: number) => {
          const all = await be.read(t), out = new Float32Array(keep * width);
          pos.forEach((p, i) => out.set(all.subarray(p * width, (p + 1) * width), i * width));
          bytes += out.byteLength;
          return out;
        };
        r1.push(await pick(v.attn, c.dim), await pick(v.mlp, c.dim));
        r2[l]!.push(await pick(v.o, qd));
      }
    } finally {
      be.free(h);
    }
    o.onProgress?.('capture', s + 1, calib.windows.length);
  }
  return { r1, r2, tokens: keep, bytes, seconds: (performance.now() - t0) / 1000 };
}

function sample(n: number, k: number, rand: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}

function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** SGD with momentum on Z (torch.optim.SGD: v = mu v + g; Z -= lr v). */
class Sgd {
  private v: Float64Array;
  constructor(private readonly lr: number, private readonly mu: number, n: number) { this.v = new Float64Array(n); }
  step(Z: Float64Array, g: Float64Array): void {
    for (let i = 0; i < Z.length; i++) {
      this.v[i] = this.mu * this.v[i]! + g[i]!;
      Z[i] -= this.lr * this.v[i]!;
    }
  }
}

export interface TrainLog {
  steps: number;
  /** Whip loss of the first and the last batch */
  lossFirst: number;
  lossLast: number;
  seconds: number;
  /** largest |Q^T Q - I| seen after any step */
  maxOrthError: number;
}

function orthError(Q: Float64Array, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += Q[k * n + i]! * Q[k * n + j]!;
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

/** Step D: the global R1 [dim, dim] from the captured items. */
export async function trainR1(be: Backend, cap: Captured, dim: number, layers: number, o: DartOptions): Promise<{ r1: Float64Array; log: TrainLog }> {
  const t0 = performance.now(), rand = seededRandom(o.seed + 2);
  const Z = randomHadamard(dim, rand), opt = new Sgd(o.r1Lr, o.momentum, dim * dim);
  const all = cap.r1.map((_, i) => i);
  // the reference's sorted file list: sample_<s>_... compared as strings; only samples 0-99 match its pattern
  const sampleOf = (i: number) => Math.floor(i / (2 * layers));
  const sorted = all.filter((i) => sampleOf(i) < 100).sort((a, b) => {
    const ka = `sample_${sampleOf(a)}_layer_${Math.floor(a / 2) % layers}_${a % 2}`, kb = `sample_${sampleOf(b)}_layer_${Math.floor(b / 2) % layers}_${b % 2}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const per = Math.max(1, Math.round(o.subset * (o.fixedSubset ? sorted.length : all.length)));
  const log: TrainLog = { steps: 0, lossFirst: NaN, lossLast: NaN, seconds: 0, maxOrthError: 0 };
  for (let e = 0; e < o.epochs; e++) {
    const chosen = o.fixedSubset ? shuffle(sorted.slice(0, per), rand) : shuffle(all.slice(), rand).slice(0, per);
    for (let b = 0; b < chosen.length; b += o.bsz) {
      await cancellationPoint(o.signal);
      const items = chosen.slice(b, b + o.bsz), rows = items.length * cap.tokens;
      const X = new Float32Array(rows * dim);
      items.forEach((it, k) => X.set(cap.r1[it]!, k * cap.tokens * dim));
      const f = qr(Z, dim);
      const { loss, gQ } = await whip(be, X, rows, dim, f.Q);
      opt.step(Z, qrBackward(f, gQ));
      if (log.steps === 0) log.lossFirst = loss;
      log.lossLast = loss;
      log.steps++;
      log.maxOrthError = Math.max(log.maxOrthError, orthError(qr(Z, dim).Q, dim));
    }
    o.onProgress?.('R1', e + 1, o.epochs);
  }
  log.seconds = (performance.now() - t0) / 1000;
  return { r1: qr(Z, dim).Q, log };
}

/** Step E: R2 for one layer, one [D, D] per KV head. */
export async function trainR2(be: Backend, windows: Float32Array[], tokens: number, nHeads: number, nKV: number, D: number, o: DartOptions, layer: number): Promise<{ r2: Float64Array[]; log: TrainLog }> {
  const t0 = performance.now(), rand = seededRandom(o.seed + 100 + layer);
  const H = randomHadamard(D, rand);
  const Z = Array.from({ length: nKV }, () => Float64Array.from(H));
  const opts = Z.map(() => new Sgd(o.r2Lr, o.momentum, D * D));
  const group = nHeads / nKV, qd = nHeads * D;
  // shuffle windows and, once, the token positions inside every window
  const data = shuffle(windows.map((w) => {
    const perm = shuffle(Array.from({ length: tokens }, (_, i) => i), rand), out = new Float32Array(w.length);
    perm.forEach((p, i) => out.set(w.subarray(p * qd, (p + 1) * qd), i * qd));
    return out;
  }), rand);
  const log: TrainLog = { steps: 0, lossFirst: NaN, lossLast: NaN, seconds: 0, maxOrthError: 0 };
  const acc = Z.map(() => new Float64Array(D * D));
  let pending = 0;
  for (let e = 0; e < o.epochs; e++) {
    for (let b = 0; b < data.length; b += o.bsz) {
      await cancellationPoint(o.signal);
      const batch = data.slice(b, b + o.bsz), rows = batch.length * tokens;
      const fs = Z.map((z) => qr(z, D));
      let loss = 0;
      for (let g = 0; g < nKV; g++) {
        // the query heads of KV group g stacked: [group * rows, D]
        const X = new Float32Array(group * rows * D);
        let r = 0;
        for (let j = g * group; j < (g + 1) * group; j++) {
          for (const w of batch) for (let t = 0; t < tokens; t++, r++) X.set(w.subarray(t * qd + j * D, t * qd + (j + 1) * D), r * D);
        }
        const res = await whip(be, X, group * rows, D, fs[g]!.Q, rows);
        loss += res.loss;
        const gz = qrBackward(fs[g]!, res.gQ);
        for (let i = 0; i < gz.length; i++) acc[g]![i] += gz[i]! / o.r2Accum;
      }
      if (log.steps === 0 && pending === 0) log.lossFirst = loss;
      log.lossLast = loss;
      if (++pending === o.r2Accum) {
        Z.forEach((z, g) => { opts[g]!.step(z, acc[g]!); acc[g]!.fill(0); });
        pending = 0;
        log.steps++;
        for (const z of Z) log.maxOrthError = Math.max(log.maxOrthError, orthError(qr(z, D).Q, D));
      }
    }
  }
  log.seconds = (performance.now() - t0) / 1000;
  return { r2: Z.map((z) => qr(z, D).Q), log };
}

export interface DartRecord {
  method: 'dartquant';
  r1: string;
  r2: string;
  seed: number;
  r4: boolean;
  options: Omit<DartOptions, 'signal' | 'onProgress'>;
  capture: { windows: number; tokensPerWindow: number; bytes: number; seconds: number };
  r1Training: TrainLog;
  r2Training: TrainLog[];
  /** capture + training, wall clock */
  seconds: number;
  /** largest resident set size seen at the end of each stage */
  peakRssBytes: number;
}

/** The whole calibration: fuse norms, capture, train R1 and every R2, fuse R1/R2/R4 into the weights. */
export async function dartquantRotate(model: DecoderModel, calib: CalibrationSet, o: DartOptions): Promise<DartRecord> {
  const t0 = performance.now(), c = model.config;
  let peak = process.memoryUsage().rss;
  const mark = () => { peak = Math.max(peak, process.memoryUsage().rss); };
  await fuseNorms(model);
  let cap: Captured | null = await captureActivations(model, calib, o);
  mark();
  const capture = { windows: calib.windows.length, tokensPerWindow: cap.tokens, bytes: cap.bytes, seconds: cap.seconds };
  const { r1, log: r1Training } = await trainR1(model.backend, cap, c.dim, c.nLayers, o);
  mark();
  const r2: Float64Array[][] = [], r2Training: TrainLog[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const res = await trainR2(model.backend, cap.r2[l]!, cap.tokens, c.nHeads, c.nKVHeads, c.headDim, o, l);
    r2.push(res.r2);
    r2Training.push(res.log);
    o.onProgress?.('R2', l + 1, c.nLayers);
  }
  mark();
  cap = null;
  const seconds = (performance.now() - t0) / 1000;
  await applyRotations(model, { r1, r2, r4: true });
  const { signal: _s, onProgress: _p, ...options } = o;
  return { method: 'dartquant', r1: `learned ${c.dim} (QR-Orth, Whip loss)`, r2: `learned ${c.headDim} per layer and KV head`, seed: o.seed, r4: true,
    options, capture, r1Training, r2Training, seconds, peakRssBytes: peak };
}
