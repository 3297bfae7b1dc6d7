// WGSL kernels of the linear op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, storage, REDUCE, SG, ROW_MAIN } from '../common/wgsl.js';

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
${ROW_MAIN(sub)}
  let K = pu(1u);
  var s = 0.0;
  if (valid) { for (var k = l.x; k < K; k += 256u) { s += Wt[pu(4u) + r * K + k] * X[pu(3u) + k]; } }
  let t = wgReduce(s, l.x, ${SG(sub).args}, false);
  if (l.x == 0u && valid) { Y[pu(6u) + r] = t + select(0.0, Bs[pu(5u) + r], pu(2u) == 1u); }
}`;
