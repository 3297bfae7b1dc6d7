// Plain TypeScript twin (float64) of conv2d (direct loops) and its gradient.
type A = ArrayLike<number>;

export interface ConvGeometry { N: number; C: number; H: number; W: number; O: number; kh: number; kw: number; stride: [number, number]; dilation: [number, number]; pad: [number, number, number, number]; groups: number }

export function convOut(g: ConvGeometry): [number, number] {
  return [Math.floor((g.H + g.pad[0] + g.pad[2] - g.dilation[0] * (g.kh - 1) - 1) / g.stride[0]) + 1, Math.floor((g.W + g.pad[1] + g.pad[3] - g.dilation[1] * (g.kw - 1) - 1) / g.stride[1]) + 1];
}

/** visits every (output element, weight tap, input element) triple of the convolution */
function taps(g: ConvGeometry, f: (oi: number, wi: number, xi: number, o: number) => void): void {
  const [OH, OW] = convOut(g), Cg = g.C / g.groups, Og = g.O / g.groups;
  for (let n = 0; n < g.N; n++) for (let o = 0; o < g.O; o++) {
    const grp = Math.floor(o / Og);
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const oi = ((n * g.O + o) * OH + oh) * OW + ow;
      for (let c = 0; c < Cg; c++) for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) {
        const h = oh * g.stride[0] - g.pad[0] + i * g.dilation[0], w = ow * g.stride[1] - g.pad[1] + j * g.dilation[1];
        if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
        f(oi, ((o * Cg + c) * g.kh + i) * g.kw + j, ((n * g.C + grp * Cg + c) * g.H + h) * g.W + w, o);
      }
    }
  }
}

export function conv2dF64Ref(x: A, w: A, bias: A | null, g: ConvGeometry): Float64Array {
  const [OH, OW] = convOut(g), out = new Float64Array(g.N * g.O * OH * OW);
  if (bias) for (let i = 0; i < out.length; i++) out[i] = bias[Math.floor(i / (OH * OW)) % g.O]!;
  taps(g, (oi, wi, xi) => { out[oi] += w[wi]! * x[xi]!; });
  return out;
}

export function conv2dBackwardRef(x: A, w: A, g: ConvGeometry, dy: A): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(g.O);
  const [OH, OW] = convOut(g);
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / (OH * OW)) % g.O] += dy[i]!;
  taps(g, (oi, wi, xi) => { dx[xi] += w[wi]! * dy[oi]!; dw[wi] += x[xi]! * dy[oi]!; });
  return { dx, dw, db };
}
