/**
 * Plain TypeScript twins of the stereo kernels (src/kernels/assembly/stereo.ts): the readable definition of
 * each step of cost computation, SGM aggregation and winner-take-all. Layouts shared with the kernels:
 * images u8 [H][W]; census bit strings u64 per pixel (here as lo/hi u32 pairs); sub-region ranks u8 [H][W][K];
 * cost and aggregated volumes u16 [H][W][D] (D a multiple of 8). A left pixel x matches right pixel x - d; for
 * d > x (no right pixel) the cost of d = x is repeated, so those disparities never win on their own.
 */

/** Census: bit b of pixel p is 1 when I(p + a_b) < I(p + b_b); pairs = [ax, ay, bx, by] per bit, borders clamped. */
export function censusTransformRef(img: Uint8Array, out: Uint32Array, W: number, H: number, pairs: Int32Array): void {
  const nbits = pairs.length / 4;
  const at = (x: number, y: number) => img[Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))]!;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let lo = 0, hi = 0;
      for (let b = 0; b < nbits; b++) {
        const bit = at(x + pairs[4 * b]!, y + pairs[4 * b + 1]!) < at(x + pairs[4 * b + 2]!, y + pairs[4 * b + 3]!) ? 1 : 0;
        if (b < 32) lo |= bit << b;
        else hi |= bit << (b - 32);
      }
      out[2 * (y * W + x)] = lo >>> 0;
      out[2 * (y * W + x) + 1] = hi >>> 0;
    }
  }
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** C[y][x][d] = Hamming(census_L(x, y), census_R(x - d, y)). */
export function censusCostRef(cl: Uint32Array, cr: Uint32Array, cost: Uint16Array, W: number, H: number, D: number): void {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      for (let d = 0; d < D; d++) {
        const q = y * W + x - Math.min(d, x);
        cost[p * D + d] = popcount32(cl[2 * p]! ^ cr[2 * q]!) + popcount32(cl[2 * p + 1]! ^ cr[2 * q + 1]!);
      }
    }
  }
}

/**
 * Sub-region rank transform: ranks[p][k] = #{q in region k of the window : I(q) < I(p)}. offsets = [dx, dy, k]
 * per neighbour; one region gives the classic rank transform, several give the Rank SAD rank vector.
 */
export function rankTransformRef(img: Uint8Array, ranks: Uint8Array, W: number, H: number, K: number, offsets: Int32Array): void {
  const at = (x: number, y: number) => img[Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))]!;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = img[y * W + x]!;
      const base = (y * W + x) * K;
      for (let k = 0; k < K; k++) ranks[base + k] = 0;
      for (let i = 0; i < offsets.length; i += 3) {
        if (at(x + offsets[i]!, y + offsets[i + 1]!) < c) ranks[base + offsets[i + 2]!]!++;
      }
    }
  }
}

/** C[y][x][d] = sum_k |R_L[p][k] - R_R[p - d][k]| (K = 1: rank/AD; K > 1: Rank SAD). */
export function rankSadCostRef(rl: Uint8Array, rr: Uint8Array, cost: Uint16Array, W: number, H: number, D: number, K: number): void {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      for (let d = 0; d < D; d++) {
        const q = p - Math.min(d, x);
        let s = 0;
        for (let k = 0; k < K; k++) s += Math.abs(rl[p * K + k]! - rr[q * K + k]!);
        cost[p * D + d] = s;
      }
    }
  }
}

/**
 * Birchfield-Tomasi: the symmetric sampling-insensitive dissimilarity, min over both images of the distance
 * from one pixel's intensity to the interval spanned by the other's half-pixel neighbours.
 */
export function btCostRef(il: Uint8Array, ir: Uint8Array, cost: Uint16Array, W: number, H: number, D: number): void {
  const range = (img: Uint8Array, y: number, x: number): [number, number] => {
    const c = img[y * W + x]!;
    const l = x > 0 ? (c + img[y * W + x - 1]!) / 2 : c;
    const r = x < W - 1 ? (c + img[y * W + x + 1]!) / 2 : c;
    return [Math.min(c, l, r), Math.max(c, l, r)];
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const a = il[y * W + x]!;
      const [lmin, lmax] = range(il, y, x);
      for (let d = 0; d < D; d++) {
        const xr = x - Math.min(d, x);
        const b = ir[y * W + xr]!;
        const [rmin, rmax] = range(ir, y, xr);
        const dlr = Math.max(0, a - rmax, rmin - a);
        const drl = Math.max(0, b - lmax, lmin - b);
        cost[(y * W + x) * D + d] = Math.floor(Math.min(dlr, drl));
      }
    }
  }
}

/** Box sum over (2rx+1) x (2ry+1) pixels per disparity, borders clamped (every pixel sums the same count). */
export function boxSumRef(src: Uint16Array, dst: Uint16Array, W: number, H: number, D: number, rx: number, ry: number): void {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let dy = -ry; dy <= ry; dy++) {
          const yy = Math.min(H - 1, Math.max(0, y + dy));
          for (let dx = -rx; dx <= rx; dx++) s += src[(yy * W + Math.min(W - 1, Math.max(0, x + dx))) * D + d]!;
        }
        dst[(y * W + x) * D + d] = Math.min(s, 65535);
      }
    }
  }
}

/** out = min(a, t1) + round(lambda * min(b, t2)); lambda in 1/256 units. */
export function truncatedSumRef(a: Uint16Array, b: Uint16Array, out: Uint16Array, t1: number, t2: number, lambda256: number): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.min(a[i]!, t1) + ((Math.min(b[i]!, t2) * lambda256 + 128) >> 8);
}

export interface SgmParams {
  /** directions as [dx, dy] pairs */
  dirs: Int32Array;
  P1: number;
  P2: number;
  /** P2 = max(P1, P2 / (|I(p) - I(p - r)| + 1)) along each path */
  adaptiveP2: boolean;
}

/**
 * S[p][d] = sum over directions r of L_r(p, d), with
 * L_r(p, d) = C(p, d) + min(L_r(p-r, d), L_r(p-r, d±1) + P1, min_k L_r(p-r, k) + P2) - min_k L_r(p-r, k),
 * and L_r = C where p - r is outside the image. Arithmetic saturates at 65535 like the kernel's u16 lanes.
 * Returns S as a list of partial volumes whose saturating sum is S (here one; the kernel returns one per thread).
 */
export function sgmRef(cost: Uint16Array, img: Uint8Array, W: number, H: number, D: number, p: SgmParams): Uint16Array[] {
  const S = new Uint16Array(W * H * D);
  const L = new Uint16Array(W * H * D);
  const minL = new Uint16Array(W * H);
  const sat = (v: number) => Math.min(v, 65535);
  for (let i = 0; i < p.dirs.length; i += 2) {
    const dx = p.dirs[i]!, dy = p.dirs[i + 1]!;
    for (let yi = 0; yi < H; yi++) {
      const y = dy >= 0 ? yi : H - 1 - yi;
      for (let xi = 0; xi < W; xi++) {
        const x = dx >= 0 ? xi : W - 1 - xi;
        const px = x - dx, py = y - dy;
        const q = y * W + x;
        let m = 65535;
        if (px < 0 || px >= W || py < 0 || py >= H) {
          for (let d = 0; d < D; d++) L[q * D + d] = cost[q * D + d]!;
        } else {
          const pp = py * W + px;
          const mp = minL[pp]!;
          const P2 = p.adaptiveP2 ? Math.max(p.P1, Math.floor(p.P2 / (Math.abs(img[q]! - img[pp]!) + 1))) : p.P2;
          for (let d = 0; d < D; d++) {
            const a = L[pp * D + d]!;
            const b = d > 0 ? sat(L[pp * D + d - 1]! + p.P1) : 65535;
            const c = d < D - 1 ? sat(L[pp * D + d + 1]! + p.P1) : 65535;
            const best = Math.min(a, b, c, sat(mp + P2));
            L[q * D + d] = sat(cost[q * D + d]! + best - mp);
          }
        }
        for (let d = 0; d < D; d++) m = Math.min(m, L[q * D + d]!);
        minL[q] = m;
      }
    }
    for (let j = 0; j < S.length; j++) S[j] = sat(S[j]! + L[j]!);
  }
  return [S];
}

/** Saturating u16 sum of partial volumes. */
export function sumVolumes(volumes: Uint16Array[]): Uint16Array {
  const S = new Uint16Array(volumes[0]!.length);
  for (const v of volumes) for (let i = 0; i < S.length; i++) S[i] = Math.min(65535, S[i]! + v[i]!);
  return S;
}

export type Subpixel = 'none' | 'parabola' | 'equiangular';
export const SUBPIXEL_CODE: Record<Subpixel, number> = { none: 0, parabola: 1, equiangular: 2 };

/**
 * Winner-take-all on S (the sum of `volumes`): left disparity (subpixel by a parabola through the neighbours, or the equiangular
 * (V-shaped) fit that suits census-like costs better, -1 where the uniqueness
 * test fails: some d with |d - d*| > 1 has S(d) * (100 - u) < S(d*) * 100) and the right-view disparity
 * D_R(x) = argmin_d S(x + d, d) for the left-right check. Ties go to the smaller disparity.
 */
export function wtaRef(volumes: Uint16Array[], W: number, H: number, D: number, uniqueness: number, subpixel: Subpixel, left: Float32Array, right: Float32Array): void {
  const S = volumes.length === 1 ? volumes[0]! : sumVolumes(volumes);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const base = (y * W + x) * D;
      let best = 0;
      for (let d = 1; d < D; d++) if (S[base + d]! < S[base + best]!) best = d;
      const sb = S[base + best]!;
      let unique = true;
      if (uniqueness > 0) {
        for (let d = 0; d < D; d++) {
          if (Math.abs(d - best) > 1 && S[base + d]! * (100 - uniqueness) < sb * 100) { unique = false; break; }
        }
      }
      let disp = best;
      if (subpixel !== 'none' && best > 0 && best < D - 1) {
        const a = S[base + best - 1]!, c = S[base + best + 1]!;
        const denom = subpixel === 'parabola' ? a - 2 * sb + c : Math.max(a, c) - sb;
        if (denom > 0) disp = best + (a - c) / (2 * denom);
      }
      left[y * W + x] = unique ? disp : -1;
      let rb = 0, rs = 65536;
      for (let d = 0; d < D && x + d < W; d++) {
        const v = S[(y * W + x + d) * D + d]!;
        if (v < rs) { rs = v; rb = d; }
      }
      right[y * W + x] = rb;
    }
  }
}

/** Interior 3x3 median (every pixel with a full neighbourhood, as the kernel covers them: x from 1 in steps of 4). */
export function median3x3InteriorRef(src: Float32Array, dst: Float32Array, W: number, H: number): void {
  const v: number[] = new Array(9);
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < medianCoveredEnd(W); x++) {
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) v[n++] = src[(y + dy) * W + x + dx]!;
      v.sort((a, b) => a - b);
      dst[y * W + x] = v[4]!;
    }
  }
}

/** Last interior column the median kernel covers + 1 (it works in runs of four from x = 1). */
export function medianCoveredEnd(W: number): number {
  return W < 6 ? 1 : 1 + 4 * Math.floor((W - 2) / 4);
}
