/**
 * Linears with packed integer weights (tensor/packed.ts layout, w = s (q - z)). linear_packed: CPU, one row through
 * the int4/int8 dequant GEMV (assembly.ts: integer dot products, the input held as int16), more rows dequantize the
 * weights once into a scratch tensor (exactly s (q - z) in float32) and run the sgemm; WebGPU always dequantizes,
 * then the float linear. dequantize: out [rows, cols] = the float32 weights.
 */
import { defineOp, opError, requireF32, type CpuKernels, type GpuKernels } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { PackedWeight } from '../../tensor/packed.js';
import { LINEAR, linearRows } from '../linear/index.js';
import { DEQUANT } from './wgsl.js';

export interface LinearPackedArgs { x: Tensor; w: PackedWeight; bias: Tensor | null; out: Tensor }
export interface DequantizeArgs { w: PackedWeight; out: Tensor }

function dequantCpu(k: CpuKernels, { w, out }: DequantizeArgs): void {
  const [rows, cols] = w.shape;
  k.call('dequant_q', [k.ptr(w.codes), k.ptr(w.scales), k.ptr(w.zeros), k.ptr(out), rows, cols, w.group, w.container], rows * cols);
}

function dequantGpu(k: GpuKernels, { w, out }: DequantizeArgs): void {
  const [rows, cols] = w.shape;
  for (const t of [w.codes, w.scales, w.zeros]) if (t.offset) opError('dequantize', 'packed tensors must not be views');
  k.dispatch('dequant', () => DEQUANT, [w.codes, w.scales, w.zeros, out], [rows, cols, w.group, w.container, out.offset], Math.ceil(rows * cols / 256));
}

export const DEQUANTIZE = defineOp<DequantizeArgs>({
  name: 'dequantize',
  check({ w, out }) {
    requireF32('dequantize', out);
    if (out.size !== w.shape[0] * w.shape[1]) opError('dequantize', `out [${out.shape}] does not hold [${w.shape}]`);
  },
  cpu: dequantCpu,
  webgpu: dequantGpu,
});

export const LINEAR_PACKED = defineOp<LinearPackedArgs>({
  name: 'linear_packed',
  check({ x, w, bias, out }) {
    requireF32('linear_packed', x, out);
    linearRows('linear_packed', x, w.shape[0], w.shape[1], out, bias);
  },
  cpu(k, { x, w, bias, out }) {
    const [rows, cols] = w.shape;
    if (x.size === cols) {
      const scratch = k.scratch('gemv_q', k.threads * (cols / w.group + cols / 2 + 4));
      k.call('gemv_q', [k.ptr(w.codes), k.ptr(w.scales), k.ptr(w.zeros), k.ptr(x), bias ? k.ptr(bias) : 0, k.ptr(out), rows, cols, w.group, w.container, k.ptr(scratch)],
        2 * rows * cols);
      return;
    }
    const full = k.scratch('dequantized', rows * cols).view([rows, cols]);
    dequantCpu(k, { w, out: full });
    LINEAR.cpu!(k, { x, w: full, bias, out });
  },
  webgpu(k, { x, w, bias, out }) {
    const [rows, cols] = w.shape;
    const full = k.scratch('dequantized', rows * cols).view([rows, cols]);
    dequantGpu(k, { w, out: full });
    LINEAR.webgpu!(k, { x, w: full, bias, out });
  },
});
