// The windowed perplexity protocol against a direct computation from full-window logits, and the sampler.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { loadModel } from '../src/load/load-model.js';
import { perplexity } from '../src/eval/perplexity.js';
import { Sampler, argmax } from '../src/models/sampler.js';
import { logsumexpRef } from './reference.js';
import { InputError } from '../src/util/errors.js';
import { rng, seedNote, randn } from './helpers.js';
import { tinyWeights, writeTinyModel, TinySpec } from './tiny-models.js';

let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => { await be.dispose(); });

describe('perplexity protocol', () => {
  test('exp(mean of window means), tail dropped, BOS per window, max windows', async () => {
    const spec: TinySpec = { modelType: 'llama', dtype: 'f32', dim: 32, hidden: 64, layers: 2, heads: 4, kvHeads: 2, vocab: 40, tied: false };
    const r = rng();
    const model = await loadModel(be, writeTinyModel(spec, tinyWeights(spec, r)));
    const stream = Array.from({ length: 57 }, () => 3 + Math.floor(r() * 37));
    const windowMean = async (ids: number[]) => {
      const lg = await be.read(model.forward(ids));
      const lse = logsumexpRef(lg, spec.vocab);
      let s = 0;
      for (let t = 0; t + 1 < ids.length; t++) s += lse[t]! - lg[t * spec.vocab + ids[t + 1]!]!;
      return s / (ids.length - 1);
    };
    const res = await perplexity(model, stream, { seqlen: 16 });
    assert.equal(res.windows, 3);
    const want = [await windowMean(stream.slice(0, 16)), await windowMean(stream.slice(16, 32)), await windowMean(stream.slice(32, 48))];
    assert.ok(Math.abs(res.meanNll - want.reduce((a, b) => a + b) / 3) < 1e-5, seedNote());
    assert.ok(Math.abs(res.ppl - Math.exp(res.meanNll)) < 1e-9);
    const bos = await perplexity(model, stream, { seqlen: 16, bosPerWindow: true, maxWindows: 2 });
    assert.equal(bos.windows, 2);
    assert.ok(Math.abs(bos.windowNll[1]! - await windowMean([1, ...stream.slice(15, 30)])) < 1e-5);
    await assert.rejects(perplexity(model, stream.slice(0, 10), { seqlen: 16 }), (e: unknown) => e instanceof InputError && /fewer than one window/.test((e as Error).message));
    await assert.rejects(perplexity(model, stream, { seqlen: 1000 }), /exceeds the model's context/);
  });
});

describe('sampler', () => {
  test('greedy is argmax; a seed fixes the samples; top-p keeps to the nucleus', () => {
    const r = rng();
    const logits = randn(100, r, 3);
    assert.equal(new Sampler({ temperature: 0, topP: 1, seed: 1 }).sample(logits), argmax(logits));
    const a = new Sampler({ temperature: 1, topP: 0.9, seed: 7 }), b = new Sampler({ temperature: 1, topP: 0.9, seed: 7 });
    const sa = Array.from({ length: 50 }, () => a.sample(logits)), sb = Array.from({ length: 50 }, () => b.sample(logits));
    assert.deepEqual(sa, sb);
    const peaked = new Float32Array(10).fill(-10);
    peaked[3] = 5; peaked[7] = 4.9;
    const s = new Sampler({ temperature: 1, topP: 0.5, seed: 3 });
    for (let i = 0; i < 100; i++) assert.equal(s.sample(peaked), 3, 'top-p 0.5 keeps only the most likely token here');
    const s2 = new Sampler({ temperature: 1, topP: 0.99, seed: 3 });
    const seen = new Set(Array.from({ length: 300 }, () => s2.sample(peaked)));
    assert.deepEqual([...seen].sort(), [3, 7]);
  });
});
