/**
 * User-level operations: check shapes and types once, here, then dispatch to whichever backend holds the
 * tensors. Backends (cpu/, later webgpu/) may assume well-formed calls. Shape errors are programming errors
 * (plain Error), not user input errors.
 */
import type { AttentionParams, Backend, BlockAttentionParams, BlockMaskTensors, FakeQuantParams, MixedKV, PackedWeight, RopeParams } from '../backend/backend.js';
import type { Tensor } from '../tensor/tensor.js';

function fail(op: string, detail: string): never {
  throw new Error(`${op}: ${detail}`);
}

function f32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.dtype !== 'f32') fail(op, `expected f32 tensors, got ${t.dtype}`);
}

const last = (t: Tensor) => t.shape[t.shape.length - 1]!;

/** out[M,N] = x[M,K] . w[N,K]^T (+ bias[N]) */
export function linear(be: Backend, x: Tensor, w: Tensor | PackedWeight, bias: Tensor | null, out: Tensor): void {
  if (isPacked(w)) {
    f32('linear', x, out);
    const [N, K] = w.shape, M = x.size / K;
    if (last(x) !== K || !Number.isInteger(M) || out.size !== M * N || last(out) !== N || (bias && bias.size !== N)) {
      fail('linear', `x[${x.shape}] packed w[${w.shape}] out[${out.shape}] do not fit`);
    }
    be.linearPacked(x, w, bias, out);
    return;
  }
  f32('linear', x, w, out);
  if (w.shape.length !== 2) fail('linear', `weight must be 2-D, got [${w.shape}]`);
  const [N, K] = w.shape as [number, number];
  const M = x.size / K;
  if (last(x) !== K || !Number.isInteger(M) || out.size !== M * N || last(out) !== N || (bias && bias.size !== N)) {
    fail('linear', `x[${x.shape}] w[${w.shape}] bias[${bias?.shape ?? ''}] out[${out.shape}] do not fit`);
  }
  be.linear(x, w, bias, out);
}

export function isPacked(w: Tensor | PackedWeight): w is PackedWeight {
  return (w as PackedWeight).kind === 'packed';
}

export function rmsnorm(be: Backend, x: Tensor, w: Tensor, eps: number, out: Tensor): void {
  f32('rmsnorm', x, w, out);
  if (last(x) !== w.size || out.size !== x.size) fail('rmsnorm', `x[${x.shape}] w[${w.shape}] out[${out.shape}] do not fit`);
  be.rmsnorm(x, w, eps, out);
}

export function rope(be: Backend, x: Tensor, cos: Tensor, sin: Tensor, p: RopeParams): void {
  f32('rope', x, cos, sin);
  if (p.headDim % 2 || x.shape[0] !== p.T || p.heads * p.headDim > last(x)) fail('rope', `x[${x.shape}] does not hold ${p.T} x ${p.heads} heads of ${p.headDim}`);
  if (cos.shape[1] !== p.headDim / 2 || cos.shape[0]! < p.pos0 + p.T) fail('rope', `tables [${cos.shape}] do not cover positions ${p.pos0}..${p.pos0 + p.T - 1}`);
  be.rope(x, cos, sin, p);
}

export function attention(be: Backend, q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: AttentionParams, mixed?: MixedKV): void {
  f32('attention', q, k, v, out);
  const qd = p.nHeads * p.headDim, kvd = p.nKVHeads * p.headDim;
  if (p.nHeads % p.nKVHeads) fail('attention', `${p.nHeads} heads are not a multiple of ${p.nKVHeads} kv heads`);
  if (p.headDim % 4) fail('attention', `head dim ${p.headDim} is not a multiple of 4`);
  if (q.size !== p.T * qd || out.size !== q.size || last(k) !== kvd || last(v) !== kvd || k.shape[0]! < p.pos0 + p.T || v.shape[0]! < p.pos0 + p.T) {
    fail('attention', `q[${q.shape}] k[${k.shape}] v[${v.shape}] out[${out.shape}] do not fit T=${p.T} pos0=${p.pos0}`);
  }
  if (mixed && (mixed.k.size !== k.size || mixed.v.size !== v.size || mixed.bounds.dtype !== 'i32' || mixed.bounds.size !== 2 * p.T)) {
    fail('attention', `mixed k[${mixed.k.shape}] v[${mixed.v.shape}] bounds[${mixed.bounds.shape}] do not fit`);
  }
  be.attention(q, k, v, out, p, mixed);
}

function checkBlocks(op: string, p: BlockAttentionParams, ...ts: Tensor[]): number {
  f32(op, ...ts);
  if (p.block < 8 || p.block % 8) fail(op, `block ${p.block} is not a positive multiple of 8`);
  if (p.headDim % 8) fail(op, `head dim ${p.headDim} is not a multiple of 8`);
  const n = p.heads * p.tokens * p.headDim;
  for (const t of ts) if (t.size !== n) fail(op, `tensor [${t.shape}] does not hold ${p.heads} heads x ${p.tokens} tokens x ${p.headDim}`);
  return Math.ceil(p.tokens / p.block);
}

/** Non-causal flash attention on [heads, tokens, headDim], dense or block-sparse (backend.ts BlockMaskTensors). */
export function blockAttention(be: Backend, q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: BlockAttentionParams, mask?: BlockMaskTensors, lse?: Tensor): void {
  const nb = checkBlocks('blockAttention', p, q, k, v, out);
  if (mask && 'bitmap' in mask && (mask.bitmap.dtype !== 'u8' || mask.bitmap.size !== p.heads * nb * nb)) fail('blockAttention', `bitmap [${mask.bitmap.shape}] ${mask.bitmap.dtype} is not u8 [${p.heads}, ${nb}, ${nb}]`);
  if (mask && 'rowPtr' in mask && (mask.rowPtr.dtype !== 'i32' || mask.cols.dtype !== 'i32' || mask.rowPtr.size !== p.heads * nb + 1)) {
    fail('blockAttention', `rowPtr [${mask.rowPtr.shape}] is not i32 [${p.heads * nb + 1}]`);
  }
  if (lse && (lse.dtype !== 'f32' || lse.size !== p.heads * p.tokens)) fail('blockAttention', `lse [${lse.shape}] is not f32 [${p.heads}, ${p.tokens}]`);
  be.blockAttention(q, k, v, out, p, mask, lse);
}

export function blockMass(be: Backend, q: Tensor, k: Tensor, lse: Tensor, mass: Tensor, p: BlockAttentionParams): void {
  const nb = checkBlocks('blockMass', p, q, k);
  if (lse.size !== p.heads * p.tokens || mass.size !== p.heads * nb * nb) fail('blockMass', `lse [${lse.shape}] or mass [${mass.shape}] does not fit`);
  be.blockMass(q, k, lse, mass, p);
}

export function siluMul(be: Backend, g: Tensor, u: Tensor, out: Tensor): void {
  f32('siluMul', g, u, out);
  if (g.size !== u.size || out.size !== g.size) fail('siluMul', 'sizes differ');
  be.siluMul(g, u, out);
}

export function addInPlace(be: Backend, a: Tensor, b: Tensor): void {
  f32('add', a, b);
  if (a.size !== b.size) fail('add', `sizes ${a.size} and ${b.size} differ`);
  be.addInPlace(a, b);
}

/** Round x in place to the nearest f16 / bf16 values (the activations of a model run in that type). */
export function roundTo(be: Backend, x: Tensor, dtype: 'f16' | 'bf16'): void {
  f32('roundTo', x);
  be.roundTo(x, dtype);
}

/** Rows of n floats of x, each rotated in place: r <- r . H_n / sqrt(n). */
export function hadamard(be: Backend, x: Tensor, n: number): void {
  f32('hadamard', x);
  if (x.size % n) fail('hadamard', `${x.size} values are not rows of ${n}`);
  be.hadamard(x, n);
}

/** Dynamic fake-quantization of x in place (rows of p.n floats, groups of p.group). */
export function fakeQuant(be: Backend, x: Tensor, p: FakeQuantParams): void {
  f32('fakeQuant', x);
  if (x.size % p.n || p.n % p.group || p.bits < 2 || p.bits > 16) fail('fakeQuant', `x[${x.shape}] n=${p.n} group=${p.group} bits=${p.bits} do not fit`);
  be.fakeQuant(x, p);
}

export function softmax(be: Backend, x: Tensor): void {
  f32('softmax', x);
  be.softmax(x);
}

export function logsumexp(be: Backend, x: Tensor, out: Tensor): void {
  f32('logsumexp', x, out);
  if (out.size * last(x) !== x.size) fail('logsumexp', `x[${x.shape}] out[${out.shape}] do not fit`);
  be.logsumexp(x, out);
}

export function embed(be: Backend, table: Tensor, ids: Tensor, out: Tensor): void {
  f32('embed', table, out);
  if (ids.dtype !== 'i32' || out.size !== ids.size * table.shape[1]!) fail('embed', `table[${table.shape}] ids[${ids.shape}] out[${out.shape}] do not fit`);
  be.embed(table, ids, out);
}

export function toF32(be: Backend, src: Tensor, out: Tensor): void {
  if ((src.dtype !== 'f16' && src.dtype !== 'bf16') || out.dtype !== 'f32' || src.size !== out.size) fail('toF32', `${src.dtype}[${src.shape}] -> ${out.dtype}[${out.shape}]`);
  be.toF32(src, out);
}
