// Sparse checkpoints as a user makes and runs them: `lithe prune --storage sparse` and `lithe pack --sparse` score as
// the dense-with-zeros checkpoint does, take fewer bytes, and a damaged sparse checkpoint is refused at load naming
// the tensor (never a wrong answer or an out-of-bounds read).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import type { TensorMap } from '../src/io/raw-tensor.js';
import { repoRoot, rng, runLithe } from './helpers.js';
import { tinyWeights, writeTinyModel, type TinySpec } from './tiny-models.js';
import { tempDir } from './temp-dir.js';

const TEXT = path.join(repoRoot, 'assets/text/tinystories-val-200.txt');
const tmp = tempDir('lithe-sparse-');
const spec: TinySpec = { modelType: 'llama', dtype: 'f32', dim: 64, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 512, tied: false, maxPos: 256 };
const model = writeTinyModel(spec, tinyWeights(spec, rng()));
writeFileSync(path.join(model, 'tokenizer.bin'), readFileSync(path.join(repoRoot, 'assets/stories260K/tok512.bin')));

const lithe = (...args: string[]) => runLithe(args);
const ppl = (dir: string) => {
  const r = lithe('eval', 'ppl', dir, '--data', TEXT, '--seqlen', '64', '--max-windows', '8', '--json');
  assert.equal(r.code, 0, r.stderr);
  return r.json()['ppl'] as number;
};
const info = (dir: string) => {
  const r = lithe('info', dir, '--json');
  assert.equal(r.code, 0, r.stderr);
  return r.json();
};
const prune = (out: string, ...args: string[]) => {
  const r = lithe('prune', model, '--method', 'wanda', '--nsamples', '4', '--seqlen', '64', '--out', path.join(tmp, out), '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return path.join(tmp, out);
};

/**
 * A dense float32 checkpoint (into `out`) holding the weights an int4 sparse checkpoint `dir` stores: every kept
 * weight s (q - z) decoded here from the file's bytes (mask or 2:4 index stream, codes two per byte, low nibble
 * first), zeros elsewhere; shapes from the dense source `src`, whose every weight must be within half a grid step of
 * the decoded one (round to nearest), and zero where the source is.
 */
function densifyQ4(dir: string, src: string, out: string): string {
  const st = readSafetensors(path.join(dir, 'model.safetensors')).tensors, shapes = readSafetensors(path.join(src, 'model.safetensors')).tensors;
  const nm = (JSON.parse(readFileSync(path.join(dir, 'lithe.json'), 'utf8')) as { sparse: { layout: string } }).sparse.layout === 'nm';
  const tensors: TensorMap = new Map();
  for (const [name, t] of st) {
    if (!name.endsWith('.sparse_layout')) {
      if (!/\.sparse_\w+$/.test(name)) tensors.set(name, t);
      continue;
    }
    const base = name.replace(/\.sparse_layout$/, ''), [rows, cols] = shapes.get(`${base}.weight`)!.shape as [number, number];
    const layout = new Uint8Array(t.data), codes = new Uint8Array(st.get(`${base}.sparse_values`)!.data);
    const f32 = (suffix: string) => new Float32Array(new Uint8Array(st.get(`${base}${suffix}`)!.data).buffer);
    const scales = f32('.sparse_scales'), zeros = f32('.sparse_zeros'), w = new Float32Array(rows * cols);
    let k = 0;
    const put = (row: number, c: number) => {
      const q = (codes[k >> 1]! >> (k % 2 ? 4 : 0)) & 15, g = row * (cols / 32) + Math.floor(c / 32);
      w[row * cols + c] = Math.fround(scales[g]! * (q - zeros[g]!));
      k++;
    };
    for (let row = 0; row < rows; row++) {
      if (nm) { // 2:4: per row cols / 8 bytes, 2 bits per kept column, two per group of 4
        for (let e = 0; e < cols / 2; e++) put(row, 4 * Math.floor(e / 2) + ((layout[row * (cols / 8) + (e >> 2)]! >> (2 * (e % 4))) & 3));
      } else { // bitmask: 4 ceil(cols / 32) bytes a row
        for (let c = 0; c < cols; c++) if ((layout[row * 4 * Math.ceil(cols / 32) + (c >> 3)]! >> (c & 7)) & 1) put(row, c);
      }
    }
    const source = shapes.get(`${base}.weight`)!;
    assert.equal(source.dtype, 'f32');
    const orig = new Float32Array(new Uint8Array(source.data).buffer);
    for (let i = 0; i < w.length; i++) {
      const step = scales[Math.floor(i / cols) * (cols / 32) + Math.floor((i % cols) / 32)]!;
      assert.ok(orig[i] === 0 ? w[i] === 0 : Math.abs(w[i]! - orig[i]!) <= step * (0.5 + 1e-6), `${base}[${i}]: decoded ${w[i]} vs source ${orig[i]} (step ${step})`);
    }
    tensors.set(`${base}.weight`, { dtype: 'f32', shape: [rows, cols], data: new Uint8Array(w.buffer) });
  }
  writeFileSync(path.join(out, 'model.safetensors'), encodeSafetensors(tensors));
  for (const f of ['config.json', 'tokenizer.bin']) writeFileSync(path.join(out, f), readFileSync(path.join(dir, f)));
  return out;
}

/** Rewrites one tensor of a checkpoint's model.safetensors. */
function damage(dir: string, name: string, change: (data: Uint8Array) => Uint8Array): void {
  const file = path.join(dir, 'model.safetensors');
  const tensors: TensorMap = new Map(readSafetensors(file).tensors);
  const t = tensors.get(name)!;
  const data = change(new Uint8Array(t.data));
  tensors.set(name, { ...t, shape: [data.length / (t.dtype === 'f32' ? 4 : 1)], data });
  writeFileSync(file, encodeSafetensors(tensors));
}

describe('sparse checkpoints', () => {
  test('prune --storage sparse: bitmask (60%) and 2:4 score as the dense-with-zeros checkpoint, in fewer bytes', () => {
    for (const target of [['--sparsity', '0.6'], ['--nm', '2:4']]) {
      const dense = prune(`dense${target[1]}`, ...target, '--storage', 'dense'), sparse = prune(`sparse${target[1]}`, ...target, '--storage', 'sparse');
      const pd = ppl(dense), ps = ppl(sparse);
      // perplexity runs every linear on many rows: the sparse GEMM adds the same products in the dense GEMM's order
      assert.equal(ps, pd, `${target}: sparse ${ps} vs dense ${pd}`);
      const id = info(dense), is = info(sparse);
      assert.match(String(is['linear_storage']), target[0] === '--nm' ? /^sparse 2:4, float32/ : /^sparse bitmask, float32/);
      assert.equal(id['linear_storage'], 'dense f32');
      assert.ok((is['linear_bytes'] as number) < (id['linear_bytes'] as number), `${is['linear_bytes']} >= ${id['linear_bytes']}`);
    }
  });

  test('pack --sparse of a dense pruned checkpoint: the same scores (f32); int8 codes: the bytes worked out by hand, close scores', () => {
    const dense = path.join(tmp, 'dense0.6');
    const f32 = lithe('pack', dense, '--sparse', '--out', path.join(tmp, 'packed-f32'), '--json');
    assert.equal(f32.code, 0, f32.stderr);
    const pd = ppl(dense), pf = ppl(path.join(tmp, 'packed-f32'));
    assert.equal(pf, pd, `packed ${pf} vs dense ${pd}`);
    const q8 = lithe('pack', dense, '--sparse', '--w-bits', '8', '--w-group', '32', '--out', path.join(tmp, 'packed-q8'), '--json');
    assert.equal(q8.code, 0, q8.stderr);
    const pq = ppl(path.join(tmp, 'packed-q8'));
    assert.ok(Math.abs(pq - pd) / pd < 0.02, `int8 ${pq} vs dense ${pd}`);
    // by hand: Wanda at 60% keeps 26 of 64 (and 52 of 128) columns of every row = 0.40625; a bitmask is 1/8 byte per
    // weight; int8 codes 1 byte per kept weight plus an f32 scale and zero per 32 columns (8 / 32); f32 values 4 bytes
    assert.ok(Math.abs((info(path.join(tmp, 'packed-q8'))['linear_bytes_per_weight'] as number) - (0.125 + 0.40625 + 0.25)) < 1e-9);
    assert.ok(Math.abs((info(path.join(tmp, 'packed-f32'))['linear_bytes_per_weight'] as number) - (0.125 + 4 * 0.40625)) < 1e-9);
    // --dtype bf16: the tensors that stay dense (embeddings, norms) are written in bf16, the sparse linears as before
    const q8b = lithe('pack', dense, '--sparse', '--w-bits', '8', '--w-group', '32', '--dtype', 'bf16', '--out', path.join(tmp, 'packed-q8-bf16'), '--json');
    assert.equal(q8b.code, 0, q8b.stderr);
    const st = readSafetensors(path.join(tmp, 'packed-q8-bf16', 'model.safetensors')).tensors;
    assert.equal(st.get('model.embed_tokens.weight')!.dtype, 'bf16');
    assert.equal(st.get('model.norm.weight')!.dtype, 'bf16');
    assert.equal(st.get('model.layers.0.mlp.up_proj.sparse_values')!.dtype, 'u8');
    const bytes = (d: string) => [...readSafetensors(path.join(tmp, d, 'model.safetensors')).tensors.values()].reduce((a, t) => a + t.data.byteLength, 0);
    // the embedding and lm_head (2 x 512 x 64) and the norms (5 x 64) at 2 bytes instead of 4
    assert.equal(bytes('packed-q8') - bytes('packed-q8-bf16'), 2 * (2 * 512 * 64 + 5 * 64));
    const pqb = ppl(path.join(tmp, 'packed-q8-bf16'));
    assert.ok(Math.abs(pqb - pq) / pq < 0.01, `bf16 embeddings ${pqb} vs f32 ${pq}`);
    const badType = lithe('pack', dense, '--sparse', '--dtype', 'f8', '--out', path.join(tmp, 'packed-f8'));
    assert.equal(badType.code, 2);
    assert.match(badType.stderr, /--dtype: expected f32, f16 or bf16, got "f8"/);
    const nm = lithe('pack', path.join(tmp, 'dense2:4'), '--sparse', '--out', path.join(tmp, 'packed-nm'), '--json');
    assert.equal(nm.code, 0, nm.stderr);
    assert.equal((nm.json()['sparse'] as { layout: string }).layout, 'nm');
    const bad = lithe('pack', dense, '--sparse', '--layout', 'nm', '--out', path.join(tmp, 'packed-bad'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--layout nm needs every linear/);
  });

  test('pack --sparse --w-bits 4 (bitmask, 2:4): scores as the dense checkpoint of its dequantized codes; bytes by hand', () => {
    for (const [from, name] of [['dense0.6', 'packed-q4'], ['dense2:4', 'packed-q4-nm']] as const) {
      const out = path.join(tmp, name);
      const res = lithe('pack', path.join(tmp, from), '--sparse', '--w-bits', '4', '--w-group', '32', '--out', out, '--json');
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(res.json()['sparse'], { format: 'lithe-sparse-v1', layout: name.endsWith('nm') ? 'nm' : 'bitmask', ...(name.endsWith('nm') ? { n: 2, m: 4 } : {}), values: 'q4', group: 32 });
      const dense = densifyQ4(out, path.join(tmp, from), tempDir('lithe-sparse-q4-dense-'));
      const p4 = ppl(out), pd = ppl(dense);
      assert.ok(Math.abs(p4 - pd) / pd < 1e-6, `${name}: sparse int4 ${p4} vs its dequantized dense checkpoint ${pd}`);
      const is = info(out);
      assert.match(String(is['linear_storage']), name.endsWith('nm') ? /^sparse 2:4, int4 codes, group 32$/ : /^sparse bitmask, int4 codes, group 32$/);
      // by hand: bitmask 1/8 byte per weight; 26 of 64 (52 of 128) kept = 0.40625 at half a byte each (even counts per
      // row: no half-used bytes); an f32 scale and zero per 32 columns = 0.25. 2:4: the index stream (4 bits per 4
      // columns = 1/8) plus its 4 trailing bytes in each of the 14 linears, half the weights kept at half a byte
      const weights = 2 * (64 * 64 * 2 + 32 * 64 * 2 + 128 * 64 * 3);
      const want = name.endsWith('nm') ? 0.125 + 56 / weights + 0.25 + 0.25 : 0.125 + 0.40625 / 2 + 0.25;
      assert.ok(Math.abs((is['linear_bytes_per_weight'] as number) - want) < 1e-9, `${name}: ${is['linear_bytes_per_weight']} bytes per weight, expected ${want}`);
    }
    for (const [args, message] of [[['--w-bits', '3'], /--w-bits: sparse storage holds float32 values, int8 codes \(8\) or int4 codes \(4\); got 3/],
      [['--w-bits', '4', '--layout', 'block8'], /--w-bits: 1x8 blocks \(--layout block8\) hold float32 values only/]] as const) {
      const bad = lithe('pack', path.join(tmp, 'dense0.6'), '--sparse', ...args, '--out', path.join(tmp, 'packed-bad-q4'));
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    }
  });

  test('pack --sparse --w-bits 4 of a packed RTN int4 checkpoint: the quantizer\'s codes, scales and zeros kept exactly', () => {
    const packed = path.join(tmp, 'rtn4');
    const q = lithe('quantize', path.join(tmp, 'dense0.6'), '--method', 'rtn', '--w-bits', '4', '--w-group', '32', '--out', packed, '--json');
    assert.equal(q.code, 0, q.stderr);
    const out = path.join(tmp, 'rtn4-sparse');
    const res = lithe('pack', packed, '--sparse', '--w-bits', '4', '--out', out, '--json');
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(res.json()['sparse'], { format: 'lithe-sparse-v1', layout: 'bitmask', values: 'q4', group: 32 });
    // decoded here from both files: the packed codes (32-column chunks of 16 bytes, column c0 + j in the low nibble
    // of byte j, c0 + 16 + j in the high one) at the kept positions, in row-major order, are the sparse codes
    const a = readSafetensors(path.join(packed, 'model.safetensors')).tensors, b = readSafetensors(path.join(out, 'model.safetensors')).tensors;
    let linears = 0;
    for (const [name, t] of a) {
      if (!name.endsWith('.qweight')) continue;
      linears++;
      const base = name.slice(0, -8), rows = t.shape[0]!, cols = t.shape[1]! * 2, qw = new Uint8Array(t.data);
      const f32 = (m: TensorMap, n: string) => new Float32Array(new Uint8Array(m.get(n)!.data).buffer);
      assert.deepEqual(f32(b, `${base}.sparse_scales`), f32(a, `${base}.scales`));
      assert.deepEqual(f32(b, `${base}.sparse_zeros`), f32(a, `${base}.zeros`));
      const zeros = f32(a, `${base}.zeros`), mask = new Uint8Array(b.get(`${base}.sparse_layout`)!.data), codes = new Uint8Array(b.get(`${base}.sparse_values`)!.data);
      const ms = 4 * Math.ceil(cols / 32);
      let k = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const byte = qw[r * (cols / 2) + 16 * Math.floor(c / 32) + (c % 16)]!, code = c % 32 < 16 ? byte & 15 : byte >> 4;
          const kept = ((mask[r * ms + (c >> 3)]! >> (c & 7)) & 1) === 1;
          assert.equal(kept, code !== zeros[r * (cols / 32) + Math.floor(c / 32)], `${base}[${r}, ${c}]: kept ${kept}, code ${code}`);
          if (kept) { assert.equal((codes[k >> 1]! >> (k % 2 ? 4 : 0)) & 15, code, `${base}[${r}, ${c}]`); k++; }
        }
      }
      assert.equal(codes.length, Math.ceil(k / 2));
    }
    assert.equal(linears, 14);
    const pp = ppl(packed), ps = ppl(out);
    assert.ok(Math.abs(ps - pp) / pp < 1e-6, `sparse int4 ${ps} vs packed int4 ${pp}`);
    const lj = JSON.parse(readFileSync(path.join(out, 'lithe.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(lj['packed'], undefined);
    assert.equal(lj['packed_from'], packed);
    // --dtype bf16: the tensors that stay dense in bf16, the sparse linears byte for byte as before
    const half = lithe('pack', packed, '--sparse', '--w-bits', '4', '--dtype', 'bf16', '--out', path.join(tmp, 'rtn4-sparse-bf16'), '--json');
    assert.equal(half.code, 0, half.stderr);
    const hb = readSafetensors(path.join(tmp, 'rtn4-sparse-bf16', 'model.safetensors')).tensors;
    assert.equal(hb.get('model.embed_tokens.weight')!.dtype, 'bf16');
    assert.equal(hb.get('model.norm.weight')!.dtype, 'bf16');
    for (const [name, t] of b) if (name.includes('.sparse_')) assert.deepEqual(new Uint8Array(hb.get(name)!.data), new Uint8Array(t.data), name);
    const bad = lithe('pack', packed, '--sparse', '--w-bits', '8', '--out', path.join(tmp, 'rtn4-bad'));
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--w-bits: .*rtn4 holds packed int4 codes: pack them with --w-bits 4/);
    const group = lithe('pack', packed, '--sparse', '--w-bits', '4', '--w-group', '64', '--out', path.join(tmp, 'rtn4-bad-group'));
    assert.equal(group.code, 2, group.stderr);
    assert.match(group.stderr, /--w-group: .*rtn4 holds codes quantized in groups of \d+, which are kept as they are; got 64/);
    assert.equal(existsSync(path.join(tmp, 'rtn4-bad-group')), false);
  });

  test('a damaged sparse checkpoint: exit 2 at load naming the tensor', () => {
    const src = path.join(tmp, 'sparse0.6'), nm = path.join(tmp, 'sparse2:4'), q4 = path.join(tmp, 'packed-q4');
    const copy = (from: string, to: string) => {
      const dir = tempDir('lithe-sparse-bad-');
      for (const f of ['config.json', 'model.safetensors', 'lithe.json', 'tokenizer.bin']) writeFileSync(path.join(dir, f), readFileSync(path.join(from, f)));
      return path.join(dir, to);
    };
    const cases: [string, string, string, (d: Uint8Array) => Uint8Array, RegExp][] = [
      ['one value too few', src, 'model.layers.1.mlp.up_proj.sparse_values', (d) => d.subarray(0, d.length - 4), /model\.layers\.1\.mlp\.up_proj\.sparse_values holds \d+ values, but its layout keeps \d+/],
      ['one more mask bit than values', src, 'model.layers.0.self_attn.q_proj.sparse_layout', (d) => {
        const c = d.slice(), i = c.findIndex((b) => b !== 0xff);
        c[i]! |= ~c[i]! & -~c[i]!; // set the byte's lowest clear bit: a pruned weight marked kept
        return c;
      }, /model\.layers\.0\.self_attn\.q_proj\.sparse_values holds \d+ values, but its layout keeps \d+/],
      ['a truncated mask', src, 'model.layers.0.mlp.down_proj.sparse_layout', (d) => d.subarray(0, d.length - 1), /model\.layers\.0\.mlp\.down_proj\.sparse_layout has \d+ bytes, expected \d+/],
      ['int4 codes one byte short', q4, 'model.layers.1.mlp.down_proj.sparse_values', (d) => d.subarray(0, d.length - 1), /model\.layers\.1\.mlp\.down_proj\.sparse_values holds \d+ bytes, but its layout keeps \d+ int4 codes \(\d+ bytes\)/],
      ['int4 codes with one more mask bit', q4, 'model.layers.0.mlp.gate_proj.sparse_layout', (d) => { const c = d.slice(), i = c.findIndex((b) => b !== 0xff); c[i]! |= ~c[i]! & -~c[i]!; return c; },
        /model\.layers\.0\.mlp\.gate_proj\.sparse_values holds \d+ bytes, but its layout keeps \d+ int4 codes/],
      ['N:M indices out of order', nm, 'model.layers.0.mlp.gate_proj.sparse_layout', (d) => { const c = d.slice(); c[0] = 0x01; return c; }, /model\.layers\.0\.mlp\.gate_proj: indices of row 0, group 0 are not strictly increasing/],
    ];
    for (const [what, from, name, change, message] of cases) {
      const dir = path.dirname(copy(from, 'x'));
      damage(dir, name, change);
      const r = lithe('eval', 'ppl', dir, '--data', TEXT, '--seqlen', '64', '--max-windows', '1');
      assert.equal(r.code, 2, `${what}: exit ${r.code} ${r.stderr}`);
      assert.match(r.stderr, message, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: ${r.stderr}`);
    }
    // fuzz: random bytes of an N:M index stream: every load either works or is refused with exit 2 (never exit 1)
    const r = rng();
    for (let k = 0; k < 12; k++) {
      const dir = path.dirname(copy(nm, 'x'));
      damage(dir, 'model.layers.1.self_attn.v_proj.sparse_layout', (d) => { const c = d.slice(); for (let j = 0; j < 3; j++) c[Math.floor(r() * c.length)] = Math.floor(r() * 256); return c; });
      const res = lithe('info', dir);
      assert.ok(res.code === 0 || res.code === 2, `fuzz ${k}: exit ${res.code} ${res.stderr}`);
    }
    // the same for int4 checkpoints: random bytes of a bitmask, of int4 codes, and of a 2:4 int4 index stream
    for (let k = 0; k < 9; k++) {
      const [from, tensor] = [[q4, 'model.layers.1.self_attn.o_proj.sparse_layout'], [q4, 'model.layers.0.mlp.up_proj.sparse_values'],
        [path.join(tmp, 'packed-q4-nm'), 'model.layers.0.self_attn.k_proj.sparse_layout']][k % 3]!;
      const dir = path.dirname(copy(from, 'x'));
      damage(dir, tensor, (d) => { const c = d.slice(); for (let j = 0; j < 3; j++) c[Math.floor(r() * c.length)] = Math.floor(r() * 256); return c; });
      const res = lithe('eval', 'ppl', dir, '--data', TEXT, '--seqlen', '64', '--max-windows', '1');
      assert.ok(res.code === 0 || res.code === 2, `int4 fuzz ${k} (${tensor}): exit ${res.code} ${res.stderr}`);
      if (res.code === 2) assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
    }
  });
});
