// Shared SIMD helpers for the Lithe kernels (AssemblyScript, compiled twice: SIMD128 and relaxed SIMD).
// ASC_FEATURE_RELAXED_SIMD is a compile-time constant, so each build keeps exactly one branch.

/** a*b + c: one fused multiply-add in the relaxed build, mul+add otherwise. */
@inline export function fma4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

@inline export function hmax(v: v128): f32 {
  const s = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(s, 0), f32x4.extract_lane(s, 1));
}

/**
 * exp(x) on four lanes: Cephes expf (range reduction by ln2 in two parts, degree-6 polynomial, 2^n from the
 * exponent bits). Relative error about 2e-7 on [-87, 88]; inputs are clamped to that range.
 */
@inline export function exp4(xin: v128): v128 {
  let x = f32x4.min(f32x4.max(xin, f32x4.splat(-87.0)), f32x4.splat(88.3762626647949));
  const fx = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(0.693359375)));
  x = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(-2.12194440e-4)));
  let y = f32x4.splat(1.9875691500e-4);
  y = fma4(y, x, f32x4.splat(1.3981999507e-3));
  y = fma4(y, x, f32x4.splat(8.3334519073e-3));
  y = fma4(y, x, f32x4.splat(4.1665795894e-2));
  y = fma4(y, x, f32x4.splat(1.6666665459e-1));
  y = fma4(y, x, f32x4.splat(5.0000001201e-1));
  y = fma4(y, f32x4.mul(x, x), f32x4.add(x, f32x4.splat(1.0)));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(fx), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}

/** Same approximation as exp4 for one value, so scalar tails round like the vector body. */
@inline export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

/** [start, end) of item range n for thread tid of nt, in chunks that are multiples of `align`. */
@inline export function chunkStart(n: i32, align: i32, tid: i32, nt: i32): i32 {
  const units = (n + align - 1) / align;
  const per = (units + nt - 1) / nt;
  return min(n, tid * per * align);
}
@inline export function chunkEnd(n: i32, align: i32, tid: i32, nt: i32): i32 {
  const units = (n + align - 1) / align;
  const per = (units + nt - 1) / nt;
  return min(n, (tid + 1) * per * align);
}
