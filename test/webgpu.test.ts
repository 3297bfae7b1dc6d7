// The WebGPU backend against the CPU backend on fresh random inputs at small shapes (every Backend kernel), and a
// tiny LLaMA through the unchanged model code on both. Without an adapter (no Dawn binary, no Mesa) every test is
// skipped with the reason printed. Results are always read back: WebGPU reports errors asynchronously.
import * as ops from '../src/ops/index.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import { InputError } from '../src/util/errors.js';
import type { Backend } from '../src/backend/backend.js';
import { BlockMask } from '../src/attention/mask.js';
import { loadModel } from '../src/load/load-model.js';
import { ropeTables } from '../src/models/llama/rope.js';
import { packWeights } from '../src/quant/pack.js';
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../src/tensor/dtype.js';
import { linearRef } from './reference.js';
import { defineOp } from '../src/kernels/op.js';
import * as K from '../src/kernels/index.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { randn, relErr, rng, runLithe, seedNote } from './helpers.js';
import { tempDir } from './temp-dir.js';
import path from 'node:path';
import { tinyWeights, writeTinyModel, type TinySpec } from './tiny-models.js';

const r = rng();
let cpu: CpuBackend;
let gpu: WebGpuBackend | undefined;
let skip: string | false = false;
before(async () => {
  cpu = await CpuBackend.create({ threads: 2 });
  const g = await WebGpuBackend.tryCreate();
  if (typeof g === 'string') {
    skip = `no WebGPU adapter: ${g}`;
    console.log(`# webgpu tests skipped: ${skip}`);
  } else {
    gpu = g;
    console.log(`# webgpu: ${gpu.description}`);
  }
});
after(async () => { await cpu.dispose(); await gpu?.dispose(); });

function up(be: Backend, data: ArrayBufferView & { length: number }, shape: number[], dtype?: 'f32' | 'i32' | 'u8' | 'f16' | 'bf16'): Tensor {
  const t = be.alloc(shape, dtype);
  be.write(t, data);
  return t;
}

/** Run `fn` on both backends with the same host inputs; compare the tensors it returns. */
async function same(name: string, fn: (be: Backend) => Tensor | Tensor[], tol = 1e-5): Promise<void> {
  const want = [fn(cpu)].flat(), got = [fn(gpu!)].flat();
  for (let i = 0; i < want.length; i++) {
    const a = await gpu!.read(got[i]!), b = await cpu.read(want[i]!);
    const err = relErr(a, b);
    assert.ok(err <= tol, `${name} [${i}]: rel err ${err} ${seedNote()}`);
  }
}

describe('webgpu backend vs cpu backend', () => {
  test('linear (gemv and tiled sgemm, odd sizes, bias), dequantize and packed linear', async (t) => {
    if (skip) return t.skip(skip);
    for (const [M, N, K] of [[1, 37, 53], [3, 29, 300], [17, 45, 263], [70, 130, 64], [131, 140, 20], [2100, 2060, 8], [2060, 2100, 7]] as const) {
      const a = randn(M * K, r), w = randn(N * K, r), b = randn(N, r);
      await same(`linear ${M}x${N}x${K}`, (be) => { const o = be.alloc([M, N]); ops.linear(be, up(be, a, [M, K]), up(be, w, [N, K]), up(be, b, [N]), o); return o; });
      await same(`linear ${M}x${N}x${K} no bias`, (be) => { const o = be.alloc([M, N]); ops.linear(be, up(be, a, [M, K]), up(be, w, [N, K]), null, o); return o; });
    }
    for (const bits of [4, 8] as const) {
      const rows = 24, cols = 128, w = randn(rows * cols, r);
      const p = packWeights(w, rows, cols, { bits, sym: false }, 32);
      const packed = (be: Backend) => ({ kind: 'packed' as const, shape: [rows, cols] as [number, number], container: bits, group: 32,
        codes: up(be, p.codes, [p.codes.length], 'u8'), scales: up(be, p.scales, [p.scales.length]), zeros: up(be, p.zeros, [p.zeros.length]) });
      await same(`dequantize int${bits}`, (be) => { const o = be.alloc([rows, cols]); ops.dequantize(be, packed(be), o); return o; }, 1e-7);
      const x = randn(5 * cols, r);
      await same(`linearPacked int${bits}`, (be) => { const o = be.alloc([5, rows]); ops.linear(be, up(be, x, [5, cols]), packed(be), null, o); return o; });
    }
  });

  test('reductions (gemv, rmsnorm, softmax, logsumexp, the training ops\' row kernels) through subgroups where the adapter has them, and through workgroup memory', async (t) => {
    if (skip) return t.skip(skip);
    const modes = gpu!.features.includes('subgroups') ? [false, true] : [true];
    if (modes.length === 1) t.diagnostic(`no subgroups on ${gpu!.description}: workgroup-memory reductions only`);
    const rows = 3, n = 1000, x = randn(rows * n, r, 3), w = randn(n, r), wm = randn(77 * n, r);
    for (const noSg of modes) {
      gpu!.noSubgroups = noSg;
      const tag = noSg ? 'workgroup memory' : 'subgroups';
      await same(`rmsnorm ${tag}`, (be) => { const o = be.alloc([rows, n]); ops.rmsnorm(be, up(be, x, [rows, n]), up(be, w, [n]), 1e-5, o); return o; });
      await same(`softmax ${tag}`, (be) => { const a = up(be, x, [rows, n]); ops.softmax(be, a); return a; });
      await same(`logsumexp ${tag}`, (be) => { const o = be.alloc([rows]); ops.logsumexp(be, up(be, x, [rows, n]), o); return o; });
      await same(`gemv ${tag}`, (be) => { const o = be.alloc([1, 77]); ops.linear(be, up(be, x.subarray(0, n), [1, n]), up(be, wm, [77, n]), null, o); return o; });
      // the training ops' row reductions (log-softmax and the softmax gradients, KL, layer norm forward and backward)
      const y = randn(rows * n, r), dy = randn(rows * n, r), acc = randn(rows * n, r), bias = randn(n, r);
      await same(`log_softmax ${tag}`, (be) => { const o = be.alloc([rows, n]); ops.run(be, K.LOG_SOFTMAX, { x: up(be, x, [rows, n]), out: o }); return o; });
      for (const op of [K.SOFTMAX_BACKWARD, K.LOG_SOFTMAX_BACKWARD]) {
        await same(`${op.name} ${tag}`, (be) => { const o = up(be, acc, [rows, n]); ops.run(be, op, { y: up(be, y, [rows, n]), dy: up(be, dy, [rows, n]), dx: o }); return o; });
      }
      await same(`kl_div ${tag}`, (be) => {
        const ps = be.alloc([rows, n]), pt = be.alloc([rows, n]), loss = be.alloc([1]);
        ops.run(be, K.KL_DIV, { student: up(be, x, [rows, n]), teacher: up(be, y, [rows, n]), T: 2, ps, pt, loss });
        return [ps, pt, loss];
      });
      await same(`layer_norm and its backward ${tag}`, (be) => {
        const xt = up(be, x, [rows, n]), wt = up(be, w, [n]), out = be.alloc([rows, n]), mean = be.alloc([rows]), rstd = be.alloc([rows]);
        ops.run(be, K.LAYER_NORM, { x: xt, w: wt, b: up(be, bias, [n]), eps: 1e-5, out, mean, rstd });
        const dx = up(be, acc, [rows, n]), dw = up(be, bias, [n]), db = up(be, w, [n]);
        ops.run(be, K.LAYER_NORM_BACKWARD, { x: xt, w: wt, mean, rstd, dy: up(be, dy, [rows, n]), dx, dw, db });
        return [out, mean, rstd, dx, dw, db];
      });
    }
    gpu!.noSubgroups = false;
  });

  test('half-precision GEMM where the adapter has shader-f16', async (t) => {
    if (skip) return t.skip(skip);
    if (!gpu!.features.includes('shader-f16')) return t.skip(`no shader-f16 on ${gpu!.description}`);
    for (const [M, N, K] of [[1, 33, 48], [130, 140, 64], [260, 270, 40], [140, 133, 21]] as const) {
      const a = randn(M * K, r), w = randn(N * K, r);
      const a16 = Uint16Array.from(a, f32ToF16Bits), w16 = Uint16Array.from(w, f32ToF16Bits);
      const o = gpu!.alloc([M, N]);
      ops.linearF16(gpu!, up(gpu!, a16, [M, K], 'f16'), up(gpu!, w16, [N, K], 'f16'), o);
      const want = linearRef(Float32Array.from(a16, f16BitsToF32), Float32Array.from(w16, f16BitsToF32), null, M, N, K);
      const err = relErr(await gpu!.read(o), want);
      assert.ok(err < 2e-3, `hgemm ${M}x${N}x${K}: rel err ${err} (f16 products and 16-deep f16 partial sums) ${seedNote()}`);
    }
  });

  test('rmsnorm, softmax, logsumexp, silu*mul, add, embed, f16/bf16 conversion and rounding, hadamard, fake quantization', async (t) => {
    if (skip) return t.skip(skip);
    const rows = 5, n = 300, x = randn(rows * n, r, 3), w = randn(n, r), u = randn(rows * n, r);
    await same('rmsnorm', (be) => { const o = be.alloc([rows, n]); ops.rmsnorm(be, up(be, x, [rows, n]), up(be, w, [n]), 1e-5, o); return o; });
    await same('softmax', (be) => { const tx = up(be, x, [rows, n]); ops.softmax(be, tx); return tx; });
    await same('logsumexp', (be) => { const o = be.alloc([rows]); ops.logsumexp(be, up(be, x, [rows, n]), o); return o; });
    await same('silu_mul', (be) => { const o = be.alloc([rows * n]); ops.siluMul(be, up(be, x, [rows * n]), up(be, u, [rows * n]), o); return o; });
    await same('add', (be) => { const a = up(be, x, [rows * n]); ops.addInPlace(be, a, up(be, u, [rows * n])); return a; });
    const ids = Int32Array.from({ length: 7 }, () => Math.floor(r() * rows));
    await same('embed', (be) => { const o = be.alloc([7, n]); ops.embed(be, up(be, x, [rows, n]), up(be, ids, [7], 'i32'), o); return o; }, 0);
    const h16 = Uint16Array.from(x.subarray(0, 301), (v) => f32ToF16Bits(v)), b16 = Uint16Array.from(x.subarray(0, 301), (v) => f32ToBf16Bits(v));
    await same('f16 -> f32', (be) => { const o = be.alloc([301]); ops.toF32(be, up(be, h16, [301], 'f16'), o); return o; }, 0);
    await same('bf16 -> f32', (be) => { const o = be.alloc([301]); ops.toF32(be, up(be, b16, [301], 'bf16'), o); return o; }, 0);
    await same('round to bf16', (be) => { const a = up(be, x, [rows * n]); ops.roundTo(be, a, 'bf16'); return a; }, 0);
    // f16 subnormals to overflow (infinity): bit-exact with the CPU kernel
    const wide = Float32Array.from(x, (v, i) => v * 10 ** ((i % 13) - 7));
    const rounded = await Promise.all(([cpu, gpu!] as Backend[]).map(async (be) => { const a = up(be, wide, [rows * n]); ops.roundTo(be, a, 'f16'); return be.read(a); }));
    const bad = rounded[0]!.findIndex((v, i) => v !== rounded[1]![i]);
    assert.equal(bad, -1, `round to f16: ${wide[bad]} -> cpu ${rounded[0]![bad]}, webgpu ${rounded[1]![bad]}`);
    for (const hn of [64, 48 * 4]) {
      const hx = randn(3 * hn, r);
      await same(`hadamard ${hn}`, (be) => { const a = up(be, hx, [3, hn]); ops.hadamard(be, a, hn); return a; });
    }
    for (const asym of [false, true]) {
      await same(`fake quant asym=${asym}`, (be) => { const a = up(be, x, [rows * n]); ops.fakeQuant(be, a, { n, group: 60, bits: 4, asym, clip: 0.9 }); return a; }, 1e-5);
    }
  });

  test('rope (both pairings) and causal GQA attention with a cache offset and a sliding window', async (t) => {
    if (skip) return t.skip(skip);
    const T = 6, heads = 4, kvHeads = 2, hd = 16, pos0 = 5;
    const { cos, sin } = ropeTables(hd, 64, 10000);
    for (const neox of [true, false]) {
      const x = randn(T * heads * hd, r);
      await same(`rope neox=${neox}`, (be) => { const a = up(be, x, [T, heads * hd]); ops.rope(be, a, up(be, cos, [64, hd / 2]), up(be, sin, [64, hd / 2]), { T, heads, headDim: hd, pos0, neox }); return a; });
    }
    const S = pos0 + T;
    const q = randn(T * heads * hd, r, 2), k = randn(S * kvHeads * hd, r, 2), v = randn(S * kvHeads * hd, r);
    for (const window of [0, 4]) {
      await same(`attention window=${window}`, (be) => {
        const o = be.alloc([T, heads * hd]);
        ops.attention(be, up(be, q, [T, heads * hd]), up(be, k, [S, kvHeads * hd]), up(be, v, [S, kvHeads * hd]), o, { T, nHeads: heads, nKVHeads: kvHeads, headDim: hd, pos0, window, scale: 0.25 });
        return o;
      });
    }
  });

  test('block-sparse flash attention (dense, lists, bitmap, lse) and block mass', async (t) => {
    if (skip) return t.skip(skip);
    for (const [heads, tokens, headDim, block] of [[1, 100, 64, 64], [1, 72, 128, 64], [2, 80, 32, 32]] as const) {
      const n = heads * tokens * headDim, p = { heads, tokens, headDim, block, scale: 1 / Math.sqrt(headDim) };
      const q = randn(n, r, 2), k = randn(n, r, 2), v = randn(n, r);
      const nb = Math.ceil(tokens / block);
      const mask = BlockMask.from(heads, tokens, block, (h, qb, kb) => (h + qb + kb) % 3 !== 1 && !(h === 0 && qb === 1));
      const tag = `${heads}x${tokens}x${headDim} block ${block}`;
      await same(`dense ${tag}`, (be) => {
        const o = be.alloc([n]), lse = be.alloc([heads * tokens]), mass = be.alloc([heads * nb * nb]);
        const tq = up(be, q, [n]), tk = up(be, k, [n]);
        ops.blockAttention(be, tq, tk, up(be, v, [n]), o, p, undefined, lse);
        ops.blockMass(be, tq, tk, lse, mass, p);
        return [o, lse, mass];
      }, 2e-5);
      for (const kind of ['lists', 'bitmap'] as const) {
        await same(`${kind} ${tag}`, (be) => {
          const o = be.alloc([n]);
          ops.blockAttention(be, up(be, q, [n]), up(be, k, [n]), up(be, v, [n]), o, p, kind === 'lists' ? mask.upload(be) : mask.uploadBitmap(be));
          return o;
        }, 2e-5);
      }
    }
  });

  test('a tiny LLaMA (GQA, untied) through the unchanged model code: logits and cached decoding match the cpu backend', async (t) => {
    if (skip) return t.skip(skip);
    const spec: TinySpec = { modelType: 'llama', dtype: 'bf16', dim: 32, hidden: 72, layers: 2, heads: 4, kvHeads: 2, vocab: 53, tied: false };
    const dir = writeTinyModel(spec, tinyWeights(spec, r));
    const ids = Array.from({ length: 9 }, () => Math.floor(r() * spec.vocab));
    const mc = await loadModel(cpu, dir), mg = await loadModel(gpu!, dir);
    const want = await cpu.read(mc.forward(ids)), got = await gpu!.read(mg.forward(ids));
    assert.ok(relErr(got, want) < 1e-4, `logits rel err ${relErr(got, want)} ${seedNote()}`);
    const cache = mg.newCache(16);
    for (let i = 0; i < ids.length; i++) {
      const step = await gpu!.read(mg.forward([ids[i]!], { cache }));
      assert.ok(relErr(step, want.subarray(i * spec.vocab, (i + 1) * spec.vocab)) < 1e-4, `cached step ${i}`);
    }
  });

  test('sparse checkpoints (lithe pack --sparse: bitmask int8 and int4, 1x8 blocks, 2:4 int8) give the cpu backend\'s logits and cached decoding', async (t) => {
    if (skip) return t.skip(skip);
    const spec: TinySpec = { modelType: 'llama', dtype: 'f32', dim: 64, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 61, tied: false };
    const dense = writeTinyModel(spec, tinyWeights(spec, r)), root = tempDir('lithe-webgpu-sparse-');
    const pruned = path.join(root, 'pruned'), pruned24 = path.join(root, 'pruned24');
    for (const [out, extra] of [[pruned, ['--sparsity', '0.6']], [pruned24, ['--nm', '2:4']]] as const) {
      const res = runLithe(['prune', dense, '--method', 'magnitude', ...extra, '--storage', 'dense', '--out', out, '--json']);
      assert.equal(res.code, 0, res.stderr);
    }
    const ids = Array.from({ length: 7 }, () => Math.floor(r() * spec.vocab));
    for (const [label, src, flags] of [['bitmask int8', pruned, ['--layout', 'bitmask', '--w-bits', '8', '--w-group', '32']], ['bitmask int4', pruned, ['--layout', 'bitmask', '--w-bits', '4', '--w-group', '64']],
      ['1x8 blocks f32', pruned, ['--layout', 'block8']], ['2:4 int8', pruned24, ['--layout', 'nm', '--w-bits', '8', '--w-group', '16']]] as const) {
      const dir = path.join(root, label.replace(/\W+/g, '-'));
      const res = runLithe(['pack', src, '--sparse', ...flags, '--out', dir, '--json']);
      assert.equal(res.code, 0, res.stderr);
      const mc = await loadModel(cpu, dir), mg = await loadModel(gpu!, dir);
      const want = await cpu.read(mc.forward(ids)), got = await gpu!.read(mg.forward(ids));
      assert.ok(relErr(got, want) < 1e-4, `${label}: logits rel err ${relErr(got, want)} ${seedNote()}`);
      const cache = mg.newCache(8);
      for (let i = 0; i < ids.length; i++) {
        const step = await gpu!.read(mg.forward([ids[i]!], { cache }));
        assert.ok(relErr(step, want.subarray(i * spec.vocab, (i + 1) * spec.vocab)) < 1e-4, `${label}: cached step ${i}`);
      }
    }
  });

  test('LITHE_WEBGPU_BATCH: anything but an integer from 1 to 256 is refused in one line', async (t) => {
    if (skip) return t.skip(skip);
    for (const v of ['2.5', '0', '257', 'abc']) {
      process.env['LITHE_WEBGPU_BATCH'] = v;
      try {
        await assert.rejects(WebGpuBackend.create(), (e: Error) => e instanceof InputError && e.message === `LITHE_WEBGPU_BATCH: expected an integer from 1 to 256, got "${v}"`);
      } finally {
        delete process.env['LITHE_WEBGPU_BATCH'];
      }
    }
  });

  test('kernel profile: every dispatch timed once under its kernel, across batches, results unchanged', async (t) => {
    if (skip) return t.skip(skip);
    if (!gpu!.features.includes('timestamp-query')) return t.skip(`no timestamp-query on ${gpu!.description}`);
    // 300 additions (more than one batch of 256) and 2 fills: out = 2 + 300 y
    const n = 4099, y = randn(n, r), out = gpu!.alloc([n]), b = up(gpu!, y, [n]);
    gpu!.startProfile();
    ops.run(gpu!, K.FILL, { x: out, value: 1 });
    ops.run(gpu!, K.FILL, { x: out, value: 2 });
    for (let i = 0; i < 300; i++) ops.addInPlace(gpu!, out, b);
    const got = await gpu!.read(out), prof = await gpu!.stopProfile();
    assert.deepEqual([...prof.keys()].sort(), ['add', 'fill']);
    assert.equal(prof.get('add')!.calls, 300);
    assert.equal(prof.get('fill')!.calls, 2);
    for (const [k, v] of prof) assert.ok(v.ms > 0 && Number.isFinite(v.ms), `${k}: ${v.ms} ms`);
    assert.ok(relErr(got, Float32Array.from(y, (v) => 2 + 300 * v)) < 1e-5, seedNote());
    await assert.rejects(gpu!.stopProfile(), /stopProfile without startProfile/);
    for (const tt of [b, out]) gpu!.free(tt);
  });

  test('dispatches are batched: results stay in order across writes, and a bad shader is reported naming its kernel', async (t) => {
    if (skip) return t.skip(skip);
    // a batch of dependent dispatches interleaved with a write into a tensor the batch read before
    const n = 1000, x = randn(n, r), y = randn(n, r);
    const out = up(gpu!, x, [n]), b = up(gpu!, y, [n]);
    ops.addInPlace(gpu!, out, b); // out = x + y
    ops.addInPlace(gpu!, out, b); // out = x + 2y
    gpu!.write(b, x); // b = x from here on
    ops.addInPlace(gpu!, out, b); // out = 2x + 2y
    const got = await gpu!.read(out);
    // norm-wise: an element where 2x + 2y nearly cancels has a large relative error from float32 rounding alone
    const err = relErr(got, Float64Array.from(x, (v, i) => 2 * v + 2 * y[i]!));
    assert.ok(err < 1e-6, `rel err ${err} ${seedNote()}`);
    const BROKEN = defineOp<{ t: Tensor }>({
      name: 'broken_test_op', check() {},
      webgpu(k, { t: tt }) { k.dispatch('broken_test_kernel', () => '@compute @workgroup_size(1) fn main() { let v: f32 = undefined_name; }', [tt], [], 1); },
    });
    ops.run(gpu!, BROKEN, { t: out });
    await assert.rejects(gpu!.finish(), (e: Error) => /broken_test_kernel/.test(e.message) && /undefined_name/.test(e.message));
    for (const tt of [b, out]) gpu!.free(tt);
  });
});
