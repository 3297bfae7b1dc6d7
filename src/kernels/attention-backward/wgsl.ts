// WGSL kernels of the attention_backward op (see kernels/common/wgsl.ts for the conventions).
import { HEADER, storage } from '../common/wgsl.js';

// Both kernels: params T, nH, nKV, hd, pos0, window, scale, then offsets, then nc; q/out/dout rows of nH hd, k/v rows of nKV hd.
// Query t sees keys first(t) ..= pos0 + t, first(t) = pos0 + t + 1 - window when a window is set and reaches past 0;
// with nc > 0 (non-causal, pos0 = window = 0) every query sees keys 0 .. nc - 1.
// Neither keeps a T x S matrix: each recomputes its scores from q and k (flash-attention's backward, in two kernels
// so that every gradient element has one writer and a fixed summation order: deterministic, no float atomics).

/**
 * params ... offQ, offK, offV, offO, offDO, offDQ, offStats, nc | one workgroup of 64 per (query t, head h), thread i
 * taking keys i, i + 64, ...: D = dout . out and the row's logsumexp (an online max and sum per thread, then one
 * tree); then, over 64-key tiles, thread i recomputes P = exp(s - lse), dS = P (dout . v - D) and (with `dq`) DQ += scale sum_j dS_j k_j.
 * Stats[2 (t nH + h)] = (lse, D) for the key-side kernel.
 */
export const ATTENTION_BACKWARD_Q = (dq: boolean): string => HEADER + storage([['Q', 'f32', false], ['Kc', 'f32', false], ['Vc', 'f32', false], ['O', 'f32', false],
  ['DO', 'f32', false], ['Stats', 'f32', true], ...(dq ? [['DQ', 'f32', true] as ['DQ', 'f32', true]] : [])]) + `
var<workgroup> red: array<vec3<f32>, 64>;
var<workgroup> p: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let item = w.x + w.y * nw.x;
  let T = pu(0u); let nH = pu(1u); let hd = pu(3u);
  let qs = nH * hd; let kvs = pu(2u) * hd;
  let valid = item < T * nH;
  let t = min(item / nH, T - 1u); let h = item % nH;
  let kvh = h / (nH / pu(2u));
  let qo = t * qs + h * hd;
  let scale = pf(6u);
  let last = select(pu(4u) + t, pu(14u) - 1u, pu(14u) > 0u);
  var first = 0u;
  if (pu(5u) > 0u && last + 1u > pu(5u)) { first = last + 1u - pu(5u); }
  let tiles = (last + 64u - first) / 64u;
  // each thread: D's partial over dims l.x, l.x + 64, ... and an online (max, sum of exp) over keys first + l.x, + 64, ...;
  // then one tree combines the (m, l, D) triples (a single reduction whose result nothing overwrites: on Dawn's GL
  // backend over llvmpipe, reductions reusing workgroup memory in a loop gave lanes past the first 8 stale values)
  var dpart = 0.0;
  for (var c = l.x; c < hd; c += 64u) { dpart += DO[pu(11u) + qo + c] * O[pu(10u) + qo + c]; }
  var m = -3.0e38; var lsum = 0.0;
  for (var j = first + l.x; j <= last; j += 64u) {
    var d = 0.0;
    for (var c = 0u; c < hd; c++) { d += Q[pu(7u) + qo + c] * Kc[pu(8u) + j * kvs + kvh * hd + c]; }
    let s = d * scale;
    let mNew = max(m, s);
    lsum = lsum * exp(m - mNew) + exp(s - mNew);
    m = mNew;
  }
  red[l.x] = vec3<f32>(m, lsum, dpart);
  workgroupBarrier();
  for (var k = 32u; k > 0u; k >>= 1u) {
    if (l.x < k) {
      let a = red[l.x]; let b = red[l.x + k];
      let mm = max(a.x, b.x);
      red[l.x] = vec3<f32>(mm, a.y * exp(a.x - mm) + b.y * exp(b.x - mm), a.z + b.z);
    }
    workgroupBarrier();
  }
  let tot = red[0];
  let D = tot.z;
  let lse = tot.x + log(tot.y);
  var acc: array<f32, 4>;
  for (var i = 0u; i < 4u; i++) { acc[i] = 0.0; }
  for (var tile = 0u; tile < tiles; tile++) {
    let j0 = first + tile * 64u;
    let j = j0 + l.x;
    var ds = 0.0;
    if (j <= last) {
      var d = 0.0; var dp = 0.0;
      for (var c = 0u; c < hd; c++) {
        d += Q[pu(7u) + qo + c] * Kc[pu(8u) + j * kvs + kvh * hd + c];
        dp += DO[pu(11u) + qo + c] * Vc[pu(9u) + j * kvs + kvh * hd + c];
      }
      ds = exp(d * scale - lse) * (dp - D);
    }
    p[l.x] = ds;
    workgroupBarrier();
    let jn = min(64u, last + 1u - j0);
    for (var i = 0u; i < 4u; i++) {
      let c = l.x + 64u * i;
      if (c < hd) {
        var a = acc[i];
        for (var jj = 0u; jj < jn; jj++) { a += p[jj] * Kc[pu(8u) + (j0 + jj) * kvs + kvh * hd + c]; }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  if (!valid) { return; }
  if (l.x == 0u) { Stats[pu(13u) + 2u * item] = lse; Stats[pu(13u) + 2u * item + 1u] = D; }
  ${dq ? `for (var i = 0u; i < 4u; i++) {
    let c = l.x + 64u * i;
    if (c < hd) { DQ[pu(12u) + qo + c] += scale * acc[i]; }
  }` : ''}
}`;

/**
 * params ... offQ, offK, offV, offDO, offStats, offDK, offDV, nc | one workgroup of 64 per (key j < S, kv head g),
 * thread i taking query i of each 64-query tile of every head of the group that sees key j: P = exp(s - lse),
 * dS = P (dout . v_j - D); DK += scale sum dS q, DV += sum P dout (with `dk`, `dv`).
 */
export const ATTENTION_BACKWARD_KV = (dk: boolean, dv: boolean): string => HEADER + storage([['Q', 'f32', false], ['Kc', 'f32', false], ['Vc', 'f32', false],
  ['DO', 'f32', false], ['Stats', 'f32', false], ...(dk ? [['DK', 'f32', true] as ['DK', 'f32', true]] : []), ...(dv ? [['DV', 'f32', true] as ['DV', 'f32', true]] : [])]) + `
var<workgroup> pp: array<f32, 64>;
var<workgroup> pd: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let item = w.x + w.y * nw.x;
  let T = pu(0u); let nH = pu(1u); let nKV = pu(2u); let hd = pu(3u); let pos0 = pu(4u); let win = pu(5u);
  let qs = nH * hd; let kvs = nKV * hd;
  let nc = pu(14u);
  let S = select(pos0 + T, nc, nc > 0u);
  let valid = item < S * nKV;
  let j = min(item / nKV, S - 1u); let g = item % nKV;
  let group = nH / nKV;
  let ko = j * kvs + g * hd;
  let scale = pf(6u);
  // queries t with pos0 + t >= j (every query when non-causal) and, under a window, pos0 + t + 1 - win <= j
  let t0 = select(select(0u, j - pos0, j > pos0), 0u, nc > 0u);
  var t1 = T;
  if (win > 0u) { t1 = select(0u, min(T, j + win - pos0), j + win > pos0); }
  let tiles = select(0u, (t1 - t0 + 63u) / 64u, t1 > t0);
  var ak: array<f32, 4>; var av: array<f32, 4>;
  for (var i = 0u; i < 4u; i++) { ak[i] = 0.0; av[i] = 0.0; }
  for (var hh = 0u; hh < group; hh++) {
    let h = g * group + hh;
    for (var tile = 0u; tile < tiles; tile++) {
      let ta = t0 + tile * 64u;
      let t = ta + l.x;
      var P = 0.0; var ds = 0.0;
      if (t < t1) {
        let qo = t * qs + h * hd;
        var d = 0.0; var dp = 0.0;
        for (var c = 0u; c < hd; c++) {
          d += Q[pu(7u) + qo + c] * Kc[pu(8u) + ko + c];
          dp += DO[pu(10u) + qo + c] * Vc[pu(9u) + ko + c];
        }
        let st = pu(11u) + 2u * (t * nH + h);
        P = exp(d * scale - Stats[st]);
        ds = P * (dp - Stats[st + 1u]);
      }
      pp[l.x] = P; pd[l.x] = ds;
      workgroupBarrier();
      let tn = min(64u, t1 - ta);
      for (var i = 0u; i < 4u; i++) {
        let c = l.x + 64u * i;
        if (c < hd) {
          var a = ak[i]; var b = av[i];
          for (var tt = 0u; tt < tn; tt++) {
            let qo = (ta + tt) * qs + h * hd + c;
            a += pd[tt] * Q[pu(7u) + qo];
            b += pp[tt] * DO[pu(10u) + qo];
          }
          ak[i] = a; av[i] = b;
        }
      }
      workgroupBarrier();
    }
  }
  if (!valid) { return; }
  for (var i = 0u; i < 4u; i++) {
    let c = l.x + 64u * i;
    if (c < hd) {
      ${dk ? 'DK[pu(12u) + ko + c] += scale * ak[i];' : ''}
      ${dv ? 'DV[pu(13u) + ko + c] += av[i];' : ''}
    }
  }
}`;
