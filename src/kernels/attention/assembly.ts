// Causal grouped-query attention, flash-style: each (query, head) row streams over key tiles with an online
// softmax (running max m, running denominator l, output rescaled by exp(m_old - m_new)), so no score matrix
// is ever materialised. q/out: [T, nHeads, hd] (token stride qStride floats); k/v cache: [S, nKV, hd]
// (token stride kvStride floats). Query t sits at absolute position pos0 + t and sees keys
// [max(0, pos - window + 1), pos] (window = 0: no sliding window); nc > 0 (non-causal, pos0 = window = 0): every
// query sees keys [0, nc). Rows are dealt round-robin to threads so long and short causal rows balance.
// Mixed mode (bounds != 0, for evaluating a quantized KV cache in one batched pass): bounds holds two i32 per
// query row, (bK, bV); keys j < bK are read from kq and values j < bV from vq (dequantized copies with the same
// layout), the rest from k and v. This reproduces what each decode step of a quantized cache attends to.
import { fma4, hsum, exp4, exp1 } from '../common/simd';

const TILE: i32 = 64;
export function attention_scratch_bytes(): i32 {
  return TILE * 4;
}

@inline function dot(a: usize, b: usize, n: i32): f32 {
  let s = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) s = fma4(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)), s);
  return hsum(s);
}

export function attention(q: usize, k: usize, v: usize, out: usize, T: i32, nHeads: i32, nKV: i32, hd: i32,
  qStride: i32, kvStride: i32, pos0: i32, window: i32, scale: f32, nc: i32, scratch: usize, kq: usize, vq: usize, bounds: usize,
  tid: i32, nt: i32): void {
  const group = nHeads / nKV;
  const sc = scratch + <usize>tid * <usize>(TILE * 4);
  const items = T * nHeads;
  for (let it = tid; it < items; it += nt) {
    const t = it / nHeads;
    const h = it - t * nHeads;
    const kvh = h / group;
    const qp = q + (<usize>(t * qStride + h * hd) << 2);
    const op = out + (<usize>(t * qStride + h * hd) << 2);
    const last = nc > 0 ? nc - 1 : pos0 + t;
    const first = window > 0 ? max(0, last - window + 1) : 0;
    const bK = bounds ? load<i32>(bounds + (<usize>t << 3)) : 0;
    const bV = bounds ? load<i32>(bounds + (<usize>t << 3) + 4) : 0;
    for (let d = 0; d < hd; d += 4) v128.store(op + (<usize>d << 2), f32x4.splat(0));
    let m: f32 = -Infinity;
    let l: f32 = 0;
    for (let j0 = first; j0 <= last; j0 += TILE) {
      const jn = min(TILE, last - j0 + 1);
      let mt: f32 = -Infinity;
      for (let jj = 0; jj < jn; jj++) {
        const kp = (j0 + jj < bK ? kq : k) + (<usize>((j0 + jj) * kvStride + kvh * hd) << 2);
        const s = dot(qp, kp, hd) * scale;
        store<f32>(sc + (<usize>jj << 2), s);
        mt = max(mt, s);
      }
      const mNew = max(m, mt);
      const corr: f32 = m == -Infinity ? 0 : exp1(m - mNew);
      // probabilities of the tile, in place
      const mv = f32x4.splat(mNew);
      let jj = 0;
      let ls = f32x4.splat(0);
      for (; jj + 4 <= jn; jj += 4) {
        const e = exp4(f32x4.sub(v128.load(sc + (<usize>jj << 2)), mv));
        v128.store(sc + (<usize>jj << 2), e);
        ls = f32x4.add(ls, e);
      }
      let lt = hsum(ls);
      for (; jj < jn; jj++) {
        const e = exp1(load<f32>(sc + (<usize>jj << 2)) - mNew);
        store<f32>(sc + (<usize>jj << 2), e);
        lt += e;
      }
      l = l * corr + lt;
      const cv = f32x4.splat(corr);
      for (let d = 0; d < hd; d += 4) {
        const o = op + (<usize>d << 2);
        v128.store(o, f32x4.mul(v128.load(o), cv));
      }
      for (jj = 0; jj < jn; jj++) {
        const pv = f32x4.splat(load<f32>(sc + (<usize>jj << 2)));
        const vp = (j0 + jj < bV ? vq : v) + (<usize>((j0 + jj) * kvStride + kvh * hd) << 2);
        for (let d = 0; d < hd; d += 4) {
          const o = op + (<usize>d << 2);
          v128.store(o, fma4(pv, v128.load(vp + (<usize>d << 2)), v128.load(o)));
        }
      }
      m = mNew;
    }
    const inv = f32x4.splat(1.0 / l);
    for (let d = 0; d < hd; d += 4) {
      const o = op + (<usize>d << 2);
      v128.store(o, f32x4.mul(v128.load(o), inv));
    }
  }
}
