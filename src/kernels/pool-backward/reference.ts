// Plain TypeScript twin (float64) of 2-D max and average pooling and their gradients.
type A = ArrayLike<number>;

export interface PoolGeometry { planes: number; H: number; W: number; kh: number; kw: number; stride: [number, number]; pad: [number, number, number, number]; countIncludePad?: boolean }

export function poolOut(g: PoolGeometry): [number, number] {
  return [Math.floor((g.H + g.pad[0] + g.pad[2] - g.kh) / g.stride[0]) + 1, Math.floor((g.W + g.pad[1] + g.pad[3] - g.kw) / g.stride[1]) + 1];
}

function windows(g: PoolGeometry, f: (oi: number, cells: number[], count: number) => void): void {
  const [OH, OW] = poolOut(g);
  for (let q = 0; q < g.planes; q++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const cells: number[] = [];
    for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) {
      const h = oh * g.stride[0] - g.pad[0] + i, w = ow * g.stride[1] - g.pad[1] + j;
      if (h >= 0 && h < g.H && w >= 0 && w < g.W) cells.push((q * g.H + h) * g.W + w);
    }
    f((q * OH + oh) * OW + ow, cells, g.countIncludePad ? g.kh * g.kw : cells.length);
  }
}

export function maxPoolF64Ref(x: A, g: PoolGeometry): { out: Float64Array; argmax: Int32Array } {
  const [OH, OW] = poolOut(g), out = new Float64Array(g.planes * OH * OW), argmax = new Int32Array(out.length);
  windows(g, (oi, cells) => {
    let best = cells[0]!;
    for (const c of cells) if (x[c]! > x[best]!) best = c;
    out[oi] = x[best]!;
    argmax[oi] = best;
  });
  return { out, argmax };
}

export function maxPoolBackwardRef(x: A, g: PoolGeometry, dy: A): Float64Array {
  const dx = new Float64Array(x.length), { argmax } = maxPoolF64Ref(x, g);
  argmax.forEach((c, oi) => { dx[c] += dy[oi]!; });
  return dx;
}

export function avgPoolF64Ref(x: A, g: PoolGeometry): Float64Array {
  const [OH, OW] = poolOut(g), out = new Float64Array(g.planes * OH * OW);
  windows(g, (oi, cells, count) => { out[oi] = cells.reduce((s, c) => s + x[c]!, 0) / count; });
  return out;
}

export function avgPoolBackwardRef(g: PoolGeometry, dy: A): Float64Array {
  const dx = new Float64Array(g.planes * g.H * g.W);
  windows(g, (oi, cells, count) => { for (const c of cells) dx[c] += dy[oi]! / count; });
  return dx;
}
