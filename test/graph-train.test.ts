// Training a graph network of the conv-net builder (nets/spec.ts graph layer) with the tape (train/spec-net.ts):
// its tape forward equals Net.forward, every parameter gets a gradient, and a few epochs on four Gaussian blobs cut the loss by a stated factor, so
// the graph trains end to end (the merges' and upsample2d's gradients themselves: test/gradients.test.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { F, Tape } from '../src/autograd/index.js';
import { Net, initWeights, type NetSpec } from '../src/nets/index.js';
import { splitSeeded, trainClassifier } from '../src/train/index.js';
import { TrainableSpecNet } from '../src/train/spec-net.js';
import { relErr } from './helpers.js';
import { blobs } from './blobs.js';

let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => { await be.dispose(); });

const spec: NetSpec = {
  input: [1, 4, 4],
  net: { type: 'sequential', layers: [
    { type: 'graph', name: 'g', output: 'sum', nodes: [
      { name: 'stem', inputs: ['input'], layer: { type: 'sequential', layers: [{ type: 'conv2d', inChannels: 1, outChannels: 3, kernel: [3, 3], padding: [1, 1, 1, 1] }, { type: 'relu' }] } },
      { name: 'up', inputs: ['stem'], layer: { type: 'sequential', layers: [{ type: 'maxpool2d', kernel: [2, 2] }, { type: 'upsample2d', scale: [2, 2], mode: 'bilinear' }] } },
      { name: 'squash', inputs: ['up'], layer: { type: 'sigmoid' } },
      { name: 'gate', inputs: ['stem', 'squash'], layer: { type: 'mul' } },
      { name: 'cat', inputs: ['stem', 'gate', 'input'], layer: { type: 'concat' } },
      { name: 'mix', inputs: ['cat'], layer: { type: 'conv2d', inChannels: 7, outChannels: 3, kernel: [1, 1] } },
      { name: 'sum', inputs: ['mix', 'stem'], layer: { type: 'add' } },
    ] },
    { type: 'flatten' }, { type: 'linear', inFeatures: 48, outFeatures: 4 },
  ] },
};

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('training a graph network', () => {
  test('the tape forward equals Net.forward; 4 epochs cut the loss of the last 10 steps below 1/4 of the first 10', async () => {
    const net = new TrainableSpecNet(Net.create(be, spec, initWeights(spec, 3)), 'graph-test');
    const data = blobs(640, 4), x = be.alloc([5, 1, 4, 4]);
    be.write(x, data.images.subarray(0, 5 * 16));
    const plain = net.net.forward(x), want = await be.read(plain);
    const t = new Tape(be, { record: false }), got = await be.read(net.forward(t, x, false));
    t.release(); be.free(plain); be.free(x);
    assert.ok(relErr(got, want) < 1e-6, `tape vs Net.forward: ${relErr(got, want)}`);

    // one backward: every parameter (behind the concat, the mul, the add and the upsampling) gets a gradient
    const rec = new Tape(be), xb = rec.tensor(data.images.slice(0, 8 * 16), [8, 1, 4, 4]), labels = rec.tensor(data.labels.slice(0, 8), [8]);
    rec.backward(F.crossEntropy(rec, net.forward(rec, xb, true), labels));
    for (const p of net.params) {
      const g = await be.read(p.grad!);
      assert.ok(g.some((v) => v !== 0), `${p.name} has no gradient`);
      p.dropGrad(be);
    }
    rec.release();

    const { train, heldOut } = splitSeeded(data, 512, 5);
    const res = await trainClassifier(be, net, train, heldOut, { epochs: 4, batch: 32, lr: 3e-3, optimizer: 'adamw', seed: 6 });
    const first = mean(res.losses.slice(0, 10)), last = mean(res.losses.slice(-10));
    assert.ok(last < first / 4, `loss ${first} -> ${last}`);
    assert.ok(res.heldOutAccuracy > 0.9, `held-out accuracy ${res.heldOutAccuracy}`);
    net.net.dispose();
  });
});
