// `lithe kv profile | search | eval` and `generate --kv-pair/--kv-config` on the embedded model, and their bad input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { lastJson, repoRoot, runLithe } from './helpers.js';
import { tempDir } from './temp-dir.js';

const MODEL = path.join(repoRoot, 'assets/stories260K/stories260K.bin');
const tmp = tempDir('lithe-kv-cli-');

const lithe = (...args: string[]) => runLithe(args);


describe('lithe kv', () => {
  test('profile --json: every layer has all 9 pairs; Pareto sets and groups reported', () => {
    const out = path.join(tmp, 'profile.json');
    const r = lithe('kv', 'profile', MODEL, '--nsamples', '1', '--seqlen', '64', '--scheme', 'per-token', '--threads', '2', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson(r.stdout);
    const profiles = j['profiles'] as { pairs: { pair: string; attnErr: number; kl: number }[] }[];
    assert.equal(profiles.length, 5);
    for (const p of profiles) {
      assert.equal(p.pairs.length, 9);
      const kv8 = p.pairs.find((x) => x.pair === 'KV8')!, kv2 = p.pairs.find((x) => x.pair === 'KV2')!;
      assert.ok(kv8.attnErr > 0 && kv8.attnErr < kv2.attnErr, `KV8 error ${kv8.attnErr} should be below KV2 ${kv2.attnErr}`);
    }
    assert.equal((j['pareto'] as string[][]).length, 5);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).profiles, profiles);
  });

  test('search writes a preset within the budget that eval and generate read back', () => {
    const out = path.join(tmp, 'preset.yaml');
    const r = lithe('kv', 'search', MODEL, '--budget', '3.5', '--trials', '12', '--population', '6', '--nsamples', '1', '--seqlen', '64',
      '--scheme', 'per-token', '--threads', '2', '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson(r.stdout);
    assert.ok((j['mean_bits'] as number) <= 3.5, `mean bits ${j['mean_bits']}`);
    assert.equal(j['trials'], 12);
    const preset = YAML.parse(readFileSync(out, 'utf8'));
    assert.equal(preset.format, 'lithe-kv-preset');
    assert.equal(Object.keys(preset.layers).length, 5);
    const e = lithe('kv', 'eval', MODEL, '--config', out, '--max-windows', '2', '--seqlen', '128', '--continuations', '1', '--gen-tokens', '16', '--json');
    assert.equal(e.code, 0, e.stderr);
    const je = lastJson(e.stdout);
    assert.equal(je['mean_bits'], j['mean_bits']);
    assert.deepEqual(je['layers'], j['layers']);
    const g = lithe('generate', MODEL, '--greedy', '--max-tokens', '20', '--kv-config', out, '--json');
    assert.equal(g.code, 0, g.stderr);
    assert.equal(lastJson(g.stdout)['generated_tokens'], 20);
    // vanilla search: one variable per layer, no profile
    const v = lithe('kv', 'search', MODEL, '--budget', '4', '--trials', '5', '--population', '5', '--vanilla', '--nsamples', '1', '--seqlen', '64',
      '--scheme', 'per-token', '--out', path.join(tmp, 'vanilla.json'), '--json');
    assert.equal(v.code, 0, v.stderr);
    assert.equal((lastJson(v.stdout)['groups'] as number[][]).length, 5);
  });

  test('eval --bits: KV8 is nearly lossless, KV2 is not; bytes per token shrink with bits', () => {
    const run = (bits: string) => {
      const r = lithe('kv', 'eval', MODEL, '--bits', bits, '--max-windows', '2', '--seqlen', '128', '--continuations', '0', '--scheme', 'per-token', '--json');
      assert.equal(r.code, 0, r.stderr);
      return lastJson(r.stdout);
    };
    const kv8 = run('KV8'), kv2 = run('KV2');
    assert.ok((kv8['top1'] as number) > 0.98 && Math.abs(kv8['ppl_delta_pct'] as number) < 1, JSON.stringify(kv8));
    assert.ok((kv2['kl'] as number) > 10 * (kv8['kl'] as number), `KL KV2 ${kv2['kl']} vs KV8 ${kv8['kl']}`);
    assert.ok((kv2['bytes_per_token'] as number) < (kv8['bytes_per_token'] as number));
  });

  test('bad input: exit code 2, one line naming the file or flag, nothing written', () => {
    const badPreset = path.join(tmp, 'bad.json');
    writeFileSync(badPreset, JSON.stringify({ layers: { 0: { nbits_key: 4, nbits_value: 5 } } }));
    const out = path.join(tmp, 'never.json');
    const cases: [string[], RegExp][] = [
      [['kv', 'eval', MODEL, '--bits', 'K3V4'], /--bits: 3 bits is not one of 2, 4, 8, 16/],
      [['kv', 'eval', MODEL], /--bits/],
      [['kv', 'eval', MODEL, '--config', badPreset], /bad\.json: layers\.0\.nbits_value: 5 bits/],
      [['kv', 'eval', MODEL, '--bits', 'KV4', '--scheme', 'kivi', '--group', '32', '--residual', '40'], /residual 40 must be a positive multiple of group 32/],
      [['kv', 'eval', MODEL, '--bits', 'KV4', '--scheme', 'fp8'], /--scheme/],
      [['kv', 'search', MODEL, '--budget', '1', '--out', out], /--budget/],
      [['kv', 'search', MODEL, '--budget', '2', '--vanilla', '--trials', '3', '--nsamples', '1', '--seqlen', '64', '--objective', 'acc', '--out', out], /--objective/],
      [['generate', MODEL, '--kv-pair', 'KV9'], /--kv-pair: 9 bits is not one of/],
      [['generate', MODEL, '--kv-bits', '4'], /--kv-bits: generate takes --kv-pair/],
    ];
    for (const [args, re] of cases) {
      const r = lithe(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line\n${r.stderr}`);
      assert.equal(r.stdout, '');
    }
    assert.ok(!existsSync(out));
  });
});
