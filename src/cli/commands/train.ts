/**
 * `lithe train`: trains an MLP or LeNet-5 (the conv-net builder, src/nets) on MNIST IDX files (the t10k set) or an image folder
 * (one subfolder per class): a seeded split into training and held-out images, AdamW or SGD, a progress bar with
 * loss, held-out accuracy and ETA, a checkpoint folder after every epoch and on Ctrl-C, --resume from one, and the
 * trained network as a lithe_net safetensors file (OUT/net.safetensors).
 */
import path from 'node:path';
import { createProgress } from '../progress.js';
import { defaultThreads } from '../options.js';
import type { Context } from './common.js';
import { CancelledError, type LabelledImages, OptionError, buildTrainable, count, createBackend, mnistImages, readImageFolder, saveNet, splitSeeded, trainClassifier } from '../../index.js';

export interface TrainFlags {
  arch: string;
  mnist?: string;
  images?: string;
  epochs: number;
  batch: number;
  lr?: number;
  optimizer: string;
  momentum?: number;
  weightDecay?: number;
  schedule: string;
  warmup: number;
  clip?: number;
  augmentShift: number;
  seed: number;
  heldOut: number;
  out?: string;
  resume?: string;
  maxSteps?: number;
  threads?: number;
  backend?: string;
  json?: boolean;
}

function readData(f: TrainFlags): LabelledImages {
  if ((f.mnist === undefined) === (f.images === undefined)) throw new OptionError('--mnist / --images', 'give exactly one data source');
  return f.mnist !== undefined ? mnistImages(f.mnist) : readImageFolder(f.images!);
}

export async function trainCommand(f: TrainFlags, ctx: Context): Promise<void> {
  if (f.optimizer !== 'sgd' && f.optimizer !== 'adamw') throw new OptionError('--optimizer', `expected sgd or adamw, got "${f.optimizer}"`);
  if (!['constant', 'cosine', 'linear'].includes(f.schedule)) throw new OptionError('--schedule', `expected constant, cosine or linear, got "${f.schedule}"`);
  const data = readData(f);
  const heldCount = Math.round(count(data) * f.heldOut);
  if (heldCount < 1 || heldCount >= count(data)) throw new OptionError('--held-out', `${f.heldOut} of ${count(data)} images leaves no training or held-out images`);
  const { train, heldOut } = splitSeeded(data, count(data) - heldCount, f.seed);
  const be = await createBackend(f.backend, f.threads ?? defaultThreads());
  try {
    const net = buildTrainable(be, f.arch, data.shape, data.classes, f.seed);
    const lr = f.lr ?? (f.optimizer === 'adamw' ? 1e-3 : 0.05);
    ctx.out.line(`${net.arch}: ${net.params.filter((p) => p.kind === 'parameter').reduce((s, p) => s + p.value.size, 0)} parameters; ${count(train)} training / ${count(heldOut)} held-out images of ${data.source}; ${be.description}`);
    const batches = Math.ceil(count(train) / f.batch);
    const bar = createProgress('train', f.epochs * batches, 'steps', f.json);
    let lastLoss = NaN, lastAcc = NaN, t0 = performance.now(), done = 0;
    const res = await trainClassifier(be, net, train, heldOut, {
      epochs: f.epochs, batch: f.batch, lr, optimizer: f.optimizer, momentum: f.momentum, weightDecay: f.weightDecay, schedule: f.schedule as 'constant',
      warmupSteps: f.warmup, clip: f.clip, augmentShift: f.augmentShift, seed: f.seed, out: f.out, resume: f.resume, signal: ctx.signal, maxSteps: f.maxSteps,
      onStep: (s) => {
        lastLoss = s.loss;
        done++;
        const rate = done / ((performance.now() - t0) / 1000);
        bar.update(s.step, { value: rate, unit: 'steps/s' }, `epoch ${s.epoch} loss ${s.loss.toFixed(4)}${Number.isNaN(lastAcc) ? '' : ` held-out ${(100 * lastAcc).toFixed(2)}%`}`);
      },
      onEpoch: (e) => {
        lastAcc = e.heldOutAccuracy;
        if (f.json || !process.stderr.isTTY) process.stderr.write(`epoch ${e.epoch}: mean loss ${e.meanLoss.toFixed(4)}, held-out accuracy ${(100 * e.heldOutAccuracy).toFixed(2)}% (${e.seconds.toFixed(1)} s)\n`);
        t0 = performance.now(); done = 0;
      },
    });
    bar.stop();
    if (res.stoppedBy === 'signal') {
      ctx.out.line(`stopped at step ${res.steps}${f.out ? `; checkpoint saved in ${f.out} (continue with --resume ${f.out})` : ''}`);
      throw new CancelledError();
    }
    let netFile: string | undefined;
    if (f.out) {
      netFile = path.join(f.out, 'net.safetensors');
      saveNet(netFile, net.net.spec, await net.net.weights());
    }
    ctx.out.line(`held-out accuracy ${(100 * res.heldOutAccuracy).toFixed(2)}% after ${res.steps} steps (${res.stepsPerSecond.toFixed(1)} steps/s); last loss ${lastLoss.toFixed(4)}` +
      (f.out ? `; checkpoint ${f.out}, network ${netFile}` : ''));
    ctx.out.result({ arch: net.arch, steps: res.steps, epochs: res.epochsDone, heldOutAccuracy: res.heldOutAccuracy, lastLoss, stepsPerSecond: res.stepsPerSecond,
      stoppedBy: res.stoppedBy, checkpoint: f.out ?? null, net: netFile ?? null, backend: be.description });
  } finally {
    await be.dispose();
  }
}
