// Sparse matrix-vector and matrix-matrix products for pruned linears, y = W x (+ bias), W [rows, cols] stored as
// src/tensor/sparse-format.ts describes (bitmask or N:M; float32 values, int8 or int4 codes). Argument `kind`:
//   0 bitmask f32, 1 bitmask int8, 2 2:4 f32, 3 4:8 f32, 4 2:4 int8, 5 4:8 int8, 6 1x8 blocks f32,
//   7 bitmask int4, 8 2:4 int4, 9 4:8 int4.
// `layout` is the mask (bitmask, 1x8 blocks) or the index stream (N:M); `offsets` is unused (0) for N:M;
// scales/zeros/group only for int8/int4.
// bitmask f32, per 8 columns (one mask byte), branch-free: the byte's 64-byte table entry holds two swizzle
// patterns, popcount(low nibble) and popcount(byte); the next values are loaded unaligned at p and at
// p + 4 popcount(low nibble) and spread to their columns by one byte swizzle each (unselected lanes become 0),
// multiplied with x[c..c+4) and x[c+4..c+8), and p advances by 4 popcount(byte). Column tails use a 16-entry
// nibble table, then scalar code.
// bitmask int8: x is held as int16 (x16 = round(x / sx), sx = max|x| / 32767, as qgemv.ts); per 8 columns (one
// mask byte) the next 8 codes are spread to i16 lanes by one swizzle, and per group
//   sum_kept s (q - z) x = s sx (sum q x16 - z sum_kept x16),
// both sums with i32x4.dot_i16x8_s (the second against a 0/1 lane selector from a table), moved to float every 512
// columns (an i32 lane takes at most 64 x 2 x 255 x 32767 < 2^31 there) and summed across lanes in float, so
// nothing can overflow.
// Bitmask rows go four at a time (four independent value streams, shared x loads), as the dense GEMV does.
// N:M, per 8 columns (two 2:4 groups or one 4:8 group): the 4 stored values are loaded as they are and the 4
// matching inputs are gathered from x[c..c+8) by two swizzles from a table indexed by the group's index bits
// (2:4 rows go four at a time, sharing the x loads; 4:8 row by row).
// int4 (kinds 7-9) runs the int8 kernels' code. The bitmask GEMV widens each four rows' nibbles to bytes in one
// streaming pass (widenNibbles: 16 codes per v128.and, shift and shuffle) and runs the int8 four-row kernel on them;
// elsewhere (N:M, single rows; one source specialized by a constant flag) the nibbles are widened where they are
// read. Bitmask rows may start at an odd code (a high nibble); the code position is then a nibble index into the
// stream and the spread pattern's lanes are shifted by one (0x80 + 1 still selects 0).
// 1x8 blocks: the set bits of each 32-bit mask word are visited with ctz; a kept block is two f32x4 multiply-adds.
// GEMM (M input rows): sparse times dense with the input rows in the lanes (sparse_gemm below); only stored weights
// cost work, and the result equals the dense GEMM's on the dense-with-zeros matrix bit for bit.
import { fma4, hsum, chunkStart, chunkEnd } from '../common/simd';

// Tables (built once, by the first call; memory.data is zero-filled static memory below the host heap).
const EXPAND4: usize = memory.data(16 * 16, 16); // nibble -> f32 lane spread of the next popcount values
const EXPAND8: usize = memory.data(256 * 64, 64); // byte -> f32 spreads of lanes 0-3 and 4-7, 4 popcnt(low nibble), 4 popcnt
const EXPAND8Q: usize = memory.data(256 * 16, 16); // byte -> i16 lane spread of the next popcount u8 codes
const SEL8: usize = memory.data(256 * 16, 16); // byte -> i16 lanes 1 where the bit is set
const QTAB: usize = memory.data(256 * 64, 64); // byte -> EXPAND8Q entry, SEL8 entry, popcount (i32)
const GATHER24: usize = memory.data(256 * 16, 16); // 2:4 index byte (2 groups) -> byte pattern into x[c..c+8) f32
const GATHER24X: usize = memory.data(256 * 32, 32); // GATHER24 split: indices into x[c..c+4) / x[c+4..c+8), else 0x80
const GATHER48: usize = memory.data(4096 * 16, 16); // 4:8 12-bit group -> byte pattern into x[c..c+8) f32
const GATHER24Q: usize = memory.data(256 * 16, 16); // same as i16 lanes of x16[c..c+8)
const GATHER48Q: usize = memory.data(4096 * 16, 16);
const READY: usize = memory.data(4, 4);

/** Lane j of the gather patterns selects element s of x[c..c+8) (f32 bytes, and i16 bytes in the Q table). */
function gatherLane(dst: usize, dstQ: usize, j: i32, s: i32): void {
  for (let b = 0; b < 4; b++) store<u8>(dst + <usize>(4 * j + b), <u8>(4 * s + b));
  store<u8>(dstQ + <usize>(2 * j), <u8>(2 * s));
  store<u8>(dstQ + <usize>(2 * j + 1), <u8>(2 * s + 1));
  store<u8>(dstQ + <usize>(8 + 2 * j), 0x80);
  store<u8>(dstQ + <usize>(9 + 2 * j), 0x80);
}

function gatherPattern(dst: usize, dstQ: usize, i0: i32, i1: i32, i2: i32, i3: i32): void {
  gatherLane(dst, dstQ, 0, i0);
  gatherLane(dst, dstQ, 1, i1);
  gatherLane(dst, dstQ, 2, i2);
  gatherLane(dst, dstQ, 3, i3);
}

function buildTables(): void {
  for (let n = 0; n < 16; n++) {
    let rank = 0;
    for (let j = 0; j < 4; j++) {
      const on = (n >> j) & 1;
      for (let b = 0; b < 4; b++) store<u8>(EXPAND4 + <usize>(n * 16 + 4 * j + b), on ? <u8>(4 * rank + b) : 0x80);
      rank += on;
    }
  }
  for (let n = 0; n < 256; n++) {
    const lo = n & 15, hi = n >> 4, e = EXPAND8 + <usize>(n * 64);
    memory.copy(e, EXPAND4 + <usize>(lo * 16), 16);
    memory.copy(e + 16, EXPAND4 + <usize>(hi * 16), 16);
    store<i32>(e + 32, 4 * popcnt(lo));
    store<i32>(e + 36, 4 * popcnt(n));
  }
  for (let n = 0; n < 256; n++) {
    let rank = 0;
    for (let j = 0; j < 8; j++) {
      const on = (n >> j) & 1;
      store<u8>(EXPAND8Q + <usize>(n * 16 + 2 * j), on ? <u8>rank : 0x80);
      store<u8>(EXPAND8Q + <usize>(n * 16 + 2 * j + 1), 0x80);
      store<i16>(SEL8 + <usize>(n * 16 + 2 * j), <i16>on);
      rank += on;
    }
    memory.copy(QTAB + <usize>(n * 64), EXPAND8Q + <usize>(n * 16), 16);
    memory.copy(QTAB + <usize>(n * 64 + 16), SEL8 + <usize>(n * 16), 16);
    store<i32>(QTAB + <usize>(n * 64 + 32), popcnt(n));
    gatherPattern(GATHER24 + <usize>(n * 16), GATHER24Q + <usize>(n * 16), n & 3, (n >> 2) & 3, 4 + ((n >> 4) & 3), 4 + ((n >> 6) & 3));
    for (let b = 0; b < 16; b++) {
      const v = <i32>load<u8>(GATHER24 + <usize>(n * 16 + b));
      store<u8>(GATHER24X + <usize>(n * 32 + b), v < 16 ? <u8>v : 0x80);
      store<u8>(GATHER24X + <usize>(n * 32 + 16 + b), v >= 16 ? <u8>(v - 16) : 0x80);
    }
  }
  for (let n = 0; n < 4096; n++) {
    gatherPattern(GATHER48 + <usize>(n * 16), GATHER48Q + <usize>(n * 16), n & 7, (n >> 3) & 7, (n >> 6) & 7, (n >> 9) & 7);
  }
  atomic.store<i32>(READY, 1);
}

@inline function ensureTables(): void {
  if (atomic.load<i32>(READY) == 0) buildTables();
}

/** Byte swizzle with indices < 16 or >= 0x80 (0x80 gives 0): the same result in both builds. */
@inline function spread(a: v128, s: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(a, s);
  return i8x16.swizzle(a, s);
}

/** The 4 f32 of x[c..c+8) (at xp) that pattern `pat` (byte indices 0..31) selects. */
@inline function gather8(xp: usize, pat: v128): v128 {
  return v128.or(i8x16.swizzle(v128.load(xp), pat), i8x16.swizzle(v128.load(xp, 16), i8x16.sub(pat, i8x16.splat(16))));
}

/** 16 int4 codes from the low 8 bytes of v (low nibble first) as 16 bytes: byte j = code j. */
@inline function nibbles(v: v128): v128 {
  return i8x16.shuffle(v128.and(v, i8x16.splat(15)), i8x16.shr_u(v, 4), 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}

/**
 * The byte codes from code p on, spread by `pat` (byte indices < 8 or 0x80). int8: p is the code's address. int4:
 * p is the code's index in the nibble stream at cb (an odd p starts at a high nibble: one more in every index).
 */
@inline function spreadCodes(q4: bool, cb: usize, p: usize, pat: v128): v128 {
  if (!q4) return spread(v128.load(p), pat);
  return spread(nibbles(v128.load64_zero(cb + (p >> 1))), i8x16.add(pat, i8x16.splat(<i8>(p & 1))));
}

/**
 * The 4 N:M codes at p (int8: 4 bytes; int4: 2 bytes) as i16 lanes 0-3. Lanes 4-7 hold the next codes (int4) or
 * zeros (int8); they count for nothing because the gather patterns give zero x16 lanes there.
 */
@inline function nmCodes4(q4: bool, p: usize): v128 {
  const v = v128.load32_zero(p);
  return i16x8.extend_low_i8x16_u(q4 ? nibbles(v) : v);
}

/** Code i of a codes array (int8 bytes or int4 nibbles, low first). */
@inline function codeAt(q4: bool, codes: usize, i: usize): f32 {
  if (!q4) return <f32>load<u8>(codes + i);
  return <f32>((<u32>load<u8>(codes + (i >> 1)) >> (<u32>(i & 1) << 2)) & 15);
}

@inline function isQuant(kind: i32): bool {
  return kind == 1 || kind == 4 || kind == 5 || kind >= 7;
}

/** 2:4 kinds (f32, int8, int4). */
@inline function is24(kind: i32): bool {
  return kind == 2 || kind == 4 || kind == 8;
}

/** Sum of the four i32 lanes, in float (the lanes may each be near 2^31). */
@inline function hsumI(v: v128): f32 {
  return hsum(f32x4.convert_i32x4_s(v));
}

@inline function maskStride(cols: i32): usize {
  return <usize>((cols + 31) >> 5) << 2;
}

@inline function nmStride(cols: i32, kind: i32): usize {
  const bits = is24(kind) ? 4 : 12; // index bits per group
  return <usize>(((cols / (is24(kind) ? 4 : 8)) * bits + 7) >> 3);
}

@inline function spreadStep(p: usize, n: u32, xp: usize, acc: v128): v128 {
  return fma4(spread(v128.load(p), v128.load(EXPAND4 + (<usize>n << 4))), v128.load(xp), acc);
}

/** 8 columns: the mask byte's table entry e spreads the next popcount values at p onto x[c..c+8) (at xp). */
@inline function byteStep(p: usize, e: usize, xp: usize, acc: v128): v128 {
  acc = fma4(spread(v128.load(p), v128.load(e)), v128.load(xp), acc);
  return fma4(spread(v128.load(p + <usize>load<u32>(e, 32)), v128.load(e, 16)), v128.load(xp, 16), acc);
}

/** Row of a bitmask f32 matrix times x. */
function rowBitmaskF32(mrow: usize, p: usize, x: usize, cols: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let c = 0;
  for (; c + 32 <= cols; c += 32) {
    const wd = load<u32>(mrow + (<usize>c >> 3));
    const xp = x + (<usize>c << 2);
    let e = EXPAND8 + <usize>((wd << 6) & 0x3fc0);
    a0 = byteStep(p, e, xp, a0); p += <usize>load<u32>(e, 36);
    e = EXPAND8 + <usize>((wd >> 2) & 0x3fc0);
    a1 = byteStep(p, e, xp + 32, a1); p += <usize>load<u32>(e, 36);
    e = EXPAND8 + <usize>((wd >> 10) & 0x3fc0);
    a2 = byteStep(p, e, xp + 64, a2); p += <usize>load<u32>(e, 36);
    e = EXPAND8 + <usize>((wd >> 18) & 0x3fc0);
    a3 = byteStep(p, e, xp + 96, a3); p += <usize>load<u32>(e, 36);
  }
  for (; c + 4 <= cols; c += 4) {
    const n = (<u32>load<u8>(mrow + (<usize>c >> 3)) >> (c & 4)) & 15;
    a0 = spreadStep(p, n, x + (<usize>c << 2), a0); p += <usize>popcnt(n) << 2;
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; c < cols; c++) {
    if ((load<u8>(mrow + (<usize>c >> 3)) >> (c & 7)) & 1) {
      s += load<f32>(p) * load<f32>(x + (<usize>c << 2));
      p += 4;
    }
  }
  return s;
}

/**
 * Four consecutive rows of a bitmask f32 matrix times x, interleaved per 32 columns (four independent value
 * streams keep more loads in flight, as the dense GEMV's four rows do); the remaining columns go row by row.
 */
function rows4BitmaskF32(mrow: usize, ms: usize, offsets: usize, values: usize, x: usize, cols: i32, y: usize, bias: usize, r: i32): void {
  let p0 = values + (<usize>load<i32>(offsets + (<usize>r << 2)) << 2);
  let p1 = values + (<usize>load<i32>(offsets + (<usize>(r + 1) << 2)) << 2);
  let p2 = values + (<usize>load<i32>(offsets + (<usize>(r + 2) << 2)) << 2);
  let p3 = values + (<usize>load<i32>(offsets + (<usize>(r + 3) << 2)) << 2);
  let a0 = f32x4.splat(0), b0 = f32x4.splat(0), a1 = f32x4.splat(0), b1 = f32x4.splat(0);
  let a2 = f32x4.splat(0), b2 = f32x4.splat(0), a3 = f32x4.splat(0), b3 = f32x4.splat(0);
  const c32 = cols & ~31;
  for (let c = 0; c < c32; c += 32) {
    const xp = x + (<usize>c << 2);
    const mp = mrow + (<usize>c >> 3);
    const w0 = load<u32>(mp), w1 = load<u32>(mp + ms), w2 = load<u32>(mp + 2 * ms), w3 = load<u32>(mp + 3 * ms);
    for (let k: u32 = 0; k < 4; k++) { // unrolled by the compiler: byte k of each row's word, x[c+8k .. c+8k+8) shared
      const x0 = v128.load(xp + (<usize>k << 5)), x1 = v128.load(xp + (<usize>k << 5), 16);
      const sh = 8 * k;
      let e = EXPAND8 + (<usize>((w0 >> sh) & 255) << 6);
      a0 = fma4(spread(v128.load(p0), v128.load(e)), x0, a0);
      b0 = fma4(spread(v128.load(p0 + <usize>load<u32>(e, 32)), v128.load(e, 16)), x1, b0);
      p0 += <usize>load<u32>(e, 36);
      e = EXPAND8 + (<usize>((w1 >> sh) & 255) << 6);
      a1 = fma4(spread(v128.load(p1), v128.load(e)), x0, a1);
      b1 = fma4(spread(v128.load(p1 + <usize>load<u32>(e, 32)), v128.load(e, 16)), x1, b1);
      p1 += <usize>load<u32>(e, 36);
      e = EXPAND8 + (<usize>((w2 >> sh) & 255) << 6);
      a2 = fma4(spread(v128.load(p2), v128.load(e)), x0, a2);
      b2 = fma4(spread(v128.load(p2 + <usize>load<u32>(e, 32)), v128.load(e, 16)), x1, b2);
      p2 += <usize>load<u32>(e, 36);
      e = EXPAND8 + (<usize>((w3 >> sh) & 255) << 6);
      a3 = fma4(spread(v128.load(p3), v128.load(e)), x0, a3);
      b3 = fma4(spread(v128.load(p3 + <usize>load<u32>(e, 32)), v128.load(e, 16)), x1, b3);
      p3 += <usize>load<u32>(e, 36);
    }
  }
  let v0 = hsum(f32x4.add(a0, b0)) + rowBitmaskF32(mrow + (<usize>c32 >> 3), p0, x + (<usize>c32 << 2), cols - c32);
  let v1 = hsum(f32x4.add(a1, b1)) + rowBitmaskF32(mrow + ms + (<usize>c32 >> 3), p1, x + (<usize>c32 << 2), cols - c32);
  let v2 = hsum(f32x4.add(a2, b2)) + rowBitmaskF32(mrow + 2 * ms + (<usize>c32 >> 3), p2, x + (<usize>c32 << 2), cols - c32);
  let v3 = hsum(f32x4.add(a3, b3)) + rowBitmaskF32(mrow + 3 * ms + (<usize>c32 >> 3), p3, x + (<usize>c32 << 2), cols - c32);
  if (bias != 0) {
    v0 += load<f32>(bias + (<usize>r << 2)); v1 += load<f32>(bias + (<usize>r << 2), 4);
    v2 += load<f32>(bias + (<usize>r << 2), 8); v3 += load<f32>(bias + (<usize>r << 2), 12);
  }
  store<f32>(y + (<usize>r << 2), v0); store<f32>(y + (<usize>r << 2), v1, 4);
  store<f32>(y + (<usize>r << 2), v2, 8); store<f32>(y + (<usize>r << 2), v3, 12);
}

/** Row of an N:M f32 matrix (kind 2 = 2:4, 3 = 4:8) times x. */
function rowNMF32(irow: usize, p: usize, x: usize, cols: i32, kind: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  let c = 0;
  let s: f32 = 0;
  if (kind == 2) {
    for (; c + 16 <= cols; c += 16) {
      const code = <usize>load<u16>(irow + (<usize>c >> 3));
      const xp = x + (<usize>c << 2);
      a0 = fma4(v128.load(p), gather8(xp, v128.load(GATHER24 + ((code & 255) << 4))), a0);
      a1 = fma4(v128.load(p, 16), gather8(xp + 32, v128.load(GATHER24 + ((code >> 8) << 4))), a1);
      p += 32;
    }
    if (c + 8 <= cols) {
      const code = <usize>load<u8>(irow + (<usize>c >> 3));
      a0 = fma4(v128.load(p), gather8(x + (<usize>c << 2), v128.load(GATHER24 + (code << 4))), a0);
      p += 16;
      c += 8;
    }
    if (c < cols) { // one last group of 4 columns
      const code = <i32>load<u8>(irow + (<usize>c >> 3));
      s = load<f32>(p) * load<f32>(x + (<usize>(c + (code & 3)) << 2)) + load<f32>(p, 4) * load<f32>(x + (<usize>(c + ((code >> 2) & 3)) << 2));
    }
  } else {
    let bit: usize = 0;
    for (; c + 16 <= cols; c += 16) {
      const code = <usize>(load<u32>(irow + (bit >> 3)) >> <u32>(bit & 7));
      const xp = x + (<usize>c << 2);
      a0 = fma4(v128.load(p), gather8(xp, v128.load(GATHER48 + ((code & 0xfff) << 4))), a0);
      a1 = fma4(v128.load(p, 16), gather8(xp + 32, v128.load(GATHER48 + (((code >> 12) & 0xfff) << 4))), a1);
      p += 32;
      bit += 24;
    }
    if (c < cols) {
      const code = <usize>(load<u32>(irow + (bit >> 3)) >> <u32>(bit & 7));
      a0 = fma4(v128.load(p), gather8(x + (<usize>c << 2), v128.load(GATHER48 + ((code & 0xfff) << 4))), a0);
    }
  }
  return s + hsum(f32x4.add(a0, a1));
}

/** Four consecutive rows of a 2:4 f32 matrix times x, sharing the x loads (8 columns = one index byte per row). */
function rows4NM24F32(irow: usize, is: usize, values: usize, x: usize, cols: i32, y: usize, bias: usize, r: i32): void {
  const vs = <usize>cols << 1; // value bytes per row: cols / 2 floats
  const p0 = values + <usize>r * vs, p1 = p0 + vs, p2 = p1 + vs, p3 = p2 + vs;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const c8 = cols & ~7;
  for (let c = 0; c < c8; c += 8) {
    const xp = x + (<usize>c << 2), vo = <usize>c << 1, ib = irow + (<usize>c >> 3);
    const x0 = v128.load(xp), x1 = v128.load(xp, 16);
    let e = GATHER24X + (<usize>load<u8>(ib) << 5);
    a0 = fma4(v128.load(p0 + vo), v128.or(spread(x0, v128.load(e)), spread(x1, v128.load(e, 16))), a0);
    e = GATHER24X + (<usize>load<u8>(ib + is) << 5);
    a1 = fma4(v128.load(p1 + vo), v128.or(spread(x0, v128.load(e)), spread(x1, v128.load(e, 16))), a1);
    e = GATHER24X + (<usize>load<u8>(ib + 2 * is) << 5);
    a2 = fma4(v128.load(p2 + vo), v128.or(spread(x0, v128.load(e)), spread(x1, v128.load(e, 16))), a2);
    e = GATHER24X + (<usize>load<u8>(ib + 3 * is) << 5);
    a3 = fma4(v128.load(p3 + vo), v128.or(spread(x0, v128.load(e)), spread(x1, v128.load(e, 16))), a3);
  }
  const t0 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  let sum = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  if (c8 < cols) { // one last group of 4 columns per row
    const ib = irow + (<usize>c8 >> 3), vo = <usize>c8 << 1, xp = x + (<usize>c8 << 2);
    sum = f32x4.add(sum, f32x4(rowNMF32(ib, p0 + vo, xp, 4, 2), rowNMF32(ib + is, p1 + vo, xp, 4, 2),
      rowNMF32(ib + 2 * is, p2 + vo, xp, 4, 2), rowNMF32(ib + 3 * is, p3 + vo, xp, 4, 2)));
  }
  if (bias != 0) sum = f32x4.add(sum, v128.load(bias + (<usize>r << 2)));
  v128.store(y + (<usize>r << 2), sum);
}

/** Row of a 1x8-block f32 matrix (nb = cols / 8 blocks) times x. */
function rowBlock8F32(mrow: usize, p: usize, x: usize, nb: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let b0 = 0; b0 < nb; b0 += 32) {
    let wd = load<u32>(mrow + (<usize>b0 >> 3));
    const xb = x + (<usize>b0 << 5);
    while (wd != 0) {
      let xp = xb + (<usize>ctz(wd) << 5);
      wd &= wd - 1;
      a0 = fma4(v128.load(p), v128.load(xp), a0);
      a1 = fma4(v128.load(p, 16), v128.load(xp, 16), a1);
      p += 32;
      if (wd == 0) break;
      xp = xb + (<usize>ctz(wd) << 5);
      wd &= wd - 1;
      a2 = fma4(v128.load(p), v128.load(xp), a2);
      a3 = fma4(v128.load(p, 16), v128.load(xp, 16), a3);
      p += 32;
    }
  }
  return hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
}

/** x16 = round(x / sx) for cols (a multiple of 8) columns, then 16 zeros; returns sx. */
function prepareX16(x: usize, cols: i32, x16: usize): f32 {
  let mv = f32x4.splat(0);
  for (let k = 0; k < cols; k += 4) mv = f32x4.max(mv, f32x4.abs(v128.load(x + (<usize>k << 2))));
  const m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  const sx: f32 = m > 0 ? m / 32767.0 : 1;
  const inv = f32x4.splat(1.0 / sx);
  for (let k = 0; k < cols; k += 8) {
    const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(x + (<usize>k << 2)), inv)));
    const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(x + (<usize>(k + 4) << 2)), inv)));
    v128.store(x16 + (<usize>k << 1), i16x8.narrow_i32x4_s(a, b));
  }
  v128.store(x16 + (<usize>cols << 1), i16x8.splat(0));
  v128.store(x16 + (<usize>cols << 1), i16x8.splat(0), 16);
  return sx;
}

/** Row of a bitmask int8 matrix times x16 (before the factor sx); p = the address of the row's first code. */
function rowBitmaskQ8(mrow: usize, p: usize, x16: usize, cols: i32, G: i32, ps: usize, pz: usize): f32 {
  return rowBitmaskQ(false, mrow, 0, p, x16, cols, G, ps, pz);
}

/** Row of a bitmask int4 matrix times x16 (before the factor sx); p = the index of the row's first code at cb. */
function rowBitmaskQ4(mrow: usize, cb: usize, p: usize, x16: usize, cols: i32, G: i32, ps: usize, pz: usize): f32 {
  return rowBitmaskQ(true, mrow, cb, p, x16, cols, G, ps, pz);
}

@inline function rowBitmaskQ(q4: bool, mrow: usize, cb: usize, p: usize, x16: usize, cols: i32, G: i32, ps: usize, pz: usize): f32 {
  let sum: f32 = 0;
  let c = 0;
  for (let g = 0; c < cols; g++) {
    const gEnd = c + G;
    let dq: f32 = 0, dx: f32 = 0;
    while (c < gEnd) {
      const cEnd = min(c + 512, gEnd);
      let aq = i32x4.splat(0), ax = i32x4.splat(0), bq = i32x4.splat(0), bx = i32x4.splat(0);
      for (; c + 16 <= cEnd; c += 16) {
        const b2 = <u32>load<u16>(mrow + (<usize>c >> 3));
        const b0 = b2 & 255, b1 = b2 >> 8;
        const xv0 = v128.load(x16 + (<usize>c << 1)), xv1 = v128.load(x16 + (<usize>c << 1), 16);
        aq = i32x4.add(aq, i32x4.dot_i16x8_s(spreadCodes(q4, cb, p, v128.load(EXPAND8Q + (<usize>b0 << 4))), xv0));
        ax = i32x4.add(ax, i32x4.dot_i16x8_s(v128.load(SEL8 + (<usize>b0 << 4)), xv0));
        p += <usize>popcnt(b0);
        bq = i32x4.add(bq, i32x4.dot_i16x8_s(spreadCodes(q4, cb, p, v128.load(EXPAND8Q + (<usize>b1 << 4))), xv1));
        bx = i32x4.add(bx, i32x4.dot_i16x8_s(v128.load(SEL8 + (<usize>b1 << 4)), xv1));
        p += <usize>popcnt(b1);
      }
      if (c < cEnd) { // 8 columns left
        const b0 = <u32>load<u8>(mrow + (<usize>c >> 3));
        const xv0 = v128.load(x16 + (<usize>c << 1));
        aq = i32x4.add(aq, i32x4.dot_i16x8_s(spreadCodes(q4, cb, p, v128.load(EXPAND8Q + (<usize>b0 << 4))), xv0));
        ax = i32x4.add(ax, i32x4.dot_i16x8_s(v128.load(SEL8 + (<usize>b0 << 4)), xv0));
        p += <usize>popcnt(b0);
        c += 8;
      }
      dq += hsumI(i32x4.add(aq, bq));
      dx += hsumI(i32x4.add(ax, bx));
    }
    sum += load<f32>(ps + (<usize>g << 2)) * (dq - load<f32>(pz + (<usize>g << 2)) * dx);
  }
  return sum;
}

/** One mask byte of one int8 row: the byte's QTAB entry at e spreads the codes from p on onto x16 lanes xv. */
@inline function q8Step(p: usize, e: usize, xv: v128, aq: v128): v128 {
  return i32x4.add(aq, i32x4.dot_i16x8_s(spread(v128.load(p), v128.load(e)), xv));
}
@inline function q8Sel(e: usize, xv: v128, ax: v128): v128 {
  return i32x4.add(ax, i32x4.dot_i16x8_s(v128.load(e, 16), xv));
}

/** y[r..r+4) = sx s_k (+ bias): the int8 four-row kernels' sums moved to float scale. */
@inline function storeRows4Q8(y: usize, bias: usize, r: i32, sx: f32, s0: f32, s1: f32, s2: f32, s3: f32): void {
  s0 *= sx; s1 *= sx; s2 *= sx; s3 *= sx;
  if (bias != 0) {
    s0 += load<f32>(bias + (<usize>r << 2)); s1 += load<f32>(bias + (<usize>r << 2), 4);
    s2 += load<f32>(bias + (<usize>r << 2), 8); s3 += load<f32>(bias + (<usize>r << 2), 12);
  }
  store<f32>(y + (<usize>r << 2), s0); store<f32>(y + (<usize>r << 2), s1, 4);
  store<f32>(y + (<usize>r << 2), s2, 8); store<f32>(y + (<usize>r << 2), s3, 12);
}

/**
 * Codes start .. start + n of the int4 stream at codes (two per byte, low nibble first) as bytes at dst; writes up to
 * 16 bytes past n and reads up to 8 bytes past the last code's byte (the stream's padding).
 */
function widenNibbles(codes: usize, start: i32, n: i32, dst: usize): void {
  let i = start, d: usize = 0;
  if (n > 0 && (i & 1) != 0) { store<u8>(dst, load<u8>(codes + (<usize>i >> 1)) >> 4); i++; d = 1; }
  for (; d < <usize>n; d += 16, i += 16) v128.store(dst + d, nibbles(v128.load64_zero(codes + (<usize>i >> 1))));
}

/**
 * Four consecutive rows of a bitmask int8 matrix times x16 (before the factor sx), sharing the x16 loads (int4 rows
 * come here as bytes widened by widenNibbles, `codes` shifted so that offsets still index them).
 */
function rows4BitmaskQ8(mrow: usize, ms: usize, offsets: usize, codes: usize, x16: usize, cols: i32, G: i32, scales: usize, zeros: usize,
  r: i32, sx: f32, y: usize, bias: usize): void {
  let p0 = codes + <usize>load<i32>(offsets + (<usize>r << 2)), p1 = codes + <usize>load<i32>(offsets + (<usize>(r + 1) << 2));
  let p2 = codes + <usize>load<i32>(offsets + (<usize>(r + 2) << 2)), p3 = codes + <usize>load<i32>(offsets + (<usize>(r + 3) << 2));
  const ng = cols / G;
  const gs = <usize>ng << 2;
  const ps = scales + (<usize>(r * ng) << 2), pz = zeros + (<usize>(r * ng) << 2);
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  let c = 0;
  for (let g = 0; c < cols; g++) {
    const gEnd = c + G;
    let q0: f32 = 0, q1: f32 = 0, q2: f32 = 0, q3: f32 = 0, d0: f32 = 0, d1: f32 = 0, d2: f32 = 0, d3: f32 = 0;
    while (c < gEnd) {
      const cEnd = min(c + 512, gEnd);
      let aq0 = i32x4.splat(0), aq1 = i32x4.splat(0), aq2 = i32x4.splat(0), aq3 = i32x4.splat(0);
      let ax0 = i32x4.splat(0), ax1 = i32x4.splat(0), ax2 = i32x4.splat(0), ax3 = i32x4.splat(0);
      for (; c < cEnd; c += 8) {
        const xv = v128.load(x16 + (<usize>c << 1));
        const mp = mrow + (<usize>c >> 3);
        let e = QTAB + (<usize>load<u8>(mp) << 6);
        aq0 = q8Step(p0, e, xv, aq0); ax0 = q8Sel(e, xv, ax0); p0 += <usize>load<u32>(e, 32);
        e = QTAB + (<usize>load<u8>(mp + ms) << 6);
        aq1 = q8Step(p1, e, xv, aq1); ax1 = q8Sel(e, xv, ax1); p1 += <usize>load<u32>(e, 32);
        e = QTAB + (<usize>load<u8>(mp + 2 * ms) << 6);
        aq2 = q8Step(p2, e, xv, aq2); ax2 = q8Sel(e, xv, ax2); p2 += <usize>load<u32>(e, 32);
        e = QTAB + (<usize>load<u8>(mp + 3 * ms) << 6);
        aq3 = q8Step(p3, e, xv, aq3); ax3 = q8Sel(e, xv, ax3); p3 += <usize>load<u32>(e, 32);
      }
      q0 += hsumI(aq0); q1 += hsumI(aq1); q2 += hsumI(aq2); q3 += hsumI(aq3);
      d0 += hsumI(ax0); d1 += hsumI(ax1); d2 += hsumI(ax2); d3 += hsumI(ax3);
    }
    const go = <usize>g << 2;
    s0 += load<f32>(ps + go) * (q0 - load<f32>(pz + go) * d0);
    s1 += load<f32>(ps + gs + go) * (q1 - load<f32>(pz + gs + go) * d1);
    s2 += load<f32>(ps + 2 * gs + go) * (q2 - load<f32>(pz + 2 * gs + go) * d2);
    s3 += load<f32>(ps + 3 * gs + go) * (q3 - load<f32>(pz + 3 * gs + go) * d3);
  }
  storeRows4Q8(y, bias, r, sx, s0, s1, s2, s3);
}

/** Four consecutive rows of a 2:4 int8 matrix times x16 (before the factor sx), sharing the x16 loads. */
function rows4NM24Q8(irow: usize, is: usize, codes: usize, x16: usize, cols: i32, G: i32, scales: usize, zeros: usize,
  r: i32, sx: f32, y: usize, bias: usize): void {
  rows4NM24Q(false, irow, is, codes, x16, cols, G, scales, zeros, r, sx, y, bias);
}

/** As rows4NM24Q8 for int4 codes. */
function rows4NM24Q4(irow: usize, is: usize, codes: usize, x16: usize, cols: i32, G: i32, scales: usize, zeros: usize,
  r: i32, sx: f32, y: usize, bias: usize): void {
  rows4NM24Q(true, irow, is, codes, x16, cols, G, scales, zeros, r, sx, y, bias);
}

@inline function rows4NM24Q(q4: bool, irow: usize, is: usize, codes: usize, x16: usize, cols: i32, G: i32, scales: usize, zeros: usize,
  r: i32, sx: f32, y: usize, bias: usize): void {
  const cs = <usize>(q4 ? cols >> 2 : cols >> 1); // code bytes per row
  const p0 = codes + <usize>r * cs, p1 = p0 + cs, p2 = p1 + cs, p3 = p2 + cs;
  const ng = cols / G;
  const gs = <usize>ng << 2;
  const ps = scales + (<usize>(r * ng) << 2), pz = zeros + (<usize>(r * ng) << 2);
  const ones = i16x8(1, 1, 1, 1, 0, 0, 0, 0);
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  let c = 0;
  for (let g = 0; c < cols; g++) {
    const gEnd = c + G;
    let q0: f32 = 0, q1: f32 = 0, q2: f32 = 0, q3: f32 = 0, d0: f32 = 0, d1: f32 = 0, d2: f32 = 0, d3: f32 = 0;
    while (c < gEnd) {
      const cEnd = min(c + 512, gEnd);
      let aq0 = i32x4.splat(0), aq1 = i32x4.splat(0), aq2 = i32x4.splat(0), aq3 = i32x4.splat(0);
      let ax0 = i32x4.splat(0), ax1 = i32x4.splat(0), ax2 = i32x4.splat(0), ax3 = i32x4.splat(0);
      for (; c < cEnd; c += 8) {
        const xv = v128.load(x16 + (<usize>c << 1));
        const ib = irow + (<usize>c >> 3), co = q4 ? <usize>c >> 2 : <usize>c >> 1;
        let xg = spread(xv, v128.load(GATHER24Q + (<usize>load<u8>(ib) << 4)));
        aq0 = i32x4.add(aq0, i32x4.dot_i16x8_s(nmCodes4(q4, p0 + co), xg));
        ax0 = i32x4.add(ax0, i32x4.dot_i16x8_s(ones, xg));
        xg = spread(xv, v128.load(GATHER24Q + (<usize>load<u8>(ib + is) << 4)));
        aq1 = i32x4.add(aq1, i32x4.dot_i16x8_s(nmCodes4(q4, p1 + co), xg));
        ax1 = i32x4.add(ax1, i32x4.dot_i16x8_s(ones, xg));
        xg = spread(xv, v128.load(GATHER24Q + (<usize>load<u8>(ib + 2 * is) << 4)));
        aq2 = i32x4.add(aq2, i32x4.dot_i16x8_s(nmCodes4(q4, p2 + co), xg));
        ax2 = i32x4.add(ax2, i32x4.dot_i16x8_s(ones, xg));
        xg = spread(xv, v128.load(GATHER24Q + (<usize>load<u8>(ib + 3 * is) << 4)));
        aq3 = i32x4.add(aq3, i32x4.dot_i16x8_s(nmCodes4(q4, p3 + co), xg));
        ax3 = i32x4.add(ax3, i32x4.dot_i16x8_s(ones, xg));
      }
      q0 += hsumI(aq0); q1 += hsumI(aq1); q2 += hsumI(aq2); q3 += hsumI(aq3);
      d0 += hsumI(ax0); d1 += hsumI(ax1); d2 += hsumI(ax2); d3 += hsumI(ax3);
    }
    const go = <usize>g << 2;
    s0 += load<f32>(ps + go) * (q0 - load<f32>(pz + go) * d0);
    s1 += load<f32>(ps + gs + go) * (q1 - load<f32>(pz + gs + go) * d1);
    s2 += load<f32>(ps + 2 * gs + go) * (q2 - load<f32>(pz + 2 * gs + go) * d2);
    s3 += load<f32>(ps + 3 * gs + go) * (q3 - load<f32>(pz + 3 * gs + go) * d3);
  }
  storeRows4Q8(y, bias, r, sx, s0, s1, s2, s3);
}

/** Row of an N:M int8 matrix (kind 4 = 2:4, 5 = 4:8) times x16 (before the factor sx). */
function rowNMQ8(irow: usize, p: usize, x16: usize, cols: i32, kind: i32, G: i32, ps: usize, pz: usize): f32 {
  return rowNMQ(false, irow, p, x16, cols, kind == 4, G, ps, pz);
}

/** Row of an N:M int4 matrix (kind 8 = 2:4, 9 = 4:8) times x16 (before the factor sx). */
function rowNMQ4(irow: usize, p: usize, x16: usize, cols: i32, kind: i32, G: i32, ps: usize, pz: usize): f32 {
  return rowNMQ(true, irow, p, x16, cols, kind == 8, G, ps, pz);
}

@inline function rowNMQ(q4: bool, irow: usize, p: usize, x16: usize, cols: i32, nm24: bool, G: i32, ps: usize, pz: usize): f32 {
  let sum: f32 = 0;
  let c = 0;
  let bit: usize = 0;
  const ones = i16x8(1, 1, 1, 1, 0, 0, 0, 0);
  for (let g = 0; c < cols; g++) {
    const gEnd = c + G;
    let dq: f32 = 0, dx: f32 = 0;
    while (c < gEnd) {
      const cEnd = min(c + 512, gEnd);
      let aq = i32x4.splat(0), ax = i32x4.splat(0);
      for (; c < cEnd; c += 8) {
        let pat: v128;
        if (nm24) {
          pat = v128.load(GATHER24Q + (<usize>load<u8>(irow + (<usize>c >> 3)) << 4));
        } else {
          const code = <usize>(load<u32>(irow + (bit >> 3)) >> <u32>(bit & 7)) & 0xfff;
          pat = v128.load(GATHER48Q + (code << 4));
          bit += 12;
        }
        const xg = i8x16.swizzle(v128.load(x16 + (<usize>c << 1)), pat);
        aq = i32x4.add(aq, i32x4.dot_i16x8_s(nmCodes4(q4, p), xg));
        ax = i32x4.add(ax, i32x4.dot_i16x8_s(ones, xg));
        p += q4 ? 2 : 4;
      }
      dq += hsumI(aq);
      dx += hsumI(ax);
    }
    sum += load<f32>(ps + (<usize>g << 2)) * (dq - load<f32>(pz + (<usize>g << 2)) * dx);
  }
  return sum;
}

/** Per-thread scratch bytes that sparse_gemv / sparse_gemm need for `cols` input columns. */
export function sparse_scratch_bytes(cols: i32): i32 {
  return 136 * cols + 128; // GEMM: x block [cols, 32] f32 + the row's (column, weight) list; GEMV: x16 (int8/int4), then four rows of widened int4 codes
}

/** One row r of W times the input at x (f32) / x16 (int8 kinds, with factor sx). */
@inline function rowDot(kind: i32, layout: usize, offsets: usize, values: usize, scales: usize, zeros: usize, G: i32,
  x: usize, x16: usize, sx: f32, r: i32, cols: i32): f32 {
  if (kind == 0) {
    return rowBitmaskF32(layout + <usize>r * maskStride(cols), values + (<usize>load<i32>(offsets + (<usize>r << 2)) << 2), x, cols);
  }
  if (kind == 1) {
    const ng = cols / G;
    return sx * rowBitmaskQ8(layout + <usize>r * maskStride(cols), values + <usize>load<i32>(offsets + (<usize>r << 2)), x16, cols, G,
      scales + (<usize>(r * ng) << 2), zeros + (<usize>(r * ng) << 2));
  }
  if (kind == 7) {
    const ng = cols / G;
    return sx * rowBitmaskQ4(layout + <usize>r * maskStride(cols), values, <usize>load<i32>(offsets + (<usize>r << 2)), x16, cols, G,
      scales + (<usize>(r * ng) << 2), zeros + (<usize>(r * ng) << 2));
  }
  if (kind == 6) {
    return rowBlock8F32(layout + <usize>r * (<usize>((cols + 255) >> 8) << 2), values + (<usize>load<i32>(offsets + (<usize>r << 2)) << 5), x, cols >> 3);
  }
  const perRow = <usize>(cols >> 1); // N / M = 1/2 for both 2:4 and 4:8
  if (kind <= 3) return rowNMF32(layout + <usize>r * nmStride(cols, kind), values + ((<usize>r * perRow) << 2), x, cols, kind);
  const ng = cols / G;
  if (kind >= 8) { // int4: cols / 4 code bytes a row
    return sx * rowNMQ4(layout + <usize>r * nmStride(cols, kind), values + <usize>r * (perRow >> 1), x16, cols, kind, G,
      scales + (<usize>(r * ng) << 2), zeros + (<usize>(r * ng) << 2));
  }
  return sx * rowNMQ8(layout + <usize>r * nmStride(cols, kind), values + <usize>r * perRow, x16, cols, kind, G,
    scales + (<usize>(r * ng) << 2), zeros + (<usize>(r * ng) << 2));
}

/** y[rows] = W x (+ bias) for one input row x [cols]. */
export function sparse_gemv(kind: i32, layout: usize, offsets: usize, values: usize, scales: usize, zeros: usize, G: i32,
  x: usize, bias: usize, y: usize, rows: i32, cols: i32, scratch: usize, tid: i32, nt: i32): void {
  ensureTables();
  const r0 = chunkStart(rows, 4, tid, nt), r1 = chunkEnd(rows, 4, tid, nt);
  if (r0 >= r1) return;
  let x16: usize = 0;
  let sx: f32 = 1;
  if (isQuant(kind)) {
    x16 = (scratch + <usize>tid * <usize>sparse_scratch_bytes(cols) + 15) & ~(<usize>15);
    sx = prepareX16(x, cols, x16);
  }
  let r = r0;
  if (kind == 0) {
    const ms = maskStride(cols);
    for (; r + 4 <= r1; r += 4) rows4BitmaskF32(layout + <usize>r * ms, ms, offsets, values, x, cols, y, bias, r);
  } else if (kind == 1) {
    const ms = maskStride(cols);
    for (; r + 4 <= r1; r += 4) rows4BitmaskQ8(layout + <usize>r * ms, ms, offsets, values, x16, cols, G, scales, zeros, r, sx, y, bias);
  } else if (kind == 2) {
    const is = nmStride(cols, 2);
    for (; r + 4 <= r1; r += 4) rows4NM24F32(layout + <usize>r * is, is, values, x, cols, y, bias, r);
  } else if (kind == 4) {
    const is = nmStride(cols, 4);
    for (; r + 4 <= r1; r += 4) rows4NM24Q8(layout + <usize>r * is, is, values, x16, cols, G, scales, zeros, r, sx, y, bias);
  } else if (kind == 7) {
    // int4: each four rows' nibbles widened to bytes in one streaming pass, then the int8 kernel on those bytes
    // (widening per mask byte inside the kernel cost more instructions than the int8 kernel's whole step)
    const ms = maskStride(cols), bytes = (x16 + (<usize>cols << 1) + 64) & ~(<usize>15);
    for (; r + 4 <= r1; r += 4) {
      const o0 = load<i32>(offsets + (<usize>r << 2));
      widenNibbles(values, o0, load<i32>(offsets + (<usize>(r + 4) << 2)) - o0, bytes);
      rows4BitmaskQ8(layout + <usize>r * ms, ms, offsets, bytes - <usize>o0, x16, cols, G, scales, zeros, r, sx, y, bias);
    }
  } else if (kind == 8) {
    const is = nmStride(cols, 8);
    for (; r + 4 <= r1; r += 4) rows4NM24Q4(layout + <usize>r * is, is, values, x16, cols, G, scales, zeros, r, sx, y, bias);
  }
  for (; r < r1; r++) {
    let v = rowDot(kind, layout, offsets, values, scales, zeros, G, x, x16, sx, r, cols);
    if (bias != 0) v += load<f32>(bias + (<usize>r << 2));
    store<f32>(y + (<usize>r << 2), v);
  }
}

/**
 * The stored entries of row r as (column i32, weight f32) pairs at list, in increasing column order; returns their
 * count. int8 and int4 weights are dequantized as s * (q - z), the float32 value the dense-with-zeros checkpoint
 * holds. N:M groups with fewer than N non-zeros and 1x8 blocks list their stored zeros too (they add exactly nothing).
 */
function keptList(kind: i32, layout: usize, offsets: usize, values: usize, scales: usize, zeros: usize, G: i32, r: i32, cols: i32, list: usize): i32 {
  let n = 0;
  if (kind == 6) {
    const mrow = layout + <usize>r * (<usize>((cols + 255) >> 8) << 2);
    let p = values + (<usize>load<i32>(offsets + (<usize>r << 2)) << 5);
    for (let b0 = 0; b0 < cols >> 3; b0 += 32) {
      let wd = load<u32>(mrow + (<usize>b0 >> 3));
      while (wd != 0) {
        const c = (b0 + <i32>ctz(wd)) << 3;
        wd &= wd - 1;
        for (let j = 0; j < 8; j++) {
          const e = list + (<usize>(n + j) << 3);
          store<i32>(e, c + j);
          store<f32>(e, load<f32>(p + (<usize>j << 2)), 4);
        }
        p += 32;
        n += 8;
      }
    }
    return n;
  }
  if (kind == 0 || kind == 1 || kind == 7) {
    const mrow = layout + <usize>r * maskStride(cols);
    const i0 = load<i32>(offsets + (<usize>r << 2));
    const ng = kind != 0 ? cols / G : 0;
    for (let c0 = 0; c0 < cols; c0 += 32) {
      let wd = load<u32>(mrow + (<usize>c0 >> 3));
      while (wd != 0) {
        const c = c0 + <i32>ctz(wd);
        wd &= wd - 1;
        const i = <usize>(i0 + n);
        let w: f32;
        if (kind == 0) w = load<f32>(values + (i << 2));
        else {
          const gi = <usize>(r * ng + c / G) << 2;
          w = load<f32>(scales + gi) * (codeAt(kind == 7, values, i) - load<f32>(zeros + gi));
        }
        const e = list + (<usize>n << 3);
        store<i32>(e, c);
        store<f32>(e, w, 4);
        n++;
      }
    }
    return n;
  }
  const m = is24(kind) ? 4 : 8, nn = m >> 1, bits = m == 4 ? 2 : 3;
  const irow = layout + <usize>r * nmStride(cols, kind);
  const groups = cols / m, ng = kind >= 4 ? cols / G : 0;
  if (kind == 2) { // 2:4 float32: one index byte per 8 columns (two groups, four entries), values in order
    const p = values + (<usize>(r * groups * 2) << 2);
    let e = 0;
    for (let c = 0; c + 8 <= cols; c += 8) {
      const b = <i32>load<u8>(irow + (<usize>c >> 3));
      const le = list + (<usize>e << 3), pv = p + (<usize>e << 2);
      store<i32>(le, c + (b & 3)); store<f32>(le, load<f32>(pv), 4);
      store<i32>(le, c + ((b >> 2) & 3), 8); store<f32>(le, load<f32>(pv, 4), 12);
      store<i32>(le, c + 4 + ((b >> 4) & 3), 16); store<f32>(le, load<f32>(pv, 8), 20);
      store<i32>(le, c + 4 + (b >> 6), 24); store<f32>(le, load<f32>(pv, 12), 28);
      e += 4;
    }
    if (e < groups * 2) { // a last single group of 4 columns
      const b = <i32>load<u8>(irow + (<usize>(cols - 4) >> 3)), le = list + (<usize>e << 3), pv = p + (<usize>e << 2);
      store<i32>(le, cols - 4 + (b & 3)); store<f32>(le, load<f32>(pv), 4);
      store<i32>(le, cols - 4 + ((b >> 2) & 3), 8); store<f32>(le, load<f32>(pv, 4), 12);
    }
    return groups * 2;
  }
  for (let e = 0; e < groups * nn; e++) {
    const bit = e * bits;
    const j = (<i32>(load<u32>(irow + <usize>(bit >> 3)) >> <u32>(bit & 7))) & (m - 1);
    const c = (e / nn) * m + j;
    const i = <usize>(r * groups * nn + e);
    let w: f32;
    if (kind <= 3) w = load<f32>(values + (i << 2));
    else {
      const gi = <usize>(r * ng + c / G) << 2;
      w = load<f32>(scales + gi) * (codeAt(kind >= 8, values, i) - load<f32>(zeros + gi));
    }
    const le = list + (<usize>e << 3);
    store<i32>(le, c);
    store<f32>(le, w, 4);
  }
  return groups * nn;
}

/** xt [cols, W] = x[m0 .. m0 + mb, :]^T, lanes mb .. W zero. */
function transposeBlock(x: usize, cols: i32, m0: i32, mb: i32, W: i32, xt: usize): void {
  memory.fill(xt, 0, <usize>(cols * W) << 2);
  for (let j = 0; j < mb; j++) {
    const xr = x + (<usize>((m0 + j) * cols) << 2);
    for (let c = 0; c < cols; c++) store<f32>(xt + (<usize>(c * W + j) << 2), load<f32>(xr + (<usize>c << 2)));
  }
}

@inline function storeLanes(v: v128, y: usize, rowBytes: usize, mb: i32, j0: i32): void {
  if (j0 < mb) store<f32>(y + <usize>j0 * rowBytes, f32x4.extract_lane(v, 0));
  if (j0 + 1 < mb) store<f32>(y + <usize>(j0 + 1) * rowBytes, f32x4.extract_lane(v, 1));
  if (j0 + 2 < mb) store<f32>(y + <usize>(j0 + 2) * rowBytes, f32x4.extract_lane(v, 2));
  if (j0 + 3 < mb) store<f32>(y + <usize>(j0 + 3) * rowBytes, f32x4.extract_lane(v, 3));
}

/** y[m0 + j, r] = b + sum over the n listed (c, w) of w xt[c, j], j < mb, for 32 input rows at once. */
function spmmRow32(list: usize, n: i32, xt: usize, b: f32, y: usize, rowBytes: usize, mb: i32): void {
  let a0 = f32x4.splat(b), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let i = 0; i < n; i++) {
    const e = list + (<usize>i << 3);
    const xp = xt + (<usize>load<i32>(e) << 7);
    const w = v128.load32_splat(e + 4);
    a0 = fma4(w, v128.load(xp), a0); a1 = fma4(w, v128.load(xp, 16), a1);
    a2 = fma4(w, v128.load(xp, 32), a2); a3 = fma4(w, v128.load(xp, 48), a3);
    a4 = fma4(w, v128.load(xp, 64), a4); a5 = fma4(w, v128.load(xp, 80), a5);
    a6 = fma4(w, v128.load(xp, 96), a6); a7 = fma4(w, v128.load(xp, 112), a7);
  }
  storeLanes(a0, y, rowBytes, mb, 0); storeLanes(a1, y, rowBytes, mb, 4); storeLanes(a2, y, rowBytes, mb, 8); storeLanes(a3, y, rowBytes, mb, 12);
  storeLanes(a4, y, rowBytes, mb, 16); storeLanes(a5, y, rowBytes, mb, 20); storeLanes(a6, y, rowBytes, mb, 24); storeLanes(a7, y, rowBytes, mb, 28);
}

/** As spmmRow32 for 16 input rows. */
function spmmRow16(list: usize, n: i32, xt: usize, b: f32, y: usize, rowBytes: usize, mb: i32): void {
  let a0 = f32x4.splat(b), a1 = a0, a2 = a0, a3 = a0;
  for (let i = 0; i < n; i++) {
    const e = list + (<usize>i << 3);
    const xp = xt + (<usize>load<i32>(e) << 6);
    const w = v128.load32_splat(e + 4);
    a0 = fma4(w, v128.load(xp), a0); a1 = fma4(w, v128.load(xp, 16), a1);
    a2 = fma4(w, v128.load(xp, 32), a2); a3 = fma4(w, v128.load(xp, 48), a3);
  }
  storeLanes(a0, y, rowBytes, mb, 0); storeLanes(a1, y, rowBytes, mb, 4); storeLanes(a2, y, rowBytes, mb, 8); storeLanes(a3, y, rowBytes, mb, 12);
}

/** As spmmRow32 for 8 input rows. */
function spmmRow8(list: usize, n: i32, xt: usize, b: f32, y: usize, rowBytes: usize, mb: i32): void {
  let a0 = f32x4.splat(b), a1 = a0;
  for (let i = 0; i < n; i++) {
    const e = list + (<usize>i << 3);
    const xp = xt + (<usize>load<i32>(e) << 5);
    const w = v128.load32_splat(e + 4);
    a0 = fma4(w, v128.load(xp), a0); a1 = fma4(w, v128.load(xp, 16), a1);
  }
  storeLanes(a0, y, rowBytes, mb, 0); storeLanes(a1, y, rowBytes, mb, 4);
}

/**
 * y[M, rows] = x[M, cols] W^T (+ bias), sparse times dense with the input rows in the SIMD lanes (as XNNPACK's
 * SpMM): for each block of 32 (16, 8 for the last rows) input rows the thread transposes x's block to [cols, 32] in its
 * scratch, lists each of its weight rows' stored entries, and every entry adds w x[c, block] to 8 (4, 2) accumulators; only stored
 * weights cost work. Each output starts from the bias (or 0) and adds w x in increasing column order with the
 * same fused multiply-add as the dense GEMM's register tiles, skipping only exact zeros, so the result equals the
 * dense GEMM's on the dense-with-zeros matrix bit for bit.
 */
export function sparse_gemm(kind: i32, layout: usize, offsets: usize, values: usize, scales: usize, zeros: usize, G: i32,
  x: usize, bias: usize, y: usize, M: i32, rows: i32, cols: i32, scratch: usize, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 4, tid, nt), r1 = chunkEnd(rows, 4, tid, nt);
  if (r0 >= r1) return;
  const xt = (scratch + <usize>tid * <usize>sparse_scratch_bytes(cols) + 15) & ~(<usize>15);
  const list = xt + (<usize>cols << 7);
  const rowBytes = <usize>rows << 2;
  for (let m0 = 0; m0 < M; ) {
    const rest = M - m0, W = rest >= 32 ? 32 : rest > 8 ? 16 : 8, mb = min(W, rest);
    transposeBlock(x, cols, m0, mb, W, xt);
    const yb = y + <usize>m0 * rowBytes;
    for (let r = r0; r < r1; r++) {
      const n = keptList(kind, layout, offsets, values, scales, zeros, G, r, cols, list);
      const b: f32 = bias != 0 ? load<f32>(bias + (<usize>r << 2)) : 0;
      if (W == 32) spmmRow32(list, n, xt, b, yb + (<usize>r << 2), rowBytes, mb);
      else if (W == 16) spmmRow16(list, n, xt, b, yb + (<usize>r << 2), rowBytes, mb);
      else spmmRow8(list, n, xt, b, yb + (<usize>r << 2), rowBytes, mb);
    }
    m0 += mb;
  }
}
