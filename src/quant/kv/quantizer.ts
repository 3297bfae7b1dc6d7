/**
 * Asymmetric min/max integer quantization of KV-cache groups, as KIVI (Liu et al., ICML 2024,
 * jy-yuan/KIVI `quant/new_pack.py`) and KVTuner's vanilla quantizer (Li et al., ICML 2025,
 * `flexible_quant/vanilla_quantizer.py`) define it:
 *   scale = max(mx - mn, 1e-5) / (2^b - 1),  u = clamp(round((x - offset) / scale), 0, 2^b - 1),  x^ = u * scale + offset
 * with offset = mn (KIVI, zero point kept in float: 'float') or offset = round(mn / scale) * scale (KVTuner's integer
 * zero point, `zeros = round(mn/scale) - qmin` on a signed grid: 'rounded'). Both are the same affine code
 * with a different offset, so one storage format (u8 codes, f32 scale and offset per group) serves both.
 * Rounding is half-to-even, as torch.round. The 1e-5 floor is KVTuner's; KIVI divides by zero on constant groups.
 *
 * Codes are packed "planar" within a row of D codes: with P = 8/b codes per byte, byte k holds codes
 * k, k + D/P, k + 2D/P, ... at bit offsets 0, b, 2b, ... so a SIMD kernel unpacks 16 consecutive channels
 * per shift-and-mask of one 16-byte load.
 */
import { roundHalfEven } from '../../util/rounding.js';

export type KvBits = 2 | 4 | 8 | 16;
export type ZeroPoint = 'float' | 'rounded';

/**
 * Quantization parameters of the n values x[start + i * stride]; returns [scale, offset].
 */
export function groupParams(x: ArrayLike<number>, start: number, n: number, stride: number, bits: number, zero: ZeroPoint): [number, number] {
  let mn = Infinity, mx = -Infinity;
  for (let i = 0, p = start; i < n; i++, p += stride) {
    const v = x[p]!;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  const scale = Math.fround(Math.max(mx - mn, 1e-5) / ((1 << bits) - 1));
  const offset = zero === 'float' ? mn : Math.fround(roundHalfEven(mn / scale) * scale);
  return [scale, offset];
}

export function quantizeValue(v: number, scale: number, offset: number, qmax: number): number {
  const u = roundHalfEven((v - offset) / scale);
  return u < 0 ? 0 : u > qmax ? qmax : u;
}

/** Bytes of one packed row of D codes. */
export function packedRowBytes(D: number, bits: number): number {
  return (D * bits) / 8;
}

/** Writes code u for channel c of a row of D codes starting at byte `row`. The row must start zeroed. */
export function packCode(out: Uint8Array, row: number, D: number, bits: number, c: number, u: number): void {
  if (bits === 8) { out[row + c] = u; return; }
  const rb = packedRowBytes(D, bits);
  const k = c % rb, slot = (c - k) / rb;
  out[row + k]! |= u << (slot * bits);
}

export function unpackCode(src: Uint8Array, row: number, D: number, bits: number, c: number): number {
  if (bits === 8) return src[row + c]!;
  const rb = packedRowBytes(D, bits);
  const k = c % rb, slot = (c - k) / rb;
  return (src[row + k]! >> (slot * bits)) & ((1 << bits) - 1);
}

/**
 * Fake quantization (quantize then dequantize) of rows [T, nHeads * D] of keys or values, as the cache stores them:
 * 'token' = per-token groups of `group` consecutive channels of one head (group = D: the whole head vector);
 * 'channel' = per-channel groups of `group` consecutive tokens, aligned at token 0 (a ragged last group is
 * quantized on its own). Returns a new array.
 */
export function fakeQuantize(x: Float32Array, T: number, nHeads: number, D: number, bits: number, axis: 'token' | 'channel', group: number, zero: ZeroPoint): Float32Array {
  const out = new Float32Array(x.length);
  const width = nHeads * D, qmax = (1 << bits) - 1;
  if (axis === 'token') {
    for (let t = 0; t < T; t++) {
      for (let g = 0; g < width; g += group) {
        const base = t * width + g;
        const [s, o] = groupParams(x, base, group, 1, bits, zero);
        for (let i = 0; i < group; i++) out[base + i] = quantizeValue(x[base + i]!, s, o, qmax) * s + o;
      }
    }
  } else {
    for (let t0 = 0; t0 < T; t0 += group) {
      const n = Math.min(group, T - t0);
      for (let c = 0; c < width; c++) {
        const base = t0 * width + c;
        const [s, o] = groupParams(x, base, n, width, bits, zero);
        for (let i = 0, p = base; i < n; i++, p += width) out[p] = quantizeValue(x[p]!, s, o, qmax) * s + o;
      }
    }
  }
  return out;
}
