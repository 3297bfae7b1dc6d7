/**
 * The classifier training loop: seeded shuffles, mini-batches through the tape, softmax cross-entropy, optional
 * global-norm clipping, a scheduled learning rate, held-out accuracy after each epoch, a checkpoint after each epoch
 * and on cancellation (Ctrl-C), exact resumption (parameters, optimizer state, step, epoch, the position inside the
 * epoch and the RNG state that drew its permutation), optional random-shift augmentation drawn per step from the
 * seed (so it resumes exactly too), and a stop with the step's name when the loss is not finite.
 */
import type { Backend } from '../backend/backend.js';
import { Tape } from '../autograd/tape.js';
import * as F from '../autograd/functional.js';
import { InputError, OptionError } from '../util/errors.js';
import { clipGradNorm } from './clip.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { augmentRng, randomShift } from './augment.js';
import { batchOf, checkLabels, count, type LabelledImages } from './data.js';
import type { TrainableNet } from './net.js';
import { AdamW, SGD, type Optimizer } from './optimizers.js';
import { Rng } from './rng.js';
import { scheduledLr, type Schedule } from './schedule.js';

export interface TrainConfig {
  epochs: number;
  batch: number;
  lr: number;
  optimizer: 'sgd' | 'adamw';
  /** SGD momentum (default 0.9) */
  momentum?: number;
  /** default: AdamW 0.01, SGD 0 */
  weightDecay?: number;
  schedule?: Schedule['kind'];
  warmupSteps?: number;
  /** clip gradients to this global L2 norm */
  clip?: number;
  /** move each training image by up to this many pixels in y and x (uniform, zero fill); 0 = none */
  augmentShift?: number;
  seed: number;
  /** checkpoint folder (written after every epoch and on cancellation) */
  out?: string;
  /** a checkpoint folder to continue from */
  resume?: string;
  signal?: AbortSignal;
  /** stop after this many updates in all (and checkpoint) */
  maxSteps?: number;
  onStep?(s: StepInfo): void;
  onEpoch?(e: EpochInfo): void;
}

export interface StepInfo { step: number; totalSteps: number; epoch: number; batchInEpoch: number; batchesPerEpoch: number; loss: number; lr: number }
export interface EpochInfo { epoch: number; meanLoss: number; heldOutAccuracy: number; seconds: number }
export interface TrainResult {
  steps: number;
  epochsDone: number;
  /** the loss of every update this run took */
  losses: number[];
  heldOutAccuracy: number;
  stoppedBy: 'done' | 'signal' | 'maxSteps';
  /** updates per second of this run (training steps only, evaluation excluded) */
  stepsPerSecond: number;
}

/** Training stopped on a loss that is not a finite number. */
export class TrainingDivergedError extends InputError {
  constructor(readonly step: number, detail: string) {
    super(detail);
    this.name = 'TrainingDivergedError';
  }
}

export function makeOptimizer(be: Backend, net: TrainableNet, c: TrainConfig): Optimizer {
  if (c.optimizer === 'adamw') return new AdamW(be, net.params, { lr: c.lr, weightDecay: c.weightDecay ?? 0.01 });
  if (c.optimizer === 'sgd') return new SGD(be, net.params, { lr: c.lr, momentum: c.momentum ?? 0.9, weightDecay: c.weightDecay ?? 0 });
  throw new OptionError('--optimizer', `expected sgd or adamw, got "${c.optimizer as string}"`);
}

/** Fraction of `data` the network classifies correctly (evaluation mode, no tape records). */
export async function accuracy(be: Backend, net: TrainableNet, data: LabelledImages, batch = 256): Promise<number> {
  const perm = Int32Array.from({ length: count(data) }, (_, i) => i);
  let right = 0;
  for (let b = 0; b * batch < perm.length; b++) {
    const { x, y } = batchOf(data, perm, b, batch);
    const t = new Tape(be, { record: false });
    const logits = net.forward(t, t.tensor(x, [y.length, ...data.shape]), false);
    const z = await be.read(logits), C = z.length / y.length;
    for (let i = 0; i < y.length; i++) {
      let arg = 0;
      for (let c = 1; c < C; c++) if (z[i * C + c]! > z[i * C + arg]!) arg = c;
      if (arg === y[i]) right++;
    }
    t.release();
  }
  return right / Math.max(1, perm.length);
}

export async function trainClassifier(be: Backend, net: TrainableNet, train: LabelledImages, heldOut: LabelledImages, c: TrainConfig): Promise<TrainResult> {
  checkLabels(train);
  checkLabels(heldOut);
  if (!(Number.isInteger(c.batch) && c.batch >= 1)) throw new OptionError('--batch', `expected a positive integer, got ${c.batch}`);
  if (!(Number.isInteger(c.epochs) && c.epochs >= 1)) throw new OptionError('--epochs', `expected a positive integer, got ${c.epochs}`);
  const shift = c.augmentShift ?? 0, minSide = Math.min(train.shape[1], train.shape[2]);
  if (!(Number.isInteger(shift) && shift >= 0 && shift < minSide)) throw new OptionError('--augment-shift', `expected an integer in [0, ${minSide}) for ${train.shape[1]}x${train.shape[2]} images, got ${shift}`);
  const opt = makeOptimizer(be, net, c);
  const batches = Math.ceil(count(train) / c.batch), totalSteps = c.epochs * batches;
  const schedule: Schedule = { kind: c.schedule ?? 'constant', warmupSteps: c.warmupSteps ?? 0, totalSteps };
  let rng = new Rng(c.seed), epoch = 0, firstBatch = 0, step = 0;
  if (c.resume) {
    const s = loadCheckpoint(be, c.resume, net.arch, net.params, opt);
    // the seed also drew the split, the initialization and the shifts: a resumed run must keep it, and the shift
    if (s.extra['seed'] !== undefined && s.extra['seed'] !== c.seed) throw new OptionError('--seed', `${c.resume} was trained with --seed ${String(s.extra['seed'])}; resume with the same seed, got ${c.seed}`);
    if (Number(s.extra['augmentShift'] ?? 0) !== shift) throw new OptionError('--augment-shift', `${c.resume} was trained with --augment-shift ${Number(s.extra['augmentShift'] ?? 0)}; resume with the same shift, got ${shift}`);
    rng = new Rng(s.rng);
    epoch = s.epoch;
    firstBatch = Number(s.extra['batchInEpoch'] ?? 0);
    step = s.step;
  }
  const save = async (ep: number, batchInEpoch: number, epochRng: Rng, extra: Record<string, unknown> = {}) => {
    if (c.out) await saveCheckpoint(be, c.out, net.arch, net.params, opt, { step, epoch: ep, rng: epochRng.state, extra: { batchInEpoch, seed: c.seed, augmentShift: shift, ...extra } });
  };
  const losses: number[] = [];
  let trainMs = 0, acc = NaN;
  for (; epoch < c.epochs; epoch++) {
    const epochRng = new Rng(rng.state); // the state that draws this epoch's permutation (what a checkpoint stores)
    const perm = rng.permutation(count(train));
    const t0 = performance.now();
    let sum = 0, n = 0;
    for (let b = firstBatch; b < batches; b++) {
      // let a pending Ctrl-C handler run: CPU kernels never leave the microtask queue on their own
      if (c.signal) await new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
      if (c.signal?.aborted || (c.maxSteps !== undefined && step >= c.maxSteps)) {
        await save(epoch, b, epochRng);
        const stoppedBy = c.signal?.aborted ? 'signal' : 'maxSteps';
        if (stoppedBy === 'maxSteps' && Number.isNaN(acc)) acc = await accuracy(be, net, heldOut);
        return { steps: step, epochsDone: epoch, losses, heldOutAccuracy: acc, stoppedBy, stepsPerSecond: losses.length / Math.max(1e-9, trainMs / 1000) };
      }
      const s0 = performance.now();
      const batch = batchOf(train, perm, b, c.batch), y = batch.y;
      const x = shift > 0 ? randomShift(batch.x, train.shape, shift, augmentRng(c.seed, step)) : batch.x;
      const t = new Tape(be);
      const logits = net.forward(t, t.tensor(x, [y.length, ...train.shape]), true);
      const loss = F.crossEntropy(t, logits, t.tensor(y, [y.length]));
      const value = (await be.read(loss))[0]!;
      if (!Number.isFinite(value)) {
        t.release();
        throw new TrainingDivergedError(step + 1, `training stopped: the loss is ${value} at step ${step + 1} (epoch ${epoch + 1}, batch ${b + 1}); ` +
          (c.out ? `the last good checkpoint in ${c.out} is kept; ` : '') + 'try a lower --lr or --clip');
      }
      t.backward(loss);
      if (c.clip !== undefined) await clipGradNorm(be, net.params, c.clip);
      step++;
      const lr = scheduledLr(c.lr, schedule, step);
      opt.update(lr);
      opt.zeroGrad();
      t.release();
      await be.finish();
      trainMs += performance.now() - s0;
      losses.push(value);
      sum += value; n++;
      c.onStep?.({ step, totalSteps, epoch: epoch + 1, batchInEpoch: b + 1, batchesPerEpoch: batches, loss: value, lr });
    }
    firstBatch = 0;
    acc = await accuracy(be, net, heldOut);
    await save(epoch + 1, 0, rng, { heldOutAccuracy: acc });
    c.onEpoch?.({ epoch: epoch + 1, meanLoss: sum / Math.max(1, n), heldOutAccuracy: acc, seconds: (performance.now() - t0) / 1000 });
  }
  if (Number.isNaN(acc)) acc = await accuracy(be, net, heldOut);
  return { steps: step, epochsDone: epoch, losses, heldOutAccuracy: acc, stoppedBy: 'done', stepsPerSecond: losses.length / Math.max(1e-9, trainMs / 1000) };
}
