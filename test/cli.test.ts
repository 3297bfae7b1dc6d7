// The lithe command line as a user runs it: results, --json, and exit code 2 with a one-line message on bad input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lastJson, repoRoot, runLithe } from './helpers.js';
import { tempDir } from './temp-dir.js';

const MODEL = path.join(repoRoot, 'assets/stories260K/stories260K.bin');
const TEXT = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
const tmp = tempDir('lithe-cli-');

const lithe = (...args: string[]) => runLithe(args);


describe('lithe CLI', () => {
  test('--version prints the version in package.json', () => {
    const r = lithe('--version');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version);
  });

  test('info --json', () => {
    const r = lithe('info', MODEL, '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson(r.stdout);
    assert.equal(j['parameters'], 260032);
    assert.equal(j['format'], 'llama2c');
  });

  test('generate --greedy --json streams the story and reports speed', () => {
    const r = lithe('generate', MODEL, '--greedy', '--max-tokens', '30', '--json', '--threads', '1');
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson(r.stdout);
    assert.match(String(j['text']), /^Once upon a time, there was a little girl named Lily/);
    assert.equal(j['generated_tokens'], 30);
    assert.ok((j['tokens_per_s'] as number) > 0);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'under --json, stdout holds only the JSON line');
  });

  test('eval ppl, both protocols', () => {
    const w = lithe('eval', 'ppl', MODEL, '--data', TEXT, '--seqlen', '256', '--max-windows', '4', '--json');
    assert.equal(w.code, 0, w.stderr);
    const jw = lastJson(w.stdout);
    assert.equal(jw['windows'], 4);
    assert.ok((jw['ppl'] as number) > 1 && (jw['ppl'] as number) < 10);
    const d = lithe('eval', 'ppl', MODEL, '--data', TEXT, '--protocol', 'documents', '--json');
    assert.equal(d.code, 0, d.stderr);
    assert.ok(Math.abs((lastJson(d.stdout)['mean_nll'] as number) - 1.4388) < 0.001);
  });

  test('bad input: exit code 2, one line naming the file or flag, nothing on stdout', () => {
    const bad = path.join(tmp, 'broken.bin');
    writeFileSync(bad, Buffer.alloc(100, 7));
    const short = path.join(tmp, 'short.txt');
    writeFileSync(short, 'Hi.');
    const cases: [string[], RegExp][] = [
      [['info', path.join(tmp, 'missing.bin')], /missing\.bin: no such file/],
      [['info', bad], /broken\.bin: .*not plausible/],
      [['eval', 'ppl', MODEL, '--data', TEXT, '--seqlen', 'abc'], /--seqlen: expected an integer/],
      [['eval', 'ppl', MODEL, '--data', short, '--seqlen', '64'], /fewer than one window/],
      [['eval', 'ppl', MODEL, '--data', TEXT, '--seqlen', '4096'], /exceeds the model's context length/],
      [['eval', 'ppl', MODEL, '--data', TEXT, '--protocol', 'nope'], /--protocol: expected windows or documents/],
      [['generate', MODEL, '--top-p', '2'], /--top-p: expected a number in \[0, 1\]/],
      [['frobnicate'], /unknown command/],
      [['bench', 'nope'], /unknown benchmark/],
    ];
    for (const [args, pattern] of cases) {
      const r = lithe(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      assert.equal(r.stdout, '', `${args.join(' ')}: stdout should be empty`);
    }
  });

  test('Ctrl-C cancels long work: exit code 130, no output written', async () => {
    const big = path.join(tmp, 'big.txt');
    writeFileSync(big, Array.from({ length: 6 }, () => require_text()).join('\n\n'));
    const out = path.join(tmp, 'cancelled-out');
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/lithe.js'), 'prune', MODEL, '--method', 'wanda', '--sparsity', '0.5', '--calib', big, '--nsamples', '512', '--seqlen', '512', '--eval', big, '--eval-seqlen', '64', '--threads', '1', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Ctrl-C once the work has started: when the first progress line ("prune: 1/5 blocks, ...", printed after 5 s without a
    // terminal) is on stderr, the command is inside the block loop; 512 windows keep it busy well past 5 s on any machine
    let stderr = '';
    const started = await new Promise<boolean>((resolve) => {
      child.stderr.on('data', (d) => { stderr += d; if (/^prune: \d+\/\d+ blocks/m.test(stderr)) resolve(true); });
      child.on('close', () => resolve(false));
    });
    assert.ok(started, `exited before any progress line: ${stderr}`);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /cancelled/);
    assert.ok(!existsSync(out));
  });
});

function require_text(): string {
  return readFileSync(TEXT, 'utf8');
}
