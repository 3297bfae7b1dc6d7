// `--backend webgpu` end to end: perplexity of the embedded model equals the cpu backend's; cpu-only commands and
// unknown backends are refused with one line and exit 2. Skipped, with the reason, where no adapter exists.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import { lastJson, repoRoot, runLithe } from './helpers.js';

const MODEL = path.join(repoRoot, 'assets/stories260K/stories260K.bin');
const TEXT = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
let skip: string | false = false;
before(async () => {
  const g = await WebGpuBackend.tryCreate();
  if (typeof g === 'string') { skip = `no WebGPU adapter: ${g}`; console.log(`# skipped: ${skip}`); } else await g.dispose();
});

test('eval ppl --backend webgpu matches --backend cpu', (t) => {
  if (skip) return t.skip(skip);
  const args = ['eval', 'ppl', MODEL, '--data', TEXT, '--seqlen', '128', '--max-windows', '3', '--json'];
  const cpu = runLithe([...args, '--backend', 'cpu']), gpu = runLithe([...args, '--backend', 'webgpu']);
  assert.equal(cpu.code, 0, cpu.stderr);
  assert.equal(gpu.code, 0, gpu.stderr);
  const a = lastJson(cpu.stdout) as { ppl: number }, b = lastJson(gpu.stdout) as { ppl: number };
  assert.ok(Math.abs(a.ppl - b.ppl) / a.ppl < 1e-4, `cpu ${a.ppl} vs webgpu ${b.ppl}`);
});

test('--backend webgpu: one Lithe line names the adapter, and no Vulkan-loader warning from Dawn', (t) => {
  if (skip) return t.skip(skip);
  const r = runLithe(['eval', 'ppl', MODEL, '--data', TEXT, '--seqlen', '64', '--max-windows', '1', '--json', '--backend', 'webgpu']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Couldn't load Vulkan/);
  const adapter = String(lastJson(r.stdout)['backend']).replace(/^webgpu [^:]+: /, '');
  const notes = r.stderr.split('\n').filter((l) => l.startsWith('webgpu: '));
  assert.equal(notes.length, 1, r.stderr);
  assert.ok(notes[0]!.endsWith(` on ${adapter}`), `${notes[0]} does not name ${adapter}`);
  console.log(`# ${notes[0]}`);
});

test('cpu-only commands and unknown backends are refused', () => {
  for (const [args, re] of [
    [['stereo', 'eval', '--backend', 'webgpu'], /--backend: stereo matching runs on the cpu backend only/],
    [['kv', 'eval', MODEL, '--bits', 'K8V4', '--backend', 'webgpu'], /--backend: KV-cache quantization/],
    [['demo', '--backend', 'tpu'], /--backend/],
  ] as [string[], RegExp][]) {
    const r = runLithe(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});
