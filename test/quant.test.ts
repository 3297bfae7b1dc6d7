// Weight quantization: GPTQ's quantizer grid on random rows, RTN groups and MSE clipping, the official RTN weights
// reproduced bit for bit on the reference model, and `lithe quantize` end to end with its bad input.
import * as ops from '../src/ops/index.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { loadModel } from '../src/load/load-model.js';
import { findParams, quantizeOne } from '../src/quant/weight-quantizer.js';
import { rtnQuantize } from '../src/quant/rtn.js';
import { linearWeightsSha256, quantizeModelWeights } from '../src/quant/quantize-model.js';
import { gptq } from '../src/quant/gptq.js';
import { packedBytes, packOnGrid, packWeights, unpackWeights } from '../src/quant/pack.js';
import { gemvQRef, linearRef } from './reference.js';
import { randn, relErr, repoRoot, rng, runLithe, seedNote, sharedData } from './helpers.js';
import { correlatedInputs, reconError, statsOf } from './linear-fixtures.js';
import { tinyWeights, TinySpec, writeTinyModel } from './tiny-models.js';
import { tempDir } from './temp-dir.js';

const r = rng();

describe('weight quantizer (GPTQ grid)', () => {
  test('values land on at most 2^bits levels within half a step; 0 stays 0; both grids', () => {
    for (const sym of [false, true]) {
      for (const bits of [2, 3, 4, 8]) {
        const rows = 5, cols = 96;
        const w = randn(rows * cols, r, 0.05).map((v, i) => (i % 17 === 0 ? 0 : v + (i % cols < 3 ? 0.2 : 0)));
        w.fill(0, 2 * cols, 3 * cols); // an all-zero row gets the range [-1, 1]
        const { scale, zero } = findParams(w, rows, cols, 0, cols, { bits, sym });
        const maxq = 2 ** bits - 1;
        for (let row = 0; row < rows; row++) {
          const seen = new Set<number>();
          for (let c = 0; c < cols; c++) {
            const x = w[row * cols + c]!, y = quantizeOne(x, scale[row]!, zero[row]!, maxq);
            seen.add(y);
            assert.ok(Math.abs(y - x) <= scale[row]! / 2 * (1 + 1e-4), `sym=${sym} ${bits}b row ${row}: |${y} - ${x}| > step/2 ${seedNote()}`);
            if (x === 0) assert.equal(y, 0);
          }
          assert.ok(seen.size <= 2 ** bits);
        }
        assert.equal(scale[2], Math.fround(2 / maxq));
      }
    }
  });

  test('RTN groups quantize each column slice on its own grid; MSE clipping never raises the row error', () => {
    const rows = 6, cols = 256, bits = 3;
    const w = randn(rows * cols, r, 0.02);
    for (let i = 0; i < rows; i++) w[i * cols + 7] = 0.5; // an outlier that stretches the plain grid
    const g = w.slice();
    rtnQuantize(g, rows, cols, { bits, sym: false }, 64);
    for (let row = 0; row < rows; row++) {
      for (let c0 = 0; c0 < cols; c0 += 64) assert.ok(new Set(g.subarray(row * cols + c0, row * cols + c0 + 64)).size <= 8);
    }
    const plain = w.slice(), clipped = w.slice();
    rtnQuantize(plain, rows, cols, { bits, sym: false });
    rtnQuantize(clipped, rows, cols, { bits, sym: false, mse: true });
    for (let row = 0; row < rows; row++) {
      let ep = 0, ec = 0;
      for (let c = 0; c < cols; c++) {
        ep += Math.abs(plain[row * cols + c]! - w[row * cols + c]!) ** 2.4;
        ec += Math.abs(clipped[row * cols + c]! - w[row * cols + c]!) ** 2.4;
      }
      assert.ok(ec <= ep * (1 + 1e-9), `row ${row}: clipped error ${ec} > plain ${ep} ${seedNote()}`);
    }
    assert.notDeepEqual(clipped, plain, 'the outlier should make clipping pay');
  });
});

describe('GPTQ', () => {
  test('beats RTN on layer reconstruction error with the same grid; every weight on the grid; dead inputs zeroed', () => {
    const rows = 24, cols = 64, T = 256, draws = 4;
    for (const o of [{ bits: 3, sym: false, group: -1 }, { bits: 4, sym: true, group: 16 }, { bits: 3, sym: false, group: -1, actOrder: true }, { bits: 2, sym: false, group: 32, actOrder: true }]) {
      let eG = 0, eR = 0;
      for (let d = 0; d < draws; d++) {
        const x = correlatedInputs(T, cols, r), w = randn(rows * cols, r, 0.1);
        for (let t = 0; t < T; t++) x[t * cols + 5] = 0; // a dead input
        const st = statsOf(x, cols, true);
        const g = gptq(w, st.hessian(), rows, cols, { ...o, blocksize: 16 });
        const rtn = w.slice();
        rtnQuantize(rtn, rows, cols, o, o.group);
        for (let row = 0; row < rows; row++) {
          assert.equal(g.weight[row * cols + 5], 0, 'dead input not zeroed');
          // with act-order, groups are formed in the permuted column order (as the reference), so check per row then
          const gs = o.group > 0 && !('actOrder' in o) ? o.group : cols;
          const limit = gs === cols && o.group > 0 ? (cols / o.group) * 2 ** o.bits : 2 ** o.bits;
          for (let c0 = 0; c0 < cols; c0 += gs) assert.ok(new Set(g.weight.subarray(row * cols + c0, row * cols + c0 + gs)).size <= limit, `${JSON.stringify(o)} row ${row}`);
        }
        eG += reconError(w, g.weight, x, rows, cols);
        eR += reconError(w, rtn, x, rows, cols);
      }
      assert.ok(eG < 0.9 * eR, `${JSON.stringify(o)}: GPTQ ${eG} vs RTN ${eR} over ${draws} draws ${seedNote()}`);
    }
  });

  test('float32 updates (--f32-updates): the same grid, the same quality as float64 within noise, different rounding', () => {
    const rows = 24, cols = 64, T = 256;
    let e64 = 0, e32 = 0, differ = false;
    for (let d = 0; d < 4; d++) {
      const x = correlatedInputs(T, cols, r), w = randn(rows * cols, r, 0.1), H = statsOf(x, cols, true).hessian();
      const a = gptq(w, H, rows, cols, { bits: 3, sym: false, group: 32, blocksize: 16 });
      const b = gptq(w, H, rows, cols, { bits: 3, sym: false, group: 32, blocksize: 16, f32: true });
      for (let i = 0; i < w.length; i++) differ ||= a.weight[i] !== b.weight[i];
      const p = packOnGrid(b.weight, rows, cols, b.grid!, 3); // every weight on its recorded grid
      assert.deepEqual(unpackWeights(p), b.weight);
      e64 += reconError(w, a.weight, x, rows, cols);
      e32 += reconError(w, b.weight, x, rows, cols);
    }
    assert.ok(Math.abs(e32 / e64 - 1) < 0.05, `float32 ${e32} vs float64 ${e64} ${seedNote()}`);
    assert.ok(differ, 'float32 rounding should change some weights');
  });

  test('whole model: true-sequential passes change the result; weights stay on their grids', async () => {
    const spec: TinySpec = { modelType: 'llama', dtype: 'f32', dim: 64, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 96, tied: false };
    const dir = writeTinyModel(spec, tinyWeights(spec, rng()));
    const be = await CpuBackend.create({ threads: 2 });
    try {
      const calib = { seqlen: 32, windows: Array.from({ length: 4 }, () => Int32Array.from({ length: 32 }, () => Math.floor(r() * 96))), picks: [], digest: '' };
      const a = await quantizeModelWeights(await loadModel(be, dir), { method: 'gptq', bits: 3, sym: false, group: 32 }, calib);
      const b = await quantizeModelWeights(await loadModel(be, dir), { method: 'gptq', bits: 3, sym: false, group: 32, trueSequential: false }, calib);
      assert.notEqual(a.weightsSha256, b.weightsSha256);
      assert.ok(a.maxLevelsPerGroup <= 8 && b.maxLevelsPerGroup <= 8);
      assert.equal(a.layers!.length, 14);
    } finally {
      await be.dispose();
    }
  });
});

describe('packed int4/int8 weights and the dequant GEMV kernel', () => {
  test('packing round-trips the RTN grid; the kernel matches the float64 reference (1 and 3 threads, SIMD128)', async () => {
    const bes = [await CpuBackend.create({ threads: 1 }), await CpuBackend.create({ threads: 3 }), await CpuBackend.create({ threads: 2, simd: 'simd128' })];
    try {
      for (const [rows, cols, group, bits, sym] of [[37, 96, 32, 4, false], [64, 384, 128, 4, true], [5, 256, -1, 8, false], [130, 160, 32, 8, true], [3, 32, -1, 4, false]] as const) {
        const w = randn(rows * cols, r, 0.05), x = randn(cols, r), bias = randn(rows, r);
        const p = packWeights(w, rows, cols, { bits, sym }, group);
        const rtn = w.slice();
        rtnQuantize(rtn, rows, cols, { bits, sym }, group);
        assert.deepEqual(unpackWeights(p), rtn, `${rows}x${cols} g${group} ${bits}b: packed values differ from RTN`);
        assert.equal(packedBytes(p), p.codes.length + 8 * p.scales.length);
        const want = gemvQRef(p, x, bias);
        for (const be of bes) {
          const up = (a: ArrayBufferView, shape: number[], dtype?: 'u8') => { const t = be.alloc(shape, dtype); be.write(t, a); return t; };
          const tc = up(p.codes, [p.codes.length], 'u8'), ts = up(p.scales, [p.scales.length]), tz = up(p.zeros, [p.zeros.length]);
          const tx = up(x, [1, cols]), tb = up(bias, [rows]), out = be.alloc([1, rows]);
          ops.linear(be, tx, { kind: 'packed', shape: [rows, cols], container: bits, group: p.group, codes: tc, scales: ts, zeros: tz }, tb, out);
          // the kernel holds x as int16 (steps of sx = max|x| / 32767): row n may differ from the float64 reference
          // by at most sum_k |w_nk| sx / 2, plus float32 rounding of the sums
          const got = await be.read(out), w64 = unpackWeights(p), sx = Math.max(...x.map(Math.abs)) / 32767;
          for (let n = 0; n < rows; n++) {
            let bound = 0;
            for (let k = 0; k < cols; k++) bound += Math.abs(w64[n * cols + k]!) * sx / 2;
            const diff = Math.abs(got[n]! - want[n]!);
            assert.ok(diff <= bound + 1e-5 * (Math.abs(want[n]!) + 1), `${be.description} ${rows}x${cols} g${group} ${bits}b row ${n}: |diff| ${diff} > bound ${bound} ${seedNote()}`);
          }
          assert.ok(relErr(got, want) < 1e-3, `${be.description} ${rows}x${cols} g${group} ${bits}b ${seedNote()}`);
          // the batched path: dequantize (bit-exact with the twin) then sgemm
          const pw = { kind: 'packed', shape: [rows, cols], container: bits, group: p.group, codes: tc, scales: ts, zeros: tz } as const;
          const full = be.alloc([rows, cols]);
          ops.dequantize(be, pw, full);
          assert.deepEqual(await be.read(full), unpackWeights(p), `${be.description} dequant_q ${rows}x${cols} ${bits}b`);
          const X = randn(3 * cols, r), tX = up(X, [3, cols]), outs = be.alloc([3, rows]);
          ops.linear(be, tX, pw, tb, outs);
          assert.ok(relErr(await be.read(outs), linearRef(X, unpackWeights(p), bias, 3, rows, cols)) < 1e-5);
          for (const t of [tc, ts, tz, tx, tb, out, full, tX, outs]) be.free(t);
        }
      }
      assert.throws(() => packWeights(randn(4 * 48, r), 4, 48, { bits: 4, sym: false }, -1), /multiples of 32/);
    } finally {
      for (const be of bes) await be.dispose();
    }
  });
});

describe('fidelity to the official GPTQ repository (RTN)', () => {
  const modelData = sharedData('llm/lithe-ref-a'), refsData = sharedData('llm/lithe-ref-a/quant-reference/results.json');
  test('RTN W4 per channel, W4 group 128 and W3: dequantized weights hash-identical to the reference', { skip: modelData.skip || refsData.skip }, async () => {
    const model = modelData.path!, refs = refsData.path!;
    const runs = (JSON.parse(readFileSync(refs, 'utf8')) as { runs: { method: string; wbits: number; groupsize: number; sym: boolean; weights_sha256: string }[] }).runs;
    const be = await CpuBackend.create({ threads: 2 });
    try {
      for (const ref of runs.filter((x) => x.method === 'rtn' || x.method === 'dense')) {
        const m = await loadModel(be, model);
        const hash = ref.method === 'dense' ? await linearWeightsSha256(m) : (await quantizeModelWeights(m, { method: 'rtn', bits: ref.wbits, group: ref.groupsize, sym: ref.sym })).weightsSha256;
        assert.equal(hash, ref.weights_sha256, `${ref.method} W${ref.wbits} group ${ref.groupsize}`);
      }
    } finally {
      await be.dispose();
    }
  });
});

describe('lithe quantize', () => {
  const spec: TinySpec = { modelType: 'llama', dtype: 'bf16', dim: 64, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 512, tied: false };
  const dir = writeTinyModel(spec, tinyWeights(spec, rng()));
  writeFileSync(path.join(dir, 'tokenizer.bin'), readFileSync(path.join(repoRoot, 'assets/stories260K/tok512.bin')));
  const tmp = tempDir('lithe-quant-');

  test('gptq with a text calibration file', () => {
    const res = runLithe(['quantize', dir, '--method', 'gptq', '--w-bits', '4', '--act-order', '--nsamples', '4', '--seqlen', '32',
      '--calib', path.join(repoRoot, 'assets/text/tinystories-val-200.txt'), '--out', path.join(tmp, 'gptq'), '--json']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.json().max_levels_per_group, 16);
  });

  test('writes a Hugging Face folder that reloads with the same quantized weights', async () => {
    const out = path.join(tmp, 'w4g32');
    const res = runLithe(['quantize', dir, '--method', 'rtn', '--w-bits', '4', '--w-group', '32', '--out', out, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const j = res.json();
    assert.equal(j.max_levels_per_group, 16);
    const meta = JSON.parse(readFileSync(path.join(out, 'lithe.json'), 'utf8'));
    assert.equal(meta.weights_sha256, j.weights_sha256);
    const be = await CpuBackend.create({ threads: 1 });
    try {
      assert.equal(await linearWeightsSha256(await loadModel(be, out)), j.weights_sha256);
    } finally {
      await be.dispose();
    }
  });

  test('packed storage: int4/int8 codes, a smaller checkpoint, the same perplexity after reloading', () => {
    const text = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
    const evalArgs = ['--eval', text, '--eval-seqlen', '32', '--max-windows', '4'];
    for (const [bits, group] of [['4', '32'], ['8', '-1'], ['3', '64']]) {
      const out = path.join(tmp, `packed-${bits}-${group}`), deq = `${out}-deq`;
      const a = runLithe(['quantize', dir, '--method', 'rtn', '--w-bits', bits, '--w-group', group, ...evalArgs, '--out', out, '--json']);
      const b = runLithe(['quantize', dir, '--method', 'rtn', '--w-bits', bits, '--w-group', group, '--storage', 'dequantized', ...evalArgs, '--out', deq, '--json']);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(a.json().storage, 'packed');
      assert.ok((a.json().checkpoint_bytes as number) < (b.json().checkpoint_bytes as number));
      assert.equal(JSON.parse(readFileSync(path.join(out, 'lithe.json'), 'utf8')).packed.container, Number(bits) <= 4 ? 4 : 8);
      const again = runLithe(['eval', 'ppl', out, '--data', text, '--seqlen', '32', '--max-windows', '4', '--json']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json().ppl, (b.json().evaluation as { ppl: number }[])[0]!.ppl, `W${bits} g${group}: packed reload vs dequantized`);
    }
    const bad = runLithe(['quantize', dir, '--method', 'gptq', '--act-order', '--w-group', '32', '--nsamples', '2', '--seqlen', '16', '--storage', 'packed', '--out', path.join(tmp, 'never-packed')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--storage: .*act-order with groups/);
    const notOnTop = runLithe(['prune', path.join(tmp, 'packed-4-32'), '--method', 'magnitude', '--sparsity', '0.5', '--out', path.join(tmp, 'never-pruned')]);
    assert.equal(notOnTop.code, 2);
    assert.match(notOnTop.stderr, /a packed or sparse checkpoint; prune the float model it came from/);
  });

  test('bad input: exit code 2, one line naming the flag, nothing written', () => {
    const out = path.join(tmp, 'never');
    const cases: [string[], RegExp][] = [
      [['--method', 'awq'], /--method: expected rtn, gptq, quarot/],
      [['--method', 'rtn', '--w-method', 'rtn'], /--w-method: applies to quarot and dartquant only/],
      [['--method', 'quarot', '--dart-epochs', '3'], /--dart-epochs: applies to --method dartquant only/],
      [['--method', 'quarot', '--w-method', 'awq'], /--w-method: expected rtn or gptq/],
      [['--method', 'rtn', '--a-bits', '1'], /--a-bits/],
      [['--method', 'rtn', '--act-order'], /--act-order: applies to GPTQ only/],
      [['--method', 'rtn', '--w-bits', '9'], /--w-bits: expected an integer from 2 to 8/],
      [['--method', 'rtn', '--w-group', '48'], /--w-group: 48 does not divide the input width 64/],
      [['--method', 'rtn', '--w-group', '0'], /--w-group: expected a positive group size or -1/],
      [['--method', 'rtn', '--dtype', 'int4'], /--dtype: expected f32, f16 or bf16/],
    ];
    for (const [args, re] of cases) {
      const res = runLithe(['quantize', dir, ...args, '--out', out]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, re);
      assert.equal(res.stderr.trim().split('\n').length, 1);
    }
    assert.ok(!existsSync(out));
    const odd: TinySpec = { ...spec, hidden: 88 };
    const res = runLithe(['quantize', writeTinyModel(odd, tinyWeights(odd, rng())), '--method', 'quarot', '--out', out]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /R4 \(MLP hidden size\): no Hadamard matrix of size 88/);
    assert.ok(!existsSync(out));
  });

  test('quarot with float weights computes the same function, also after reloading the rotated checkpoint', () => {
    const evalArgs = ['--eval-seqlen', '32', '--max-windows', '4'];
    const text = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
    const ppl = (j: Record<string, unknown>) => (j.evaluation as { ppl: number }[])[0]!.ppl;
    const base = runLithe(['quantize', dir, '--method', 'rtn', '--w-bits', '16', '--eval', text, ...evalArgs, '--out', path.join(tmp, 'float'), '--json']);
    assert.equal(base.code, 0, base.stderr);
    const out = path.join(tmp, 'quarot16');
    const rot = runLithe(['quantize', dir, '--method', 'quarot', '--w-bits', '16', '--rotation-seed', '3', '--eval', text, ...evalArgs, '--out', out, '--json']);
    assert.equal(rot.code, 0, rot.stderr);
    assert.ok(Math.abs(ppl(rot.json()) / ppl(base.json()) - 1) < 1e-4, `${ppl(rot.json())} vs ${ppl(base.json())}`);
    assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'lithe.json'), 'utf8')).online, { r4: true });
    const again = runLithe(['eval', 'ppl', out, '--data', text, '--seqlen', '32', '--max-windows', '4', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(Math.abs((again.json().ppl as number) / ppl(base.json()) - 1) < 1e-4, 'the loader must apply the online R4 of a rotated checkpoint');
    const a4 = runLithe(['eval', 'ppl', out, '--data', text, '--seqlen', '32', '--max-windows', '4', '--a-bits', '4', '--kv-bits', '4', '--json']);
    assert.equal(a4.code, 0, a4.stderr);
    assert.match(a4.json().quantized as string, /activations 4-bit asym clip 0.9, K 4-bit asym, V 4-bit asym, online R4, online R3/);
    assert.notEqual(a4.json().ppl, again.json().ppl);
  });

  test('dartquant: calibrated rotations with float weights keep the function; lithe.json records the training', () => {
    const text = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
    const out = path.join(tmp, 'dart16');
    const base = runLithe(['eval', 'ppl', dir, '--data', text, '--seqlen', '32', '--max-windows', '4', '--json']);
    const res = runLithe(['quantize', dir, '--method', 'dartquant', '--w-bits', '16', '--nsamples', '6', '--seqlen', '32', '--calib', text,
      '--dart-epochs', '2', '--dart-tokens', '16', '--eval', text, '--eval-seqlen', '32', '--max-windows', '4', '--out', out, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const ppl = (res.json().evaluation as { ppl: number }[])[0]!.ppl;
    assert.ok(Math.abs(ppl / (base.json().ppl as number) - 1) < 1e-4, `${ppl} vs ${base.json().ppl}`);
    const meta = JSON.parse(readFileSync(path.join(out, 'lithe.json'), 'utf8'));
    assert.equal(meta.rotation.method, 'dartquant');
    assert.ok(meta.rotation.r1Training.steps > 0 && meta.rotation.capture.tokensPerWindow === 16);
  });
});
