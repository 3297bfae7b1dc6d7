/** add: a += b; silu_mul: out = silu(g) * u (SwiGLU), out may be g or u itself. */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ELEMENTWISE } from './wgsl.js';
import { siluMulGrad } from '../activation-grad/index.js';

export interface AddArgs { a: Tensor; b: Tensor }
export interface SiluMulArgs { g: Tensor; u: Tensor; out: Tensor }

export const ADD = defineOp<AddArgs>({
  name: 'add',
  check({ a, b }) {
    requireF32('add', a, b);
    if (a.size !== b.size) opError('add', `sizes ${a.size} and ${b.size} differ`);
  },
  cpu(k, { a, b }) {
    k.call('add_inplace', [k.ptr(a), k.ptr(b), a.size], a.size);
  },
  webgpu(k, { a, b }) {
    k.dispatch('add', () => ELEMENTWISE('add'), [a, b], [a.size, a.offset, b.offset, 0], Math.ceil(a.size / 256));
  },
});

export const SILU_MUL = defineOp<SiluMulArgs>({
  name: 'silu_mul',
  check({ g, u, out }) {
    requireF32('silu_mul', g, u, out);
    if (g.size !== u.size || out.size !== g.size) opError('silu_mul', 'sizes differ');
  },
  cpu(k, { g, u, out }) {
    k.call('silu_mul', [k.ptr(g), k.ptr(u), k.ptr(out), g.size], 8 * g.size);
  },
  // WebGPU cannot bind one buffer as an input and the output: in-place variants write into g or u
  webgpu(k, { g, u, out }) {
    const variant = k.sameBuffer(out, g) ? 'silu_mul_a' : k.sameBuffer(out, u) ? 'silu_mul_b' : 'silu_mul';
    if (variant !== 'silu_mul' && out.offset !== (variant === 'silu_mul_a' ? g : u).offset) opError('silu_mul', 'the output overlaps an input at another offset');
    k.dispatch(variant, () => ELEMENTWISE(variant), variant === 'silu_mul' ? [g, u, out] : [g, u], [g.size, g.offset, u.offset, out.offset], Math.ceil(g.size / 256));
  },
  // valid when recorded out of place (autograd's siluMul writes a fresh tensor)
  grad: siluMulGrad,
});
