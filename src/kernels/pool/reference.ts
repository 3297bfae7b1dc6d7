// Plain TypeScript twins of max_pool2d (with argmax indices) and avg_pool2d over [planes, H, W].
import type { Pool2dParams } from './params.js';
import { poolOutShape } from './params.js';

export function maxPool2dRef(x: Float32Array, planes: number, H: number, W: number, p: Pool2dParams): { out: Float32Array; indices: Int32Array } {
  const [OH, OW] = poolOutShape(H, W, p), [kh, kw] = p.kernel, [sh, sw] = p.stride, [pt, pl] = p.pad;
  const out = new Float32Array(planes * OH * OW), indices = new Int32Array(out.length);
  for (let q = 0; q < planes; q++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity, at = -1;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const h = oh * sh - pt + i, w = ow * sw - pl + j;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const v = x[(q * H + h) * W + w]!;
            if (at < 0 || v > best) { best = v; at = h * W + w; }
          }
        }
        out[(q * OH + oh) * OW + ow] = best;
        indices[(q * OH + oh) * OW + ow] = at;
      }
    }
  }
  return { out, indices };
}

export function avgPool2dRef(x: Float32Array, planes: number, H: number, W: number, p: Pool2dParams): Float32Array {
  const [OH, OW] = poolOutShape(H, W, p), [kh, kw] = p.kernel, [sh, sw] = p.stride, [pt, pl] = p.pad;
  const out = new Float32Array(planes * OH * OW);
  for (let q = 0; q < planes; q++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let s = 0, n = 0;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const h = oh * sh - pt + i, w = ow * sw - pl + j;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            s += x[(q * H + h) * W + w]!;
            n++;
          }
        }
        out[(q * OH + oh) * OW + ow] = s / (p.countIncludePad ? kh * kw : Math.max(n, 1));
      }
    }
  }
  return out;
}
