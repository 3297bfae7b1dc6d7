// WGSL kernels of the gemm family (see kernels/common/wgsl.ts for the conventions).
import { HEADER, FLAT, storage } from '../common/wgsl.js';

/**
 * The 64x64-tile loop of the GEMMs below: acc[4][4] = this invocation's outputs of A'B' over k in [kBegin, kEnd), in
 * steps of 16 through workgroup memory (As, Bs); expects M, N, i0, j0, sai, sak, sbn, sbk and l in scope.
 */
export const gemmTileLoop = (kBegin: string, kEnd: string) => `  let tid = l.y * 16u + l.x;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = ${kBegin}; k0 < ${kEnd}; k0 += 16u) {
    for (var e = tid; e < 1024u; e += 256u) {
      let kk = e / 64u; let rr = e % 64u;
      let k = k0 + kk;
      let i = i0 + rr; let j = j0 + rr;
      As[kk][rr] = select(0.0, A[pu(7u) + i * sai + k * sak], i < M && k < ${kEnd});
      Bs[kk][rr] = select(0.0, B[pu(8u) + j * sbn + k * sbk], j < N && k < ${kEnd});
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var a: array<f32, 4>; var b: array<f32, 4>;
      for (var t = 0u; t < 4u; t++) { a[t] = As[kk][l.y * 4u + t]; b[t] = Bs[kk][l.x * 4u + t]; }
      for (var r = 0u; r < 4u; r++) { for (var c = 0u; c < 4u; c++) { acc[r][c] += a[r] * b[c]; } }
    }
    workgroupBarrier();
  }
`;

/**
 * params: M, N, K, sai, sak, sbn, sbk, offA, offB, offC, accumulate | C[M,N] (+)= A'B' with A'(i,k) = A[i sai + k sak],
 * B'(n,k) = B[n sbn + k sbk]: 64x64 output tiles per workgroup of 16x16 invocations (4x4 outputs each), K in steps of
 * 16 through workgroup memory.
 */
export const GEMM_STRIDED = HEADER + storage([['A', 'f32', false], ['B', 'f32', false], ['C', 'f32', true]]) + `
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let sai = pu(3u); let sak = pu(4u); let sbn = pu(5u); let sbk = pu(6u);
  let i0 = w.y * 64u; let j0 = w.x * 64u;
${gemmTileLoop('0u', 'K')}  for (var r = 0u; r < 4u; r++) {
    let i = i0 + l.y * 4u + r;
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + l.x * 4u + c;
      if (i < M && j < N) {
        let o = pu(9u) + i * N + j;
        C[o] = select(0.0, C[o], pu(10u) != 0u) + acc[r][c];
      }
    }
  }
}`;

/** params: M, N, offX, offOut | out[j] += sum_i X[i, j], one invocation per column */
export const COL_SUM = HEADER + FLAT + storage([['X', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let j = flat(w, n, 256u, l);
  let N = pu(1u);
  if (j >= N) { return; }
  var s = 0.0;
  for (var i = 0u; i < pu(0u); i++) { s += X[pu(2u) + i * N + j]; }
  O[pu(3u) + j] += s;
}`;
