// `lithe attention bench | search` end to end at a small shape, and their bad input (one line, exit 2, no file).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { syntheticAttention } from '../src/attention/synthetic.js';
import { writeTrace } from '../src/attention/trace.js';
import { lastJson, runLithe } from './helpers.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('lithe-attn-cli-');
const lithe = (...args: string[]) => runLithe(args);
const SMALL = ['--shape', '5,16,16', '--heads', '3', '--dim', '32', '--threads', '2'];

describe('lithe attention', () => {
  test('search writes a configuration that bench reads; bench --json reports every method against dense', () => {
    const config = path.join(tmp, 'compact.json');
    const s = lithe('attention', 'search', ...SMALL, '--recall', '0.9', '--out', config, '--json');
    assert.equal(s.code, 0, s.stderr);
    const sj = lastJson(s.stdout) as { config: { heads: unknown[]; calibration: { recall: number }[] } };
    assert.equal(sj.config.heads.length, 3);
    assert.ok(sj.config.calibration.every((c) => c.recall >= 0.9));
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), sj.config);

    const b = lithe('attention', 'bench', ...SMALL, '--sparsity', '0.6', '--repeat', '1', '--compact-config', config, '--json');
    assert.equal(b.code, 0, b.stderr);
    const j = lastJson(b.stdout) as { results: { method: string; cosine: number; density: number; speedup: number }[]; confusion: { counts: number[][] } };
    assert.deepEqual(j.results.map((r) => r.method), ['dense', 'rainfusion', 'rainfusion2', 'compact']);
    for (const r of j.results.slice(1)) assert.ok(r.density < 1 && r.cosine > 0.8 && r.speedup > 0, JSON.stringify(r));
    assert.equal(j.confusion.counts.flat().reduce((a, c) => a + c, 0), 3, 'every head in the confusion matrix');
  });

  test('bench on a trace file; --steps with warm-up and mask reuse', () => {
    const trace = path.join(tmp, 'trace.safetensors');
    writeTrace(trace, syntheticAttention({ grid: { T: 5, H: 16, W: 16, text: 7 }, heads: 2, headDim: 32, seed: 9 }));
    const b = lithe('attention', 'bench', '--trace', trace, '--method', 'dense,rainfusion2', '--repeat', '1', '--threads', '2', '--json');
    assert.equal(b.code, 0, b.stderr);
    const j = lastJson(b.stdout) as { grid: { text: number }; results: { method: string }[] };
    assert.equal(j.grid.text, 7);
    assert.equal(j.results.length, 2);
    const st = lithe('attention', 'bench', ...SMALL, '--method', 'rainfusion2', '--steps', '4', '--warmup', '1', '--mask-refresh', '2', '--json');
    assert.equal(st.code, 0, st.stderr);
    const sj = lastJson(st.stdout) as { rows: { mode: string }[] };
    assert.deepEqual(sj.rows.map((r) => r.mode), ['dense', 'predicted', 'reused', 'predicted']);
  });

  test('bad input: one line naming the flag or file, exit 2, nothing written', () => {
    const out = path.join(tmp, 'never.json');
    const cases: [string[], RegExp][] = [
      [['bench', '--shape', '5,16'], /--shape: expected T,H,W/],
      [['bench', '--method', 'dense,fast'], /--method: expected dense, rainfusion/],
      [['bench', ...SMALL, '--steps', '3', '--warmup', '3'], /--warmup/],
      [['bench', '--trace', path.join(tmp, 'missing.safetensors')], /missing\.safetensors: no such file/],
      [['search', ...SMALL, '--tile', '1,8,4', '--out', out], /--tile: tile 1x8x4 holds 32 tokens/],
      [['search', '--shape', '5,12,16', '--heads', '2', '--dim', '32', '--out', out], /--shape: compact attention: grid 5x12x16/],
      [['search', ...SMALL], /--out: give the configuration file/],
    ];
    const badConfig = path.join(tmp, 'bad.json');
    writeFileSync(badConfig, '{"format": "lithe-compact-attention-v1", "grid": {"T": 5}}');
    cases.push([['bench', ...SMALL, '--method', 'compact', '--compact-config', badConfig], /bad\.json: field "grid\.H": expected an integer/]);
    for (const [args, re] of cases) {
      const r = lithe('attention', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('lithe:')).length, 1);
    }
    assert.ok(!existsSync(out));
  });
});
