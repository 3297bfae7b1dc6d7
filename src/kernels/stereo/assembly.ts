// Stereo kernels: census / sub-region rank transforms, pixelwise costs into a u16 volume [H][W][D], box
// aggregation, semi-global path aggregation (u16 lanes over 8 disparities at a time, saturating) and
// winner-take-all. Definitions: src/kernels/stereo/reference.ts. Rows are split across threads, except SGM
// whose directions are split (each thread sums its directions into its own volume; WTA adds them up).
import { chunkEnd, chunkStart } from '../common/simd';

@inline function clampi(v: i32, lo: i32, hi: i32): i32 {
  return max(lo, min(hi, v));
}

@inline function pix(img: usize, W: i32, H: i32, x: i32, y: i32): i32 {
  return <i32>load<u8>(img + <usize>(clampi(y, 0, H - 1) * W + clampi(x, 0, W - 1)));
}

@inline function censusScalar(img: usize, W: i32, H: i32, x: i32, y: i32, pairs: usize, nbits: i32): u64 {
  let bits: u64 = 0;
  for (let b = 0; b < nbits; b++) {
    const o = pairs + <usize>(b << 4);
    const va = pix(img, W, H, x + load<i32>(o), y + load<i32>(o + 4));
    const vb = pix(img, W, H, x + load<i32>(o + 8), y + load<i32>(o + 12));
    bits |= (<u64>(va < vb)) << <u64>b;
  }
  return bits;
}

/** One byte per pixel for 16 pixels: bit t of lane i = I(p_i + a) < I(p_i + b) for bits first .. first+7. */
@inline function censusByte(c: usize, W: i32, pairs: usize, first: i32, nbits: i32): v128 {
  let acc = i8x16.splat(0);
  const last = min(nbits, first + 8);
  for (let b = first; b < last; b++) {
    const o = pairs + <usize>(b << 4);
    const va = v128.load(c + <usize>(load<i32>(o + 4) * W + load<i32>(o)));
    const vb = v128.load(c + <usize>(load<i32>(o + 12) * W + load<i32>(o + 8)));
    acc = v128.or(acc, v128.and(i8x16.lt_u(va, vb), i8x16.splat(<i8>(<i32>1 << (b - first)))));
  }
  return acc;
}

/**
 * Census bit strings (u64 per pixel): bit b = I(p + a_b) < I(p + b_b), pairs = i32 [ax, ay, bx, by] per bit.
 * Interior runs of 16 pixels compare 16 lanes at once, build the eight bytes of each string, and transpose the
 * 8 x 16 byte block into 16 little-endian u64 with three rounds of shuffles; borders clamp, one pixel at a time.
 */
export function census_transform(img: usize, out: usize, W: i32, H: i32, pairs: usize, nbits: i32, tid: i32, nt: i32): void {
  let rx = 0, ry = 0;
  for (let b = 0; b < nbits; b++) {
    const o = pairs + <usize>(b << 4);
    rx = max(rx, max(abs<i32>(load<i32>(o)), abs<i32>(load<i32>(o + 8))));
    ry = max(ry, max(abs<i32>(load<i32>(o + 4)), abs<i32>(load<i32>(o + 12))));
  }
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    const row = out + (<usize>(y * W) << 3);
    let x = 0;
    if (y >= ry && y < H - ry) {
      for (; x < rx; x++) store<u64>(row + (<usize>x << 3), censusScalar(img, W, H, x, y, pairs, nbits));
      for (; x + 16 + rx <= W; x += 16) {
        const c = img + <usize>(y * W + x);
        const b0 = censusByte(c, W, pairs, 0, nbits), b1 = censusByte(c, W, pairs, 8, nbits);
        const b2 = censusByte(c, W, pairs, 16, nbits), b3 = censusByte(c, W, pairs, 24, nbits);
        const b4 = censusByte(c, W, pairs, 32, nbits), b5 = censusByte(c, W, pairs, 40, nbits);
        const b6 = censusByte(c, W, pairs, 48, nbits), b7 = censusByte(c, W, pairs, 56, nbits);
        // round 1: byte pairs (pixels 0-7 in *l, 8-15 in *h)
        const p01l = v128.shuffle<u8>(b0, b1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const p01h = v128.shuffle<u8>(b0, b1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const p23l = v128.shuffle<u8>(b2, b3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const p23h = v128.shuffle<u8>(b2, b3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const p45l = v128.shuffle<u8>(b4, b5, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const p45h = v128.shuffle<u8>(b4, b5, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        const p67l = v128.shuffle<u8>(b6, b7, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const p67h = v128.shuffle<u8>(b6, b7, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        // round 2: four bytes per pixel (q*_0: pixels 0-3, _1: 4-7, _2: 8-11, _3: 12-15)
        const qa0 = v128.shuffle<u16>(p01l, p23l, 0, 8, 1, 9, 2, 10, 3, 11), qa1 = v128.shuffle<u16>(p01l, p23l, 4, 12, 5, 13, 6, 14, 7, 15);
        const qa2 = v128.shuffle<u16>(p01h, p23h, 0, 8, 1, 9, 2, 10, 3, 11), qa3 = v128.shuffle<u16>(p01h, p23h, 4, 12, 5, 13, 6, 14, 7, 15);
        const qb0 = v128.shuffle<u16>(p45l, p67l, 0, 8, 1, 9, 2, 10, 3, 11), qb1 = v128.shuffle<u16>(p45l, p67l, 4, 12, 5, 13, 6, 14, 7, 15);
        const qb2 = v128.shuffle<u16>(p45h, p67h, 0, 8, 1, 9, 2, 10, 3, 11), qb3 = v128.shuffle<u16>(p45h, p67h, 4, 12, 5, 13, 6, 14, 7, 15);
        // round 3: eight bytes per pixel, two pixels per vector
        const dst = row + (<usize>x << 3);
        v128.store(dst, v128.shuffle<u32>(qa0, qb0, 0, 4, 1, 5));
        v128.store(dst + 16, v128.shuffle<u32>(qa0, qb0, 2, 6, 3, 7));
        v128.store(dst + 32, v128.shuffle<u32>(qa1, qb1, 0, 4, 1, 5));
        v128.store(dst + 48, v128.shuffle<u32>(qa1, qb1, 2, 6, 3, 7));
        v128.store(dst + 64, v128.shuffle<u32>(qa2, qb2, 0, 4, 1, 5));
        v128.store(dst + 80, v128.shuffle<u32>(qa2, qb2, 2, 6, 3, 7));
        v128.store(dst + 96, v128.shuffle<u32>(qa3, qb3, 0, 4, 1, 5));
        v128.store(dst + 112, v128.shuffle<u32>(qa3, qb3, 2, 6, 3, 7));
      }
    }
    for (; x < W; x++) store<u64>(row + (<usize>x << 3), censusScalar(img, W, H, x, y, pairs, nbits));
  }
}

/** Hamming distance between left and right census strings for every (x, d). */
export function census_cost(cl: usize, cr: usize, cost: usize, W: i32, H: i32, D: i32, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    const rowL = cl + (<usize>(y * W) << 3), rowR = cr + (<usize>(y * W) << 3);
    for (let x = 0; x < W; x++) {
      const a = load<u64>(rowL + (<usize>x << 3));
      const out = cost + (<usize>((y * W + x) * D) << 1);
      const dmax = min(D - 1, x);
      for (let d = 0; d <= dmax; d++) {
        store<u16>(out + (<usize>d << 1), <u16>popcnt<u64>(a ^ load<u64>(rowR + (<usize>(x - d) << 3))));
      }
      const last = load<u16>(out + (<usize>dmax << 1));
      for (let d = dmax + 1; d < D; d++) store<u16>(out + (<usize>d << 1), last);
    }
  }
}

@inline function rankScalar(img: usize, ranks: usize, W: i32, H: i32, K: i32, offsets: usize, noff: i32, x: i32, y: i32): void {
  const c = load<u8>(img + <usize>(y * W + x));
  const out = ranks + <usize>((y * W + x) * K);
  for (let k = 0; k < K; k++) store<u8>(out + <usize>k, 0);
  for (let i = 0; i < noff; i++) {
    const o = offsets + <usize>(i * 12);
    if (pix(img, W, H, x + load<i32>(o), y + load<i32>(o + 4)) < <i32>c) {
      const at = out + <usize>load<i32>(o + 8);
      store<u8>(at, load<u8>(at) + 1);
    }
  }
}

/**
 * Sub-region ranks (u8 [H][W][K]): offsets = i32 [dx, dy, region] per neighbour. Interior runs of 16 pixels
 * count with byte lanes (a comparison mask is -1, so subtracting it adds one), in K accumulators kept in the
 * thread's 16 K bytes of scratch, then interleave into the [W][K] layout; borders clamp, one pixel at a time.
 */
export function rank_transform(img: usize, ranks: usize, W: i32, H: i32, K: i32, offsets: usize, noff: i32, scratch: usize, tid: i32, nt: i32): void {
  let rx = 0, ry = 0;
  for (let i = 0; i < noff; i++) {
    rx = max(rx, abs<i32>(load<i32>(offsets + <usize>(i * 12))));
    ry = max(ry, abs<i32>(load<i32>(offsets + <usize>(i * 12 + 4))));
  }
  const acc = scratch + <usize>(tid * K * 16);
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    let x = 0;
    if (y >= ry && y < H - ry) {
      for (; x < rx; x++) rankScalar(img, ranks, W, H, K, offsets, noff, x, y);
      for (; x + 16 + rx <= W; x += 16) {
        const c = img + <usize>(y * W + x);
        const center = v128.load(c);
        for (let k = 0; k < K; k++) v128.store(acc + <usize>(k << 4), i8x16.splat(0));
        for (let i = 0; i < noff; i++) {
          const o = offsets + <usize>(i * 12);
          const m = i8x16.lt_u(v128.load(c + <usize>(load<i32>(o + 4) * W + load<i32>(o))), center);
          const at = acc + <usize>(load<i32>(o + 8) << 4);
          v128.store(at, i8x16.sub(v128.load(at), m));
        }
        const out = ranks + <usize>((y * W + x) * K);
        if (K == 1) {
          v128.store(out, v128.load(acc));
        } else {
          for (let j = 0; j < 16; j++) for (let k = 0; k < K; k++) store<u8>(out + <usize>(j * K + k), load<u8>(acc + <usize>((k << 4) + j)));
        }
      }
    }
    for (; x < W; x++) rankScalar(img, ranks, W, H, K, offsets, noff, x, y);
  }
}

/** SAD of the K-rank vectors of left pixel x and right pixel x - d (K = 1: rank/AD), 8 disparities per step. */
export function rank_sad_cost(rl: usize, rr: usize, cost: usize, W: i32, H: i32, D: i32, K: i32, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const out = cost + (<usize>(p * D) << 1);
      const a = rl + <usize>(p * K);
      const dmax = min(D - 1, x);
      let d = 0;
      if (K == 1) {
        const va = i16x8.splat(<i16>load<u8>(a));
        // right pixels p-d-7 .. p-d, loaded ascending and reversed into d order
        for (; d + 7 <= dmax; d += 8) {
          const b = i16x8.extend_low_i8x16_u(v128.load64_zero(rr + <usize>(p - d - 7)));
          const diff = i16x8.abs(i16x8.sub(va, v128.shuffle<u16>(b, b, 7, 6, 5, 4, 3, 2, 1, 0)));
          v128.store(out + (<usize>d << 1), diff);
        }
      } else if (K == 4) {
        const va = i32x4.splat(load<i32>(a));
        for (; d + 7 <= dmax; d += 8) {
          // two vectors of four right pixels each (4 ranks per pixel), ascending: q = p-d-7 .. p-d-4 and p-d-3 .. p-d
          const b0 = v128.load(rr + <usize>((p - d - 7) * 4)), b1 = v128.load(rr + <usize>((p - d - 3) * 4));
          const d0 = v128.or(i8x16.sub_sat_u(va, b0), i8x16.sub_sat_u(b0, va));
          const d1 = v128.or(i8x16.sub_sat_u(va, b1), i8x16.sub_sat_u(b1, va));
          const s0 = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(d0));
          const s1 = i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(d1));
          // lanes: s0 = d+7..d+4, s1 = d+3..d; pack to u16 and reverse into d order
          const packed = i16x8.narrow_i32x4_u(s1, s0);
          v128.store(out + (<usize>d << 1), v128.shuffle<u16>(packed, packed, 3, 2, 1, 0, 7, 6, 5, 4));
        }
      }
      for (; d <= dmax; d++) {
        const b = rr + <usize>((p - d) * K);
        let s = 0;
        for (let k = 0; k < K; k++) s += abs<i32>(<i32>load<u8>(a + <usize>k) - <i32>load<u8>(b + <usize>k));
        store<u16>(out + (<usize>d << 1), <u16>s);
      }
      const last = load<u16>(out + (<usize>dmax << 1));
      for (let dd = dmax + 1; dd < D; dd++) store<u16>(out + (<usize>dd << 1), last);
    }
  }
}

/** Doubled intensity and the doubled min / max over the half-pixel interpolants of one image row. */
@inline function btRow(row: usize, W: i32, v: usize, lo: usize, hi: usize): void {
  for (let x = 0; x < W; x++) {
    const a = (<i32>load<u8>(row + <usize>x)) << 1;
    const al = x > 0 ? a / 2 + <i32>load<u8>(row + <usize>(x - 1)) : a;
    const ar = x < W - 1 ? a / 2 + <i32>load<u8>(row + <usize>(x + 1)) : a;
    store<i16>(v + (<usize>x << 1), <i16>a);
    store<i16>(lo + (<usize>x << 1), <i16>min(a, min(al, ar)));
    store<i16>(hi + (<usize>x << 1), <i16>max(a, max(al, ar)));
  }
}

/**
 * Birchfield-Tomasi dissimilarity, in doubled intensities (the half-pixel interpolants stay integral) and
 * floored like the reference. Each row's values and interval ends are prepared once in the thread's scratch
 * (12 W bytes); then 8 disparities per step, the right pixels x-d-7 .. x-d loaded ascending and reversed.
 */
export function bt_cost(il: usize, ir: usize, cost: usize, W: i32, H: i32, D: i32, scratch: usize, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  const lv = scratch + <usize>(tid * W * 12), llo = lv + <usize>(W * 2), lhi = llo + <usize>(W * 2);
  const rv = lhi + <usize>(W * 2), rlo = rv + <usize>(W * 2), rhi = rlo + <usize>(W * 2);
  const zero = i16x8.splat(0);
  for (let y = y0; y < y1; y++) {
    btRow(il + <usize>(y * W), W, lv, llo, lhi);
    btRow(ir + <usize>(y * W), W, rv, rlo, rhi);
    for (let x = 0; x < W; x++) {
      const a = <i32>load<i16>(lv + (<usize>x << 1)), lmin = <i32>load<i16>(llo + (<usize>x << 1)), lmax = <i32>load<i16>(lhi + (<usize>x << 1));
      const va = i16x8.splat(<i16>a), vlmin = i16x8.splat(<i16>lmin), vlmax = i16x8.splat(<i16>lmax);
      const out = cost + (<usize>((y * W + x) * D) << 1);
      let d = 0;
      for (; d < D && d + 7 <= x; d += 8) {
        const o = <usize>(x - d - 7) << 1;
        let b = v128.load(rv + o), bmin = v128.load(rlo + o), bmax = v128.load(rhi + o);
        b = v128.shuffle<u16>(b, b, 7, 6, 5, 4, 3, 2, 1, 0);
        bmin = v128.shuffle<u16>(bmin, bmin, 7, 6, 5, 4, 3, 2, 1, 0);
        bmax = v128.shuffle<u16>(bmax, bmax, 7, 6, 5, 4, 3, 2, 1, 0);
        const dlr = i16x8.max_s(zero, i16x8.max_s(i16x8.sub(va, bmax), i16x8.sub(bmin, va)));
        const drl = i16x8.max_s(zero, i16x8.max_s(i16x8.sub(b, vlmax), i16x8.sub(vlmin, b)));
        v128.store(out + (<usize>d << 1), i16x8.shr_u(i16x8.min_s(dlr, drl), 1));
      }
      for (; d < D; d++) {
        const xr = x - min(d, x);
        const b = <i32>load<i16>(rv + (<usize>xr << 1)), rmin = <i32>load<i16>(rlo + (<usize>xr << 1)), rmax = <i32>load<i16>(rhi + (<usize>xr << 1));
        const dlr = max(0, max(a - rmax, rmin - a));
        const drl = max(0, max(b - lmax, lmin - b));
        store<u16>(out + (<usize>d << 1), <u16>(min(dlr, drl) >> 1));
      }
    }
  }
}

/** Horizontal half of the box sum: dst[y][x][d] = sum_{|dx|<=rx} src[y][clamp(x+dx)][d], saturating. */
export function box_sum_h(src: usize, dst: usize, W: i32, H: i32, D: i32, rx: i32, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < W; x++) {
      const out = dst + (<usize>((y * W + x) * D) << 1);
      for (let d = 0; d < D; d += 8) {
        let s = i16x8.splat(0);
        for (let dx = -rx; dx <= rx; dx++) {
          const xx = clampi(x + dx, 0, W - 1);
          s = i16x8.add_sat_u(s, v128.load(src + (<usize>((y * W + xx) * D + d) << 1)));
        }
        v128.store(out + (<usize>d << 1), s);
      }
    }
  }
}

/** Vertical half of the box sum: dst[y][x][d] = sum_{|dy|<=ry} src[clamp(y+dy)][x][d], saturating. */
export function box_sum_v(src: usize, dst: usize, W: i32, H: i32, D: i32, ry: i32, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  const row = W * D;
  for (let y = y0; y < y1; y++) {
    const out = dst + (<usize>(y * row) << 1);
    for (let i = 0; i < row; i += 8) {
      let s = i16x8.splat(0);
      for (let dy = -ry; dy <= ry; dy++) {
        s = i16x8.add_sat_u(s, v128.load(src + (<usize>(clampi(y + dy, 0, H - 1) * row + i) << 1)));
      }
      v128.store(out + (<usize>i << 1), s);
    }
  }
}

/** out = min(a, t1) + ((min(b, t2) * lambda256 + 128) >> 8), n a multiple of 8. */
export function truncated_sum(a: usize, b: usize, out: usize, n: i32, t1: i32, t2: i32, lambda256: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 8, tid, nt), i1 = chunkEnd(n, 8, tid, nt);
  const T1 = i16x8.splat(<i16>t1), T2 = i16x8.splat(<i16>t2);
  const lam = i32x4.splat(lambda256), half = i32x4.splat(128);
  for (let i = i0; i < i1; i += 8) {
    const va = i16x8.min_u(v128.load(a + (<usize>i << 1)), T1);
    const vb = i16x8.min_u(v128.load(b + (<usize>i << 1)), T2);
    const lo = i32x4.shr_u(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_u(vb), lam), half), 8);
    const hi = i32x4.shr_u(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_u(vb), lam), half), 8);
    v128.store(out + (<usize>i << 1), i16x8.add_sat_u(va, i16x8.narrow_i32x4_u(lo, hi)));
  }
}

@inline function hmin_u16(v: v128): i32 {
  v = i16x8.min_u(v, v128.shuffle<u16>(v, v, 4, 5, 6, 7, 0, 1, 2, 3));
  v = i16x8.min_u(v, v128.shuffle<u16>(v, v, 2, 3, 0, 1, 4, 5, 6, 7));
  v = i16x8.min_u(v, v128.shuffle<u16>(v, v, 1, 0, 2, 3, 4, 5, 6, 7));
  return <i32>i16x8.extract_lane_u(v, 0);
}

/** Scratch bytes sgm needs per direction: (maxDy + 1) rows of W pixels x (D + 16) lanes, plus row minima. */
export function sgm_scratch_bytes(W: i32, D: i32, maxDy: i32): i32 {
  return (maxDy + 1) * W * ((D + 16) * 2 + 2);
}

/** One path step at pixel (x, y) for direction (dx, dy): L = C + min(...) - min_prev, added into the pixel's S. */
@inline function pathStep(ring: usize, rows: i32, Dp: i32, W: i32, H: i32, D: i32, x: i32, y: i32, dx: i32, dy: i32,
  Cq: usize, Sq: usize, overwrite: bool, img: usize, P1: i32, P2: i32, adaptive: i32): void {
  const mins = ring + <usize>(rows * W * Dp * 2);
  const r = y % rows;
  const px = x - dx, py = y - dy;
  const Lc = ring + <usize>(((r * W + x) * Dp + 8) * 2);
  let vmin = i16x8.splat(-1);
  if (py < 0 || py >= H || px < 0 || px >= W) {
    for (let d = 0; d < D; d += 8) {
      const o = <usize>d << 1;
      const c = v128.load(Cq + o);
      v128.store(Lc + o, c);
      vmin = i16x8.min_u(vmin, c);
      v128.store(Sq + o, overwrite ? c : i16x8.add_sat_u(v128.load(Sq + o), c));
    }
  } else {
    const pr = ((py % rows) + rows) % rows;
    const Lp = ring + <usize>(((pr * W + px) * Dp + 8) * 2);
    const mp = <i32>load<u16>(mins + <usize>((pr * W + px) * 2));
    let p2 = P2;
    if (adaptive) {
      const diff = abs<i32>(<i32>load<u8>(img + <usize>(y * W + x)) - <i32>load<u8>(img + <usize>(py * W + px)));
      p2 = max(P1, P2 / (diff + 1));
    }
    const vmp = i16x8.splat(<i16>mp);
    const vjump = i16x8.add_sat_u(vmp, i16x8.splat(<i16>p2));
    const vP1 = i16x8.splat(<i16>P1);
    for (let d = 0; d < D; d += 8) {
      const o = <usize>d << 1;
      const a = v128.load(Lp + o);
      const b = i16x8.add_sat_u(v128.load(Lp + o - 2), vP1);
      const c = i16x8.add_sat_u(v128.load(Lp + o + 2), vP1);
      const best = i16x8.min_u(i16x8.min_u(a, b), i16x8.min_u(c, vjump));
      const l = i16x8.add_sat_u(v128.load(Cq + o), i16x8.sub(best, vmp));
      v128.store(Lc + o, l);
      vmin = i16x8.min_u(vmin, l);
      v128.store(Sq + o, overwrite ? l : i16x8.add_sat_u(v128.load(Sq + o), l));
    }
  }
  store<u16>(mins + <usize>((r * W + x) * 2), <u16>hmin_u16(vmin));
}

/**
 * Semi-global aggregation. dirs = i32 [dx, dy] pairs; thread t takes directions t, t + nt, ... and writes the
 * sum of its paths into volume t at S + t * H*W*D (the caller runs it on at most ndirs threads; wta adds the
 * volumes up on the fly, which saves a pass over them).
 * A thread's directions that share a scan order (forward: dy > 0, or dy = 0 and dx > 0; else backward) run
 * in one sweep, so each pixel's cost and sum rows are loaded once per sweep, not once per path: with 4 paths
 * that is the single top-to-bottom pass of streaming hardware. Each direction keeps a ring of |dy| + 1 rows of
 * L with 8 guard lanes of 0xFFFF on both sides of every pixel, so L(d-1) and L(d+1) are plain unaligned loads.
 */
export function sgm(cost: usize, S: usize, img: usize, W: i32, H: i32, D: i32, dirs: usize, ndirs: i32, P1: i32, P2: i32,
  adaptive: i32, scratch: usize, scratchBytes: i32, tid: i32, nt: i32): void {
  const Dp = D + 16;
  const vol = <usize>(W * H * D) << 1;
  const myS = S + <usize>tid * vol;
  let maxDy = 0;
  for (let di = 0; di < ndirs; di++) maxDy = max(maxDy, abs<i32>(load<i32>(dirs + <usize>(di * 8 + 4))));
  const perDir = <usize>sgm_scratch_bytes(W, D, maxDy);
  const base = scratch + <usize>(tid * scratchBytes);
  let first = true;
  for (let sweep = 0; sweep < 2; sweep++) {
    const forward = sweep == 0;
    // this thread's directions in this sweep, each with its own ring (slot = position in the thread's list)
    let any = false;
    for (let di = tid, slot = 0; di < ndirs; di += nt, slot++) {
      const dx = load<i32>(dirs + <usize>(di * 8)), dy = load<i32>(dirs + <usize>(di * 8 + 4));
      if ((dy > 0 || (dy == 0 && dx > 0)) != forward) continue;
      any = true;
      const ring = base + <usize>slot * perDir;
      const rows = abs<i32>(dy) + 1;
      for (let i = 0; i < rows * W; i++) {
        const px = ring + <usize>(i * Dp * 2);
        v128.store(px, i16x8.splat(-1));
        v128.store(px + <usize>((D + 8) * 2), i16x8.splat(-1));
      }
    }
    if (!any) continue;
    for (let yi = 0; yi < H; yi++) {
      const y = forward ? yi : H - 1 - yi;
      for (let xi = 0; xi < W; xi++) {
        const x = forward ? xi : W - 1 - xi;
        const q = y * W + x;
        const Cq = cost + (<usize>(q * D) << 1);
        const Sq = myS + (<usize>(q * D) << 1);
        let overwrite = first;
        for (let di = tid, slot = 0; di < ndirs; di += nt, slot++) {
          const dx = load<i32>(dirs + <usize>(di * 8)), dy = load<i32>(dirs + <usize>(di * 8 + 4));
          if ((dy > 0 || (dy == 0 && dx > 0)) != forward) continue;
          pathStep(base + <usize>slot * perDir, abs<i32>(dy) + 1, Dp, W, H, D, x, y, dx, dy, Cq, Sq, overwrite, img, P1, P2, adaptive);
          overwrite = false;
        }
      }
    }
    first = false;
  }
}

/**
 * Winner-take-all over S = the saturating sum of `nvol` volumes stored back to back at S: left disparity with
 * uniqueness test and subpixel fit (0 none, 1 parabola, 2 equiangular; -1 = rejected), and the right-view
 * disparity argmin_d S(x + d, d). Outputs are f32 [H][W]; scratch holds 4 (W + D + 8) + 2 D bytes per thread.
 */
export function wta(S: usize, nvol: i32, W: i32, H: i32, D: i32, uniqueness: i32, subpixel: i32, left: usize, right: usize, scratch: usize,
  tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  const vol = <usize>(W * H * D) << 1;
  const minR = scratch + <usize>(tid * ((W + D + 8) * 4 + D * 2)), argR = minR + <usize>((W + D + 8) * 2);
  const sumRow = argR + <usize>((W + D + 8) * 2);
  const lanes = i16x8(0, 1, 2, 3, 4, 5, 6, 7);
  for (let y = y0; y < y1; y++) {
    // right view: pixel xr = x - d takes the smallest S(x, d); slot W-1-xr keeps the 8 lanes of a chunk ascending
    for (let i = 0; i < W + D; i += 8) {
      v128.store(minR + (<usize>i << 1), i16x8.splat(-1));
      v128.store(argR + (<usize>i << 1), i16x8.splat(0));
    }
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      let base = S + (<usize>(p * D) << 1);
      if (nvol > 1) {
        for (let d = 0; d < D; d += 8) {
          const o = <usize>d << 1;
          let v = v128.load(base + o);
          for (let c = 1; c < nvol; c++) v = i16x8.add_sat_u(v, v128.load(base + <usize>c * vol + o));
          v128.store(sumRow + o, v);
        }
        base = sumRow;
      }
      let vmin = i16x8.splat(-1);
      for (let d = 0; d < D; d += 8) vmin = i16x8.min_u(vmin, v128.load(base + (<usize>d << 1)));
      const sb = hmin_u16(vmin);
      let best = 0;
      const vsb = i16x8.splat(<i16>sb);
      for (let d = 0; d < D; d += 8) {
        const m = i16x8.bitmask(i16x8.eq(v128.load(base + (<usize>d << 1)), vsb));
        if (m != 0) { best = d + ctz<i32>(m); break; }
      }
      let unique = true;
      if (uniqueness > 0) {
        const lim = <i64>sb * 100;
        for (let d = 0; d < D; d++) {
          if (abs<i32>(d - best) > 1 && <i64>load<u16>(base + (<usize>d << 1)) * <i64>(100 - uniqueness) < lim) { unique = false; break; }
        }
      }
      let disp = <f32>best;
      if (subpixel != 0 && best > 0 && best < D - 1) {
        const a = <i32>load<u16>(base + (<usize>(best - 1) << 1)), c = <i32>load<u16>(base + (<usize>(best + 1) << 1));
        const num: f32 = <f32>(a - c);
        if (subpixel == 1) {
          const denom = a - 2 * sb + c;
          if (denom > 0) disp = <f32>best + num / <f32>(denom + denom);
        } else {
          const denom = max(a, c) - sb;
          if (denom > 0) disp = <f32>best + num / <f32>(denom + denom);
        }
      }
      store<f32>(left + (<usize>p << 2), unique ? disp : -1);
      for (let d = 0; d < D; d += 8) {
        const slot = <usize>(W - 1 - x + d) << 1;
        const v = v128.load(base + (<usize>d << 1));
        const m = v128.load(minR + slot);
        const lt = i16x8.lt_u(v, m);
        v128.store(minR + slot, i16x8.min_u(v, m));
        v128.store(argR + slot, v128.bitselect(i16x8.add(i16x8.splat(<i16>d), lanes), v128.load(argR + slot), lt));
      }
    }
    for (let xr = 0; xr < W; xr++) store<f32>(right + (<usize>(y * W + xr) << 2), <f32>load<u16>(argR + (<usize>(W - 1 - xr) << 1)));
  }
}

/**
 * 3x3 median of interior pixels, four at a time: Paeth's 19-exchange selection network on f32x4 lanes. Border
 * pixels and neighbourhoods with invalid values are left to the caller (refine.ts), which knows the rules.
 */
export function median3x3_f32(src: usize, dst: usize, W: i32, H: i32, tid: i32, nt: i32): void {
  const y0 = max(1, chunkStart(H, 1, tid, nt)), y1 = min(H - 1, chunkEnd(H, 1, tid, nt));
  for (let y = y0; y < y1; y++) {
    for (let x = 1; x + 4 < W; x += 4) {
      const c = src + (<usize>(y * W + x) << 2), up = c - (<usize>W << 2), dn = c + (<usize>W << 2);
      let p0 = v128.load(up - 4), p1 = v128.load(up), p2 = v128.load(up + 4);
      let p3 = v128.load(c - 4), p4 = v128.load(c), p5 = v128.load(c + 4);
      let p6 = v128.load(dn - 4), p7 = v128.load(dn), p8 = v128.load(dn + 4);
      let t: v128;
      t = f32x4.min(p1, p2); p2 = f32x4.max(p1, p2); p1 = t;
      t = f32x4.min(p4, p5); p5 = f32x4.max(p4, p5); p4 = t;
      t = f32x4.min(p7, p8); p8 = f32x4.max(p7, p8); p7 = t;
      t = f32x4.min(p0, p1); p1 = f32x4.max(p0, p1); p0 = t;
      t = f32x4.min(p3, p4); p4 = f32x4.max(p3, p4); p3 = t;
      t = f32x4.min(p6, p7); p7 = f32x4.max(p6, p7); p6 = t;
      t = f32x4.min(p1, p2); p2 = f32x4.max(p1, p2); p1 = t;
      t = f32x4.min(p4, p5); p5 = f32x4.max(p4, p5); p4 = t;
      t = f32x4.min(p7, p8); p8 = f32x4.max(p7, p8); p7 = t;
      p3 = f32x4.max(p0, p3);
      p5 = f32x4.min(p5, p8);
      t = f32x4.min(p4, p7); p7 = f32x4.max(p4, p7); p4 = t;
      p6 = f32x4.max(p3, p6);
      p4 = f32x4.max(p1, p4);
      p2 = f32x4.min(p2, p5);
      p4 = f32x4.min(p4, p7);
      t = f32x4.min(p4, p2); p2 = f32x4.max(p4, p2); p4 = t;
      p4 = f32x4.max(p6, p4);
      v128.store(dst + (<usize>(y * W + x) << 2), f32x4.min(p4, p2));
    }
  }
}
