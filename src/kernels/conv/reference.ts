// Plain TypeScript twin of conv2d (direct loops, float64 accumulation): the definition the im2col + sgemm kernel and
// the WGSL kernel are tested against, and the naive loop the kernel was measured against (bench/conv.ts).
import type { Conv2dParams } from './params.js';

/** x [N, C, H, W], w [O, C/groups, kh, kw], bias [O] or null -> out [N, O, OH, OW] */
export function conv2dRef(x: Float32Array, w: Float32Array, bias: Float32Array | null, N: number, C: number, H: number, W: number, O: number, p: Conv2dParams): Float32Array {
  const [kh, kw] = p.kernel, [sh, sw] = p.stride, [dh, dw] = p.dilation, [pt, pl, pb, pr] = p.pad, G = p.groups;
  const OH = Math.floor((H + pt + pb - dh * (kh - 1) - 1) / sh) + 1, OW = Math.floor((W + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const Cg = C / G, Og = O / G;
  const out = new Float32Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s = bias ? bias[o]! : 0;
          for (let c = 0; c < Cg; c++) {
            for (let i = 0; i < kh; i++) {
              const h = oh * sh - pt + i * dh;
              if (h < 0 || h >= H) continue;
              for (let j = 0; j < kw; j++) {
                const ww = ow * sw - pl + j * dw;
                if (ww < 0 || ww >= W) continue;
                s += x[((n * C + g * Cg + c) * H + h) * W + ww]! * w[((o * Cg + c) * kh + i) * kw + j]!;
              }
            }
          }
          out[((n * O + o) * OH + oh) * OW + ow] = s;
        }
      }
    }
  }
  return out;
}
