/**
 * RoPE frequency tables. inv_freq_i = 1 / theta^(2i/d), optionally rescaled (linear position interpolation, or
 * Llama-3's wavelength-dependent scaling); cos/sin [maxPos, d/2] in float32, computed as PyTorch and llama2.c do.
 */
import type { RopeScaling } from '../config.js';

export function ropeInvFreq(headDim: number, theta: number, scaling: RopeScaling | null = null): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
  if (scaling?.type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
    const lowWavelen = originalMaxPositions / lowFreqFactor;
    const highWavelen = originalMaxPositions / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i]!;
      if (wavelen > lowWavelen) inv[i] = inv[i]! / factor;
      else if (wavelen >= highWavelen) {
        const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i]! / factor) + smooth * inv[i]!;
      }
      inv[i] = Math.fround(inv[i]!);
    }
  }
  return inv;
}

export function ropeTables(maxPos: number, headDim: number, theta: number, scaling: RopeScaling | null = null): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInvFreq(headDim, theta, scaling);
  const half = headDim / 2;
  const linear = scaling?.type === 'linear' ? scaling.factor : 1;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(Math.fround(p / linear) * inv[i]!);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
