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
// Scratch per thread (scratchFloats = G * (capacity * (1 + vpt) + 2D) + D + 4 for G query heads per KV head and vpt
// value groups per token): scores of the G heads, G x D floats of q' / group sums, G x D floats of value-group
// factors, one unpacked row, and p_j * scale_jg for every head, group and token. Value scales/offsets are stored
// group-major ([group][capacity] per KV head), key parameters token-major.
// Query row t of T sees tokens [0, n - T + t] (causal). Codes are "planar" packed (quantizer.ts): rows whose packed
// width is a multiple of 16 bytes (and groups a multiple of 16 channels) are dequantized in registers, 16 codes per
// shift-and-mask of one load; others (tiny heads) are unpacked to scratch first.
import { fma4, hsum, exp4, exp1 } from '../common/simd';

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

@inline function lanes(c: v128, i: i32): v128 {
  // u8 codes 4i..4i+3 of c as f32x4
  const h = i < 2 ? i16x8.extend_low_i8x16_u(c) : i16x8.extend_high_i8x16_u(c);
  return f32x4.convert_i32x4_u((i & 1) == 0 ? i32x4.extend_low_i16x8_u(h) : i32x4.extend_high_i16x8_u(h));
}

/**
 * Dequantize-in-registers dot product of a packed row with w[0..D) (rows whose packed width is a multiple of
 * 16 bytes): each 16-byte load yields 16 codes per bit slot, widened to f32 in registers. With group > 0 the
 * partial sums of each group of `group` channels (a multiple of 16) are scaled by gs[g] and the result is
 * sum_g gs[g] * (w_g . u_g); with group = 0 it is w . u.
 */
function dotPacked(src: usize, D: i32, bits: i32, w: usize, group: i32, gs: usize): f32 {
  const per = 8 / bits;
  const rb = D / per;
  const mask: i32 = (1 << bits) - 1;
  const m = i8x16.splat(<i8>mask);
  let total: f32 = 0;
  let acc = f32x4.splat(0);
  for (let s = 0; s < per; s++) {
    for (let k = 0; k < rb; k += 16) {
      const c = v128.and(i8x16.shr_u(v128.load(src + <usize>k), <u32>(s * bits)), m);
      const wp = w + (<usize>(s * rb + k) << 2);
      acc = fma4(lanes(c, 0), v128.load(wp), acc);
      acc = fma4(lanes(c, 1), v128.load(wp + 16), acc);
      acc = fma4(lanes(c, 2), v128.load(wp + 32), acc);
      acc = fma4(lanes(c, 3), v128.load(wp + 48), acc);
      const ch = s * rb + k + 16;
      if (group > 0 && ch % group == 0) {
        total += load<f32>(gs + (<usize>(ch / group - 1) << 2)) * hsum(acc);
        acc = f32x4.splat(0);
      }
    }
  }
  return group > 0 ? total : hsum(acc);
}

/** o[0..D) += sum_g a[g] * u_g for a packed row (SIMD layout as dotPacked; group a multiple of 16). */
function axpyPacked(src: usize, D: i32, bits: i32, o: usize, group: i32, a: usize): void {
  const per = 8 / bits;
  const rb = D / per;
  const mask: i32 = (1 << bits) - 1;
  const m = i8x16.splat(<i8>mask);
  for (let s = 0; s < per; s++) {
    for (let k = 0; k < rb; k += 16) {
      const c = v128.and(i8x16.shr_u(v128.load(src + <usize>k), <u32>(s * bits)), m);
      const ch = s * rb + k;
      const av = f32x4.splat(load<f32>(a + (<usize>(ch / group) << 2)));
      const op = o + (<usize>ch << 2);
      v128.store(op, fma4(av, lanes(c, 0), v128.load(op)));
      v128.store(op + 16, fma4(av, lanes(c, 1), v128.load(op + 16)));
      v128.store(op + 32, fma4(av, lanes(c, 2), v128.load(op + 32)));
      v128.store(op + 48, fma4(av, lanes(c, 3), v128.load(op + 48)));
    }
  }
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

// Per (query row, KV head): the `group` query heads sharing the KV head are processed together, so each packed
// row is dequantized once per group of heads. With one query head per KV head (no GQA) rows are dequantized in
// registers inside the dot products (dotPacked / axpyPacked); with several, a row is unpacked once to an L1
// scratch row and every head of the group reads it.
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
  const G = nHeads / nKV;
  const fusedK = G == 1 && kBits < 16 && (<i32>kRow) % 16 == 0 && (kAxis == 1 || kGroup % 16 == 0);
  const fusedV = G == 1 && vBits < 16 && (<i32>vRow) % 16 == 0 && vGroup % 16 == 0;
  const cap = (scratchFloats - 2 * G * D - D - 4) / (G * (1 + vpt));
  const capP = <usize>(vps / <usize>vpt); // value parameters are group-major: [group][capacity]
  const base = scratch + <usize>tid * <usize>(scratchFloats << 2);
  const qpAll = base + (<usize>(G * cap) << 2);     // G x D: q' (keys per channel) or per-group q sums (per token)
  const aAll = qpAll + (<usize>(G * D) << 2);       // G x D: per head, [0, D/2) a_g and [D/2, D) sum_j p_j off_jg
  const u = aAll + (<usize>(G * D) << 2);            // D: one unpacked row
  const aGrp = u + (<usize>D << 2);                   // G x vpt x cap: p_j * scale_jg per head and value group
  const rowBytes = <usize>D << 2;
  const items = T * nKV;
  for (let it = tid; it < items; it += nt) {
    const t = it / nKV;
    const kvh = it - t * nKV;
    const nt_ = n - T + t + 1;
    const qk = min(nqK, nt_);
    const sBase = kScale + <usize>kvh * (kps << 2), oBase = kOff + <usize>kvh * (kps << 2);
    const kHead = kCodes + <usize>kvh * kcs;
    // ---- scores of the G heads into base + hh * cap
    if (kAxis == 1) {
      for (let j0 = 0; j0 < qk; j0 += kGroup) {
        const ps = sBase + (<usize>(j0 / kGroup * D) << 2), po = oBase + (<usize>(j0 / kGroup * D) << 2);
        for (let hh = 0; hh < G; hh++) {
          const qh = q + (<usize>(t * nHeads + kvh * G + hh) * rowBytes), qp = qpAll + (<usize>(hh * D) << 2);
          let c = f32x4.splat(0);
          for (let d = 0; d < D; d += 4) {
            const qv = v128.load(qh + (<usize>d << 2));
            v128.store(qp + (<usize>d << 2), f32x4.mul(qv, v128.load(ps + (<usize>d << 2))));
            c = fma4(qv, v128.load(po + (<usize>d << 2)), c);
          }
          store<f32>(aAll + (<usize>(hh * D) << 2), hsum(c));
        }
        const j1 = min(j0 + kGroup, qk);
        for (let j = j0; j < j1; j++) {
          const row = kHead + <usize>j * kRow;
          if (fusedK) {
            store<f32>(base + (<usize>j << 2), (dotPacked(row, D, kBits, qpAll, 0, 0) + load<f32>(aAll)) * scale);
            continue;
          }
          unpackRow(row, D, kBits, u);
          for (let hh = 0; hh < G; hh++) {
            const d = dot(qpAll + (<usize>(hh * D) << 2), u, D) + load<f32>(aAll + (<usize>(hh * D) << 2));
            store<f32>(base + (<usize>(hh * cap + j) << 2), d * scale);
          }
        }
      }
    } else if (qk > 0) {
      for (let hh = 0; hh < G; hh++) {
        const qh = q + (<usize>(t * nHeads + kvh * G + hh) * rowBytes);
        for (let g = 0; g < kpt; g++) {
          let qs = f32x4.splat(0);
          for (let d = g * kGroup; d < (g + 1) * kGroup; d += 4) qs = f32x4.add(qs, v128.load(qh + (<usize>d << 2)));
          store<f32>(qpAll + (<usize>(hh * D + g) << 2), hsum(qs));
        }
      }
      for (let j = 0; j < qk; j++) {
        const row = kHead + <usize>j * kRow;
        const ps = sBase + (<usize>(j * kpt) << 2), po = oBase + (<usize>(j * kpt) << 2);
        if (!fusedK) unpackRow(row, D, kBits, u);
        for (let hh = 0; hh < G; hh++) {
          const qh = q + (<usize>(t * nHeads + kvh * G + hh) * rowBytes);
          let s: f32 = 0;
          if (fusedK) s = dotPacked(row, D, kBits, qh, kGroup, ps);
          else for (let g = 0; g < kpt; g++) s += load<f32>(ps + (<usize>g << 2)) * dot(qh + (<usize>(g * kGroup) << 2), u + (<usize>(g * kGroup) << 2), kGroup);
          for (let g = 0; g < kpt; g++) s += load<f32>(po + (<usize>g << 2)) * load<f32>(qpAll + (<usize>(hh * D + g) << 2));
          store<f32>(base + (<usize>(hh * cap + j) << 2), s * scale);
        }
      }
    }
    const kf = kFp + <usize>kvh * (kfs << 2);
    for (let hh = 0; hh < G; hh++) {
      const qh = q + (<usize>(t * nHeads + kvh * G + hh) * rowBytes), sc = base + (<usize>(hh * cap) << 2);
      for (let j = qk; j < nt_; j++) store<f32>(sc + (<usize>j << 2), dot(qh, kf + <usize>(j - nqK) * rowBytes, D) * scale);
      // softmax numerators in place; 1/sum kept in qpAll[hh * D] (q' is no longer needed)
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
      const oh = out + (<usize>(t * nHeads + kvh * G + hh) * rowBytes), ah = aAll + (<usize>(hh * D) << 2);
      for (let d = 0; d < D; d += 4) v128.store(oh + (<usize>d << 2), f32x4.splat(0));
      store<f32>(qpAll + (<usize>(hh * D) << 2), 1.0 / l);
    }
    // ---- weighted values: o += sum_g (p_j scale_jg) u_jg, and sum_j p_j off_jg per group added at the end; both
    // factors are computed for all tokens at once (SIMD over j; value parameters are stored group-major)
    const qv_ = min(nqV, nt_);
    const vsBase = vScale + <usize>kvh * (vps << 2), voBase = vOff + <usize>kvh * (vps << 2);
    const vHead = vCodes + <usize>kvh * vcs;
    for (let hh = 0; hh < G; hh++) {
      const sc = base + (<usize>(hh * cap) << 2), ah = aAll + (<usize>(hh * D) << 2);
      for (let g = 0; g < vpt; g++) {
        const sg = vsBase + ((<usize>g * capP) << 2), og = voBase + ((<usize>g * capP) << 2);
        const ag = aGrp + (<usize>((hh * vpt + g) * cap) << 2);
        let bv = f32x4.splat(0);
        let j = 0;
        for (; j + 4 <= qv_; j += 4) {
          const pv = v128.load(sc + (<usize>j << 2));
          v128.store(ag + (<usize>j << 2), f32x4.mul(pv, v128.load(sg + (<usize>j << 2))));
          bv = fma4(pv, v128.load(og + (<usize>j << 2)), bv);
        }
        let b = hsum(bv);
        for (; j < qv_; j++) {
          const p = load<f32>(sc + (<usize>j << 2));
          store<f32>(ag + (<usize>j << 2), p * load<f32>(sg + (<usize>j << 2)));
          b += p * load<f32>(og + (<usize>j << 2));
        }
        store<f32>(ah + (<usize>(D / 2 + g) << 2), b);
      }
    }
    for (let j = 0; j < qv_; j++) {
      const row = vHead + <usize>j * vRow;
      if (!fusedV) unpackRow(row, D, vBits, u);
      for (let hh = 0; hh < G; hh++) {
        const oh = out + (<usize>(t * nHeads + kvh * G + hh) * rowBytes), ah = aAll + (<usize>(hh * D) << 2);
        const aj = aGrp + (<usize>(hh * vpt * cap + j) << 2);
        if (fusedV) {
          for (let g = 0; g < vpt; g++) store<f32>(ah + (<usize>g << 2), load<f32>(aj + (<usize>(g * cap) << 2)));
          axpyPacked(row, D, vBits, oh, vGroup, ah);
          continue;
        }
        for (let g = 0; g < vpt; g++) {
          const a = f32x4.splat(load<f32>(aj + (<usize>(g * cap) << 2)));
          for (let d = g * vGroup; d < (g + 1) * vGroup; d += 4) {
            const o = oh + (<usize>d << 2);
            v128.store(o, fma4(a, v128.load(u + (<usize>d << 2)), v128.load(o)));
          }
        }
      }
    }
    const vf = vFp + <usize>kvh * (vfs << 2);
    for (let hh = 0; hh < G; hh++) {
      const oh = out + (<usize>(t * nHeads + kvh * G + hh) * rowBytes), ah = aAll + (<usize>(hh * D) << 2), sc = base + (<usize>(hh * cap) << 2);
      for (let g = 0; g < vpt; g++) {
        const b = f32x4.splat(load<f32>(ah + (<usize>(D / 2 + g) << 2)));
        for (let d = g * vGroup; d < (g + 1) * vGroup; d += 4) {
          const o = oh + (<usize>d << 2);
          v128.store(o, f32x4.add(v128.load(o), b));
        }
      }
      for (let j = qv_; j < nt_; j++) {
        const pv = f32x4.splat(load<f32>(sc + (<usize>j << 2)));
        const vp = vf + <usize>(j - nqV) * rowBytes;
        for (let d = 0; d < D; d += 4) {
          const o = oh + (<usize>d << 2);
          v128.store(o, fma4(pv, v128.load(vp + (<usize>d << 2)), v128.load(o)));
        }
      }
      const inv = f32x4.splat(load<f32>(qpAll + (<usize>(hh * D) << 2)));
      for (let d = 0; d < D; d += 4) {
        const o = oh + (<usize>d << 2);
        v128.store(o, f32x4.mul(v128.load(o), inv));
      }
    }
  }
}
