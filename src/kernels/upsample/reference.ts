// Plain TypeScript twin (float64) of 2-D upsampling over [planes, H, W] and its gradient. The gradient here is the
// adjoint written as a scatter (each output's gradient added to the inputs it read), independent of the kernels'
// gather form.
import type { Upsample2dParams } from './params.js';

type A = ArrayLike<number>;

/** the inputs output position o reads along one axis of I inputs (O outputs): [index, weight] pairs */
export function upsampleTaps(o: number, I: number, O: number, s: number, p: Upsample2dParams): [number, number][] {
  if (p.mode === 'nearest') return [[Math.min(Math.floor(o / s), I - 1), 1]];
  const src = p.alignCorners ? (O > 1 ? (o * (I - 1)) / (O - 1) : 0) : Math.max((o + 0.5) / s - 0.5, 0);
  const i0 = Math.min(Math.floor(src), I - 1), i1 = i0 < I - 1 ? i0 + 1 : i0, l1 = src - i0;
  return [[i0, 1 - l1], [i1, l1]];
}

export function upsample2dRef(x: A, planes: number, H: number, W: number, p: Upsample2dParams): Float64Array {
  const OH = H * p.scale[0], OW = W * p.scale[1], out = new Float64Array(planes * OH * OW);
  for (let q = 0; q < planes; q++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let s = 0;
    for (const [h, a] of upsampleTaps(oh, H, OH, p.scale[0], p)) for (const [w, b] of upsampleTaps(ow, W, OW, p.scale[1], p)) s += a * b * x[(q * H + h) * W + w]!;
    out[(q * OH + oh) * OW + ow] = s;
  }
  return out;
}

export function upsample2dBackwardRef(dy: A, planes: number, H: number, W: number, p: Upsample2dParams): Float64Array {
  const OH = H * p.scale[0], OW = W * p.scale[1], dx = new Float64Array(planes * H * W);
  for (let q = 0; q < planes; q++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const g = dy[(q * OH + oh) * OW + ow]!;
    for (const [h, a] of upsampleTaps(oh, H, OH, p.scale[0], p)) for (const [w, b] of upsampleTaps(ow, W, OW, p.scale[1], p)) dx[(q * H + h) * W + w] += a * b * g;
  }
  return dx;
}
