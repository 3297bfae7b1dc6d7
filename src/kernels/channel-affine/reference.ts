// Plain TypeScript twin of channel_affine: out = x[n, c, :] * scale[c] + shift[c] over [N, C, S].
export function channelAffineRef(x: Float32Array, C: number, S: number, scale: Float32Array | null, shift: Float32Array | null): Float32Array {
  return x.map((v, i) => {
    const c = Math.floor(i / S) % C;
    return v * (scale ? scale[c]! : 1) + (shift ? shift[c]! : 0);
  });
}
