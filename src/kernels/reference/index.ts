/**
 * Plain TypeScript twins of the WebAssembly kernels (src/kernels/assembly). They are the readable definition
 * of what each kernel computes; tests compare the SIMD versions against them on fresh random inputs.
 * Accumulation is float64 here, so they double as a precision reference.
 */
import { bf16BitsToF32, f16BitsToF32, roundToType } from '../../tensor/dtype.js';
import type { AttentionParams, BlockAttentionParams, FakeQuantParams, RopeParams } from '../../backend/backend.js';
import { PackedLinear, unpackWeights } from '../../quant/pack.js';
import { roundHalfEven } from '../../util/rounding.js';

/** out[M,N] = a[M,K] . w[N,K]^T + bias */
export function linearRef(a: Float32Array, w: Float32Array, bias: Float32Array | null, M: number, N: number, K: number): Float32Array {
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias ? bias[j]! : 0;
      for (let k = 0; k < K; k++) s += a[i * K + k]! * w[j * K + k]!;
      out[i * N + j] = s;
    }
  }
  return out;
}

export function rmsnormRef(x: Float32Array, w: Float32Array, eps: number): Float32Array {
  const n = w.length;
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i]! ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[r * n + i] = w[i]! * x[r * n + i]! * inv;
  }
  return out;
}

export function softmaxRef(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, x[r * n + i]!);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[r * n + i]! - m);
    for (let i = 0; i < n; i++) out[r * n + i] = Math.exp(x[r * n + i]! - m) / s;
  }
  return out;
}

export function logsumexpRef(x: Float32Array, n: number): Float64Array {
  const rows = x.length / n;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, x[r * n + i]!);
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[r * n + i]! - m);
    out[r] = m + Math.log(s);
  }
  return out;
}

export function siluMulRef(g: Float32Array, u: Float32Array): Float32Array {
  return g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!);
}

/** In place on x[T, stride]. */
export function ropeRef(x: Float32Array, stride: number, cos: Float32Array, sin: Float32Array, p: RopeParams): void {
  const half = p.headDim / 2;
  for (let t = 0; t < p.T; t++) {
    for (let h = 0; h < p.heads; h++) {
      const base = t * stride + h * p.headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[(p.pos0 + t) * half + i]!;
        const s = sin[(p.pos0 + t) * half + i]!;
        const ia = p.neox ? base + i : base + 2 * i;
        const ib = p.neox ? base + i + half : base + 2 * i + 1;
        const a = x[ia]!, b = x[ib]!;
        x[ia] = a * c - b * s;
        x[ib] = b * c + a * s;
      }
    }
  }
}

/** Causal GQA attention with a full (not online) softmax in float64. q/out [T, nH*hd]; k/v [S, nKV*hd]. */
/** mixed: dequantized copies kq/vq and per-row bounds (bK, bV): keys j < bK from kq, values j < bV from vq. */
export function attentionRef(q: Float32Array, k: Float32Array, v: Float32Array, p: AttentionParams,
  mixed?: { kq: Float32Array; vq: Float32Array; bounds: Int32Array }): Float32Array {
  const { T, nHeads, nKVHeads, headDim: hd, pos0, window, scale } = p;
  const out = new Float32Array(T * nHeads * hd);
  const group = nHeads / nKVHeads;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / group);
      const last = pos0 + t;
      const first = window > 0 ? Math.max(0, last - window + 1) : 0;
      const scores: number[] = [];
      const bK = mixed ? mixed.bounds[2 * t]! : 0, bV = mixed ? mixed.bounds[2 * t + 1]! : 0;
      for (let j = first; j <= last; j++) {
        let s = 0;
        const kk = j < bK ? mixed!.kq : k;
        for (let d = 0; d < hd; d++) s += q[(t * nHeads + h) * hd + d]! * kk[(j * nKVHeads + kvh) * hd + d]!;
        scores.push(s * scale);
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < hd; d++) {
        let acc = 0;
        for (let j = first; j <= last; j++) acc += e[j - first]! * (j < bV ? mixed!.vq : v)[(j * nKVHeads + kvh) * hd + d]!;
        out[(t * nHeads + h) * hd + d] = acc / z;
      }
    }
  }
  return out;
}

/**
 * Non-causal block attention in float64 with a two-pass softmax: q/k/v [heads, tokens, d]; `keep(h, qb, kb)`
 * says whether query block qb of head h attends key block kb (absent: dense). Rows that attend nothing get 0.
 * Also returns each row's log-sum-exp and the softmax mass of every (query block, key block) pair of a dense call.
 */
export function blockAttentionRef(q: Float32Array, k: Float32Array, v: Float32Array, p: BlockAttentionParams,
  keep?: (h: number, qb: number, kb: number) => boolean): { out: Float64Array; lse: Float64Array; mass: Float64Array } {
  const { heads, tokens: N, headDim: d, block, scale } = p;
  const nb = Math.ceil(N / block);
  const out = new Float64Array(heads * N * d), lse = new Float64Array(heads * N), mass = new Float64Array(heads * nb * nb);
  const s = new Float64Array(N);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < N; i++) {
      const qb = Math.floor(i / block);
      let m = -Infinity;
      for (let j = 0; j < N; j++) {
        if (keep && !keep(h, qb, Math.floor(j / block))) { s[j] = -Infinity; continue; }
        let acc = 0;
        for (let c = 0; c < d; c++) acc += q[(h * N + i) * d + c]! * k[(h * N + j) * d + c]!;
        s[j] = acc * scale;
        m = Math.max(m, s[j]!);
      }
      if (m === -Infinity) { lse[h * N + i] = -Infinity; continue; }
      let z = 0;
      for (let j = 0; j < N; j++) z += s[j] === -Infinity ? 0 : Math.exp(s[j]! - m);
      lse[h * N + i] = m + Math.log(z);
      for (let j = 0; j < N; j++) {
        if (s[j] === -Infinity) continue;
        const pr = Math.exp(s[j]! - m) / z;
        mass[(h * nb + qb) * nb + Math.floor(j / block)] += pr;
        for (let c = 0; c < d; c++) out[(h * N + i) * d + c] += pr * v[(h * N + j) * d + c]!;
      }
    }
  }
  return { out, lse, mass };
}

export function embedRef(table: Float32Array, dim: number, ids: Int32Array): Float32Array {
  const out = new Float32Array(ids.length * dim);
  ids.forEach((id, t) => out.set(table.subarray(id * dim, (id + 1) * dim), t * dim));
  return out;
}

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

/** Twin of fake_quant_rows (float32 arithmetic step by step, so it is bit-exact): a quantized copy of x. */
export function fakeQuantRef(x: Float32Array, p: FakeQuantParams): Float32Array {
  const f = Math.fround, out = Float32Array.from(x);
  for (let g0 = 0; g0 < x.length; g0 += p.group) {
    let lo = 0, hi = 0;
    for (let i = g0; i < g0 + p.group; i++) { lo = Math.min(lo, x[i]!); hi = Math.max(hi, x[i]!); }
    const clip = f(p.clip);
    lo = f(lo * clip); hi = f(hi * clip);
    let scale: number, zero = 0, qmin: number, qmax: number;
    if (p.asym) {
      if (lo === 0 && hi === 0) { lo = -1; hi = 1; }
      qmax = 2 ** p.bits - 1; qmin = 0;
      scale = f(f(hi - lo) / qmax);
      zero = roundHalfEven(f(-lo / scale));
    } else {
      qmax = 2 ** (p.bits - 1) - 1; qmin = -qmax - 1;
      const m = Math.max(Math.abs(lo), hi);
      scale = m === 0 ? 1 : f(m / qmax);
    }
    for (let i = g0; i < g0 + p.group; i++) {
      const q = Math.min(qmax, Math.max(qmin, roundHalfEven(f(x[i]! / scale)) + zero));
      out[i] = f(scale * (q - zero));
    }
  }
  return out;
}

/** Twin of gemv_q: y = W x (+ bias) for packed integer weights, accumulated in float64 from the dequantized values. */
export function gemvQRef(p: PackedLinear, x: Float32Array, bias: Float32Array | null): Float64Array {
  const w = unpackWeights(p);
  const y = new Float64Array(p.rows);
  for (let r = 0; r < p.rows; r++) {
    let s = bias ? bias[r]! : 0;
    for (let c = 0; c < p.cols; c++) s += w[r * p.cols + c]! * x[c]!;
    y[r] = s;
  }
  return y;
}
