// Non-causal flash attention (FlashAttention-2 order, for video DiTs), dense or block-sparse, on [heads, N, d]
// tensors (head-major, token rows of d floats; d a multiple of 8). Work items are (head, query block); each
// streams its key blocks with an online softmax (running max m, denominator l, output rescaled by
// exp(m_old - m_new)). A block-sparse call skips both Q_i K_j^T and P_ij V_j for every key block it does not
// list. Masks: CSR index lists (rowPtr [heads * nb + 1], cols: sorted key-block ids) or a u8 bitmap
// [heads, nb, nb]; neither = dense. A query block with no key block gets a zero output.
//
// K is first packed per head into 8-key panels [ceil(N/8)][d][8] (pack_k_panels), so S = Q K^T runs as the
// sgemm 4x8 register tile; P V runs as a 4x8 tile over V's rows. Inside a query block the loop order is
// key block -> groups of 4 query rows, so a key/value block is read from L1/L2 by every row group.
// block_mass gives the exact softmax mass of every (query block, key block) pair from the row log-sum-exp
// that a dense flash_attention call wrote (lse != 0): the ground truth for attention-mass recall.
import { fma4, exp4, exp1, hmax } from '../common/simd';

/** Per-thread scratch floats flash_attention / block_mass need for a block size and head dim. */
export function flash_scratch_floats(block: i32, d: i32): i32 {
  return 2 * (block + 4) + 4 * block + 4 * d + 4;
}

export function pack_k_panels(k: usize, dst: usize, heads: i32, N: i32, d: i32, tid: i32, nt: i32): void {
  const np = (N + 7) >> 3;
  const items = heads * np;
  const per = (items + nt - 1) / nt;
  const end = min(items, (tid + 1) * per);
  for (let it = tid * per; it < end; it++) {
    const h = it / np;
    const p = it - h * np;
    const base = dst + (<usize>(it * d * 8) << 2);
    for (let c = 0; c < 8; c++) {
      const row = p * 8 + c;
      let o = base + (<usize>c << 2);
      if (row < N) {
        let src = k + (<usize>((h * N + row) * d) << 2);
        for (let kk = 0; kk < d; kk++) {
          store<f32>(o, load<f32>(src));
          src += 4;
          o += 32;
        }
      } else {
        for (let kk = 0; kk < d; kk++) {
          store<f32>(o, 0);
          o += 32;
        }
      }
    }
  }
}

/**
 * S[4][stride] = scale * (query rows q0 .. q0 + gr - 1) . (key panels p0 .. p0 + npan - 1)^T; a group of fewer than 4
 * rows repeats row q0 in the missing rows (their scores are computed and ignored).
 */
@inline function scoreTile(q0: usize, gr: i32, kh: usize, p0: i32, npan: i32, d: i32, scale: f32, S: usize, stride: i32): void {
  const rowBytes = <usize>d << 2;
  const q1 = gr > 1 ? q0 + rowBytes : q0;
  const q2 = gr > 2 ? q0 + 2 * rowBytes : q0;
  const q3 = gr > 3 ? q0 + 3 * rowBytes : q0;
  const sv = f32x4.splat(scale);
  const rs = <usize>stride << 2;
  for (let p = 0; p < npan; p++) {
    let kp = kh + (<usize>((p0 + p) * d * 8) << 2);
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    for (let kk = 0; kk < d; kk++) {
      const off = <usize>kk << 2;
      const b0 = v128.load(kp);
      const b1 = v128.load(kp, 16);
      const a0 = v128.load32_splat(q0 + off);
      const a1 = v128.load32_splat(q1 + off);
      const a2 = v128.load32_splat(q2 + off);
      const a3 = v128.load32_splat(q3 + off);
      c00 = fma4(a0, b0, c00); c01 = fma4(a0, b1, c01);
      c10 = fma4(a1, b0, c10); c11 = fma4(a1, b1, c11);
      c20 = fma4(a2, b0, c20); c21 = fma4(a2, b1, c21);
      c30 = fma4(a3, b0, c30); c31 = fma4(a3, b1, c31);
      kp += 32;
    }
    const s = S + (<usize>(p * 8) << 2);
    v128.store(s, f32x4.mul(c00, sv)); v128.store(s, f32x4.mul(c01, sv), 16);
    v128.store(s + rs, f32x4.mul(c10, sv)); v128.store(s + rs, f32x4.mul(c11, sv), 16);
    v128.store(s + 2 * rs, f32x4.mul(c20, sv)); v128.store(s + 2 * rs, f32x4.mul(c21, sv), 16);
    v128.store(s + 3 * rs, f32x4.mul(c30, sv)); v128.store(s + 3 * rs, f32x4.mul(c31, sv), 16);
  }
}

@inline function rowMax(s: usize, n: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) mv = f32x4.max(mv, v128.load(s + (<usize>j << 2)));
  let m = hmax(mv);
  for (; j < n; j++) m = max(m, load<f32>(s + (<usize>j << 2)));
  return m;
}

/** In place s[j] = exp(s[j] - m) for j < n; returns the sum. */
@inline function expShift(s: usize, n: i32, m: f32): f32 {
  const mv = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const e = exp4(f32x4.sub(v128.load(s + (<usize>j << 2)), mv));
    v128.store(s + (<usize>j << 2), e);
    acc = f32x4.add(acc, e);
  }
  let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; j < n; j++) {
    const e = exp1(load<f32>(s + (<usize>j << 2)) - m);
    store<f32>(s + (<usize>j << 2), e);
    sum += e;
  }
  return sum;
}

/** One key block (tokens j0 .. j0 + jn - 1) against the query rows r0 .. r0 + rn - 1 of one head. */
function attendBlock(qh: usize, kh: usize, vh: usize, oh: usize, r0: i32, rn: i32, j0: i32, jn: i32, d: i32, scale: f32,
  block: i32, mArr: usize, lArr: usize, S: usize, corr: usize, dummy: usize): void {
  const npan = (jn + 7) >> 3;
  const rowBytes = <usize>d << 2;
  for (let g = 0; g < rn; g += 4) {
    const gr = min(4, rn - g);
    scoreTile(qh + <usize>(r0 + g) * rowBytes, gr, kh, j0 >> 3, npan, d, scale, S, block);
    for (let r = 0; r < 4; r++) {
      const slot = <usize>(r < gr ? g + r : block + r) << 2;
      const srow = S + (<usize>(r * block) << 2);
      const mOld = load<f32>(mArr + slot);
      const mNew = max(mOld, rowMax(srow, jn));
      const c: f32 = mOld == -Infinity ? 0 : exp1(mOld - mNew);
      const lt = expShift(srow, jn, mNew);
      store<f32>(lArr + slot, load<f32>(lArr + slot) * c + lt);
      store<f32>(mArr + slot, mNew);
      store<f32>(corr + (<usize>r << 2), c);
    }
    const o0 = oh + <usize>(r0 + g) * rowBytes;
    const o1 = gr > 1 ? o0 + rowBytes : dummy + rowBytes;
    const o2 = gr > 2 ? o0 + 2 * rowBytes : dummy + 2 * rowBytes;
    const o3 = gr > 3 ? o0 + 3 * rowBytes : dummy + 3 * rowBytes;
    const k0 = v128.load32_splat(corr), k1 = v128.load32_splat(corr + 4), k2 = v128.load32_splat(corr + 8), k3 = v128.load32_splat(corr + 12);
    const rs = <usize>block << 2;
    for (let c = 0; c < d; c += 8) {
      const off = <usize>c << 2;
      let a00 = f32x4.mul(v128.load(o0 + off), k0), a01 = f32x4.mul(v128.load(o0 + off, 16), k0);
      let a10 = f32x4.mul(v128.load(o1 + off), k1), a11 = f32x4.mul(v128.load(o1 + off, 16), k1);
      let a20 = f32x4.mul(v128.load(o2 + off), k2), a21 = f32x4.mul(v128.load(o2 + off, 16), k2);
      let a30 = f32x4.mul(v128.load(o3 + off), k3), a31 = f32x4.mul(v128.load(o3 + off, 16), k3);
      let vp = vh + <usize>j0 * rowBytes + off;
      let pp = S;
      for (let j = 0; j < jn; j++) {
        const b0 = v128.load(vp);
        const b1 = v128.load(vp, 16);
        const p0 = v128.load32_splat(pp);
        const p1 = v128.load32_splat(pp + rs);
        const p2 = v128.load32_splat(pp + 2 * rs);
        const p3 = v128.load32_splat(pp + 3 * rs);
        a00 = fma4(p0, b0, a00); a01 = fma4(p0, b1, a01);
        a10 = fma4(p1, b0, a10); a11 = fma4(p1, b1, a11);
        a20 = fma4(p2, b0, a20); a21 = fma4(p2, b1, a21);
        a30 = fma4(p3, b0, a30); a31 = fma4(p3, b1, a31);
        vp += rowBytes;
        pp += 4;
      }
      v128.store(o0 + off, a00); v128.store(o0 + off, a01, 16);
      v128.store(o1 + off, a10); v128.store(o1 + off, a11, 16);
      v128.store(o2 + off, a20); v128.store(o2 + off, a21, 16);
      v128.store(o3 + off, a30); v128.store(o3 + off, a31, 16);
    }
  }
}

export function flash_attention(q: usize, kp: usize, v: usize, out: usize, lse: usize, heads: i32, N: i32, d: i32, block: i32,
  scale: f32, rowPtr: usize, cols: usize, bitmap: usize, scratch: usize, tid: i32, nt: i32): void {
  const nb = (N + block - 1) / block;
  const np = (N + 7) >> 3;
  const sc = scratch + <usize>tid * (<usize>flash_scratch_floats(block, d) << 2);
  const mArr = sc;
  const lArr = mArr + (<usize>(block + 4) << 2);
  const S = lArr + (<usize>(block + 4) << 2);
  const dummy = S + (<usize>(4 * block) << 2);
  const corr = dummy + (<usize>(4 * d) << 2);
  const items = heads * nb;
  const rowBytes = <usize>d << 2;
  for (let it = tid; it < items; it += nt) {
    const h = it / nb;
    const qb = it - h * nb;
    const r0 = qb * block;
    const rn = min(block, N - r0);
    const headOff = <usize>h * <usize>N * rowBytes;
    const qh = q + headOff, vh = v + headOff, oh = out + headOff;
    const kh = kp + <usize>h * <usize>np * (rowBytes << 3);
    for (let r = 0; r < block + 4; r++) {
      store<f32>(mArr + (<usize>r << 2), -Infinity);
      store<f32>(lArr + (<usize>r << 2), 0);
    }
    memory.fill(oh + <usize>r0 * rowBytes, 0, <usize>rn * rowBytes);
    let first = 0, count = nb;
    if (rowPtr != 0) {
      first = load<i32>(rowPtr + (<usize>it << 2));
      count = load<i32>(rowPtr + (<usize>(it + 1) << 2)) - first;
    }
    for (let c = 0; c < count; c++) {
      let kb = c;
      if (rowPtr != 0) kb = load<i32>(cols + (<usize>(first + c) << 2));
      else if (bitmap != 0 && load<u8>(bitmap + <usize>it * <usize>nb + <usize>c) == 0) continue;
      const j0 = kb * block;
      attendBlock(qh, kh, vh, oh, r0, rn, j0, min(block, N - j0), d, scale, block, mArr, lArr, S, corr, dummy);
    }
    for (let r = 0; r < rn; r++) {
      const l = load<f32>(lArr + (<usize>r << 2));
      const inv = f32x4.splat(l > 0 ? <f32>1.0 / l : 0);
      const o = oh + <usize>(r0 + r) * rowBytes;
      for (let c = 0; c < d; c += 4) v128.store(o + (<usize>c << 2), f32x4.mul(v128.load(o + (<usize>c << 2)), inv));
      if (lse != 0) store<f32>(lse + (<usize>(h * N + r0 + r) << 2), load<f32>(mArr + (<usize>r << 2)) + Mathf.log(l));
    }
  }
}

/** mass[h, qb, kb] = sum over the rows of query block qb and keys of key block kb of softmax(scale q k^T). */
export function block_mass(q: usize, kp: usize, lse: usize, mass: usize, heads: i32, N: i32, d: i32, block: i32, scale: f32,
  scratch: usize, tid: i32, nt: i32): void {
  const nb = (N + block - 1) / block;
  const np = (N + 7) >> 3;
  const S = scratch + <usize>tid * (<usize>flash_scratch_floats(block, d) << 2);
  const rowBytes = <usize>d << 2;
  const items = heads * nb;
  for (let it = tid; it < items; it += nt) {
    const h = it / nb;
    const qb = it - h * nb;
    const r0 = qb * block;
    const rn = min(block, N - r0);
    const qh = q + <usize>h * <usize>N * rowBytes;
    const kh = kp + <usize>h * <usize>np * (rowBytes << 3);
    const mrow = mass + (<usize>it * <usize>nb << 2);
    for (let kb = 0; kb < nb; kb++) store<f32>(mrow + (<usize>kb << 2), 0);
    for (let g = 0; g < rn; g += 4) {
      const gr = min(4, rn - g);
      const q0 = qh + <usize>(r0 + g) * rowBytes;
      for (let kb = 0; kb < nb; kb++) {
        const j0 = kb * block;
        const jn = min(block, N - j0);
        scoreTile(q0, gr, kh, j0 >> 3, (jn + 7) >> 3, d, scale, S, block);
        let acc: f32 = 0;
        for (let r = 0; r < gr; r++) acc += expShift(S + (<usize>(r * block) << 2), jn, load<f32>(lse + (<usize>(h * N + r0 + g + r) << 2)));
        store<f32>(mrow + (<usize>kb << 2), load<f32>(mrow + (<usize>kb << 2)) + acc);
      }
    }
  }
}
