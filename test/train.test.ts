// The training engine end to end on tiny problems: a small network's loss falls; a run stopped and resumed from
// its checkpoint continues with bit-identical losses; optimizers match hand-computed PyTorch updates; masks,
// freezing, accumulation, noGrad; a NaN loss stops naming its step and keeps the checkpoint; a checkpoint of another
// architecture is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { F, Param, Tape, maskGradient } from '../src/autograd/index.js';
import { FILL } from '../src/kernels/index.js';
import { AdamW, SGD, Rng, randomShift, trainClassifier, scheduledLr, clipGradNorm, splitSeeded, TrainingDivergedError, type TrainableNet } from '../src/train/index.js';
import { FormatError } from '../src/util/errors.js';
import type { Backend } from '../src/backend/backend.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { blobs } from './blobs.js';

let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => { await be.dispose(); });

function param(be: Backend, name: string, shape: number[], data: Float32Array): Param {
  const t = be.alloc(shape);
  be.write(t, data);
  return new Param(name, t);
}

/** 16 -> 24 -> 4 with GELU, He-style init from a seed */
class TinyMlp implements TrainableNet {
  readonly params: Param[];
  nanAtCall = -1;
  calls = 0;
  constructor(be: Backend, seed: number, readonly arch = 'tiny-mlp') {
    const r = new Rng(seed), init = (n: number, fanIn: number) => Float32Array.from({ length: n }, () => r.normal() * Math.sqrt(2 / fanIn));
    this.params = [param(be, 'fc1.weight', [24, 16], init(24 * 16, 16)), param(be, 'fc1.bias', [24], new Float32Array(24)),
      param(be, 'fc2.weight', [4, 24], init(4 * 24, 24)), param(be, 'fc2.bias', [4], new Float32Array(4))];
  }
  forward(t: Tape, x: Tensor, train: boolean): Tensor {
    const [w1, b1, w2, b2] = this.params.map((p) => p.value);
    const h = F.gelu(t, F.linear(t, x.view([x.shape[0]!, 16]), w1!, b1!));
    const out = F.linear(t, h, w2!, b2!);
    if (train && ++this.calls === this.nanAtCall) t.run(FILL, { x: out, value: NaN });
    return out;
  }
}


const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'lithe-train-'));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('training loop', () => {
  test('a tiny MLP trained for a few epochs: the mean loss of the last 10 steps is < 1/5 of the first 10 steps', async () => {
    const net = new TinyMlp(be, 1), { train: data, heldOut: held } = splitSeeded(blobs(840, 2), 640, 3);
    const res = await trainClassifier(be, net, data, held, { epochs: 4, batch: 32, lr: 3e-3, optimizer: 'adamw', seed: 5 });
    assert.equal(res.losses.length, 80);
    const first = mean(res.losses.slice(0, 10)), last = mean(res.losses.slice(-10));
    assert.ok(last < first / 5, `loss ${first} -> ${last}`);
    assert.ok(res.heldOutAccuracy > 0.9, `held-out accuracy ${res.heldOutAccuracy}`);
  });

  for (const optimizer of ['adamw', 'sgd'] as const) {
    test(`${optimizer}: stop after 7 steps, resume from the checkpoint: the next losses equal an uninterrupted run's bit for bit`, async () => {
      const data = blobs(100, 4), held = blobs(20, 5), dir = tmp();
      const cfg = { epochs: 3, batch: 16, lr: 1e-2, optimizer, seed: 9, schedule: 'cosine' as const, warmupSteps: 3, clip: 1.0, augmentShift: 1 };
      const full = await trainClassifier(be, new TinyMlp(be, 1), data, held, cfg);
      const unshifted = await trainClassifier(be, new TinyMlp(be, 1), data, held, { ...cfg, augmentShift: 0 });
      assert.notEqual(full.losses[0], unshifted.losses[0], 'the shifts change the first batch');
      const part = await trainClassifier(be, new TinyMlp(be, 1), data, held, { ...cfg, out: path.join(dir, 'ck'), maxSteps: 7 });
      assert.equal(part.stoppedBy, 'maxSteps');
      assert.deepEqual(part.losses, full.losses.slice(0, 7));
      // a fresh network with another initialisation: everything must come from the checkpoint
      const rest = await trainClassifier(be, new TinyMlp(be, 77), data, held, { ...cfg, resume: path.join(dir, 'ck') });
      assert.equal(rest.losses.length, full.losses.length - 7);
      assert.deepEqual(rest.losses, full.losses.slice(7));
      // another seed or shift would draw other shifts (and, in the CLI, another split): refused
      await assert.rejects(trainClassifier(be, new TinyMlp(be, 1), data, held, { ...cfg, seed: 10, resume: path.join(dir, 'ck') }),
        /--seed: .*ck was trained with --seed 9; resume with the same seed, got 10/);
      await assert.rejects(trainClassifier(be, new TinyMlp(be, 1), data, held, { ...cfg, augmentShift: 2, resume: path.join(dir, 'ck') }),
        /--augment-shift: .*ck was trained with --augment-shift 1; resume with the same shift, got 2/);
      rmSync(dir, { recursive: true });
    });
  }

  test('random shift: each image moves by its drawn (dy, dx) with a zero border (hand-computed), and a bad shift is refused', async () => {
    // two images of 2 x 3 x 4 holding 1..24 and 25..48; draws int(3) - 1: image 1 (dy, dx) = (+1, -1), image 2 (0, +1)
    const x = Float32Array.from({ length: 48 }, (_, i) => i + 1), draws = [2, 0, 1, 2];
    const fake = { int: (n: number) => { assert.equal(n, 3); return draws.shift()!; } } as unknown as Rng;
    const out = Array.from(randomShift(x, [2, 3, 4], 1, fake));
    assert.deepEqual(out.slice(0, 24), [0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0, 0, 0, 0, 0, 14, 15, 16, 0, 18, 19, 20, 0]);
    assert.deepEqual(out.slice(24), [0, 25, 26, 27, 0, 29, 30, 31, 0, 33, 34, 35, 0, 37, 38, 39, 0, 41, 42, 43, 0, 45, 46, 47]);
    await assert.rejects(trainClassifier(be, new TinyMlp(be, 1), blobs(32, 1), blobs(8, 2), { epochs: 1, batch: 16, lr: 1e-2, optimizer: 'sgd', seed: 1, augmentShift: 4 }),
      /--augment-shift: expected an integer in \[0, 4\) for 4x4 images, got 4/);
  });

  test('cancellation (Ctrl-C) mid-epoch saves a checkpoint at that step, from which the run resumes', async () => {
    const data = blobs(64, 6), held = blobs(16, 7), dir = tmp(), out = path.join(dir, 'ck'), abort = new AbortController();
    const cfg = { epochs: 2, batch: 16, lr: 1e-2, optimizer: 'sgd' as const, seed: 1 };
    const res = await trainClassifier(be, new TinyMlp(be, 1), data, held, { ...cfg, out, signal: abort.signal, onStep: (s) => { if (s.step === 3) abort.abort(); } });
    assert.equal(res.stoppedBy, 'signal');
    const saved = JSON.parse(readFileSync(path.join(out, 'trainer.json'), 'utf8'));
    assert.deepEqual([saved.step, saved.epoch, saved.extra.batchInEpoch], [3, 0, 3]);
    const rest = await trainClassifier(be, new TinyMlp(be, 2), data, held, { ...cfg, resume: out });
    assert.equal(rest.losses.length, 5);
    rmSync(dir, { recursive: true });
  });

  test('a NaN loss stops with the step named, and the last good checkpoint stays', async () => {
    const data = blobs(64, 6), held = blobs(16, 7), dir = tmp(), out = path.join(dir, 'ck');
    const net = new TinyMlp(be, 1);
    net.nanAtCall = 6; // 4 batches per epoch: epoch 1 completes and is saved, step 6 is in epoch 2
    await assert.rejects(trainClassifier(be, net, data, held, { epochs: 3, batch: 16, lr: 1e-2, optimizer: 'sgd', seed: 1, out }),
      (e: unknown) => e instanceof TrainingDivergedError && e.step === 6 && /the loss is NaN at step 6 \(epoch 2, batch 2\)/.test(e.message) && e.exitCode === 2);
    const saved = JSON.parse(readFileSync(path.join(out, 'trainer.json'), 'utf8'));
    assert.equal(saved.step, 4);
    assert.equal(saved.epoch, 1);
    rmSync(dir, { recursive: true });
  });

  test('a checkpoint of another architecture is refused with a FormatError naming it', async () => {
    const data = blobs(32, 8), dir = tmp(), out = path.join(dir, 'ck');
    await trainClassifier(be, new TinyMlp(be, 1), data, data, { epochs: 1, batch: 16, lr: 1e-2, optimizer: 'adamw', seed: 1, out });
    await assert.rejects(trainClassifier(be, new TinyMlp(be, 1, 'other-net'), data, data, { epochs: 2, batch: 16, lr: 1e-2, optimizer: 'adamw', seed: 1, resume: out }),
      (e: unknown) => e instanceof FormatError && /architecture "tiny-mlp", not "other-net"/.test(e.message));
    rmSync(dir, { recursive: true });
  });
});

describe('optimizers (hand-computed PyTorch updates)', () => {
  test('AdamW first step moves by lr against the gradient sign after decoupled decay; second step by the formula', async () => {
    const p = param(be, 'p', [2], Float32Array.of(1, -2));
    p.grad = be.alloc([2]);
    be.write(p.grad, Float32Array.of(0.5, -4));
    const opt = new AdamW(be, [p], { lr: 0.1, weightDecay: 0.01 });
    opt.update();
    // p (1 - lr wd) - lr m_hat / (sqrt(v_hat) + eps): m_hat = g, v_hat = g^2
    const v1 = await be.read(p.value);
    assert.ok(Math.abs(v1[0]! - (0.999 - 0.1)) < 1e-6 && Math.abs(v1[1]! - (-2 * 0.999 + 0.1)) < 1e-6, `${v1}`);
    opt.update(); // same gradient again: m = 0.19 g, v = 0.001999 g^2, bc1 = 0.19, bc2 = 0.001999 -> m_hat = g, v_hat = g^2
    const v2 = await be.read(p.value);
    assert.ok(Math.abs(v2[0]! - ((0.999 - 0.1) * 0.999 - 0.1)) < 1e-5, `${v2}`);
  });

  test('SGD momentum: the buffer starts as the gradient, then buf = m buf + g; weight decay adds wd p', async () => {
    const p = param(be, 'p', [1], Float32Array.of(1));
    p.grad = be.alloc([1]);
    be.write(p.grad, Float32Array.of(2));
    const opt = new SGD(be, [p], { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
    opt.update(); // d = 2 + 0.5 = 2.5, buf = 2.5, p = 1 - 0.25 = 0.75
    assert.ok(Math.abs((await be.read(p.value))[0]! - 0.75) < 1e-7);
    opt.update(); // d = 2 + 0.375 = 2.375, buf = 2.25 + 2.375 = 4.625, p = 0.75 - 0.4625 = 0.2875
    assert.ok(Math.abs((await be.read(p.value))[0]! - 0.2875) < 1e-6);
  });

  test('schedules: linear warmup then cosine to zero; clipping scales to the global norm', async () => {
    const s = { kind: 'cosine' as const, warmupSteps: 10, totalSteps: 110 };
    assert.equal(scheduledLr(1, s, 5), 0.5);
    assert.equal(scheduledLr(1, s, 10), 1);
    assert.ok(Math.abs(scheduledLr(1, s, 60) - 0.5) < 1e-12);
    assert.ok(Math.abs(scheduledLr(1, s, 110)) < 1e-12);
    const a = param(be, 'a', [2], Float32Array.of(0, 0)), b = param(be, 'b', [1], Float32Array.of(0));
    a.grad = be.alloc([2]); b.grad = be.alloc([1]);
    be.write(a.grad, Float32Array.of(3, 0)); be.write(b.grad, Float32Array.of(4));
    const norm = await clipGradNorm(be, [a, b], 1);
    assert.ok(Math.abs(norm - 5) < 1e-6);
    assert.ok(Math.abs((await be.read(a.grad))[0]! - 0.6) < 1e-6 && Math.abs((await be.read(b.grad))[0]! - 0.8) < 1e-6);
  });
});

describe('autograd scopes and parameters', () => {
  const setup = () => {
    const x = be.alloc([3, 4]);
    be.write(x, Float32Array.from({ length: 12 }, (_, i) => i / 10 - 0.5));
    const w = param(be, 'w', [2, 4], Float32Array.from({ length: 8 }, (_, i) => (i % 3) - 1));
    const y = be.alloc([3, 2]);
    be.write(y, Float32Array.of(1, 0, 0, 1, 1, 1));
    return { x, w, y };
  };

  test('gradients accumulate over backward calls until zeroed; a frozen parameter gets none', async () => {
    const { x, w, y } = setup();
    const once = async () => { const t = new Tape(be); t.backward(F.mse(t, F.linear(t, x, w.value, null), y)); t.release(); };
    await once();
    const g1 = await be.read(w.grad!);
    await once();
    const g2 = await be.read(w.grad!);
    g1.forEach((v, i) => assert.ok(Math.abs(g2[i]! - 2 * v) < 1e-6));
    w.zeroGrad(be);
    assert.deepEqual([...(await be.read(w.grad!))], new Array(8).fill(0));
    w.dropGrad(be);
    w.requiresGrad = false;
    const t = new Tape(be);
    const loss = F.mse(t, F.linear(t, x, w.value, null), y);
    assert.throws(() => t.backward(loss), /nothing it depends on needs a gradient/);
    assert.equal(w.grad, null);
    t.release();
  });

  test('a zeroed gradient is overwritten by the next backward; a weight used by two linears gets both contributions', async () => {
    const { x } = setup();
    const y = be.alloc([3, 4]);
    be.write(y, Float32Array.from({ length: 12 }, (_, i) => (i % 4) / 3));
    const loss = (t: Tape, first: Tensor, second: Tensor) => F.mse(t, F.linear(t, F.linear(t, x, first, null), second, null), y);
    const sq = param(be, 'sq', [4, 4], Float32Array.from({ length: 16 }, (_, i) => ((i * 7) % 5) / 4 - 0.5));
    const twice = async () => { const t = new Tape(be); t.backward(loss(t, sq.value, sq.value)); t.release(); return be.read(sq.grad!); };
    const g1 = await twice();
    sq.zeroGrad(be);
    assert.deepEqual([...(await twice())], [...g1]); // the second backward starts from zero, not from g1
    // expected: two parameters holding the same values, one per linear; the shared one's gradient is their sum
    const a = param(be, 'a', [4, 4], await be.read(sq.value)), b = param(be, 'b', [4, 4], await be.read(sq.value));
    const t = new Tape(be);
    t.backward(loss(t, a.value, b.value));
    t.release();
    const [ga, gb] = [await be.read(a.grad!), await be.read(b.grad!)];
    g1.forEach((v, i) => assert.ok(Math.abs(v - (ga[i]! + gb[i]!)) <= 1e-6 * (1 + Math.abs(v)), `${i}: ${v} vs ${ga[i]! + gb[i]!}`));
    assert.ok(ga.some((v, i) => Math.abs(v - gb[i]!) > 1e-3), 'the two contributions differ (the sum tests both)');
  });

  test('noGrad records nothing; a mask hook zeroes the pruned entries of the gradient', async () => {
    const { x, w, y } = setup();
    const t = new Tape(be);
    const loss = t.noGrad(() => F.mse(t, F.linear(t, x, w.value, null), y));
    assert.throws(() => t.backward(loss), /not computed by ops recorded/);
    const mask = be.alloc([2, 4]);
    be.write(mask, Float32Array.of(1, 0, 1, 0, 0, 1, 1, 0));
    w.hooks.push(maskGradient(mask));
    t.backward(F.mse(t, F.linear(t, x, w.value, null), y));
    const g = await be.read(w.grad!);
    assert.ok([1, 3, 4, 7].every((i) => g[i] === 0), `${g}`);
    assert.ok([0, 2, 5, 6].every((i) => g[i] !== 0));
    t.release();
  });
});
