// Per-channel affine map of an [N, C, S] tensor: out[n, c, :] = x[n, c, :] * scale[c] + shift[c] (the bias of a
// convolution, a batch normalization in eval mode, or a copy); out may be x. Threads split the N*C rows.

/** scale or shift may be 0 (absent: 1 and 0). */
export function channel_affine(x: usize, out: usize, scale: usize, shift: usize, N: i32, C: i32, S: i32, tid: i32, nt: i32): void {
  const rows = N * C;
  const per = (rows + nt - 1) / nt;
  const r0 = min(rows, tid * per), r1 = min(rows, r0 + per);
  const S4 = S & ~3;
  for (let r = r0; r < r1; r++) {
    const c = r % C;
    const a: f32 = scale != 0 ? load<f32>(scale + (<usize>c << 2)) : 1;
    const b: f32 = shift != 0 ? load<f32>(shift + (<usize>c << 2)) : 0;
    const av = f32x4.splat(a), bv = f32x4.splat(b);
    const row = <usize>r * <usize>S << 2;
    for (let i = 0; i < S4; i += 4) {
      const q = row + (<usize>i << 2);
      v128.store(out + q, f32x4.add(f32x4.mul(v128.load(x + q), av), bv));
    }
    for (let i = S4; i < S; i++) {
      const q = row + (<usize>i << 2);
      store<f32>(out + q, load<f32>(x + q) * a + b);
    }
  }
}
