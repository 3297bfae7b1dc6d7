// Matrix-vector products with integer weights (GPTQ/RTN grids: w = s_g (q - z_g) per output row and group of G
// input columns), computed with integer dot products:
//   y[n] = sum_g s[n,g] * (sx * (x16_g . q[n,g]) - z[n,g] * sum(x_g))   (+ bias[n])
// where x16 = round(x / sx), sx = max|x| / 32767, is the input row held as int16 (relative error ~1.5e-5 of max|x|,
// as llama.cpp holds activations in int8 for its quantized dot products). Codes are widened u8 -> i16 in registers
// and multiplied pairwise with i32x4.dot_i16x8_s (8 products per instruction); i32 partial sums are moved to
// float every 128 columns, so no lane can overflow.
// int8: one byte per code. int4: rows are packed in 32-column chunks of 16 bytes, byte j holding column c0 + j
// in its low nibble and column c0 + 16 + j in its high nibble. K and G must be multiples of 32 (int4) or 16
// (int8). scales/zeros: f32 [N, K / G]. Each thread takes a slice of rows and first prepares x16 and the group
// sums of x in its scratch (K / 2 + K / G + 4 floats).
import { hsum } from '../common/simd';

@inline function hsumI(v: v128): i32 {
  const s = i32x4.add(v, v128.shuffle<i32>(v, v, 2, 3, 0, 1));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1);
}

/** 16 codes (u8 lanes of c) times 16 int16 inputs at x16, accumulated pairwise into i32 lanes. */
@inline function idot16(c: v128, x16: usize, acc: v128): v128 {
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(c), v128.load(x16)));
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(c), v128.load(x16 + 16)));
}

/** x16 and the group sums of x into scratch; returns sx. */
function prepare(x: usize, K: i32, G: i32, xs: usize, x16: usize): f32 {
  let mv = f32x4.splat(0);
  for (let k = 0; k < K; k += 4) mv = f32x4.max(mv, f32x4.abs(v128.load(x + (<usize>k << 2))));
  const m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  const sx: f32 = m > 0 ? m / 32767.0 : 1;
  const inv = f32x4.splat(1.0 / sx);
  for (let k = 0; k < K; k += 8) {
    const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(x + (<usize>k << 2)), inv)));
    const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(x + (<usize>(k + 4) << 2)), inv)));
    v128.store(x16 + (<usize>k << 1), i16x8.narrow_i32x4_s(a, b));
  }
  for (let g = 0; g < K / G; g++) {
    let s = f32x4.splat(0);
    for (let k = g * G; k < (g + 1) * G; k += 4) s = f32x4.add(s, v128.load(x + (<usize>k << 2)));
    store<f32>(xs + (<usize>g << 2), hsum(s));
  }
  return sx;
}

export function gemv_q(w: usize, scales: usize, zeros: usize, x: usize, bias: usize, y: usize, N: i32, K: i32, G: i32, bits: i32,
  scratch: usize, tid: i32, nt: i32): void {
  const ng = K / G;
  const xs = scratch + <usize>tid * (<usize>(ng + K / 2 + 4) << 2);
  const x16 = xs + (<usize>(ng + 4) << 2) & ~(<usize>15);
  const sx = prepare(x, K, G, xs, x16);
  const per = (N + nt - 1) / nt;
  const r0 = min(N, tid * per), r1 = min(N, r0 + per);
  const rowBytes = <usize>(bits == 4 ? K >> 1 : K);
  const m4 = i8x16.splat(0x0f);
  const chunk = min(G, 128);
  for (let r = r0; r < r1; r++) {
    const row = w + <usize>r * rowBytes;
    const ps = scales + (<usize>(r * ng) << 2), pz = zeros + (<usize>(r * ng) << 2);
    let sum: f32 = 0;
    for (let g = 0; g < ng; g++) {
      let dotf: f32 = 0;
      for (let c0 = g * G; c0 < (g + 1) * G; c0 += chunk) {
        let acc = i32x4.splat(0);
        if (bits == 4) {
          for (let k = c0; k < c0 + chunk; k += 32) {
            const b = v128.load(row + <usize>(k >> 1));
            const xp = x16 + (<usize>k << 1);
            acc = idot16(v128.and(b, m4), xp, acc);
            acc = idot16(i8x16.shr_u(b, 4), xp + 32, acc);
          }
        } else {
          for (let k = c0; k < c0 + chunk; k += 16) acc = idot16(v128.load(row + <usize>k), x16 + (<usize>k << 1), acc);
        }
        dotf += <f32>hsumI(acc);
      }
      sum += load<f32>(ps + (<usize>g << 2)) * (sx * dotf - load<f32>(pz + (<usize>g << 2)) * load<f32>(xs + (<usize>g << 2)));
    }
    if (bias != 0) sum += load<f32>(bias + (<usize>r << 2));
    store<f32>(y + (<usize>r << 2), sum);
  }
}

/**
 * Dequantizes packed rows (layout above) to float32: out[n, k] = s[n, g] * (q[n, k] - z[n, g]), rows split across
 * threads. The batched path of packed linears (dequantize once per call, then sgemm).
 */
export function dequant_q(codes: usize, scales: usize, zeros: usize, out: usize, N: i32, K: i32, G: i32, bits: i32, tid: i32, nt: i32): void {
  const n0 = <i32>((<i64>N * tid) / nt), n1 = <i32>((<i64>N * (tid + 1)) / nt);
  const ng = K / G, rowBytes = bits == 4 ? K >> 1 : K;
  for (let n = n0; n < n1; n++) {
    const crow = codes + <usize>n * <usize>rowBytes, orow = out + <usize>n * (<usize>K << 2);
    for (let g = 0; g < ng; g++) {
      const s = load<f32>(scales + (<usize>(n * ng + g) << 2)), z = load<f32>(zeros + (<usize>(n * ng + g) << 2));
      const sv = f32x4.splat(s), zv = f32x4.splat(z);
      if (bits == 8) {
        for (let k = g * G; k < (g + 1) * G; k += 16) {
          const c = v128.load(crow + <usize>k);
          const lo = i16x8.extend_low_i8x16_u(c), hi = i16x8.extend_high_i8x16_u(c);
          const o = orow + (<usize>k << 2);
          v128.store(o, f32x4.mul(sv, f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)), zv)));
          v128.store(o, f32x4.mul(sv, f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), zv)), 16);
          v128.store(o, f32x4.mul(sv, f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), zv)), 32);
          v128.store(o, f32x4.mul(sv, f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), zv)), 48);
        }
      } else {
        for (let k = g * G; k < (g + 1) * G; k += 32) {
          const c = v128.load(crow + <usize>(k >> 1));
          const mask = i8x16.splat(15);
          const lo8 = v128.and(c, mask), hi8 = v128.and(i16x8.shr_u(c, 4), mask);
          for (let half = 0; half < 2; half++) {
            const b = half == 0 ? lo8 : hi8;
            const w0 = i16x8.extend_low_i8x16_u(b), w1 = i16x8.extend_high_i8x16_u(b);
            const o = orow + (<usize>(k + 16 * half) << 2);
            v128.store(o, f32x4.mul(sv, f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(w0)), zv)));
            v128.store(o, f32x4.mul(sv, f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(w0)), zv)), 16);
            v128.store(o, f32x4.mul(sv, f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(w1)), zv)), 32);
            v128.store(o, f32x4.mul(sv, f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(w1)), zv)), 48);
          }
        }
      }
    }
  }
}
