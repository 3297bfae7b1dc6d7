// The flash / block-sparse attention kernels against the float64 reference on fresh random inputs: dense, CSR
// lists and bitmaps, ragged last blocks, fully masked query blocks, head dims 64 and 128, 1-3 threads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { blockAttentionRef } from './reference.js';
import { BlockMask } from '../src/attention/mask.js';
import * as ops from '../src/ops/index.js';
import { randn, relErr, rng, seedNote } from './helpers.js';

const r = rng();
const backends: CpuBackend[] = [];
before(async () => {
  backends.push(await CpuBackend.create({ threads: 1 }), await CpuBackend.create({ threads: 3 }), await CpuBackend.create({ threads: 2, simd: 'simd128' }));
});
after(async () => { for (const b of backends) await b.dispose(); });

function upload(be: CpuBackend, data: Float32Array) {
  const t = be.alloc([data.length]);
  be.write(t, data);
  return t;
}

test('block-sparse flash attention matches the float64 reference (dense, lists, bitmap, empty rows, ragged blocks)', async () => {
  const cases = [
    { heads: 2, tokens: 200, headDim: 64, block: 64 },
    { heads: 3, tokens: 131, headDim: 128, block: 32 },
    { heads: 1, tokens: 256, headDim: 64, block: 128 },
    { heads: 2, tokens: 77, headDim: 16, block: 8 },
  ];
  for (const be of backends) {
    for (const c of cases) {
      const p = { ...c, scale: 1 / Math.sqrt(c.headDim) };
      const n = c.heads * c.tokens * c.headDim;
      // scores of a few units so the softmax is peaked and the online rescaling is exercised
      const q = randn(n, r, 2), k = randn(n, r, 2), v = randn(n, r);
      const tq = upload(be, q), tk = upload(be, k), tv = upload(be, v), out = be.alloc([n]), lse = be.alloc([c.heads * c.tokens]);
      const nb = Math.ceil(c.tokens / c.block);
      const bits = new Uint8Array(c.heads * nb * nb).map(() => (r() < 0.45 ? 1 : 0));
      for (let kb = 0; kb < nb; kb++) bits[(0 * nb + 1) * nb + kb] = 0; // head 0, query block 1 attends nothing
      const mask = BlockMask.from(c.heads, c.tokens, c.block, bits);
      const keep = (h: number, qb: number, kb: number) => bits[(h * nb + qb) * nb + kb] === 1;

      ops.blockAttention(be, tq, tk, tv, out, p, undefined, lse);
      const dense = blockAttentionRef(q, k, v, p);
      const tag = `${be.description} ${JSON.stringify(c)} ${seedNote()}`;
      assert.ok(relErr(await be.read(out), dense.out) < 2e-5, `dense ${tag}: ${relErr(await be.read(out), dense.out)}`);
      assert.ok(relErr(await be.read(lse), dense.lse) < 1e-5, `lse ${tag}`);
      const mass = be.alloc([c.heads * nb * nb]);
      ops.blockMass(be, tq, tk, lse, mass, p);
      assert.ok(relErr(await be.read(mass), dense.mass) < 1e-5, `mass ${tag}`);

      const sparse = blockAttentionRef(q, k, v, p, keep);
      for (const up of [mask.upload(be), mask.uploadBitmap(be)]) {
        ops.blockAttention(be, tq, tk, tv, out, p, up);
        const got = await be.read(out);
        assert.ok(relErr(got, sparse.out) < 2e-5, `sparse ${'bitmap' in up ? 'bitmap' : 'lists'} ${tag}: ${relErr(got, sparse.out)}`);
        const emptyRow = got.subarray(c.block * c.headDim, Math.min(2 * c.block, c.tokens) * c.headDim);
        assert.ok(emptyRow.every((x) => x === 0), `a query block with no key block gives zeros ${tag}`);
        up.release();
      }
      // recall of the mask from the kernel's block mass equals the reference's share of the dense softmax mass
      const rec = mask.recall(await be.read(mass)), recRef = mask.recall(dense.mass);
      for (let h = 0; h < c.heads; h++) assert.ok(Math.abs(rec[h]! - recRef[h]!) < 1e-5, `recall head ${h} ${tag}`);
      for (const t of [tq, tk, tv, out, lse, mass]) be.free(t);
    }
  }
});

test('block mask conversions and density', () => {
  const bits = Uint8Array.from([1, 0, 1, 0, 1, 1, 0, 0, 0, /* head 1 */ 1, 1, 1, 0, 0, 0, 1, 0, 1]);
  const m = BlockMask.from(2, 20, 8, bits); // blocks of 8, 8, 4 tokens
  assert.deepEqual([...m.toBitmap()], [...bits]);
  assert.deepEqual([...m.row(1, 2)], [0, 2]);
  // head 0: query blocks 0 and 1 (8 rows each) see 8 + 4 keys, block 2 none: 192 of 400 pairs
  assert.equal(m.density(0), 192 / 400);
  const d = m.withDense((b) => b === 2);
  assert.deepEqual([...d.row(0, 2)], [0, 1, 2]);
  assert.deepEqual([...d.row(0, 1)], [1, 2]);
  assert.throws(() => BlockMask.fromLists(1, 20, 8, () => [3]), /outside/);
});
