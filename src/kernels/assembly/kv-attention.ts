// Decode attention over a quantized KV cache (KIVI-style store, see src/quant/kv/cache.ts): keys and values are
// read as packed 2/4/8-bit codes with one f32 scale and offset per group and dequantized in registers, followed
// by a float32 residual window. Per (query row, head): scores into scratch, softmax, weighted sum of values.
//   keys, per-channel groups of G tokens (KIVI): s_j = (q . diag(scale_b)) . u_j + q . off_b, one q' per block b
//   keys, per-token groups of G channels:        s_j = sum_g scale_jg (q_g . u_jg) + off_jg sum(q_g)
//   values, per-token groups:                   o += sum_g (p_j scale_jg) u_jg + p_j off_jg
// The cache layer is described by 22 i32 words at `desc` (written by KvLayerStore.descriptor()):
//   0..7  kCodes kScale kOff kFp vCodes vScale vOff vFp (byte addresses; 0 where unused)
//   8..12 kBits vBits kAxis(0 token, 1 channel) kGroup vGroup
//   13..15 nqK nqV n (quantized keys, quantized values, total tokens)
//   16..21 per-kv-head strides: kCodes (bytes) kParams (floats) kFp (floats) vCodes vParams vFp
// Query row t of T sees tokens [0, n - T + t] (causal). Codes are "planar" packed (quantizer.ts); rows whose
// packed width is a multiple of 16 bytes unpack with SIMD, others (tiny heads) with scalar code.
import { fma4, hsum, exp4, exp1 } from './simd';

@inline function word(desc: usize, i: i32): i32 {
  return load<i32>(desc + (<usize>i << 2));
}

@inline function dot(a: usize, b: usize, n: i32): f32 {
  let s = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) s = fma4(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)), s);
  return hsum(s);
}

@inline function store16(dst: usize, b: v128): void {
  const lo = i16x8.extend_low_i8x16_u(b), hi = i16x8.extend_high_i8x16_u(b);
  v128.store(dst, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)));
  v128.store(dst + 16, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)));
  v128.store(dst + 32, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)));
  v128.store(dst + 48, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)));
}

/** Codes of one packed row of D channels -> D floats at dst. */
function unpackRow(src: usize, D: i32, bits: i32, dst: usize): void {
  const per = 8 / bits;
  const rb = D / per;
  const mask: i32 = (1 << bits) - 1;
  if (rb % 16 == 0) {
    const m = i8x16.splat(<i8>mask);
    for (let k = 0; k < rb; k += 16) {
      const b = v128.load(src + <usize>k);
      for (let s = 0; s < per; s++) {
        const c = v128.and(i8x16.shr_u(b, <u32>(s * bits)), m);
        store16(dst + (<usize>(s * rb + k) << 2), c);
      }
    }
    return;
  }
  for (let k = 0; k < rb; k++) {
    const b = <i32>load<u8>(src + <usize>k);
    for (let s = 0; s < per; s++) store<f32>(dst + (<usize>(s * rb + k) << 2), <f32>((b >> (s * bits)) & mask));
  }
}

export function kv_attention_scratch_floats(capacity: i32, D: i32): i32 {
  return capacity + 2 * D + 4;
}

export function kv_attention(desc: usize, q: usize, out: usize, T: i32, nHeads: i32, nKV: i32, D: i32, scale: f32,
  scratch: usize, scratchFloats: i32, tid: i32, nt: i32): void {
  const kCodes = <usize>word(desc, 0), kScale = <usize>word(desc, 1), kOff = <usize>word(desc, 2), kFp = <usize>word(desc, 3);
  const vCodes = <usize>word(desc, 4), vScale = <usize>word(desc, 5), vOff = <usize>word(desc, 6), vFp = <usize>word(desc, 7);
  const kBits = word(desc, 8), vBits = word(desc, 9), kAxis = word(desc, 10), kGroup = word(desc, 11), vGroup = word(desc, 12);
  const nqK = word(desc, 13), nqV = word(desc, 14), n = word(desc, 15);
  const kcs = <usize>word(desc, 16), kps = <usize>word(desc, 17), kfs = <usize>word(desc, 18);
  const vcs = <usize>word(desc, 19), vps = <usize>word(desc, 20), vfs = <usize>word(desc, 21);
  const kRow = <usize>(D * kBits / 8), vRow = <usize>(D * vBits / 8);
  const kpt = D / kGroup, vpt = D / vGroup; // parameter groups per token (per-token axis)
  const group = nHeads / nKV;
  const sc = scratch + <usize>tid * <usize>(scratchFloats << 2);
  const qp = sc + (<usize>(scratchFloats - 2 * D - 4) << 2);
  const u = qp + (<usize>D << 2);
  const rowBytes = <usize>D << 2;
  const items = T * nHeads;
  for (let it = tid; it < items; it += nt) {
    const t = it / nHeads;
    const h = it - t * nHeads;
    const kvh = h / group;
    const qh = q + (<usize>(t * nHeads + h) * rowBytes);
    const oh = out + (<usize>(t * nHeads + h) * rowBytes);
    const nt_ = n - T + t + 1;
    // scores
    const qk = min(nqK, nt_);
    if (kAxis == 1) {
      const sBase = kScale + <usize>kvh * (kps << 2), oBase = kOff + <usize>kvh * (kps << 2);
      for (let j0 = 0; j0 < qk; j0 += kGroup) {
        const ps = sBase + (<usize>(j0 / kGroup * D) << 2), po = oBase + (<usize>(j0 / kGroup * D) << 2);
        let cb = f32x4.splat(0);
        for (let d = 0; d < D; d += 4) {
          const qv = v128.load(qh + (<usize>d << 2));
          v128.store(qp + (<usize>d << 2), f32x4.mul(qv, v128.load(ps + (<usize>d << 2))));
          cb = fma4(qv, v128.load(po + (<usize>d << 2)), cb);
        }
        const c = hsum(cb);
        const j1 = min(j0 + kGroup, qk);
        for (let j = j0; j < j1; j++) {
          unpackRow(kCodes + <usize>kvh * kcs + <usize>j * kRow, D, kBits, u);
          store<f32>(sc + (<usize>j << 2), (dot(qp, u, D) + c) * scale);
        }
      }
    } else {
      const sBase = kScale + <usize>kvh * (kps << 2), oBase = kOff + <usize>kvh * (kps << 2);
      for (let j = 0; j < qk; j++) {
        unpackRow(kCodes + <usize>kvh * kcs + <usize>j * kRow, D, kBits, u);
        let s: f32 = 0;
        for (let g = 0; g < kpt; g++) {
          const c0 = g * kGroup;
          let a = f32x4.splat(0), qs = f32x4.splat(0);
          for (let d = c0; d < c0 + kGroup; d += 4) {
            const qv = v128.load(qh + (<usize>d << 2));
            a = fma4(qv, v128.load(u + (<usize>d << 2)), a);
            qs = f32x4.add(qs, qv);
          }
          const pi = <usize>(j * kpt + g) << 2;
          s += load<f32>(sBase + pi) * hsum(a) + load<f32>(oBase + pi) * hsum(qs);
        }
        store<f32>(sc + (<usize>j << 2), s * scale);
      }
    }
    const kf = kFp + <usize>kvh * (kfs << 2);
    for (let j = qk; j < nt_; j++) store<f32>(sc + (<usize>j << 2), dot(qh, kf + <usize>(j - nqK) * rowBytes, D) * scale);
    // softmax numerators in place
    let mv = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= nt_; j += 4) mv = f32x4.max(mv, v128.load(sc + (<usize>j << 2)));
    let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
    for (; j < nt_; j++) m = max(m, load<f32>(sc + (<usize>j << 2)));
    const ms = f32x4.splat(m);
    let ls = f32x4.splat(0);
    for (j = 0; j + 4 <= nt_; j += 4) {
      const e = exp4(f32x4.sub(v128.load(sc + (<usize>j << 2)), ms));
      v128.store(sc + (<usize>j << 2), e);
      ls = f32x4.add(ls, e);
    }
    let l = hsum(ls);
    for (; j < nt_; j++) {
      const e = exp1(load<f32>(sc + (<usize>j << 2)) - m);
      store<f32>(sc + (<usize>j << 2), e);
      l += e;
    }
    // weighted values
    for (let d = 0; d < D; d += 4) v128.store(oh + (<usize>d << 2), f32x4.splat(0));
    const qv_ = min(nqV, nt_);
    const vsBase = vScale + <usize>kvh * (vps << 2), voBase = vOff + <usize>kvh * (vps << 2);
    for (j = 0; j < qv_; j++) {
      const p = load<f32>(sc + (<usize>j << 2));
      unpackRow(vCodes + <usize>kvh * vcs + <usize>j * vRow, D, vBits, u);
      for (let g = 0; g < vpt; g++) {
        const pi = <usize>(j * vpt + g) << 2;
        const a = f32x4.splat(p * load<f32>(vsBase + pi)), b = f32x4.splat(p * load<f32>(voBase + pi));
        for (let d = g * vGroup; d < (g + 1) * vGroup; d += 4) {
          const o = oh + (<usize>d << 2);
          v128.store(o, f32x4.add(fma4(a, v128.load(u + (<usize>d << 2)), v128.load(o)), b));
        }
      }
    }
    const vf = vFp + <usize>kvh * (vfs << 2);
    for (; j < nt_; j++) {
      const pv = f32x4.splat(load<f32>(sc + (<usize>j << 2)));
      const vp = vf + <usize>(j - nqV) * rowBytes;
      for (let d = 0; d < D; d += 4) {
        const o = oh + (<usize>d << 2);
        v128.store(o, fma4(pv, v128.load(vp + (<usize>d << 2)), v128.load(o)));
      }
    }
    const inv = f32x4.splat(1.0 / l);
    for (let d = 0; d < D; d += 4) {
      const o = oh + (<usize>d << 2);
      v128.store(o, f32x4.mul(v128.load(o), inv));
    }
  }
}
