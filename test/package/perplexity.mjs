// Public API from an installed 'lithe': the bundled stories260K through CpuBackend, loadModel and documentLoss.
// Expected: 1.4388 nats/token over 19,380 tokens on the 200 bundled TinyStories blocks (the reference in README.md).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CpuBackend, documentLoss, loadModel, readText, splitBlocks } from 'lithe';

const asset = (rel) => createRequire(import.meta.url).resolve(`lithe/assets/${rel}`);
const backend = await CpuBackend.create();
try {
  const model = await loadModel(backend, asset('stories260K/stories260K.bin'), { tokenizer: asset('stories260K/tok512.bin') });
  assert.equal(model.parameterCount, 260032);
  const docs = splitBlocks(readText(asset('text/tinystories-val-200.txt')));
  const r = await documentLoss(model, docs, { maxTokens: 512 });
  assert.equal(r.predicted, 19380);
  assert.equal(r.meanNll.toFixed(4), '1.4388');
  console.log(`perplexity.mjs: loss ${r.meanNll.toFixed(4)} over ${r.predicted} tokens`);
} finally {
  await backend.dispose();
}
