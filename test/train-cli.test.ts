// `lithe train` as a user runs it: on a generated image folder (two classes of 12x12 PNGs: a horizontal bar or a
// vertical bar at a random place, with noise), a few seconds of training lower the loss by the stated factor and
// the held-out accuracy is high; --resume continues; bad input exits 2 with one line (an unreadable image, a
// checkpoint of another architecture).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePng } from '../src/io/image.js';
import { Rng } from '../src/train/rng.js';
import { spawn } from 'node:child_process';
import { repoRoot, runLithe } from './helpers.js';

function makeFolder(n: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lithe-images-')), r = new Rng(11);
  for (const cls of ['horizontal', 'vertical']) mkdirSync(path.join(dir, cls));
  for (let i = 0; i < n; i++) {
    const vertical = i % 2 === 1, px = new Uint8Array(144), at = 2 + r.int(8);
    for (let k = 0; k < 144; k++) px[k] = r.int(60);
    for (let k = 0; k < 12; k++) px[vertical ? k * 12 + at : at * 12 + k] = 200 + r.int(56);
    writePng(path.join(dir, vertical ? 'vertical' : 'horizontal', `${i}.png`), 12, 12, 1, px);
  }
  return dir;
}

test('lithe train: LeNet on a 2-class image folder (epoch 6 mean loss below a quarter of epoch 1), resume, bad input exits 2', () => {
  const dir = makeFolder(160), out = `${dir}-run`;
  const r = runLithe(['train', '--arch', 'lenet', '--images', dir, '--epochs', '6', '--batch', '16', '--lr', '3e-3', '--seed', '1', '--out', out, '--threads', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = r.json();
  assert.equal(j.arch, 'lenet:1x12x12:2');
  assert.equal(j.steps, 48); // 128 training images / 16 per batch x 6 epochs
  assert.ok(j.heldOutAccuracy >= 0.9, `held-out accuracy ${j.heldOutAccuracy}`);
  const trainer = JSON.parse(readFileSync(path.join(out, 'trainer.json'), 'utf8'));
  assert.equal(trainer.epoch, 6);
  assert.ok(existsSync(path.join(out, 'net.safetensors')));
  // the losses of the run: epoch lines on stderr give the means
  const means = [...r.stderr.matchAll(/epoch (\d+): mean loss ([\d.]+)/g)].map((m) => Number(m[2]));
  assert.equal(means.length, 6);
  assert.ok(means[5]! < means[0]! / 4, `epoch mean losses ${means}`);

  // resume for two more epochs from the checkpoint
  const again = runLithe(['train', '--arch', 'lenet', '--images', dir, '--epochs', '8', '--batch', '16', '--lr', '3e-3', '--seed', '1', '--out', out, '--resume', out, '--threads', '1', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.json().steps, 64);

  // a checkpoint of another architecture
  const other = runLithe(['train', '--arch', 'mlp', '--images', dir, '--epochs', '9', '--resume', out, '--threads', '1']);
  assert.equal(other.code, 2);
  assert.match(other.stderr.trim(), /^lithe: .*trainer\.json: is a checkpoint of architecture "lenet:1x12x12:2", not "mlp:1x12x12:2"$/);

  // an unreadable image
  writeFileSync(path.join(dir, 'vertical', 'broken.png'), 'not a png');
  const bad = runLithe(['train', '--images', dir, '--threads', '1']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /broken\.png/);
  rmSync(dir, { recursive: true });
  rmSync(out, { recursive: true });
});

test('lithe train: Ctrl-C after the first epoch saves a checkpoint and exits 130; --resume finishes the run', async () => {
  const dir = makeFolder(64), out = `${dir}-run`;
  const args = ['train', '--arch', 'mlp', '--images', dir, '--epochs', '400', '--batch', '8', '--seed', '2', '--out', out, '--threads', '1'];
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/lithe.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '', sent = false;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!sent && /epoch 1: /.test(stderr)) { sent = true; child.kill('SIGINT'); }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, stderr);
  const saved = JSON.parse(readFileSync(path.join(out, 'trainer.json'), 'utf8'));
  assert.ok(saved.step >= 7 && saved.step < 400 * 7, `checkpoint at step ${saved.step}`);
  const rest = runLithe([...args.map((a) => (a === '400' ? String(Math.floor(saved.step / 7) + 2) : a)), '--resume', out, '--json']);
  assert.equal(rest.code, 0, rest.stderr);
  assert.equal(rest.json().steps, (Math.floor(saved.step / 7) + 2) * 7);
  rmSync(dir, { recursive: true });
  rmSync(out, { recursive: true });
});
