// WGSL kernels of conv2d_backward (see kernels/common/wgsl.ts for the conventions). The products go through tiled
// GEMMs over an im2col patch matrix, as on the CPU: dyr [NP, O] = dy rearranged (NP = images x output pixels),
// col [G, NP, K] = the patches (K = Cg kh kw), dW[g] += dyr[g]^T col[g] (split over NP: GEMM_SPLIT_K, then
// gemm/wgsl.ts COL_SUM over the slices), dcol[g] = dyr[g] W[g] (gemm/wgsl.ts GEMM_STRIDED), dx += col2im(dcol) (COL2IM, a gather: no atomics).
import { HEADER, FLAT, REDUCE, storage } from '../common/wgsl.js';
import { gemmTileLoop } from '../gemm/wgsl.js';

const HALVES = /* wgsl */ `
fn lo(v: u32) -> i32 { return i32(v & 0xffffu); }
fn hi(v: u32) -> i32 { return i32(v >> 16u); }
`;

/** params: total (NP*O), P, O, offDy, offOut | out[q*O + o] = dy[(n*O + o)*P + p] with q = n*P + p */
export const DY_ROWS = HEADER + FLAT + storage([['D', 'f32', false], ['O', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let P = pu(1u); let Oc = pu(2u);
  let o = e % Oc; let q = e / Oc; let n = q / P; let p = q % P;
  O[pu(4u) + e] = D[pu(3u) + (n * Oc + o) * P + p];
}`;

/**
 * params: N, O, P, offDy, offPart, span | Part[s][o] = the sum of dy[n, o, p] over the values s span <= n P + p <
 * (s+1) span: workgroup (o, s); COL_SUM (gemm/wgsl.ts) adds the slices into the bias gradient
 */
export const BIAS_GRAD = HEADER + storage([['D', 'f32', false], ['Part', 'f32', true]]) + REDUCE(false) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let Oc = pu(1u); let P = pu(2u); let o = w.x; let span = pu(5u);
  let end = min(pu(0u) * P, (w.y + 1u) * span);
  var s = 0.0;
  for (var i = w.y * span + l.x; i < end; i += 256u) { s += D[pu(3u) + ((i / P) * Oc + o) * P + i % P]; }
  let t = wgReduce(s, l.x, 0u, 1u, false);
  if (l.x == 0u) { Part[pu(4u) + w.y * Oc + o] = t; }
}`;

/**
 * params: total (G*NP*K), C, H | W << 16, OH | OW << 16, G, kh | kw << 16, sh | sw << 16, dh | dw << 16, pt | pl << 16,
 * NP, offX, offCol | col[g][q][kk] = x[n, g Cg + c, oh sh - pt + i dh, ow sw - pl + j dw] (0 in the padding)
 */
export const IM2COL = HEADER + FLAT + HALVES + storage([['X', 'f32', false], ['Col', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let C = i32(pu(1u)); let H = lo(pu(2u)); let W = hi(pu(2u)); let OH = lo(pu(3u)); let OW = hi(pu(3u)); let G = i32(pu(4u));
  let kh = lo(pu(5u)); let kw = hi(pu(5u)); let Cg = C / G; let K = Cg * kh * kw; let NP = i32(pu(9u)); let P = OH * OW;
  let ei = i32(e);
  let kk = ei % K; let q = (ei / K) % NP; let g = ei / (K * NP);
  let n = q / P; let p = q % P; let oh = p / OW; let ow = p % OW;
  let c = kk / (kh * kw); let i = (kk / kw) % kh; let j = kk % kw;
  let h = oh * lo(pu(6u)) - lo(pu(8u)) + i * lo(pu(7u));
  let x = ow * hi(pu(6u)) - hi(pu(8u)) + j * hi(pu(7u));
  var v = 0.0;
  if (h >= 0 && h < H && x >= 0 && x < W) { v = X[pu(10u) + u32(((n * C + g * Cg + c) * H + h) * W + x)]; }
  Col[pu(11u) + e] = v;
}`;

/**
 * params: total (cn*C*H*W), C, H | W << 16, OH | OW << 16, G, kh | kw << 16, sh | sw << 16, dh | dw << 16, pt | pl << 16,
 * NP, offCol, offDx | dx[n, ch, h, x] += the sum of the patch entries col[g][q][kk] that read it (the adjoint of IM2COL)
 */
export const COL2IM = HEADER + FLAT + HALVES + storage([['Col', 'f32', false], ['DX', 'f32', true]]) + `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let e = flat(w, nw, 256u, l);
  if (e >= pu(0u)) { return; }
  let C = i32(pu(1u)); let H = lo(pu(2u)); let W = hi(pu(2u)); let OH = lo(pu(3u)); let OW = hi(pu(3u)); let G = i32(pu(4u));
  let kh = lo(pu(5u)); let kw = hi(pu(5u)); let sh = lo(pu(6u)); let sw = hi(pu(6u)); let dh = lo(pu(7u)); let dw = hi(pu(7u));
  let pt = lo(pu(8u)); let pl = hi(pu(8u)); let NP = i32(pu(9u));
  let Cg = C / G; let K = Cg * kh * kw; let P = OH * OW;
  let ei = i32(e);
  let x = ei % W; let h = (ei / W) % H; let ch = (ei / (W * H)) % C; let n = ei / (W * H * C);
  let g = ch / Cg; let c = ch % Cg;
  let base = g * NP * K + n * P * K + c * kh * kw;
  var s = 0.0;
  for (var i = 0; i < kh; i++) {
    let th = h + pt - i * dh;
    if (th < 0 || th % sh != 0 || th / sh >= OH) { continue; }
    for (var j = 0; j < kw; j++) {
      let tw = x + pl - j * dw;
      if (tw < 0 || tw % sw != 0 || tw / sw >= OW) { continue; }
      s += Col[pu(10u) + u32(base + ((th / sh) * OW + tw / sw) * K + i * kw + j)];
    }
  }
  DX[pu(11u) + e] += s;
}`;

/**
 * params: M, N, K, sai, sak, sbn, sbk, offA, offB, offPart, kc, tilesM | Part[s][M,N] = the sum over k in
 * [s kc, (s+1) kc) of A'(i,k) B'(j,k) (strides as gemm/wgsl.ts GEMM_STRIDED): a product whose reduction is long and
 * whose output is small (a weight gradient) split into slices that run side by side. Workgroup (x, y): output tile
 * (x, y % tilesM), slice y / tilesM; 64x64 tiles of 16x16 invocations, K in steps of 16 through workgroup memory.
 */
export const GEMM_SPLIT_K = HEADER + storage([['A', 'f32', false], ['B', 'f32', false], ['Part', 'f32', true]]) + `
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let sai = pu(3u); let sak = pu(4u); let sbn = pu(5u); let sbk = pu(6u);
  let tilesM = pu(11u); let s = w.y / tilesM;
  let i0 = (w.y % tilesM) * 64u; let j0 = w.x * 64u;
  let kBegin = s * pu(10u); let kEnd = min(K, kBegin + pu(10u));
${gemmTileLoop('kBegin', 'kEnd')}  for (var r = 0u; r < 4u; r++) {
    let i = i0 + l.y * 4u + r;
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + l.x * 4u + c;
      if (i < M && j < N) { Part[pu(9u) + s * M * N + i * N + j] = acc[r][c]; }
    }
  }
}`;

