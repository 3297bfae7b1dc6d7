// Plain TypeScript twin of the convert kernels: the readable definition tests compare the SIMD and WGSL versions with.
import { bf16BitsToF32, f16BitsToF32, roundToType } from '../../tensor/dtype.js';

export function bf16ToF32Ref(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, bf16BitsToF32);
}

export function f16ToF32Ref(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, f16BitsToF32);
}

/** Twin of round_to: the nearest f16 / bf16 values of x (a copy). */
export function roundToRef(x: Float32Array, dtype: 'f16' | 'bf16'): Float32Array {
  const out = Float32Array.from(x);
  roundToType(out, dtype);
  return out;
}
