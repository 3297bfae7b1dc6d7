// Stereo kernels: census / sub-region rank transforms, pixelwise costs into a u16 volume [H][W][D], box
// aggregation, semi-global path aggregation (u16 lanes over 8 disparities at a time, saturating) and
// winner-take-all. Definitions: src/kernels/reference/stereo.ts. Rows are split across threads, except SGM
// whose directions are split (each thread sums its directions into its own volume; `add_u16` merges them).
import { chunkEnd, chunkStart } from './simd';

@inline function clampi(v: i32, lo: i32, hi: i32): i32 {
  return max(lo, min(hi, v));
}

@inline function pix(img: usize, W: i32, H: i32, x: i32, y: i32): i32 {
  return <i32>load<u8>(img + <usize>(clampi(y, 0, H - 1) * W + clampi(x, 0, W - 1)));
}

/** Census bit strings (u64 per pixel): bit b = I(p + a_b) < I(p + b_b), pairs = i32 [ax, ay, bx, by] per bit. */
export function census_transform(img: usize, out: usize, W: i32, H: i32, pairs: usize, nbits: i32, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    const inner = y >= 8 && y < H - 8;
    for (let x = 0; x < W; x++) {
      let bits: u64 = 0;
      if (inner && x >= 8 && x < W - 8) {
        const c = img + <usize>(y * W + x);
        for (let b = 0; b < nbits; b++) {
          const o = pairs + <usize>(b << 4);
          const va = load<u8>(c + <usize>(load<i32>(o + 4) * W + load<i32>(o)));
          const vb = load<u8>(c + <usize>(load<i32>(o + 12) * W + load<i32>(o + 8)));
          bits |= (<u64>(va < vb)) << <u64>b;
        }
      } else {
        for (let b = 0; b < nbits; b++) {
          const o = pairs + <usize>(b << 4);
          const va = pix(img, W, H, x + load<i32>(o), y + load<i32>(o + 4));
          const vb = pix(img, W, H, x + load<i32>(o + 8), y + load<i32>(o + 12));
          bits |= (<u64>(va < vb)) << <u64>b;
        }
      }
      store<u64>(out + (<usize>(y * W + x) << 3), bits);
    }
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

/** Sub-region ranks (u8 [H][W][K]): offsets = i32 [dx, dy, region] per neighbour. */
export function rank_transform(img: usize, ranks: usize, W: i32, H: i32, K: i32, offsets: usize, noff: i32, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    const inner = y >= 8 && y < H - 8;
    for (let x = 0; x < W; x++) {
      const c = load<u8>(img + <usize>(y * W + x));
      const out = ranks + <usize>((y * W + x) * K);
      for (let k = 0; k < K; k++) store<u8>(out + <usize>k, 0);
      const fast = inner && x >= 8 && x < W - 8;
      for (let i = 0; i < noff; i++) {
        const o = offsets + <usize>(i * 12);
        const dx = load<i32>(o), dy = load<i32>(o + 4);
        const v = fast ? <i32>load<u8>(img + <usize>((y + dy) * W + x + dx)) : pix(img, W, H, x + dx, y + dy);
        if (v < <i32>c) {
          const at = out + <usize>load<i32>(o + 8);
          store<u8>(at, load<u8>(at) + 1);
        }
      }
    }
  }
}

/** SAD of the K-rank vectors of left pixel x and right pixel x - d (K = 1: rank/AD). */
export function rank_sad_cost(rl: usize, rr: usize, cost: usize, W: i32, H: i32, D: i32, K: i32, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const out = cost + (<usize>(p * D) << 1);
      const a = rl + <usize>(p * K);
      const dmax = min(D - 1, x);
      for (let d = 0; d <= dmax; d++) {
        const b = rr + <usize>((p - d) * K);
        let s = 0;
        for (let k = 0; k < K; k++) s += abs<i32>(<i32>load<u8>(a + <usize>k) - <i32>load<u8>(b + <usize>k));
        store<u16>(out + (<usize>d << 1), <u16>s);
      }
      const last = load<u16>(out + (<usize>dmax << 1));
      for (let d = dmax + 1; d < D; d++) store<u16>(out + (<usize>d << 1), last);
    }
  }
}

/** Birchfield-Tomasi dissimilarity, computed in half-intensity units and floored like the reference. */
export function bt_cost(il: usize, ir: usize, cost: usize, W: i32, H: i32, D: i32, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    const L = il + <usize>(y * W), R = ir + <usize>(y * W);
    for (let x = 0; x < W; x++) {
      // doubled intensities keep the half-pixel interpolations integral
      const a = (<i32>load<u8>(L + <usize>x)) << 1;
      const al = x > 0 ? a / 2 + <i32>load<u8>(L + <usize>(x - 1)) : a;
      const ar = x < W - 1 ? a / 2 + <i32>load<u8>(L + <usize>(x + 1)) : a;
      const lmin = min(a, min(al, ar)), lmax = max(a, max(al, ar));
      const out = cost + (<usize>((y * W + x) * D) << 1);
      for (let d = 0; d < D; d++) {
        const xr = x - min(d, x);
        const b = (<i32>load<u8>(R + <usize>xr)) << 1;
        const bl = xr > 0 ? b / 2 + <i32>load<u8>(R + <usize>(xr - 1)) : b;
        const br = xr < W - 1 ? b / 2 + <i32>load<u8>(R + <usize>(xr + 1)) : b;
        const rmin = min(b, min(bl, br)), rmax = max(b, max(bl, br));
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

/** dst += each of the `count` volumes stored back to back at src (n elements each, n a multiple of 8), saturating. */
export function add_u16(dst: usize, src: usize, n: i32, count: i32, tid: i32, nt: i32): void {
  const i0 = chunkStart(n, 8, tid, nt), i1 = chunkEnd(n, 8, tid, nt);
  for (let i = i0; i < i1; i += 8) {
    let s = v128.load(dst + (<usize>i << 1));
    for (let c = 0; c < count; c++) s = i16x8.add_sat_u(s, v128.load(src + (<usize>(c * n + i) << 1)));
    v128.store(dst + (<usize>i << 1), s);
  }
}

@inline function hmin_u16(v: v128): i32 {
  v = i16x8.min_u(v, v128.shuffle<u16>(v, v, 4, 5, 6, 7, 0, 1, 2, 3));
  v = i16x8.min_u(v, v128.shuffle<u16>(v, v, 2, 3, 0, 1, 4, 5, 6, 7));
  v = i16x8.min_u(v, v128.shuffle<u16>(v, v, 1, 0, 2, 3, 4, 5, 6, 7));
  return <i32>i16x8.extract_lane_u(v, 0);
}

/** Bytes of per-thread scratch sgm needs: (maxDy + 1) rows of W pixels x (D + 16) lanes, plus row minima. */
export function sgm_scratch_bytes(W: i32, D: i32, maxDy: i32): i32 {
  return (maxDy + 1) * W * ((D + 16) * 2 + 2);
}

/**
 * Semi-global aggregation. dirs = i32 [dx, dy] pairs; thread t takes directions t, t + nt, ... and writes the
 * sum of its paths into S (thread 0) or extra + (t - 1) * H*W*D; the caller runs it on at most ndirs threads. Each pixel's L row in the scratch ring has 8 guard
 * lanes of 0xFFFF on both sides, so L(d-1) and L(d+1) are plain unaligned loads (saturating + P1 keeps them out).
 */
export function sgm(cost: usize, S: usize, extra: usize, img: usize, W: i32, H: i32, D: i32, dirs: usize, ndirs: i32, P1: i32, P2: i32,
  adaptive: i32, scratch: usize, scratchBytes: i32, tid: i32, nt: i32): void {
  const Dp = D + 16;
  const vol = <usize>(W * H * D) << 1;
  const myS = tid == 0 ? S : extra + <usize>(tid - 1) * vol;
  const ring = scratch + <usize>(tid * scratchBytes);
  const vP1 = i16x8.splat(<i16>P1);
  let first = true;
  for (let di = tid; di < ndirs; di += nt) {
    const dx = load<i32>(dirs + <usize>(di * 8)), dy = load<i32>(dirs + <usize>(di * 8 + 4));
    const rows = abs<i32>(dy) + 1;
    const mins = ring + <usize>(rows * W * Dp * 2);
    // guard lanes
    for (let i = 0; i < rows * W; i++) {
      const px = ring + <usize>(i * Dp * 2);
      v128.store(px, i16x8.splat(-1));
      v128.store(px + <usize>((D + 8) * 2), i16x8.splat(-1));
    }
    for (let yi = 0; yi < H; yi++) {
      const y = dy >= 0 ? yi : H - 1 - yi;
      const r = y % rows;
      const py = y - dy;
      const pr = ((py % rows) + rows) % rows;
      const prevOk = py >= 0 && py < H;
      for (let xi = 0; xi < W; xi++) {
        const x = dx >= 0 ? xi : W - 1 - xi;
        const px = x - dx;
        const q = y * W + x;
        const Lc = ring + <usize>(((r * W + x) * Dp + 8) * 2);
        const Cq = cost + (<usize>(q * D) << 1);
        const Sq = myS + (<usize>(q * D) << 1);
        let vmin = i16x8.splat(-1);
        if (!prevOk || px < 0 || px >= W) {
          for (let d = 0; d < D; d += 8) {
            const c = v128.load(Cq + (<usize>d << 1));
            v128.store(Lc + (<usize>d << 1), c);
            vmin = i16x8.min_u(vmin, c);
            const at = Sq + (<usize>d << 1);
            v128.store(at, first ? c : i16x8.add_sat_u(v128.load(at), c));
          }
        } else {
          const Lp = ring + <usize>(((pr * W + px) * Dp + 8) * 2);
          const mp = <i32>load<u16>(mins + <usize>((pr * W + px) * 2));
          let p2 = P2;
          if (adaptive) {
            const diff = abs<i32>(<i32>load<u8>(img + <usize>q) - <i32>load<u8>(img + <usize>(py * W + px)));
            p2 = max(P1, P2 / (diff + 1));
          }
          const vmp = i16x8.splat(<i16>mp);
          const vjump = i16x8.add_sat_u(vmp, i16x8.splat(<i16>p2));
          for (let d = 0; d < D; d += 8) {
            const o = <usize>d << 1;
            const a = v128.load(Lp + o);
            const b = i16x8.add_sat_u(v128.load(Lp + o - 2), vP1);
            const c = i16x8.add_sat_u(v128.load(Lp + o + 2), vP1);
            const best = i16x8.min_u(i16x8.min_u(a, b), i16x8.min_u(c, vjump));
            const l = i16x8.add_sat_u(v128.load(Cq + o), i16x8.sub(best, vmp));
            v128.store(Lc + o, l);
            vmin = i16x8.min_u(vmin, l);
            const at = Sq + o;
            v128.store(at, first ? l : i16x8.add_sat_u(v128.load(at), l));
          }
        }
        store<u16>(mins + <usize>((r * W + x) * 2), <u16>hmin_u16(vmin));
      }
    }
    first = false;
  }
}

/**
 * Winner-take-all: left disparity with uniqueness test and parabola subpixel (-1 = rejected), and the
 * right-view disparity argmin_d S(x + d, d). Outputs are f32 [H][W].
 */
export function wta(S: usize, W: i32, H: i32, D: i32, uniqueness: i32, subpixel: i32, left: usize, right: usize, tid: i32, nt: i32): void {
  const y0 = chunkStart(H, 1, tid, nt), y1 = chunkEnd(H, 1, tid, nt);
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      const base = S + (<usize>(p * D) << 1);
      let vmin = i16x8.splat(-1);
      for (let d = 0; d < D; d += 8) vmin = i16x8.min_u(vmin, v128.load(base + (<usize>d << 1)));
      const sb = hmin_u16(vmin);
      let best = 0;
      while (<i32>load<u16>(base + (<usize>best << 1)) != sb) best++;
      let unique = true;
      if (uniqueness > 0) {
        const lim = <i64>sb * 100;
        for (let d = 0; d < D; d++) {
          if (abs<i32>(d - best) > 1 && <i64>load<u16>(base + (<usize>d << 1)) * <i64>(100 - uniqueness) < lim) { unique = false; break; }
        }
      }
      let disp = <f32>best;
      if (subpixel && best > 0 && best < D - 1) {
        const a = <i32>load<u16>(base + (<usize>(best - 1) << 1)), c = <i32>load<u16>(base + (<usize>(best + 1) << 1));
        const denom = a - 2 * sb + c;
        if (denom > 0) {
          const num: f32 = <f32>(a - c), den: f32 = <f32>(denom + denom);
          disp = <f32>best + num / den;
        }
      }
      store<f32>(left + (<usize>p << 2), unique ? disp : -1);
      let rb = 0, rs = 65536;
      const dm = min(D, W - x);
      for (let d = 0; d < dm; d++) {
        const v = <i32>load<u16>(S + (<usize>((p + d) * D + d) << 1));
        if (v < rs) { rs = v; rb = d; }
      }
      store<f32>(right + (<usize>p << 2), <f32>rb);
    }
  }
}
