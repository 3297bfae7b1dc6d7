// Sparse attention for video DiTs: layouts, the generator's head structure, RainFusion (ARM, bands),
// RainFusion2.0 (pooled top-k, sinks), Compact Attention (mask family, shrink search, configuration files), the
// evaluation runner and traces. Small grids so the file runs in seconds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { flaggedBlocks, gridTokens, makeLayout, permuteHeads, sinkTokens, tokenCoords, type VideoGrid } from '../src/attention/layout.js';
import { syntheticAttention } from '../src/attention/synthetic.js';
import { armScores, bandwidth, classifyHead, rainfusionMask, RAINFUSION_DEFAULTS } from '../src/attention/rainfusion.js';
import { blockMeans, pooledTopK, rainfusion2Plan, RAINFUSION2_DEFAULTS } from '../src/attention/rainfusion2.js';
import { bucketOf, compactMask, compactRow, compactSearch, readCompactConfig, tileGrid, writeCompactConfig, type CompactHead } from '../src/attention/compact.js';
import { blockMassOf, compactCalibrationMass, denseAttention, evaluateMethods, outputMetrics } from '../src/attention/evaluate.js';
import { readTrace, writeTrace } from '../src/attention/trace.js';
import { FormatError, OptionError } from '../src/util/errors.js';
import { randn, rng, seedNote } from './helpers.js';
import { tempDir } from './temp-dir.js';

const r = rng();
let be: CpuBackend;
before(async () => { be = await CpuBackend.create({ threads: 2 }); });
after(async () => { await be.dispose(); });

const tmp = tempDir('lithe-attn-');

describe('layouts', () => {
  const g: VideoGrid = { T: 3, H: 10, W: 12, text: 5 };
  const N = gridTokens(g);
  test('every layout is a permutation with its inverse; tiles hold one 8x8 patch of one frame; ragged rows follow', () => {
    for (const kind of ['frame', 'hwt', 'tile'] as const) {
      for (const firstFrame of ['keep', 'end'] as const) {
        const l = makeLayout(g, { kind, firstFrame });
        assert.equal(l.order.length, N);
        assert.deepEqual([...l.order].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i), `${kind} ${firstFrame} is a permutation`);
        for (let p = 0; p < N; p++) assert.equal(l.inverse[l.order[p]!], p);
        assert.deepEqual([...l.order.subarray(N - 5)], [360, 361, 362, 363, 364], 'text stays last');
        if (firstFrame === 'end') assert.deepEqual([...l.order.subarray(N - 5 - 120, N - 5)], Array.from({ length: 120 }, (_, i) => i), 'frame 0 before the text');
      }
    }
    const tile = makeLayout(g, { kind: 'tile', tile: [1, 8, 8] });
    const first = [...tile.order.subarray(0, 64)].map((t) => tokenCoords(g, t)!);
    assert.ok(first.every(([t, h, w]) => t === 0 && h < 8 && w < 8), 'first block = the top-left 8x8 tile of frame 0');
    // frame 0 has one full tile (8x8) and 120 - 64 = 56 ragged tokens, in raster order, before frame 1
    const ragged = [...tile.order.subarray(64, 120)].map((t) => tokenCoords(g, t)!);
    assert.ok(ragged.every(([t, h, w]) => t === 0 && (h >= 8 || w >= 8)));
    assert.deepEqual(tokenCoords(g, tile.order[120]!), [1, 0, 0]);
    const hwt = makeLayout(g, { kind: 'hwt', firstFrame: 'end' });
    assert.deepEqual([...hwt.order.subarray(0, 3)], [120, 240, 121], '(h w t): the frames of one position, then the next position');
    const w3 = makeLayout({ T: 5, H: 8, W: 8, text: 0 }, { kind: 'tile', tile: [2, 8, 8], firstFrame: 'end' });
    assert.deepEqual(new Set([...w3.order.subarray(0, 128)].map((t) => Math.floor(t / 64))), new Set([1, 2]), 'a 2x8x8 window spans frames 1 and 2');
  });

  test('permuteHeads round-trips with per-head orders; sink blocks', () => {
    const heads = 2, d = 8;
    const x = randn(heads * N * d, r);
    const orders = [makeLayout(g, { kind: 'hwt' }).order, makeLayout(g, { kind: 'tile', firstFrame: 'end' }).order];
    const y = permuteHeads(x, heads, d, orders);
    assert.deepEqual(permuteHeads(y, heads, d, orders, true), x);
    assert.deepEqual([...y.subarray(N * d, N * d + d)], [...x.subarray((N + orders[1]![0]!) * d, (N + orders[1]![0]! + 1) * d)]);
    const sinks = flaggedBlocks(sinkTokens(makeLayout(g, { kind: 'frame', firstFrame: 'end' })), 64);
    assert.deepEqual([...sinks].sort((a, b) => a - b), [3, 4, 5], 'frame 0 + text = the last 125 tokens = blocks 3..5 of 6');
  });

  test('bad grids and tiles are option errors', () => {
    assert.throws(() => makeLayout({ T: 0, H: 4, W: 4, text: 0 }, { kind: 'frame' }), OptionError);
    assert.throws(() => makeLayout(g, { kind: 'tile', tile: [1, 0, 8] }), OptionError);
  });
});

describe('synthetic video attention', () => {
  test('heads have the structure of their kind: spatial heads stay in their frame, temporal heads spread over frames at their position', async () => {
    const g: VideoGrid = { T: 5, H: 16, W: 16, text: 0 };
    const x = syntheticAttention({ grid: g, heads: 6, headDim: 32, seed: 3, kinds: ['spatial', 'temporal', 'textural'] });
    assert.equal(x.q.length, 6 * gridTokens(g) * 32);
    const { lse } = await denseAttention(be, x, 64, 1);
    // own-frame share of the mass: blocks of 64 = quarter frames in frame order; frame = block / 4
    const nb = gridTokens(g) / 64;
    const m = await blockMassOf(be, x.q, x.k, lse, { heads: 6, tokens: gridTokens(g), headDim: 32, block: 64, scale: 1 / Math.sqrt(32) });
    const ownFrame = (h: number) => {
      let own = 0, all = 0;
      for (let qb = 4; qb < nb; qb++) for (let kb = 0; kb < nb; kb++) { const v = m[(h * nb + qb) * nb + kb]!; all += v; if ((qb >> 2) === (kb >> 2)) own += v; }
      return own / all;
    };
    for (const h of [0, 3]) assert.ok(ownFrame(h) > 0.7, `spatial head ${h}: own-frame mass ${ownFrame(h)}`);
    for (const h of [1, 4]) assert.ok(ownFrame(h) < 0.35, `temporal head ${h}: own-frame mass ${ownFrame(h)}`);
    const again = syntheticAttention({ grid: g, heads: 6, headDim: 32, seed: 3, kinds: ['spatial', 'temporal', 'textural'] });
    assert.deepEqual(again.q, x.q, 'deterministic for a seed');
    const step1 = syntheticAttention({ grid: g, heads: 6, headDim: 32, seed: 3, step: 1, kinds: ['spatial', 'temporal', 'textural'] });
    assert.notDeepEqual(step1.q, x.q, 'another step changes the noise');
  });
});

describe('RainFusion', () => {
  test('bandwidth b = 1 - sqrt(s) to 2 decimals (the code\'s defaults)', () => {
    assert.equal(bandwidth(0.64), 0.2);
    assert.equal(bandwidth(0.5), 0.29);
  });

  test('ARM classifies generated spatial, temporal and textural heads on seeds not used to tune it', async () => {
    // The textural margin was set on generated heads, of which seeds 5 and 11 are known to have been looked at
    // (rainfusion.ts); scored here on seeds 1000-1019, 60 heads of each kind. The structured heads must all be
    // recognised. Textural heads are the margin's call: 58 of 60 here (seeds 1000 and 1001 each have one taken for
    // temporal; 113 of 120 over seeds 1000-1039), so at least 90% is required.
    const g: VideoGrid = { T: 9, H: 16, W: 16, text: 0 };
    const kinds = ['spatial', 'temporal', 'textural'] as const;
    const right = { spatial: 0, temporal: 0, textural: 0 }, wrong: string[] = [];
    for (let seed = 1000; seed < 1020; seed++) {
      const x = syntheticAttention({ grid: g, heads: 9, headDim: 32, seed, kinds });
      const scores = await armScores(be, x.q, x.k, g, 9, 32, 0.7);
      scores.forEach((s, h) => {
        const kind = x.kinds[h] as (typeof kinds)[number], chosen = classifyHead(s, RAINFUSION_DEFAULTS);
        if (chosen === kind) right[kind]++; else wrong.push(`seed ${seed} head ${h}: ${kind} taken for ${chosen} ${JSON.stringify(s)}`);
        assert.notEqual(classifyHead(s, { ...RAINFUSION_DEFAULTS, variant: 'deployed' }), 'textural', 'the deployed variant has two patterns');
      });
    }
    assert.equal(right.spatial, 60, wrong.join('\n'));
    assert.equal(right.temporal, 60, wrong.join('\n'));
    assert.ok(right.textural >= 54, wrong.join('\n'));
  });

  test('band masks: sinks dense, density of the sparse region near 1 - s, floor rounding drops narrow temporal bands', () => {
    const g: VideoGrid = { T: 9, H: 16, W: 16, text: 10 };
    const N = gridTokens(g), block = 64, nb = Math.ceil(N / block);
    const { mask, layouts } = rainfusionMask(g, ['spatial', 'temporal', 'textural'], 0.64, block);
    assert.equal(layouts[1]!.options.kind, 'hwt');
    const sparseBlocks = (8 * 256) / block; // 32
    for (let h = 0; h < 3; h++) {
      for (let qb = sparseBlocks; qb < nb; qb++) assert.equal(mask.row(h, qb).length, nb, 'dense rows');
      for (let qb = 0; qb < sparseBlocks; qb++) for (let kb = sparseBlocks; kb < nb; kb++) assert.ok(mask.row(h, qb).includes(kb), 'dense columns');
      let kept = 0;
      for (let qb = 0; qb < sparseBlocks; qb++) kept += mask.row(h, qb).filter((kb) => kb < sparseBlocks).length;
      const density = kept / sparseBlocks ** 2;
      assert.ok(Math.abs(density - 0.36) < 0.12, `head ${h}: sparse-region density ${density}`);
    }
    const floor = rainfusionMask(g, ['temporal'], 0.64, block, 'floor').mask; // b HW = 51 < 64 tokens
    assert.deepEqual([...floor.row(0, 5)].filter((kb) => kb < sparseBlocks), [5]);
  });
});

describe('RainFusion2.0', () => {
  test('pooled top-k equals a brute-force top-k of block-mean scores; ties kept; sinks forced dense', () => {
    const heads = 2, N = 300, d = 16, block = 32;
    const q = randn(heads * N * d, r), k = randn(heads * N * d, r);
    const nb = Math.ceil(N / block);
    for (const s of [0.5, 0.8]) {
      const m = pooledTopK(q, k, heads, N, d, block, s);
      const keep = Math.ceil(nb * (1 - s));
      const qm = blockMeans(q, heads, N, d, block), km = blockMeans(k, heads, N, d, block);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < nb; i++) {
          const sc = Array.from({ length: nb }, (_, j) => { let a = 0; for (let c = 0; c < d; c++) a += qm[(h * nb + i) * d + c]! * km[(h * nb + j) * d + c]!; return { j, a }; });
          const want = sc.sort((a, b) => b.a - a.a).slice(0, keep).map((e) => e.j).sort((a, b) => a - b);
          assert.deepEqual([...m.row(h, i)], want, `s=${s} head ${h} row ${i} ${seedNote()}`);
        }
      }
    }
    const flat = new Float32Array(heads * N * d).fill(1);
    assert.equal(pooledTopK(flat, flat, heads, N, d, block, 0.8).density(), 1, 'all scores tie: every block kept');
    const g: VideoGrid = { T: 4, H: 16, W: 16, text: 20 };
    const x = syntheticAttention({ grid: g, heads: 2, headDim: 32, seed: 1 });
    const plan = rainfusion2Plan(x.q, x.k, g, 2, 32, { ...RAINFUSION2_DEFAULTS, sparsity: 0.9, block: 64 });
    const nbg = Math.ceil(gridTokens(g) / 64);
    for (const b of [0, 1, 2, 3, nbg - 1]) assert.equal(plan.mask.row(1, b).length, nbg, `frame-0 / text block ${b} is a dense row`);
    assert.ok(plan.mask.row(1, 5).includes(0) && plan.mask.row(1, 5).includes(nbg - 1), 'first-frame and text columns');
  });
});

describe('Compact Attention', () => {
  const g = tileGrid({ T: 9, H: 16, W: 24, text: 0 }, 64);
  test('mask family: rect and cross rows equal their definition', () => {
    assert.deepEqual([bucketOf(0), bucketOf(1), bucketOf(2), bucketOf(3), bucketOf(4), bucketOf(7)], [0, 1, 2, 2, 3, 3]);
    assert.equal(g.buckets, 4);
    const heads: CompactHead[] = [
      { shape: 'rect', extents: [[1, 0], [0, 1], [0, 0], [-1, 0]] },
      { shape: 'cross', extents: [[0, 0], [-1, 0], [-1, -1], [0, -1]] },
    ];
    for (const head of heads) {
      for (let qi = 0; qi < g.tiles; qi++) {
        const want: number[] = [];
        const [ft, fh, fw] = [Math.floor(qi / 6), Math.floor(qi / 3) % 2, qi % 3];
        for (let kt = 0; kt < 8; kt++) for (let kh = 0; kh < 2; kh++) for (let kw = 0; kw < 3; kw++) {
          const [eh, ew] = head.extents[bucketOf(Math.abs(kt - ft))]!;
          const dh = Math.abs(kh - fh), dw = Math.abs(kw - fw);
          const inside = head.shape === 'rect' ? eh >= 0 && ew >= 0 && dh <= eh && dw <= ew : (eh >= 0 && dh <= eh) || (ew >= 0 && dw <= ew);
          if (inside) want.push(kt * 6 + kh * 3 + kw);
        }
        assert.deepEqual([...compactRow(g, head, qi)].sort((a, b) => a - b), want, `${head.shape} tile ${qi}`);
      }
    }
    const mask = compactMask(g, heads);
    assert.equal(mask.row(0, g.tiles).length, g.nb, 'frame-0 sink rows are dense');
  });

  test('shrink search meets the recall threshold on its calibration mass, shrinks with a lower threshold, and round-trips through a file', async () => {
    const grid = { T: 9, H: 16, W: 24, text: 0 };
    const x = syntheticAttention({ grid, heads: 3, headDim: 32, seed: 2, kinds: ['spatial', 'temporal', 'textural'] });
    const mass = Float64Array.from(await compactCalibrationMass(be, g, x));
    const hi = compactSearch(g, mass, 3, { recall: 0.95, lambda: 0 }), lo = compactSearch(g, mass, 3, { recall: 0.8, lambda: 0 });
    for (let h = 0; h < 3; h++) {
      assert.ok(hi.calibration![h]!.recall >= 0.95 && lo.calibration![h]!.recall >= 0.8);
      assert.ok(lo.calibration![h]!.density <= hi.calibration![h]!.density && hi.calibration![h]!.density < 1, `head ${h}`);
      // the configuration's mask realises the searched recall and density
      const m = compactMask(g, [hi.heads[h]!]);
      const massH = mass.subarray(h * g.nb * g.nb, (h + 1) * g.nb * g.nb);
      assert.ok(Math.abs(m.recall(massH)[0]! - hi.calibration![h]!.recall) < 1e-9);
      assert.ok(Math.abs(m.density() - hi.calibration![h]!.density) < 1e-9);
    }
    const file = path.join(tmp, 'compact.json');
    writeCompactConfig(file, hi);
    assert.deepEqual(readCompactConfig(file), hi);
    const bad = path.join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...hi, heads: [{ shape: 'blob', extents: [] }] }));
    assert.throws(() => readCompactConfig(bad), (e: unknown) => e instanceof FormatError && /heads\[0\]\.shape/.test(e.message));
    writeFileSync(bad, JSON.stringify({ ...hi, format: 'x' }));
    assert.throws(() => readCompactConfig(bad), /field "format"/);
    assert.throws(() => tileGrid({ T: 9, H: 12, W: 24, text: 0 }, 64), OptionError, 'H not a multiple of the tile');
  });
});

describe('evaluation and traces', () => {
  test('methods vs dense: sparsity 0 reproduces dense; metrics are consistent; traces round-trip', async () => {
    const grid = { T: 5, H: 16, W: 16, text: 0 };
    const x = syntheticAttention({ grid, heads: 3, headDim: 32, seed: 4 });
    const calibration = [syntheticAttention({ grid, heads: 3, headDim: 32, seed: 4, step: 1 })];
    const zero = await evaluateMethods(be, x, ['rainfusion2'], { block: 64, sparsity: 0, repeat: 1, compact: { calibration } });
    assert.equal(zero[0]!.density, 1);
    assert.ok(zero[0]!.cosine > 0.999999 && zero[0]!.relL2 < 1e-5, JSON.stringify(zero[0]));
    const res = await evaluateMethods(be, x, ['dense', 'rainfusion', 'rainfusion2', 'compact'], { block: 64, sparsity: 0.6, repeat: 1, compact: { calibration } });
    assert.deepEqual(res.map((m) => m.method), ['dense', 'rainfusion', 'rainfusion2', 'compact']);
    for (const m of res.slice(1)) {
      assert.ok(m.density < 1 && m.density > 0.1, `${m.method} density ${m.density}`);
      assert.ok(m.recall > 0.5 && m.recall <= 1 + 1e-9 && m.cosine > 0.9 && m.cosine <= 1 + 1e-9, JSON.stringify(m));
      assert.ok(m.attentionMs > 0 && m.speedup > 0);
    }
    const a = Float32Array.from([1, 2, 3, 4]), b = Float32Array.from([1, 2, 3, 5]);
    const om = outputMetrics(a, b, 2);
    assert.ok(Math.abs(om.relL1 - 1 / 11) < 1e-12 && Math.abs(om.relL2 - 1 / Math.sqrt(39)) < 1e-12);
    assert.ok(om.minHeadCosine < 1 && om.cosine < 1);

    const file = path.join(tmp, 'trace.safetensors');
    writeTrace(file, x);
    const back = readTrace(file);
    assert.deepEqual(back.grid, grid);
    assert.deepEqual(back.q, x.q);
    assert.throws(() => readTrace(file, { ...grid, T: 4 }), /1280 tokens, but grid 4x16x16/);
  });
});
