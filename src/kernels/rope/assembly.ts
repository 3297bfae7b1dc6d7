// Rotary position embedding, in place on x[T, heads, headDim] (row stride `stride` floats per token).
// cos/sin tables are [maxPos, headDim/2]. Two pairings:
//   neox=1 (Hugging Face rotate-half): pairs (i, i + headDim/2);
//   neox=0 (Meta / llama2.c / GGUF llama): adjacent pairs (2i, 2i+1).
import { chunkStart, chunkEnd } from '../common/simd';

export function rope(x: usize, T: i32, heads: i32, headDim: i32, stride: i32, pos0: i32, cosT: usize, sinT: usize, neox: i32, tid: i32, nt: i32): void {
  const half = headDim >> 1;
  const items = T * heads;
  const i0 = chunkStart(items, 1, tid, nt), i1 = chunkEnd(items, 1, tid, nt);
  for (let it = i0; it < i1; it++) {
    const t = it / heads;
    const h = it - t * heads;
    const p = x + (<usize>(t * stride + h * headDim) << 2);
    const cs = cosT + (<usize>((pos0 + t) * half) << 2);
    const sn = sinT + (<usize>((pos0 + t) * half) << 2);
    if (neox) {
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const o = <usize>i << 2;
        const a = v128.load(p + o), b = v128.load(p + (<usize>half << 2) + o);
        const c = v128.load(cs + o), s = v128.load(sn + o);
        v128.store(p + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
        v128.store(p + (<usize>half << 2) + o, f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
      }
      for (; i < half; i++) {
        const o = <usize>i << 2;
        const a = load<f32>(p + o), b = load<f32>(p + (<usize>half << 2) + o);
        const c = load<f32>(cs + o), s = load<f32>(sn + o);
        store<f32>(p + o, a * c - b * s);
        store<f32>(p + (<usize>half << 2) + o, b * c + a * s);
      }
    } else {
      let i = 0;
      for (; i + 2 <= half; i += 2) {
        // v = [a0, b0, a1, b1] -> [a0 c0 - b0 s0, b0 c0 + a0 s0, a1 c1 - b1 s1, b1 c1 + a1 s1]
        const v = v128.load(p + (<usize>i << 3));
        const c2 = v128.load64_splat(cs + (<usize>i << 2));
        const s2 = v128.load64_splat(sn + (<usize>i << 2));
        const cc = v128.shuffle<f32>(c2, c2, 0, 0, 1, 1);
        const ss = f32x4.mul(v128.shuffle<f32>(s2, s2, 0, 0, 1, 1), f32x4(-1, 1, -1, 1));
        const sw = v128.shuffle<f32>(v, v, 1, 0, 3, 2);
        v128.store(p + (<usize>i << 3), f32x4.add(f32x4.mul(v, cc), f32x4.mul(sw, ss)));
      }
      for (; i < half; i++) {
        const a = load<f32>(p + (<usize>i << 3)), b = load<f32>(p + (<usize>i << 3) + 4);
        const c = load<f32>(cs + (<usize>i << 2)), s = load<f32>(sn + (<usize>i << 2));
        store<f32>(p + (<usize>i << 3), a * c - b * s);
        store<f32>(p + (<usize>i << 3) + 4, b * c + a * s);
      }
    }
  }
}
