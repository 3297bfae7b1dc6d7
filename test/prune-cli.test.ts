// `lithe prune` as a user runs it: a pruned checkpoint that reloads to the same perplexity, and bad input that
// fails with exit code 2 before anything is written.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, rng, runLithe } from './helpers.js';
import { tinyWeights, writeTinyModel, TinySpec } from './tiny-models.js';
import { tempDir } from './temp-dir.js';

const MODEL = path.join(repoRoot, 'assets/stories260K/stories260K.bin');
const TEXT = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
const tmp = tempDir('lithe-prune-');

const lithe = (...args: string[]) => runLithe(args);

describe('lithe prune', () => {
  test('Hugging Face source: the written checkpoint reloads and reproduces the perplexity exactly', () => {
    const spec: TinySpec = { modelType: 'llama', dtype: 'bf16', dim: 64, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 512, tied: false, maxPos: 256 };
    const dir = writeTinyModel(spec, tinyWeights(spec, rng()));
    writeFileSync(path.join(dir, 'tokenizer.bin'), readFileSync(path.join(repoRoot, 'assets/stories260K/tok512.bin')));
    for (const method of ['sparsegpt', 'dsnot']) {
      const out = path.join(tmp, `tiny-${method}`);
      const p = lithe('prune', dir, '--method', method, '--sparsity', '0.5', '--nsamples', '4', '--seqlen', '64', '--eval', TEXT, '--eval-seqlen', '64', '--max-windows', '6', '--out', out, '--json');
      assert.equal(p.code, 0, p.stderr);
      const j = p.json();
      assert.ok(Math.abs(j.total_sparsity - 0.5) < 0.02);
      const meta = JSON.parse(readFileSync(path.join(out, 'lithe.json'), 'utf8'));
      assert.equal(meta.method, method);
      assert.equal(meta.calibration.tokens_sha256, j.calibration_sha256);
      const e = lithe('eval', 'ppl', out, '--data', TEXT, '--seqlen', '64', '--max-windows', '6', '--json');
      assert.equal(e.code, 0, e.stderr);
      assert.equal(e.json().ppl, j.evaluation[0].ppl, `${method}: reloaded perplexity must be identical`);
    }
  });

  test('llama2.c source: exported as a Hugging Face folder with rotate-half q/k, same perplexity', () => {
    const out = path.join(tmp, 's260-mag');
    const p = lithe('prune', MODEL, '--method', 'magnitude', '--nm', '2:4', '--eval', TEXT, '--eval-seqlen', '256', '--max-windows', '8', '--out', out, '--json');
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.json().total_sparsity, 0.5);
    const e = lithe('eval', 'ppl', out, '--data', TEXT, '--seqlen', '256', '--max-windows', '8', '--json');
    // the rotate-half permutation reorders the q.k sums (float rounding only): equal to ~1e-7, not bit for bit
    assert.ok(Math.abs(e.json().ppl - p.json().evaluation[0].ppl) < 1e-6 * p.json().evaluation[0].ppl, `${e.json().ppl} vs ${p.json().evaluation[0].ppl}`);
  });

  test('--dtype f16: the model is held, rounded and saved as f16 (as the reference code holds it)', () => {
    const out = path.join(tmp, 's260-f16');
    const p = lithe('prune', MODEL, '--method', 'sparsegpt', '--sparsity', '0.5', '--nsamples', '4', '--seqlen', '64', '--dtype', 'f16', '--eval', TEXT, '--eval-seqlen', '256', '--max-windows', '4', '--out', out, '--json');
    assert.equal(p.code, 0, p.stderr);
    const st = readFileSync(path.join(out, 'model.safetensors'));
    const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype?: string }>;
    const types = new Set(Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => v.dtype));
    assert.deepEqual([...types], ['F16']);
    const e = lithe('eval', 'ppl', out, '--data', TEXT, '--seqlen', '256', '--max-windows', '4', '--json');
    assert.ok(Math.abs(e.json().ppl - p.json().evaluation[0].ppl) < 1e-6 * p.json().evaluation[0].ppl, `${e.json().ppl} vs ${p.json().evaluation[0].ppl}`);
  });

  test('bad input: exit 2, one line, nothing written', () => {
    const short = path.join(tmp, 'short.txt');
    writeFileSync(short, 'Tom ran.');
    const out = path.join(tmp, 'never');
    const cases: [string[], RegExp][] = [
      [['--method', 'wanda', '--sparsity', '1.5'], /--sparsity: expected a number in \[0, 1\]|--sparsity: expected a fraction/],
      [['--method', 'wanda', '--sparsity', '0'], /--sparsity: expected a fraction in \(0, 1\)/],
      [['--method', 'wanda', '--nm', '4:2'], /--nm: N:M needs 0 < N < M/],
      [['--method', 'wanda', '--nm', '2:5'], /--nm: M = 5 does not divide the layer width 64/],
      [['--method', 'wanda', '--sparsity', '0.5', '--nm', '2:4'], /exactly one of --sparsity S or --nm N:M/],
      [['--method', 'wanda'], /exactly one of --sparsity S or --nm N:M/],
      [['--method', 'wanda', '--sparsity', '0.5', '--init', 'magnitude'], /--init: applies to --method dsnot only/],
      [['--method', 'dsnot', '--nm', '2:4', '--owl'], /--owl: .* unstructured sparsity only/],
      [['--method', 'bogus', '--sparsity', '0.5'], /--method: expected one of/],
      [['--method', 'wanda', '--sparsity', '0.5', '--calib', short, '--seqlen', '64'], /short\.txt: no document has more than 64 tokens/],
      [['--method', 'wanda', '--sparsity', '0.5', '--seqlen', '4096'], /--seqlen: 4096 exceeds the model's context length 512/],
      [['--method', 'magnitude', '--sparsity', '0.5', '--dtype', 'f8'], /--dtype: expected f32, f16 or bf16, got "f8"/],
    ];
    for (const [args, pattern] of cases) {
      const r = lithe('prune', MODEL, ...args, '--out', out);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      assert.ok(!existsSync(out), `${args.join(' ')}: wrote output`);
    }
    const r = lithe('prune', MODEL, '--method', 'magnitude', '--sparsity', '0.5');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out: required/);
  });
});
