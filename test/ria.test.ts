// RIA (Relative Importance and Activations) against scores and masks worked out by hand, and through `lithe prune`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { riaMask, riaScores } from '../src/prune/ria.js';
import { repoRoot, runLithe } from './helpers.js';
import { tempDir } from './temp-dir.js';

const defaults = { alpha: 0.5, perOutneuron: false, reallocation: false, importance: 'sum' as const };

describe('RIA', () => {
  // W = [[1, -2, 3], [4, 0, -1]], ||X_j||^2 ~ scalerRow = [4, 1, 9], a = 0.5: activation factors sqrt(2), 1, sqrt(3)
  // column sums of |W| = [5, 2, 4], row sums = [6, 5]; S_ij = (|W_ij|/col_j + |W_ij|/row_i) * factor_j
  const w = Float32Array.from([1, -2, 3, 4, 0, -1]), scaler = [4, 1, 9];
  const byHand = [(1 / 5 + 1 / 6) * Math.SQRT2, 2 / 2 + 2 / 6, (3 / 4 + 3 / 6) * Math.sqrt(3), (4 / 5 + 4 / 5) * Math.SQRT2, 0, (1 / 4 + 1 / 5) * Math.sqrt(3)];

  test('scores: relative importance in row and column times the activation norm to the power a', () => {
    const s = riaScores(w, scaler, 2, 3, 0.5);
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(s[i]! - byHand[i]!) < 1e-6, `S[${i}] = ${s[i]}, by hand ${byHand[i]}`);
  });

  test('unstructured: one whole-matrix threshold at sorted position floor(numel s), ties included (the reference)', () => {
    // sorted: 0, 0.519, 0.779, 1.333, 2.165, 2.263 -> threshold 1.333 -> four weights <= it are pruned
    assert.deepEqual([...riaMask(w, scaler, 2, 3, { sparsity: 0.5 }, defaults)], [1, 1, 0, 0, 1, 1]);
    // per output neuron (Wanda's tactic): floor(3 * 0.5) = 1 lowest per row
    assert.deepEqual([...riaMask(w, scaler, 2, 3, { sparsity: 0.5 }, { ...defaults, perOutneuron: true })], [1, 0, 0, 0, 1, 0]);
  });

  test('N:M with channel reallocation: columns sorted by importance, dealt over the group positions', () => {
    // one row, W = 1..8, scaler 1: S_j = 1 + j/36, increasing. Plain 2:4 prunes the two lowest of {0..3} and {4..7}.
    const v = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), ones = new Array(8).fill(1);
    assert.deepEqual([...riaMask(v, ones, 1, 8, { nm: { n: 2, m: 4 } }, defaults)], [1, 1, 0, 0, 1, 1, 0, 0]);
    // reallocation: sorted [c0..c7] cut into 4 chunks of 2, even chunks reversed -> positions 0..3 of the two groups get
    // {c0, c1}, {c3, c2}, {c4, c5}, {c7, c6}: groups {c0, c3, c4, c7} and {c1, c2, c5, c6}; 2:4 prunes c0, c3 and c1, c2
    assert.deepEqual([...riaMask(v, ones, 1, 8, { nm: { n: 2, m: 4 } }, { ...defaults, reallocation: true })], [1, 1, 1, 1, 0, 0, 0, 0]);
    // two rows whose groups differ when even chunks are not reversed: the column order is [2, 5, 3, 1, 6, 0, 4, 7]
    // (an independent Python transcription of the reference's reallocation gave this mask, and [0, 1, 1, 1, 1, 0, 0, 0]
    // for row 1 without the reversal)
    const w2 = Float32Array.from([4, 9, 3, 6, 8, 2, 1, 8, 5, 9, 4, 4, 8, 9, 9, 8]);
    assert.deepEqual([...riaMask(w2, ones, 2, 8, { nm: { n: 2, m: 4 } }, { ...defaults, reallocation: true })], [1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1]);
  });

  test('lithe prune --method ria: unstructured and 2:4 on the embedded model; bad option combinations exit 2', () => {
    const model = path.join(repoRoot, 'assets/stories260K/stories260K.bin'), tmp = tempDir('lithe-ria-');
    const un = runLithe(['prune', model, '--method', 'ria', '--sparsity', '0.5', '--nsamples', '4', '--seqlen', '64', '--out', path.join(tmp, 'u'), '--json']);
    assert.equal(un.code, 0, un.stderr);
    const ju = un.json();
    assert.equal(ju['method'], 'ria');
    // the whole-matrix threshold prunes floor(numel s) + 1 per matrix at least
    assert.ok((ju['total_sparsity'] as number) >= 0.5 && (ju['total_sparsity'] as number) < 0.51, `sparsity ${ju['total_sparsity']}`);
    const nm = runLithe(['prune', model, '--method', 'ria', '--nm', '2:4', '--ria-reallocation', '--nsamples', '4', '--seqlen', '64', '--out', path.join(tmp, 'n'), '--json']);
    assert.equal(nm.code, 0, nm.stderr);
    assert.equal(nm.json()['total_sparsity'], 0.5);
    const bad = runLithe(['prune', model, '--method', 'ria', '--sparsity', '0.5', '--ria-reallocation', '--out', path.join(tmp, 'b')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /reallocation: applies to N:M sparsity only/);
    const other = runLithe(['prune', model, '--method', 'wanda', '--sparsity', '0.5', '--ria-alpha', '1', '--out', path.join(tmp, 'c')]);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--ria-alpha: applies to --method ria only/);
  });
});
