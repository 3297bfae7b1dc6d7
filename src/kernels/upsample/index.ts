/**
 * upsample2d: out [N, C, H sh, W sw] = x [N, C, H, W] upsampled by integer factors, nearest or bilinear (align_corners
 * false or true; see params.ts). upsample2d_backward: dx += the adjoint of that map applied to dy (a gather, so
 * deterministic). The forward's gradient slot runs the backward.
 */
import { defineOp, opError, requireF32, type GradFn } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { modeCode, type Upsample2dParams } from './params.js';
import { UPSAMPLE2D as FWD_WGSL, UPSAMPLE2D_BACKWARD as BWD_WGSL } from './wgsl.js';

export * from './params.js';

export interface Upsample2dArgs { x: Tensor; out: Tensor; p: Upsample2dParams }
export interface Upsample2dBackwardArgs { dy: Tensor; dx: Tensor; p: Upsample2dParams }

const pair = (a: number, b: number): number => a | (b << 16);

/** x [N, C, H, W] (small) and y [N, C, H sh, W sw] (large) fit p */
function checkPair(op: string, x: Tensor, y: Tensor, p: Upsample2dParams): void {
  requireF32(op, x, y);
  const [sh, sw] = p.scale;
  if (![sh, sw].every((s) => Number.isInteger(s) && s >= 1 && s < 65536) || (p.mode !== 'nearest' && p.mode !== 'bilinear')) opError(op, `bad parameters ${JSON.stringify(p)} (integer scales >= 1, mode nearest or bilinear)`);
  if (x.shape.length !== 4 || y.shape.length !== 4) opError(op, `expected 4-D tensors, got [${x.shape}] and [${y.shape}]`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (H * sh >= 65536 || W * sw >= 65536 || y.shape[0] !== N || y.shape[1] !== C || y.shape[2] !== H * sh || y.shape[3] !== W * sw) {
    opError(op, `[${x.shape}] and [${y.shape}] do not fit scale ${sh}x${sw}`);
  }
}

const words = (x: Tensor, p: Upsample2dParams) => [pair(x.shape[2]!, x.shape[3]!), pair(p.scale[0], p.scale[1]), modeCode(p)];
const taps = (p: Upsample2dParams) => (p.mode === 'nearest' ? 1 : 4);

export const UPSAMPLE2D_BACKWARD = defineOp<Upsample2dBackwardArgs>({
  name: 'upsample2d_backward',
  check({ dy, dx, p }) { checkPair('upsample2d_backward', dx, dy, p); },
  cpu(k, { dy, dx, p }) {
    k.call('upsample2d_backward', [k.ptr(dy), k.ptr(dx), dx.shape[0]! * dx.shape[1]!, ...words(dx, p)], dy.size * taps(p) * 4);
  },
  webgpu(k, { dy, dx, p }) {
    k.dispatch('upsample2d_backward', () => BWD_WGSL, [dy, dx], [dx.size, ...words(dx, p), dy.offset, dx.offset], Math.ceil(dx.size / 256));
  },
});

export const upsample2dGrad: GradFn<Upsample2dArgs> = (r, { x, out, p }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (dy && dx) r.run(UPSAMPLE2D_BACKWARD, { dy, dx, p });
};

export const UPSAMPLE2D = defineOp<Upsample2dArgs>({
  name: 'upsample2d',
  grad: upsample2dGrad,
  check({ x, out, p }) { checkPair('upsample2d', x, out, p); },
  cpu(k, { x, out, p }) {
    k.call('upsample2d', [k.ptr(x), k.ptr(out), x.shape[0]! * x.shape[1]!, ...words(x, p)], out.size * taps(p));
  },
  webgpu(k, { x, out, p }) {
    k.dispatch('upsample2d', () => FWD_WGSL, [x, out], [out.size, ...words(x, p), x.offset, out.offset], Math.ceil(out.size / 256));
  },
});
