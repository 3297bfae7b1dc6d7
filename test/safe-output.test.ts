// Outputs never clobber, faults lose nothing: every command that writes refuses its inputs and (without --force)
// existing files, fails before the work with exit 2 and one line naming the path when it cannot write (read-only
// folder, full disk, a file where a folder is expected), cleans temporaries and locks of killed runs, keeps a
// second writer out, and never deletes what a user put into an output folder.
// Full disk and (as root, where chmod stops nothing) read-only folders are simulated with the write hook
// LITHE_INJECT_WRITE_ERROR=CODE:STAGE of src/io/safe-write.ts; a real chmod test runs when not root.
import { tempDir } from './temp-dir.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './helpers.js';
import { SafeOutput } from '../src/io/safe-write.js';
import { writeHfCheckpoint } from '../src/export/hf-checkpoint.js';
import { modelFromFiles, readModelFiles } from '../src/load/load-model.js';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';

const MODEL = path.join(repoRoot, 'assets/stories260K/stories260K.bin');
const TEXT = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
const MB = path.join(repoRoot, 'assets/stereo/middlebury');
const tmp = tempDir('lithe-safe-out-');

function lithe(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/lithe.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** A PID that no process has now: the id of a child that has already exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;
/** Names Lithe leaves behind while (or after failing at) writing: temporaries and locks. */
const leftovers = (dir: string) => readdirSync(dir).filter((f) => /\.tmp-|\.lock$/.test(f));

function oneLine(r: { code: number | null; stderr: string }, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const errors = r.stderr.trim().split('\n').filter((l) => l.startsWith('lithe:')); // progress bars may come before
  assert.equal(errors.length, 1, `one error line expected: ${r.stderr}`);
  assert.match(errors[0]!, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** A fresh folder with the tsukuba pair copied in (the inputs of the stereo cases). */
function stereoDir(name: string): { dir: string; left: string; right: string; args: (out: string, ...more: string[]) => string[] } {
  const dir = path.join(tmp, name);
  mkdirSync(dir);
  const left = path.join(dir, 'left.png'), right = path.join(dir, 'right.png');
  writeFileSync(left, readFileSync(`${MB}/tsukuba/im3.png`));
  writeFileSync(right, readFileSync(`${MB}/tsukuba/im4.png`));
  return { dir, left, right, args: (out, ...more) => ['stereo', left, right, '--out', out, '--max-disp', '16', '--paths', '4', '--threads', '1', ...more] };
}

describe('safe output', () => {
  test('stereo --out LEFT is refused (exit 2) and the left image is untouched; also through a symlink', () => {
    const s = stereoDir('input');
    const before = sha(s.left);
    oneLine(lithe(s.args(s.left)), 2, /left\.png: is also an input/);
    spawnSync('ln', ['-s', 'left.png', path.join(s.dir, 'alias.png')]);
    oneLine(lithe(s.args(path.join(s.dir, 'alias.png'))), 2, /alias\.png: is also an input/);
    assert.equal(sha(s.left), before);
    assert.deepEqual(leftovers(s.dir), []);
  });

  test('an existing output is replaced only with --force', () => {
    const s = stereoDir('force');
    const out = path.join(s.dir, 'disp.png');
    writeFileSync(out, 'precious');
    oneLine(lithe(s.args(out)), 2, /disp\.png: already exists; pass --force/);
    assert.equal(readFileSync(out, 'utf8'), 'precious');
    const r = lithe(s.args(out, '--force'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...readFileSync(out).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
    assert.deepEqual(leftovers(s.dir), []);
  });

  test('attention search --out and report --out PREFIX refuse existing files before any work', () => {
    const cfg = path.join(tmp, 'compact.json');
    writeFileSync(cfg, 'mine');
    oneLine(lithe(['attention', 'search', '--shape', '2,8,8', '--heads', '1', '--dim', '16', '--block', '64', '--calib-steps', '1', '--out', cfg]), 2, /compact\.json: already exists; pass --force/);
    assert.equal(readFileSync(cfg, 'utf8'), 'mine');
    const prefix = path.join(tmp, 'rep');
    writeFileSync(`${prefix}.md`, 'my notes');
    oneLine(lithe(['report', 'prune', MODEL, '--methods', 'magnitude', '--sparsities', '0.5', '--nm', '', '--eval', TEXT, '--eval-seqlen', '64', '--max-windows', '1', '--out', prefix]),
      2, /rep\.md: already exists; pass --force/);
    assert.equal(readFileSync(`${prefix}.md`, 'utf8'), 'my notes');
    assert.ok(!existsSync(`${prefix}.json`));
  });

  test('kv search --out MODEL/config.json is refused: the model keeps its config', () => {
    const model = path.join(tmp, 'hf-model');
    const p = lithe(['prune', MODEL, '--method', 'magnitude', '--sparsity', '0.5', '--threads', '1', '--out', model]);
    assert.equal(p.code, 0, p.stderr);
    const config = path.join(model, 'config.json');
    const before = sha(config);
    const search = ['kv', 'search', model, '--budget', '4', '--vanilla', '--trials', '2', '--population', '2', '--nsamples', '1', '--seqlen', '32', '--threads', '1', '--out', config];
    oneLine(lithe(search), 2, /config\.json: is a file of the input/);
    oneLine(lithe([...search, '--force']), 2, /config\.json: is a file of the input/); // --force does not make an input writable
    assert.equal(sha(config), before);
  });

  test('full disk (injected ENOSPC at the final write): exit 2, one line naming the file, no partial file left', () => {
    const s = stereoDir('enospc');
    const out = path.join(s.dir, 'disp.png');
    oneLine(lithe(s.args(out), { LITHE_INJECT_WRITE_ERROR: 'ENOSPC:write' }), 2, /disp\.png: cannot write \(no space left on the device, ENOSPC\)/);
    assert.ok(!existsSync(out));
    assert.deepEqual(leftovers(s.dir), []);
    // a folder output too: the half-written model folder is removed
    const dir = path.join(tmp, 'enospc-model');
    oneLine(lithe(['prune', MODEL, '--method', 'magnitude', '--sparsity', '0.5', '--threads', '1', '--out', dir], { LITHE_INJECT_WRITE_ERROR: 'ENOSPC:write' }), 2, /enospc-model: cannot write \(.*ENOSPC\)/);
    assert.ok(!existsSync(dir));
    assert.deepEqual(leftovers(tmp), []);
  });

  test('read-only folder (injected EACCES when preparing, since tests run as root): exit 2 before the work', () => {
    const dir = path.join(tmp, 'ro-model');
    const r = lithe(['prune', MODEL, '--method', 'wanda', '--sparsity', '0.5', '--nsamples', '2', '--seqlen', '64', '--threads', '1', '--out', dir], { LITHE_INJECT_WRITE_ERROR: 'EACCES:prepare' });
    oneLine(r, 2, /ro-model: cannot write \(permission denied, EACCES\)/);
    assert.doesNotMatch(r.stdout, /calibration:/, 'failed before calibrating');
    assert.ok(!existsSync(dir));
  });

  test('read-only folder with chmod (real; skipped as root, where chmod does not stop writes)', { skip: process.getuid?.() === 0 && 'running as root' }, () => {
    const s = stereoDir('chmod');
    const ro = path.join(s.dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    oneLine(lithe(s.args(path.join(ro, 'disp.png'))), 2, /disp\.png: cannot write \(permission denied, EACCES\)/);
    chmodSync(ro, 0o755);
  });

  test('--out naming a file where a folder is expected (ENOTDIR): exit 2, one line', () => {
    const s = stereoDir('enotdir');
    writeFileSync(path.join(s.dir, 'afile'), 'x');
    oneLine(lithe(s.args(path.join(s.dir, 'afile', 'disp.png'))), 2, /afile\/disp\.png: cannot write \(a part of the path is a file, not a folder, ENOTDIR\)/);
    oneLine(lithe(['prune', MODEL, '--method', 'magnitude', '--sparsity', '0.5', '--out', path.join(s.dir, 'afile', 'model')]), 2, /afile\/model: cannot write \(.*ENOTDIR\)/);
  });

  test('temporaries and locks of a killed run (dead PID) are removed by the next run', () => {
    const s = stereoDir('stale');
    const out = path.join(s.dir, 'disp.png');
    const dead = deadPid();
    writeFileSync(`${out}.tmp-${dead}`, 'half a PNG');
    writeFileSync(`${out}.lock`, `${dead}\n`);
    const r = lithe(s.args(out));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(leftovers(s.dir), []);
    // a folder output: the killed prune's half-written folder
    const dir = path.join(s.dir, 'model');
    mkdirSync(`${dir}.tmp-${dead}`);
    writeFileSync(path.join(`${dir}.tmp-${dead}`, 'model.safetensors'), 'partial');
    writeFileSync(`${dir}.lock`, `${dead}\n`);
    const p = lithe(['prune', MODEL, '--method', 'magnitude', '--sparsity', '0.5', '--threads', '1', '--out', dir]);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(leftovers(s.dir), []);
    assert.ok(existsSync(path.join(dir, 'model.safetensors')));
  });

  test('a second writer of the same --out fails with exit 2 naming the process that holds it', () => {
    const dir = path.join(tmp, 'contended');
    writeFileSync(`${dir}.lock`, `${process.pid}\n`); // this test process plays the first writer
    oneLine(lithe(['prune', MODEL, '--method', 'magnitude', '--sparsity', '0.5', '--threads', '1', '--out', dir]), 2, new RegExp(`contended is being written by process ${process.pid}`));
    assert.ok(!existsSync(dir));
    assert.equal(readFileSync(`${dir}.lock`, 'utf8').trim(), String(process.pid), 'the holder\'s lock stays');
    const s = stereoDir('contended-file');
    const out = path.join(s.dir, 'disp.png');
    writeFileSync(`${out}.lock`, `${process.pid}\n`);
    oneLine(lithe(s.args(out)), 2, new RegExp(`disp\\.png is being written by process ${process.pid}`));
  });

  test('a file put into the output folder during the write survives; the result is kept beside it', async () => {
    const files = await readModelFiles(MODEL);
    const be = await CpuBackend.create({ threads: 1 });
    try {
      const model = modelFromFiles(be, files);
      const out = path.join(tmp, 'user-folder');
      const writing = writeHfCheckpoint(model, files.tensors, out, { test: true }); // runs until its first await
      mkdirSync(out, { recursive: true });
      writeFileSync(path.join(out, 'notes.txt'), 'mine');
      await assert.rejects(writing, /user-folder: something was put there while writing; left untouched, the result is in .*user-folder\.lithe-\d+/);
      assert.equal(readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine');
      assert.deepEqual(readdirSync(out), ['notes.txt']);
      assert.ok(existsSync(path.join(`${out}.lithe-${process.pid}`, 'model.safetensors')));
    } finally {
      await be.dispose();
    }
  });

  test('a file that appears at the target during the write is not replaced (without force)', () => {
    const target = path.join(tmp, 'appears.json');
    const o = SafeOutput.file(target);
    writeFileSync(target, 'theirs');
    assert.throws(() => o.write('ours'), /appears\.json: appeared while writing; left untouched/);
    assert.equal(readFileSync(target, 'utf8'), 'theirs');
    assert.ok(!existsSync(o.tmp) && !existsSync(o.lock));
  });

  test('stereo eval --out-dir: an existing map is refused before any matching', () => {
    const outDir = path.join(tmp, 'maps');
    mkdirSync(outDir);
    const dataset = path.join(tmp, 'dataset');
    mkdirSync(dataset);
    writeFileSync(path.join(dataset, 'dataset.json'), JSON.stringify({ pairs: [{ name: 'tsu', left: `${MB}/tsukuba/im3.png`, right: `${MB}/tsukuba/im4.png`, gt: `${MB}/tsukuba/disp3.pgm`, gtScale: 16, maxDisp: 16 }] }));
    writeFileSync(path.join(outDir, 'tsu-census.png'), 'old map');
    const r = lithe(['stereo', 'eval', dataset, '--paths', '4', '--threads', '1', '--out-dir', outDir]);
    oneLine(r, 2, /tsu-census\.png: already exists; pass --force/);
    assert.equal(r.stdout, '', 'nothing matched');
    const f = lithe(['stereo', 'eval', dataset, '--paths', '4', '--threads', '1', '--out-dir', outDir, '--force']);
    assert.equal(f.code, 0, f.stderr);
    assert.notEqual(readFileSync(path.join(outDir, 'tsu-census.png'), 'utf8'), 'old map');
    assert.deepEqual(leftovers(outDir), []);
  });
});

describe('report prune: failures and cleanup', () => {
  const base = ['report', 'prune', MODEL, '--eval', TEXT, '--eval-seqlen', '64', '--max-windows', '1', '--threads', '1'];

  test('unknown --inits: exit 2 before any run', () => {
    oneLine(lithe([...base, '--methods', 'dsnot', '--inits', 'wanda,bogus', '--sparsities', '0.5', '--nm', '', '--out', path.join(tmp, 'inits')]), 2, /--inits: unknown initial mask "bogus"/);
    assert.ok(!existsSync(path.join(tmp, 'inits.md')));
  });

  test('failed runs make the exit code non-zero (2: every run refused its input); the report is still written; stale temp folders go', () => {
    const tmpdir = mkdtempSync(path.join(tmp, 'tmpdir-'));
    const stale = path.join(tmpdir, `lithe-report-${deadPid()}-abc123`);
    mkdirSync(stale); // what kill -9 of an earlier report left
    const prefix = path.join(tmp, 'failing');
    const r = lithe([...base, '--methods', 'magnitude', '--sparsities', '0.5', '--nm', '2:5', '--out', prefix], { TMPDIR: tmpdir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /1 of 3 runs failed \(reasons in .*failing\.md\)/);
    assert.match(readFileSync(`${prefix}.md`, 'utf8'), /M = 5 does not divide/);
    assert.ok(!existsSync(stale), 'the stale report folder is removed');
    assert.deepEqual(readdirSync(tmpdir), [], 'nothing of this report is left in TMPDIR');
  });

  test('when the dense run fails, the running prune children are stopped before the report exits', { skip: !existsSync('/proc/self/cmdline') && 'needs /proc' }, async () => {
    const marker = path.join(tmp, `orphan-calib-${process.pid}.txt`);
    writeFileSync(marker, Array.from({ length: 6 }, () => readFileSync(TEXT, 'utf8')).join('\n\n'));
    const short = path.join(tmp, 'short.txt');
    writeFileSync(short, 'Tom ran.'); // fewer tokens than one window: the dense eval fails at once, a prune only after pruning
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/lithe.js'), 'report', 'prune', MODEL, '--methods', 'wanda', '--sparsities', '0.5', '--nm', '',
      '--calib', marker, '--nsamples', '64', '--seqlen', '512', '--eval', short, '--eval-seqlen', '64', '--jobs', '2', '--threads', '1', '--out', path.join(tmp, 'orphans')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const running = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
    for (const p of running) process.kill(Number(p), 'SIGKILL');
    assert.deepEqual(running, [], 'prune children still running after the report exited');
    assert.equal(code, 2, stderr);
    assert.match(stderr, /dense run failed: .*fewer than one window/);
  });
});
