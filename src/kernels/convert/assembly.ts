// dtype conversion to f32 (bf16, f16) and rounding of f32 values to the nearest f16/bf16 value.
import { chunkStart, chunkEnd } from '../common/simd';


/** bfloat16 -> float32 (the upper half of the f32 bits). */
export function bf16_to_f32(src: usize, dst: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 8, tid, nt), i1 = chunkEnd(n, 8, tid, nt);
  let i = i0;
  for (; i + 8 <= i1; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    v128.store(dst + (<usize>i << 2), i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
    v128.store(dst + (<usize>i << 2), i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), 16);
  }
  for (; i < i1; i++) store<u32>(dst + (<usize>i << 2), <u32>load<u16>(src + (<usize>i << 1)) << 16);
}

@inline function halfToFloat4(h: v128): v128 {
  // h: four u32 lanes holding f16 bits. Normal and subnormal values: shift the exponent/mantissa into f32
  // position and multiply by 2^112 (rebias 15 -> 127). Inf/NaN: force the f32 exponent to all ones.
  const mag = v128.and(h, i32x4.splat(0x7fff));
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const scaled = f32x4.mul(i32x4.shl(mag, 13), f32x4.splat(5.192296858534828e33));
  const special = i32x4.ge_u(mag, i32x4.splat(0x7c00));
  const infnan = v128.or(i32x4.shl(mag, 13), i32x4.splat(0x7f800000));
  return v128.or(v128.bitselect(infnan, scaled, special), sign);
}

/** IEEE half -> float32 (exact for every value, subnormals, infinities and NaN included). */
export function f16_to_f32(src: usize, dst: usize, n: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 8, tid, nt), i1 = chunkEnd(n, 8, tid, nt);
  let i = i0;
  for (; i + 8 <= i1; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    v128.store(dst + (<usize>i << 2), halfToFloat4(i32x4.extend_low_i16x8_u(h)));
    v128.store(dst + (<usize>i << 2), halfToFloat4(i32x4.extend_high_i16x8_u(h)), 16);
  }
  for (; i < i1; i++) {
    const h = i32x4.splat(<i32>load<u16>(src + (<usize>i << 1)));
    store<f32>(dst + (<usize>i << 2), f32x4.extract_lane(halfToFloat4(h), 0));
  }
}

@inline function roundHalf4(x: v128): v128 {
  // Nearest IEEE half value (ties to even) as float32. Normal range: add-and-mask on the 13 dropped mantissa
  // bits; below 2^-14 (half subnormals, fixed spacing 2^-24): (|x| + 0.5) - 0.5 rounds to that spacing in f32;
  // at or above 65520 the half is infinite; NaN stays NaN.
  const sign = v128.and(x, i32x4.splat(0x80000000));
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  const normal = v128.and(i32x4.add(i32x4.add(a, i32x4.splat(0xfff)), v128.and(i32x4.shr_u(a, 13), i32x4.splat(1))), i32x4.splat(0xffffe000));
  const sub = f32x4.sub(f32x4.add(a, f32x4.splat(0.5)), f32x4.splat(0.5));
  let r = v128.bitselect(sub, normal, i32x4.lt_s(a, i32x4.splat(0x38800000)));
  r = v128.bitselect(i32x4.splat(0x7f800000), r, i32x4.ge_s(r, i32x4.splat(0x47800000)));
  r = v128.bitselect(a, r, i32x4.gt_s(a, i32x4.splat(0x7f800000)));
  return v128.or(r, sign);
}

@inline function roundBf16x4(x: v128): v128 {
  // nearest bfloat16 value (ties to even) as float32; NaN stays NaN
  const r = v128.and(i32x4.add(i32x4.add(x, i32x4.splat(0x7fff)), v128.and(i32x4.shr_u(x, 16), i32x4.splat(1))), i32x4.splat(0xffff0000));
  return v128.bitselect(x, r, i32x4.gt_s(v128.and(x, i32x4.splat(0x7fffffff)), i32x4.splat(0x7f800000)));
}

/** x = the nearest f16 (kind 0) or bf16 (kind 1) value of x, in place: activations of a model run in that type. */
export function round_to(x: usize, n: i32, kind: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 4, tid, nt), i1 = chunkEnd(n, 4, tid, nt);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = x + (<usize>i << 2);
    v128.store(o, kind == 0 ? roundHalf4(v128.load(o)) : roundBf16x4(v128.load(o)));
  }
  for (; i < i1; i++) {
    const o = x + (<usize>i << 2);
    const v = f32x4.splat(load<f32>(o));
    store<f32>(o, f32x4.extract_lane(kind == 0 ? roundHalf4(v) : roundBf16x4(v), 0));
  }
}

