// The README's library example, run from an installed 'lithe' (test/package.test.ts): prune with Wanda, quantize
// with RTN, save, reload. Checked: the sparsity, the grid, and a reloaded checkpoint scoring exactly as the model in memory.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
// --- README example: begin
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { calibrationFor, CpuBackend, documentLoss, loadModel, pruneModel, quantizeModelWeights, readText, saveModel, splitBlocks } from 'lithe';

const asset = (rel) => createRequire(import.meta.url).resolve(`lithe/assets/${rel}`);
const backend = await CpuBackend.create({ threads: 2 });
const model = await loadModel(backend, asset('stories260K/stories260K.bin'));
// Wanda at 50% from 16 windows of 128 tokens of the bundled C4 sample (the reference sampler, seed 0)
const calib = calibrationFor(model, { nsamples: 16, seqlen: 128 });
const pruned = await pruneModel(model, calib, { method: 'wanda', target: { sparsity: 0.5 }, storage: 'f32' });
// then 8-bit round-to-nearest per output channel on the pruned weights
const quantized = await quantizeModelWeights(model, { method: 'rtn', bits: 8, group: -1, sym: false });
const out = path.join(mkdtempSync(path.join(tmpdir(), 'lithe-example-')), 'stories260K-wanda50-w8');
await saveModel(model, out, { lithe: { pruned: pruned.maskSha256, quantized: quantized.weightsSha256 } });
const docs = splitBlocks(readText(asset('text/tinystories-val-200.txt'))).slice(0, 50);
const before = await documentLoss(model, docs, { maxTokens: 512 });
const reloaded = await loadModel(backend, out);
const after = await documentLoss(reloaded, docs, { maxTokens: 512 });
console.log(`sparsity ${pruned.totalSparsity.toFixed(3)}, ${quantized.maxLevelsPerGroup} levels, loss ${before.meanNll.toFixed(4)} -> reloaded ${after.meanNll.toFixed(4)}`);
// --- README example: end
assert.ok(Math.abs(pruned.totalSparsity - 0.5) < 0.01, `sparsity ${pruned.totalSparsity}`);
assert.ok(quantized.maxLevelsPerGroup <= 256);
// a llama2.c source is saved with its q/k rows in Hugging Face's rotate-half order: the same attention scores,
// summed in another order (float32), so equal to ~1e-7 relative rather than bit for bit
assert.ok(Math.abs(after.meanNll - before.meanNll) / before.meanNll < 1e-6, `reloaded ${after.meanNll} vs ${before.meanNll}`);
await backend.dispose();
rmSync(path.dirname(out), { recursive: true, force: true });
