// The browser page (`lithe serve`) in headless Chromium driven by playwright-core: load the embedded model from
// files, generate greedily and score text on the CPU/WebAssembly backend (and on WebGPU when the browser offers an
// adapter, e.g. SwiftShader), and compare with the same runs in Node. Skipped, saying why, without Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { readText, splitBlocks } from '../src/data/text.js';
import { documentLoss } from '../src/eval/perplexity.js';
import { loadModel } from '../src/load/load-model.js';
import { generate } from '../src/models/generate.js';
import { repoRoot, rng, runLithe } from './helpers.js';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tinyWeights, writeTinyModel, type TinySpec } from './tiny-models.js';
import { tempDir } from './temp-dir.js';

const CHROMIUM = process.env['LITHE_CHROMIUM'] ?? '/usr/bin/chromium';
const MODEL = [path.join(repoRoot, 'assets/stories260K/stories260K.bin'), path.join(repoRoot, 'assets/stories260K/tok512.bin')];
const DOCS = splitBlocks(readText(path.join(repoRoot, 'assets/text/tinystories-val-200.txt'))).slice(0, 5);

type Page = import('playwright-core').Page;
type Browser = import('playwright-core').Browser;
let skip: string | false = false;
let server: ChildProcess | undefined;
let browser: Browser | undefined;
let page: Page;

before(async () => {
  if (!existsSync(CHROMIUM)) { skip = `no Chromium at ${CHROMIUM} (Debian package chromium)`; console.log(`# skipped: ${skip}`); return; }
  const { chromium } = await import('playwright-core');
  server = spawn(process.execPath, [path.join(repoRoot, 'bin/lithe.js'), 'serve', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    server!.stdout!.on('data', (d) => { const m = /"url":"([^"]+)"/.exec(String(d)); if (m) resolve(m[1]!); });
    server!.once('exit', (c) => reject(new Error(`lithe serve exited with ${c}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'] });
  page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => /^(ready|error)/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 30000 });
  assert.match(await page.textContent('#status') ?? '', /^ready \(cross-origin isolated: true/);
});
after(async () => { await browser?.close(); server?.kill(); });

async function run(button: string, done: RegExp, timeout = 120000): Promise<Record<string, unknown>> {
  await page.click(button);
  await page.waitForFunction((re) => new RegExp(re).test(document.getElementById('status')!.textContent ?? '') || /^error/.test(document.getElementById('status')!.textContent ?? ''), done.source, { timeout });
  const result = JSON.parse(await page.textContent('#result') ?? '{}') as Record<string, unknown>;
  assert.equal(result['error'], undefined, String(result['error']));
  return result;
}

async function loadOn(backend: string): Promise<void> {
  await page.setInputFiles('#files', MODEL);
  await page.selectOption('#backend', backend);
  await run('#load', /^loaded/);
}

/** The same runs in Node: 40 greedy tokens from BOS and the loss of DOCS. */
let node: Promise<{ ids: number[]; meanNll: number; predicted: number }> | undefined;
function nodeReference(): Promise<{ ids: number[]; meanNll: number; predicted: number }> {
  node ??= (async () => {
    const be = await CpuBackend.create({ threads: 1 });
    const model = await loadModel(be, MODEL[0]!, { tokenizer: MODEL[1] });
    const { ids } = await generate(model, [1], { maxTokens: 40, temperature: 0 });
    const { meanNll, predicted } = await documentLoss(model, DOCS, { maxTokens: 512 });
    await be.dispose();
    return { ids, meanNll, predicted };
  })();
  return node;
}

test('the page generates and scores text on the CPU/WebAssembly backend exactly as Node does', async (t) => {
  if (skip) return t.skip(skip);
  const want = await nodeReference();
  await loadOn('cpu');
  await page.fill('#prompt', '');
  await page.fill('#max-tokens', '40');
  const g = await run('#generate', /^generated/);
  assert.deepEqual(g['ids'], want.ids);
  assert.ok((g['tokensPerSecond'] as number) > 0);
  await page.fill('#text', DOCS.join('\n\n'));
  const p = await run('#ppl', /^perplexity/);
  assert.ok(Math.abs((p['meanNll'] as number) - want.meanNll) < 1e-6, `browser ${p['meanNll']} vs node ${want.meanNll}`);
  assert.equal(p['predicted'], want.predicted);
});

test('the page runs the model on WebGPU when the browser has an adapter', async (t) => {
  if (skip) return t.skip(skip);
  const adapter = await page.evaluate(async () => !!(navigator as Navigator & { gpu?: GPU }).gpu && !!(await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter()));
  if (!adapter) return t.skip('this Chromium offers no WebGPU adapter');
  await loadOn('webgpu');
  await page.fill('#max-tokens', '6');
  const g = await run('#generate', /^generated/);
  assert.match(String(g['backend']), /^webgpu/);
  // the first tokens of Node's greedy story (SwiftShader is slow: the CPU test checks all 40)
  assert.deepEqual(g['ids'], (await nodeReference()).ids.slice(0, 6));
});

test('the page runs a sparse checkpoint (lithe prune --storage sparse) as Node does', async (t) => {
  if (skip) return t.skip(skip);
  const spec: TinySpec = { modelType: 'llama', dtype: 'f32', dim: 64, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 512, tied: false, maxPos: 256 };
  const dense = writeTinyModel(spec, tinyWeights(spec, rng()));
  writeFileSync(path.join(dense, 'tokenizer.bin'), readFileSync(MODEL[1]!));
  const dir = path.join(tempDir('lithe-web-sparse-'), 'sparse');
  const r = runLithe(['prune', dense, '--method', 'magnitude', '--sparsity', '0.6', '--storage', 'sparse', '--out', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(JSON.parse(readFileSync(path.join(dir, 'lithe.json'), 'utf8'))['sparse'], 'the pruned checkpoint is stored sparse');
  writeFileSync(path.join(dir, 'tokenizer.bin'), readFileSync(MODEL[1]!));
  const be = await CpuBackend.create({ threads: 1 });
  const model = await loadModel(be, dir);
  const want = await generate(model, [1], { maxTokens: 24, temperature: 0 });
  const wantLoss = await documentLoss(model, DOCS.slice(0, 2), { maxTokens: 256 });
  await be.dispose();
  await page.setInputFiles('#files', readdirSync(dir).map((f) => path.join(dir, f)));
  await page.selectOption('#backend', 'cpu');
  await run('#load', /^loaded/);
  await page.fill('#prompt', '');
  await page.fill('#max-tokens', '24');
  const g = await run('#generate', /^generated/);
  assert.deepEqual(g['ids'], want.ids);
  await page.fill('#text', DOCS.slice(0, 2).join('\n\n'));
  const p = await run('#ppl', /^perplexity/);
  assert.equal(p['meanNll'], wantLoss.meanNll);
});
