/**
 * Video-like attention inputs without a video model: Q, K, V [heads, N, d] on a (T, H, W) grid (+ text tokens)
 * whose heads have the structure the sparse-attention papers describe (research notes section 8.2):
 * - positional part by random Fourier features (Bochner): q.k ~ A exp(-dt^2/2lt^2 - dh^2/2lh^2 - dw^2/2lw^2)
 *   with per-head length scales: `spatial` heads (lt << 1 frame, lh, lw ~ half the frame) look at their
 *   own frame, `temporal` heads (lt >> T, lh, lw ~ 1-2 tokens) at the same place in every frame (the periodic
 *   diagonals), `local` heads at a small 3-D neighbourhood;
 * - content part from a real image in the repository moving across frames (patch colour, gradients, texture
 *   through a per-head projection): `textural` heads have a weak positional term and attend to tokens of
 *   similar content anywhere in the video (broad, semantic);
 * - sinks: frame-0 and text keys carry a shared logit bonus; text queries attend broadly;
 * - noise, drawn per `step`, so consecutive steps differ a little and masks can be compared across steps.
 * Logit amplitudes are given in units of the softmax input (scores are scaled by 1/sqrt(d)).
 */
import { readImage, type Image } from '../io/image.js';
import { seededRandom } from '../util/random.js';
import { assetPath } from '../util/assets.js';
import { OptionError } from '../util/errors.js';
import { checkGrid, gridTokens, type VideoGrid } from './layout.js';

export const HEAD_KINDS = ['spatial', 'temporal', 'textural', 'local'] as const;
export type HeadKind = (typeof HEAD_KINDS)[number];

/** 30% spatial, 60% temporal, 10% textural: close to SVG's measured HunyuanVideo split (29 / 67 / 4). */
export const DEFAULT_HEAD_PATTERN: readonly HeadKind[] = ['spatial', 'temporal', 'temporal', 'spatial', 'temporal', 'temporal', 'textural', 'temporal', 'spatial', 'temporal'];

export const DEFAULT_IMAGE = 'stereo/middlebury/cones/im2.png';

export interface SyntheticOptions {
  grid: VideoGrid;
  heads: number;
  headDim: number;
  seed?: number;
  /** head kinds, cycled over the heads (default DEFAULT_HEAD_PATTERN) */
  kinds?: readonly HeadKind[];
  /** denoising step: changes the noise only */
  step?: number;
  /** logit bonus of frame-0 and text keys (default 2) */
  sinkBonus?: number;
  /** per-dimension noise on q and k (default 0.4) */
  noise?: number;
  /** image whose content moves across the frames (default: an image shipped in assets/) */
  image?: string;
}

export interface SyntheticAttention {
  grid: VideoGrid;
  heads: number;
  headDim: number;
  kinds: HeadKind[];
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

interface KindParams { lt: number; lh: number; lw: number; aPos: number; aContent: number }

function kindParams(kind: HeadKind, g: VideoGrid, u: () => number): KindParams {
  const j = (x: number) => x * (0.8 + 0.4 * u());
  switch (kind) {
    case 'spatial': return { lt: j(0.35), lh: j(g.H / 2), lw: j(g.W / 2), aPos: j(7), aContent: 1 };
    case 'temporal': return { lt: j(4 * g.T), lh: j(1.4), lw: j(1.4), aPos: j(7), aContent: 1 };
    case 'local': return { lt: j(1.2), lh: j(2.5), lw: j(2.5), aPos: j(6), aContent: 1 };
    case 'textural': return { lt: j(2 * g.T), lh: j(g.H), lw: j(g.W), aPos: 0.5, aContent: j(5) };
  }
}

function gaussian(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(Math.max(u(), 1e-12))) * Math.cos(2 * Math.PI * u());
}

const FEATURES = 6;

/**
 * Per video token: FEATURES content features (patch mean R, G, B, horizontal and vertical luminance gradient,
 * patch standard deviation) of the image seen through a window that moves (3, 1) patches... per frame, each
 * standardised over all tokens, then each token's vector scaled to unit length.
 */
function contentFeatures(img: Image, g: VideoGrid): Float64Array {
  const { T, H, W } = g;
  const vx = 3, vy = 1; // pixels per frame
  const px = Math.max(1, Math.floor(Math.min((img.width - (T - 1) * vx) / W, (img.height - (T - 1) * vy) / H)));
  const ch = img.channels;
  const maxv = img.bitDepth === 16 ? 65535 : 255;
  const sample = (x: number, y: number, c: number) => {
    const xx = Math.min(img.width - 1, Math.max(0, x)), yy = Math.min(img.height - 1, Math.max(0, y));
    return img.data[(yy * img.width + xx) * ch + Math.min(c, ch - 1)]! / maxv;
  };
  const n = T * H * W;
  const f = new Float64Array(n * FEATURES);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        const x0 = w * px + t * vx, y0 = h * px + t * vy;
        let r = 0, gg = 0, b = 0, lum2 = 0, gx = 0, gy = 0;
        for (let y = 0; y < px; y++) {
          for (let x = 0; x < px; x++) {
            const cr = sample(x0 + x, y0 + y, 0), cg = sample(x0 + x, y0 + y, 1), cb = sample(x0 + x, y0 + y, 2);
            const lum = 0.299 * cr + 0.587 * cg + 0.114 * cb;
            r += cr; gg += cg; b += cb; lum2 += lum * lum;
            gx += lum - (0.299 * sample(x0 + x - 1, y0 + y, 0) + 0.587 * sample(x0 + x - 1, y0 + y, 1) + 0.114 * sample(x0 + x - 1, y0 + y, 2));
            gy += lum - (0.299 * sample(x0 + x, y0 + y - 1, 0) + 0.587 * sample(x0 + x, y0 + y - 1, 1) + 0.114 * sample(x0 + x, y0 + y - 1, 2));
          }
        }
        const a = px * px;
        const mean = (0.299 * r + 0.587 * gg + 0.114 * b) / a;
        const o = ((t * H + h) * W + w) * FEATURES;
        f.set([r / a, gg / a, b / a, gx / a, gy / a, Math.sqrt(Math.max(0, lum2 / a - mean * mean))], o);
      }
    }
  }
  for (let c = 0; c < FEATURES; c++) {
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) { s += f[i * FEATURES + c]!; s2 += f[i * FEATURES + c]! ** 2; }
    const mean = s / n, sd = Math.sqrt(Math.max(1e-12, s2 / n - mean * mean));
    for (let i = 0; i < n; i++) f[i * FEATURES + c] = (f[i * FEATURES + c]! - mean) / sd;
  }
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < FEATURES; c++) s += f[i * FEATURES + c]! ** 2;
    const inv = 1 / Math.sqrt(Math.max(s, 1e-12));
    for (let c = 0; c < FEATURES; c++) f[i * FEATURES + c]! *= inv;
  }
  return f;
}

export function syntheticAttention(o: SyntheticOptions): SyntheticAttention {
  const g = o.grid;
  checkGrid(g, 'synthetic attention');
  const { heads, headDim: d } = o;
  if (d < 16 || d % 8) throw new OptionError('--dim', `synthetic attention: head dim must be a multiple of 8, at least 16; got ${d}`);
  const seed = o.seed ?? 0;
  const pattern = o.kinds ?? DEFAULT_HEAD_PATTERN;
  const kinds = Array.from({ length: heads }, (_, h) => pattern[h % pattern.length]!);
  const sinkBonus = o.sinkBonus ?? 2, sigma = o.noise ?? 0.4;
  const N = gridTokens(g), nv = g.T * g.H * g.W, hw = g.H * g.W;
  const content = contentFeatures(readImage(o.image ?? assetPath(DEFAULT_IMAGE)), g);
  const u = seededRandom(seed * 7919 + 17);
  const gauss = gaussian(u);
  const noise = gaussian(seededRandom((seed * 7919 + 17) ^ (((o.step ?? 0) + 1) * 104729)));
  // dims: [positional cos | positional sin] (dp), content (dc), sink (1)
  const dc = Math.max(4, Math.floor(d / 4));
  const m = (d - dc - 1) >> 1;
  const dp = 2 * m;
  const rootD = Math.sqrt(d);
  const q = new Float32Array(heads * N * d), k = new Float32Array(heads * N * d), v = new Float32Array(heads * N * d);
  for (let h = 0; h < heads; h++) {
    const p = kindParams(kinds[h]!, g, u);
    const om = Array.from({ length: m }, () => [gauss() / p.lt, gauss() / p.lh, gauss() / p.lw] as const);
    const omV = Array.from({ length: m }, () => [gauss() / 2, gauss() / 3, gauss() / 3] as const);
    const proj = Array.from({ length: dc * FEATURES }, () => gauss() / Math.sqrt(dc));
    const projV = Array.from({ length: d * FEATURES }, () => gauss());
    const ap = Math.sqrt(p.aPos * rootD / m), ac = Math.sqrt(p.aContent * rootD), as = Math.sqrt(sinkBonus * rootD);
    for (let i = 0; i < N; i++) {
      const o3 = (h * N + i) * d;
      if (i >= nv) {
        // text: broad queries, sink keys, values of unit scale
        for (let c = 0; c < d - 1; c++) { q[o3 + c] = gauss() * 0.5; k[o3 + c] = gauss() * 0.5; v[o3 + c] = gauss(); }
        k[o3 + d - 1] = as;
        v[o3 + d - 1] = gauss();
        continue;
      }
      const t = Math.floor(i / hw), hh = Math.floor((i % hw) / g.W), w = i % g.W;
      for (let f = 0; f < m; f++) {
        const [a, b, c] = om[f]!;
        const ph = a * t + b * hh + c * w;
        q[o3 + f] = k[o3 + f] = ap * Math.cos(ph);
        q[o3 + m + f] = k[o3 + m + f] = ap * Math.sin(ph);
      }
      for (let c = 0; c < dc; c++) {
        let s = 0;
        for (let f = 0; f < FEATURES; f++) s += proj[c * FEATURES + f]! * content[i * FEATURES + f]!;
        q[o3 + dp + c] = k[o3 + dp + c] = ac * s;
      }
      q[o3 + d - 1] = as;
      k[o3 + d - 1] = t === 0 ? as : 0;
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let f = 0; f < FEATURES; f++) s += projV[c * FEATURES + f]! * content[i * FEATURES + f]!;
        const [a, b, cc] = omV[c % m]!;
        v[o3 + c] = 0.6 * s + 0.8 * Math.cos(a * t + b * hh + cc * w + c);
      }
    }
    for (let i = 0; i < N; i++) {
      const o3 = (h * N + i) * d;
      for (let c = 0; c < d - 1; c++) { q[o3 + c]! += sigma * noise(); k[o3 + c]! += sigma * noise(); v[o3 + c]! += 0.3 * noise(); }
    }
  }
  return { grid: g, heads, headDim: d, kinds, q, k, v };
}
