/**
 * WGSL compute kernels of the WebGPU backend (backend/webgpu). Conventions: binding 0 is a uniform block of 16
 * u32 words (`pu(i)`, `pf(i)` read word i as u32 / f32); bindings 1.. are storage buffers of f32 or u32 words.
 * Tensor views pass their element offsets as parameters, so whole buffers are bound (WebGPU binding offsets must be
 * 256-byte aligned). Large 1-D grids are dispatched as (x, y) with x <= 65535 and flattened by `gid()`.
 * Each kernel's plain-TS twin is the CPU backend's reference (kernels/reference); tests compare the two backends.
 */

const HEADER = /* wgsl */ `
@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 4>;
fn pu(i: u32) -> u32 { return P[i / 4u][i % 4u]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(P[i / 4u][i % 4u]); }
`;

const FLAT = /* wgsl */ `
fn flat(w: vec3<u32>, n: vec3<u32>, size: u32, l: vec3<u32>) -> u32 { return (w.x + w.y * n.x) * size + l.x; }
`;

function storage(bindings: [string, 'f32' | 'u32' | 'i32', boolean][]): string {
  return bindings.map(([name, type, write], i) => `@group(0) @binding(${i + 1}) var<storage, ${write ? 'read_write' : 'read'}> ${name}: array<${type}>;`).join('\n');
}

/**
 * params: n, offA, offB, offOut | add: A[i] += B[i]; silu_mul: O[i] = silu(A[i]) B[i], or in place into A or B (WebGPU
 * cannot bind one buffer as both an input and the output, and the model computes silu(gate) * up into gate).
 */
export const ELEMENTWISE = (op: 'add' | 'silu_mul' | 'silu_mul_a' | 'silu_mul_b'): string => {
  const rw = (name: string) => (op === 'add' || op === 'silu_mul_a' ? name === 'A' : op === 'silu_mul_b' ? name === 'B' : false);
  const bindings: [string, 'f32', boolean][] = [['A', 'f32', rw('A')], ['B', 'f32', rw('B')]];
  if (op === 'silu_mul') bindings.push(['O', 'f32', true]);
  const target = op === 'silu_mul_a' ? 'A[pu(1u) + i]' : op === 'silu_mul_b' ? 'B[pu(2u) + i]' : 'O[pu(3u) + i]';
  return HEADER + FLAT + storage(bindings) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  if (i >= pu(0u)) { return; }
  let a = A[pu(1u) + i];
  let b = B[pu(2u) + i];
  ${op === 'add' ? 'A[pu(1u) + i] = a + b;' : `${target} = a / (1.0 + exp(-a)) * b;`}
}`;
};

/**
 * params: n, off, mode (0 f16, 1 bf16) | in place rounding to f16 / bf16, ties to even. f16 by exact scaling to its
 * unit in the last place and round() (ties to even): pack2x16float's rounding is implementation-defined (Mesa's
 * lavapipe truncates).
 */
export const ROUND_TO = HEADER + FLAT + storage([['X', 'f32', true]]) + `
fn roundF16(x: f32) -> f32 {
  let u = bitcast<u32>(x);
  let a = u & 0x7fffffffu;
  if (a >= 0x7f800000u || a == 0u) { return x; }
  let e = i32(a >> 23u) - 127;
  let q = max(e, -14) - 10;
  let r = ldexp(round(ldexp(bitcast<f32>(a), -q)), q);
  let bits = select(bitcast<u32>(r), 0x7f800000u, e >= 16 || r > 65504.0); // past the largest f16: infinity
  return bitcast<f32>((u & 0x80000000u) | bits);
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  if (i >= pu(0u)) { return; }
  let x = X[pu(1u) + i];
  if (pu(2u) == 0u) {
    X[pu(1u) + i] = roundF16(x);
  } else {
    let u = bitcast<u32>(x);
    if ((u & 0x7f800000u) == 0x7f800000u) { return; }
    X[pu(1u) + i] = bitcast<f32>((u + 0x7fffu + ((u >> 16u) & 1u)) & 0xffff0000u);
  }
}`;

/** params: n, srcOffWords(unused: 0), dstOff, kind (0 f16, 1 bf16) | 16-bit values packed two per u32 word -> f32 */
export const TO_F32 = HEADER + FLAT + storage([['S', 'u32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  if (i >= pu(0u)) { return; }
  let e = pu(1u) + i;
  let word = S[e / 2u];
  let half = select(word & 0xffffu, word >> 16u, (e & 1u) == 1u);
  var v: f32;
  if (pu(3u) == 0u) { v = unpack2x16float(half).x; } else { v = bitcast<f32>(half << 16u); }
  O[pu(2u) + i] = v;
}`;

/**
 * Workgroup-wide sum or max of one value per invocation (256 of them). With subgroups: one subgroupAdd/Max per
 * subgroup, then the partials; without: a tree in workgroup memory. Call from uniform control flow.
 */
const REDUCE = (sub: boolean) => `
var<workgroup> red: array<f32, 256>;
fn wgReduce(v: f32, lid: u32, lane: u32, size: u32, isMax: bool) -> f32 {
  ${sub ? `let s = select(subgroupAdd(v), subgroupMax(v), isMax);
  if (lane == 0u) { red[lid / size] = s; }
  workgroupBarrier();
  if (lid == 0u) {
    var t = red[0];
    for (var i = 1u; i < 256u / size; i++) { t = select(t + red[i], max(t, red[i]), isMax); }
    red[0] = t;
  }
  workgroupBarrier();` : `red[lid] = v;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) { red[lid] = select(red[lid] + red[lid + k], max(red[lid], red[lid + k]), isMax); }
    workgroupBarrier();
  }`}
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/** The entry point's extra builtins and the (lane, size) arguments of wgReduce, with or without subgroups. */
const SG = (sub: boolean) => ({
  enable: sub ? 'enable subgroups;\n' : '',
  params: sub ? ', @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32' : '',
  args: sub ? 'lane, sgs' : '0u, 1u',
});

/** params: rows, n, eps, offX, offW, offOut | one workgroup per row */
export const RMSNORM = (sub: boolean): string => SG(sub).enable + HEADER + storage([['X', 'f32', false], ['Wt', 'f32', false], ['O', 'f32', true]]) + REDUCE(sub) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>${SG(sub).params}) {
  let r = w.x + w.y * nw.x;
  let n = pu(1u);
  let valid = r < pu(0u);
  let xo = pu(3u) + r * n;
  var s = 0.0;
  if (valid) { for (var i = l.x; i < n; i += 256u) { let v = X[xo + i]; s += v * v; } }
  let inv = 1.0 / sqrt(wgReduce(s, l.x, ${SG(sub).args}, false) / f32(n) + pf(2u));
  if (valid) { for (var i = l.x; i < n; i += 256u) { O[pu(5u) + r * n + i] = Wt[pu(4u) + i] * (X[xo + i] * inv); } }
}`;

/** params: rows, n, offX, offOut, mode (0 softmax in place on X, 1 logsumexp -> O) | one workgroup per row */
export const ROW_SOFTMAX = (sub: boolean): string => SG(sub).enable + HEADER + storage([['X', 'f32', true], ['O', 'f32', true]]) + REDUCE(sub) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>${SG(sub).params}) {
  let r = w.x + w.y * nw.x;
  let n = pu(1u);
  let valid = r < pu(0u);
  let xo = pu(2u) + r * n;
  var m = -3.0e38;
  if (valid) { for (var i = l.x; i < n; i += 256u) { m = max(m, X[xo + i]); } }
  let mx = wgReduce(m, l.x, ${SG(sub).args}, true);
  var s = 0.0;
  if (valid) { for (var i = l.x; i < n; i += 256u) { s += exp(X[xo + i] - mx); } }
  let z = wgReduce(s, l.x, ${SG(sub).args}, false);
  if (!valid) { return; }
  if (pu(4u) == 1u) {
    if (l.x == 0u) { O[pu(3u) + r] = mx + log(z); }
  } else {
    for (var i = l.x; i < n; i += 256u) { X[xo + i] = exp(X[xo + i] - mx) / z; }
  }
}`;

/** params: T, heads, headDim, stride, pos0, neox, offX, offCos, offSin | in place, one thread per (t, head, pair) */
export const ROPE = HEADER + FLAT + storage([['X', 'f32', true], ['C', 'f32', false], ['S', 'f32', false]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  let half = pu(2u) / 2u;
  if (i >= pu(0u) * pu(1u) * half) { return; }
  let t = i / (pu(1u) * half);
  let h = (i / half) % pu(1u);
  let j = i % half;
  let base = pu(6u) + t * pu(3u) + h * pu(2u);
  let c = C[pu(7u) + (pu(4u) + t) * half + j];
  let s = S[pu(8u) + (pu(4u) + t) * half + j];
  var a: u32; var b: u32;
  if (pu(5u) == 1u) { a = base + j; b = base + j + half; } else { a = base + 2u * j; b = a + 1u; }
  let x0 = X[a]; let x1 = X[b];
  X[a] = x0 * c - x1 * s;
  X[b] = x0 * s + x1 * c;
}`;

/** params: T, dim, offIds, offTable, offOut | out[t] = table[ids[t]] */
export const EMBED = HEADER + FLAT + storage([['Ids', 'i32', false], ['Tb', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  let dim = pu(1u);
  if (i >= pu(0u) * dim) { return; }
  let t = i / dim;
  O[pu(4u) + i] = Tb[pu(3u) + u32(Ids[pu(2u) + t]) * dim + i % dim];
}`;

/**
 * params: M, N, K, hasBias, offA, offW, offBias, offOut | C[M,N] = A[M,K] W[N,K]^T (+ bias): 64x64 tiles, 16 deep,
 * 256 threads with a 4x4 register block each; A and W tiles staged in workgroup memory (8 KiB). Four times the
 * workgroups of GEMM128 for the same product: the better choice when the product has too few 128x128 tiles to fill the GPU.
 */
export const SGEMM_64 = HEADER + storage([['A', 'f32', false], ['Wt', 'f32', false], ['Bs', 'f32', false], ['C', 'f32', true]]) + `
var<workgroup> as_: array<f32, 1024>;
var<workgroup> ws_: array<f32, 1024>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let row0 = w.y * 64u; let col0 = w.x * 64u;
  var acc: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    // 1024 elements of each tile, 4 per thread: tile[kk][r] = A[row0 + r, k0 + kk]
    for (var e = li; e < 1024u; e += 256u) {
      let r = e / 16u; let kk = e % 16u;
      let gr = row0 + r; let gc = col0 + r; let gk = k0 + kk;
      as_[kk * 64u + r] = select(0.0, A[pu(4u) + gr * K + gk], gr < M && gk < K);
      ws_[kk * 64u + r] = select(0.0, Wt[pu(5u) + gc * K + gk], gc < N && gk < K);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = vec4<f32>(as_[kk * 64u + l.y * 4u], as_[kk * 64u + l.y * 4u + 1u], as_[kk * 64u + l.y * 4u + 2u], as_[kk * 64u + l.y * 4u + 3u]);
      let b = vec4<f32>(ws_[kk * 64u + l.x * 4u], ws_[kk * 64u + l.x * 4u + 1u], ws_[kk * 64u + l.x * 4u + 2u], ws_[kk * 64u + l.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i * 4u] += a[i] * b.x; acc[i * 4u + 1u] += a[i] * b.y; acc[i * 4u + 2u] += a[i] * b.z; acc[i * 4u + 3u] += a[i] * b.w;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + l.y * 4u + i;
    if (r >= M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + l.x * 4u + j;
      if (c >= N) { continue; }
      var v = acc[i * 4u + j];
      if (pu(3u) == 1u) { v += Bs[pu(6u) + c]; }
      C[pu(7u) + r * N + c] = v;
    }
  }
}`;

/**
 * params: M, N, K, hasBias, offA, offW, offBias, offOut | C[M,N] (f32) = A[M,K] W[N,K]^T (+ bias): 128x128 tiles, 16
 * deep, 256 threads with an 8x8 register block each; the A and W tiles are staged transposed in workgroup memory as
 * vec4, so the inner loop reads 4 vec4 per 64 FMAs. `vec4Loads` (K and the offsets multiples of 4) reads global
 * memory as vec4 too. `half` (needs shader-f16): A and W are f16, the tiles and products too; each 16-deep slice is
 * summed in f16 and added to f32 accumulators, so the rounding error grows with 16, not with K.
 */
export const GEMM128 = (o: { half: boolean; vec4Loads: boolean }): string => {
  const t = o.half ? 'f16' : 'f32', zero = o.half ? '0.0h' : '0.0';
  const el = o.vec4Loads ? `vec4<${t}>` : t;
  const sum = o.half ? 'part' : 'acc'; // f16: 16-deep partial sums in half precision, then f32
  const bindings = `@group(0) @binding(1) var<storage, read> A: array<${el}>;
@group(0) @binding(2) var<storage, read> Wt: array<${el}>;
@group(0) @binding(3) var<storage, read> Bs: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
`;
  const load = o.vec4Loads ? `for (var e = li; e < 512u; e += 256u) {
      let r = e / 4u; let kq = (e % 4u) * 4u;
      let gr = row0 + r; let gc = col0 + r; let gk = k0 + kq;
      let a = select(vec4<${t}>(${zero}), A[(pu(4u) + gr * K + gk) / 4u], gr < M && gk < K);
      let b = select(vec4<${t}>(${zero}), Wt[(pu(5u) + gc * K + gk) / 4u], gc < N && gk < K);
      for (var j = 0u; j < 4u; j++) { as_[(kq + j) * 32u + r / 4u][r % 4u] = a[j]; ws_[(kq + j) * 32u + r / 4u][r % 4u] = b[j]; }
    }` : `for (var e = li; e < 2048u; e += 256u) {
      let r = e / 16u; let kk = e % 16u;
      let gr = row0 + r; let gc = col0 + r; let gk = k0 + kk;
      as_[kk * 32u + r / 4u][r % 4u] = select(${zero}, A[pu(4u) + gr * K + gk], gr < M && gk < K);
      ws_[kk * 32u + r / 4u][r % 4u] = select(${zero}, Wt[pu(5u) + gc * K + gk], gc < N && gk < K);
    }`;
  return (o.half ? 'enable f16;\n' : '') + HEADER + bindings + `
var<workgroup> as_: array<vec4<${t}>, 512>;
var<workgroup> ws_: array<vec4<${t}>, 512>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let row0 = w.y * 128u; let col0 = w.x * 128u;
  var acc: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    // 2048 elements of each tile: tile[kk][r] = A[row0 + r, k0 + kk] (consecutive threads walk k)
    ${load}
    workgroupBarrier();
    ${o.half ? `var part: array<vec4<f16>, 16>;
    for (var i = 0u; i < 16u; i++) { part[i] = vec4<f16>(0.0h); }` : ''}
    for (var kk = 0u; kk < 16u; kk++) {
      let a0 = as_[kk * 32u + l.y * 2u]; let a1 = as_[kk * 32u + l.y * 2u + 1u];
      let b0 = ws_[kk * 32u + l.x * 2u]; let b1 = ws_[kk * 32u + l.x * 2u + 1u];
      for (var i = 0u; i < 4u; i++) {
        ${sum}[2u * i] += a0[i] * b0; ${sum}[2u * i + 1u] += a0[i] * b1;
        ${sum}[8u + 2u * i] += a1[i] * b0; ${sum}[8u + 2u * i + 1u] += a1[i] * b1;
      }
    }
    ${o.half ? 'for (var i = 0u; i < 16u; i++) { acc[i] += vec4<f32>(part[i]); }' : ''}
    workgroupBarrier();
  }
  for (var i = 0u; i < 8u; i++) {
    let r = row0 + l.y * 8u + i;
    if (r >= M) { continue; }
    for (var j = 0u; j < 8u; j++) {
      let c = col0 + l.x * 8u + j;
      if (c >= N) { continue; }
      var v = acc[2u * i + j / 4u][j % 4u];
      if (pu(3u) == 1u) { v += Bs[pu(6u) + c]; }
      C[pu(7u) + r * N + c] = v;
    }
  }
}`;
};

/** params: N, K, hasBias, offX, offW, offBias, offOut | y[n] = W[n] . x (+ bias): one workgroup of 256 per row */
export const GEMV = (sub: boolean): string => SG(sub).enable + HEADER + storage([['X', 'f32', false], ['Wt', 'f32', false], ['Bs', 'f32', false], ['Y', 'f32', true]]) + REDUCE(sub) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>${SG(sub).params}) {
  let r = w.x + w.y * nw.x;
  let K = pu(1u);
  var s = 0.0;
  if (r < pu(0u)) { for (var k = l.x; k < K; k += 256u) { s += Wt[pu(4u) + r * K + k] * X[pu(3u) + k]; } }
  let t = wgReduce(s, l.x, ${SG(sub).args}, false);
  if (l.x == 0u && r < pu(0u)) { Y[pu(6u) + r] = t + select(0.0, Bs[pu(5u) + r], pu(2u) == 1u); }
}`;

/** params: rows, cols, group, bits, offOut | packed int4 / int8 codes (quant/pack.ts) -> f32, one thread per weight */
export const DEQUANT = HEADER + FLAT + storage([['Cd', 'u32', false], ['Sc', 'f32', false], ['Zr', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let i = flat(w, n, 256u, l);
  let cols = pu(1u);
  if (i >= pu(0u) * cols) { return; }
  let r = i / cols; let c = i % cols;
  var q: u32;
  if (pu(3u) == 8u) {
    let b = r * cols + c;
    q = (Cd[b / 4u] >> (8u * (b % 4u))) & 0xffu;
  } else {
    let j = c % 32u;
    let b = r * (cols / 2u) + (c - j) / 2u + j % 16u;
    let byte = (Cd[b / 4u] >> (8u * (b % 4u))) & 0xffu;
    q = select(byte & 15u, byte >> 4u, j >= 16u);
  }
  let g = r * (cols / pu(2u)) + c / pu(2u);
  O[pu(4u) + i] = Sc[g] * (f32(q) - Zr[g]);
}`;

/**
 * Causal GQA attention over a KV cache, flash-style: params T, nHeads, nKV, hd, qStride, kvStride, pos0, window,
 * scale, offQ, offK, offV, offOut. One workgroup of 64 per (query, head): each thread scores one key of a 64-key
 * tile, the tile's max and sum are reduced in workgroup memory, and thread i accumulates output dims i, i+64, ...
 */
export const ATTENTION = HEADER + storage([['Q', 'f32', false], ['Kc', 'f32', false], ['Vc', 'f32', false], ['O', 'f32', true]]) + `
var<workgroup> p: array<f32, 64>;
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let item = w.x + w.y * nw.x;
  let nH = pu(1u); let hd = pu(3u);
  let valid = item < pu(0u) * nH;
  let t = min(item / nH, pu(0u) - 1u); let h = item % nH;
  let kvh = h / (nH / pu(2u));
  let qo = pu(9u) + t * pu(4u) + h * hd;
  let last = pu(6u) + t;
  var first = 0u;
  if (pu(7u) > 0u && last + 1u > pu(7u)) { first = last + 1u - pu(7u); }
  var m = -3.0e38; var lsum = 0.0;
  var acc: array<f32, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = 0.0; }
  let nkeys = last + 1u - first;
  let tiles = (nkeys + 63u) / 64u;
  for (var tile = 0u; tile < tiles; tile++) {
    let j = first + tile * 64u + l.x;
    var s = -3.0e38;
    if (j <= last) {
      var d = 0.0;
      for (var c = 0u; c < hd; c++) { d += Q[qo + c] * Kc[pu(10u) + j * pu(5u) + kvh * hd + c]; }
      s = d * pf(8u);
    }
    red[l.x] = s;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k >>= 1u) { if (l.x < k) { red[l.x] = max(red[l.x], red[l.x + k]); } workgroupBarrier(); }
    let mNew = max(m, red[0]);
    workgroupBarrier();
    let e = select(0.0, exp(s - mNew), j <= last);
    p[l.x] = e;
    red[l.x] = e;
    workgroupBarrier();
    for (var k = 32u; k > 0u; k >>= 1u) { if (l.x < k) { red[l.x] += red[l.x + k]; } workgroupBarrier(); }
    let corr = exp(m - mNew);
    lsum = lsum * corr + red[0];
    m = mNew;
    let jn = min(64u, last + 1u - (first + tile * 64u));
    for (var i = 0u; i < 4u; i++) {
      let c = l.x + 64u * i;
      if (c < hd) {
        var a = acc[i] * corr;
        for (var jj = 0u; jj < jn; jj++) { a += p[jj] * Vc[pu(11u) + (first + tile * 64u + jj) * pu(5u) + kvh * hd + c]; }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  for (var i = 0u; i < 4u; i++) {
    let c = l.x + 64u * i;
    if (c < hd) { O[pu(12u) + t * pu(4u) + h * hd + c] = acc[i] / lsum; }
  }
}`;

/**
 * Non-causal block(-sparse) flash attention on [heads, N, D] (backend.ts blockAttention): params heads, N, block,
 * scale, mode (0 dense, 1 CSR lists, 2 bitmap), writeLse, offQ, offK, offV, offOut. One workgroup per (head, query
 * block), one thread per query row holding q and its output in registers; key/value sub-tiles of TK keys are
 * staged in workgroup memory (TK = 2048 / D keys = 16 KiB for K and V). Per sub-tile: TK scores, one rescale.
 */
export const BLOCK_ATTENTION = (D: number, B: number): string => {
  const TK = Math.max(4, Math.min(32, 2048 / D));
  return HEADER + storage([['Q', 'f32', false], ['Kx', 'f32', false], ['Vx', 'f32', false], ['O', 'f32', true], ['Lse', 'f32', true], ['RowPtr', 'u32', false], ['Cols', 'u32', false]]) + `
const D = ${D}u;
const B = ${B}u;
const TK = ${TK}u;
var<workgroup> ks: array<f32, ${TK * D}>;
var<workgroup> vs: array<f32, ${TK * D}>;
var<workgroup> wgKb: u32;
var<workgroup> wgCount: u32;
@compute @workgroup_size(${B})
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let N = pu(1u); let nb = (N + B - 1u) / B;
  let item = w.x + w.y * nw.x;
  let h = item / nb; let qb = item % nb;
  let inRange = h < pu(0u);
  let row = qb * B + l.x;
  let valid = inRange && row < N;
  let base = h * N * D;
  var q: array<f32, ${D}>;
  var o: array<f32, ${D}>;
  for (var c = 0u; c < D; c++) { q[c] = select(0.0, Q[pu(6u) + base + row * D + c], valid); o[c] = 0.0; }
  var m = -3.0e38; var lsum = 0.0;
  let mode = pu(4u);
  if (l.x == 0u) {
    var cnt = nb;
    if (mode == 1u && inRange) { cnt = RowPtr[item + 1u] - RowPtr[item]; }
    if (!inRange) { cnt = 0u; }
    wgCount = cnt;
  }
  let count = workgroupUniformLoad(&wgCount);
  for (var ci = 0u; ci < count; ci++) {
    if (l.x == 0u) {
      var kb = ci;
      if (mode == 1u) { kb = Cols[RowPtr[item] + ci]; }
      let bit = item * nb + ci;
      if (mode == 2u && ((Cols[bit / 4u] >> (8u * (bit % 4u))) & 0xffu) == 0u) { kb = 0xffffffffu; }
      wgKb = kb;
    }
    let kb = workgroupUniformLoad(&wgKb);
    if (kb == 0xffffffffu) { continue; }
    let j0 = kb * B;
    let jn = min(B, N - j0);
    for (var t0 = 0u; t0 < jn; t0 += TK) {
      let tn = min(TK, jn - t0);
      for (var e = l.x; e < TK * D; e += B) {
        let jj = e / D;
        let src = pu(7u) + base + (j0 + t0 + jj) * D + e % D;
        ks[e] = select(0.0, Kx[src], jj < tn);
        vs[e] = select(0.0, Vx[src - pu(7u) + pu(8u)], jj < tn);
      }
      workgroupBarrier();
      var s: array<f32, ${TK}>;
      var mt = m;
      for (var jj = 0u; jj < TK; jj++) {
        var d = 0.0;
        for (var c = 0u; c < D; c++) { d += q[c] * ks[jj * D + c]; }
        s[jj] = select(-3.0e38, d * pf(3u), jj < tn);
        mt = max(mt, s[jj]);
      }
      let corr = exp(m - mt);
      lsum *= corr;
      for (var c = 0u; c < D; c++) { o[c] *= corr; }
      for (var jj = 0u; jj < tn; jj++) {
        let e = exp(s[jj] - mt);
        lsum += e;
        for (var c = 0u; c < D; c++) { o[c] += e * vs[jj * D + c]; }
      }
      m = mt;
      workgroupBarrier();
    }
  }
  if (!valid) { return; }
  let inv = select(0.0, 1.0 / lsum, lsum > 0.0);
  for (var c = 0u; c < D; c++) { O[pu(9u) + base + row * D + c] = o[c] * inv; }
  if (pu(5u) == 1u) { Lse[h * N + row] = m + log(lsum); }
}`;
};

/** params: heads, N, block, scale, offQ, offK, offLse, offMass | mass[h, qb, kb] from the rows' lse; one workgroup per (head, qb) */
export const BLOCK_MASS = (D: number, B: number): string => {
  const TK = Math.max(4, Math.min(32, 4096 / D));
  return HEADER + storage([['Q', 'f32', false], ['Kx', 'f32', false], ['Lse', 'f32', false], ['Ms', 'f32', true]]) + `
const D = ${D}u;
const B = ${B}u;
const TK = ${TK}u;
var<workgroup> ks: array<f32, ${TK * D}>;
var<workgroup> red: array<f32, ${B}>;
@compute @workgroup_size(${B})
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let N = pu(1u); let nb = (N + B - 1u) / B;
  let item = w.x + w.y * nw.x;
  let h = min(item / nb, pu(0u) - 1u); let qb = item % nb;
  let inRange = item < pu(0u) * nb;
  let row = qb * B + l.x;
  let valid = inRange && row < N;
  let base = h * N * D;
  var q: array<f32, ${D}>;
  for (var c = 0u; c < D; c++) { q[c] = select(0.0, Q[pu(4u) + base + row * D + c], valid); }
  let lse = select(0.0, Lse[pu(6u) + h * N + row], valid);
  for (var kb = 0u; kb < nb; kb++) {
    let j0 = kb * B;
    let jn = min(B, N - j0);
    var acc = 0.0;
    for (var t0 = 0u; t0 < jn; t0 += TK) {
      let tn = min(TK, jn - t0);
      for (var e = l.x; e < TK * D; e += B) {
        let jj = e / D;
        ks[e] = select(0.0, Kx[pu(5u) + base + (j0 + t0 + jj) * D + e % D], jj < tn);
      }
      workgroupBarrier();
      for (var jj = 0u; jj < tn; jj++) {
        var d = 0.0;
        for (var c = 0u; c < D; c++) { d += q[c] * ks[jj * D + c]; }
        acc += exp(d * pf(3u) - lse);
      }
      workgroupBarrier();
    }
    red[l.x] = select(0.0, acc, valid);
    workgroupBarrier();
    for (var k = B / 2u; k > 0u; k >>= 1u) { if (l.x < k) { red[l.x] += red[l.x + k]; } workgroupBarrier(); }
    if (l.x == 0u && inRange) { Ms[pu(7u) + item * nb + kb] = red[0]; }
    workgroupBarrier();
  }
}`;
};

/** params: groups, group, bits, asym, clip, off | QuaRot's dynamic fake quantization, one thread per group (twin: fakeQuantRef) */
export const FAKE_QUANT = HEADER + FLAT + storage([['X', 'f32', true]]) + `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let g = flat(w, n, 64u, l);
  if (g >= pu(0u)) { return; }
  let G = pu(1u); let o = pu(5u) + g * G;
  var lo = 0.0; var hi = 0.0;
  for (var i = 0u; i < G; i++) { lo = min(lo, X[o + i]); hi = max(hi, X[o + i]); }
  lo *= pf(4u); hi *= pf(4u);
  var scale: f32; var zero = 0.0; var qmin: f32; var qmax: f32;
  if (pu(3u) == 1u) {
    if (lo == 0.0 && hi == 0.0) { lo = -1.0; hi = 1.0; }
    qmax = f32((1u << pu(2u)) - 1u); qmin = 0.0;
    scale = (hi - lo) / qmax;
    zero = round(-lo / scale);
  } else {
    qmax = f32((1u << (pu(2u) - 1u)) - 1u); qmin = -qmax - 1.0;
    let m = max(abs(lo), hi);
    scale = select(m / qmax, 1.0, m == 0.0);
  }
  for (var i = 0u; i < G; i++) {
    let q = clamp(round(X[o + i] / scale) + zero, qmin, qmax);
    X[o + i] = scale * (q - zero);
  }
}`;

/** params: rows, n, K, pow2, scale, off | row . (H_K (x) H_pow2) / sqrt(n), one thread per row (twin: hadamardRowsRef) */
export const HADAMARD = HEADER + FLAT + storage([['X', 'f32', true], ['Hk', 'f32', false], ['Tmp', 'f32', true]]) + `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let r = flat(w, nw, 64u, l);
  if (r >= pu(0u)) { return; }
  let n = pu(1u); let K = pu(2u); let p2 = pu(3u); let o = pu(5u) + r * n;
  for (var a = 0u; a < K; a++) {
    for (var h = 1u; h < p2; h <<= 1u) {
      for (var i = 0u; i < p2; i += 2u * h) {
        for (var j = i; j < i + h; j++) {
          let u = X[o + a * p2 + j]; let v = X[o + a * p2 + j + h];
          X[o + a * p2 + j] = u + v; X[o + a * p2 + j + h] = u - v;
        }
      }
    }
  }
  for (var c = 0u; c < K; c++) {
    for (var d = 0u; d < p2; d++) {
      var acc = 0.0;
      for (var a = 0u; a < K; a++) { acc += Hk[a * K + c] * X[o + a * p2 + d]; }
      Tmp[r * n + c * p2 + d] = acc;
    }
  }
  for (var i = 0u; i < n; i++) { X[o + i] = Tmp[r * n + i] * pf(4u); }
}`;
