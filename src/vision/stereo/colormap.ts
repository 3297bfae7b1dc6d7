/** Colour preview of a disparity map: Google's Turbo colormap (polynomial fit by A. Mikhailov), invalid = black. */

function turbo(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const r = 0.13572138 + x * (4.6153926 + x * (-42.66032258 + x * (132.13108234 + x * (-152.94239396 + x * 59.28637943))));
  const g = 0.09140261 + x * (2.19418839 + x * (4.84296658 + x * (-14.18503333 + x * (4.27729857 + x * 2.82956604))));
  const b = 0.1066733 + x * (12.64194608 + x * (-60.58204836 + x * (110.36276771 + x * (-89.90310912 + x * 27.34824973))));
  const c = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  return [c(r), c(g), c(b)];
}

/** RGB bytes [H][W][3], disparity 0 .. maxDisp mapped blue -> red. */
export function disparityPreview(disp: Float32Array, maxDisp: number): Uint8Array {
  const out = new Uint8Array(disp.length * 3);
  for (let i = 0; i < disp.length; i++) {
    if (disp[i]! < 0) continue;
    const [r, g, b] = turbo(disp[i]! / maxDisp);
    out[3 * i] = r;
    out[3 * i + 1] = g;
    out[3 * i + 2] = b;
  }
  return out;
}
