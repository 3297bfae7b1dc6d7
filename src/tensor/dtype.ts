/** Element types a Tensor can hold. Compute is float32; f16/bf16 are storage formats converted by kernels. */
export type DType = 'f32' | 'f16' | 'bf16' | 'i32' | 'i8' | 'u8';

export const DTYPE_BYTES: Record<DType, number> = { f32: 4, f16: 2, bf16: 2, i32: 4, i8: 1, u8: 1 };

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// one shared scratch word for bit casts (these helpers run per element over whole matrices)
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** float32 -> IEEE half bits (round to nearest even). */
export function f32ToF16Bits(value: number): number {
  F32[0] = value;
  const x = U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** IEEE half bits -> float32 value (reference for the wasm conversion kernel). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 -> bfloat16 bits (round to nearest even), as torch does. */
export function f32ToBf16Bits(value: number): number {
  F32[0] = value;
  const x = U32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(h: number): number {
  U32[0] = h << 16;
  return F32[0]!;
}

/** In place: every value becomes the nearest value of `dtype` (ties to even); f32 leaves w as it is. */
export function roundToType(w: Float32Array, dtype: 'f32' | 'f16' | 'bf16'): void {
  if (dtype === 'bf16') for (let i = 0; i < w.length; i++) w[i] = bf16BitsToF32(f32ToBf16Bits(w[i]!));
  else if (dtype === 'f16') for (let i = 0; i < w.length; i++) w[i] = f16BitsToF32(f32ToF16Bits(w[i]!));
}
