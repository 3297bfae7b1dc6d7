/**
 * The rotated-model skeleton of QuaRot (Ashkboos et al., 2024, arXiv 2404.00456), reused by SpinQuant and
 * DartQuant: (1) fuse every RMSNorm weight into the linears that read the norm's output and make the norms
 * weightless; (2) R1 [d, d] on the residual stream: E <- E R1, W_q,k,v,gate,up,lm_head <- W R1, W_o,down <- R1^T W;
 * (3) R2 [D, D] per layer and KV head: v_proj output rows of the head <- R2^T W, o_proj input columns of every
 * query head reading it <- W R2; (4) R4: W_down <- W_down H with the online Hadamard on the down_proj input
 * (quant/rotation/online.ts). R3 (Hadamard on Q/K after RoPE) is online only. Without quantization the rotated
 * model computes the same function (computational invariance). All products in float64, then stored as f32.
 * Tied embeddings are untied first (E and lm_head rotate differently once the final norm is fused).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { hadamardMatrix, requireHadamardSize } from '../../linalg/hadamard.js';
import { DecoderModel, floatWeight } from '../../models/index.js';

export interface RotationPlan {
  /** R1 [dim, dim], row-major, orthogonal; null: none */
  r1: Float64Array | null;
  /** R2 per layer and KV head [headDim, headDim]; null: none */
  r2: Float64Array[][] | null;
  /** fuse H_hidden into W_down (the online Hadamard on the down_proj input must then be on) */
  r4: boolean;
}

async function read64(model: DecoderModel, t: Tensor): Promise<Float64Array> {
  return Float64Array.from(await model.backend.read(t));
}

function write64(model: DecoderModel, t: Tensor, v: Float64Array): void {
  model.backend.write(t, Float32Array.from(v));
}

/** W [rows, n] . R [n, n] */
export function mulRight(W: Float64Array, rows: number, n: number, R: Float64Array): Float64Array {
  const out = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    const o = i * n;
    for (let k = 0; k < n; k++) {
      const a = W[o + k]!;
      if (a === 0) continue;
      const rk = k * n;
      for (let j = 0; j < n; j++) out[o + j] += a * R[rk + j]!;
    }
  }
  return out;
}

/** R^T [n, n] . W [n, cols] */
export function mulLeftT(R: Float64Array, n: number, W: Float64Array, cols: number): Float64Array {
  const out = new Float64Array(n * cols);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = R[k * n + j]!;
      const oj = j * cols, wk = k * cols;
      for (let c = 0; c < cols; c++) out[oj + c] += a * W[wk + c]!;
    }
  }
  return out;
}

/** Gives the model its own lm_head when it shares the embedding matrix. */
export async function untieEmbeddings(model: DecoderModel): Promise<boolean> {
  const w = model.weights;
  if (w.lmHead !== w.embed) return false;
  const head = model.backend.alloc(w.embed.shape);
  model.backend.write(head, await model.backend.read(w.embed));
  (w as { lmHead: Tensor }).lmHead = head;
  model.config.tiedEmbeddings = false;
  return true;
}

/** W [rows, cols] <- W diag(g), then g <- 1. */
async function scaleColumns(model: DecoderModel, ws: Tensor[], g: Float32Array): Promise<void> {
  for (const t of ws) {
    const v = await model.backend.read(t), cols = g.length;
    for (let i = 0; i < v.length; i++) v[i] = Math.fround(v[i]! * g[i % cols]!);
    model.backend.write(t, v);
  }
}

/** Step (1): RMSNorm weights into the following linears; every norm becomes x / rms(x). Unties embeddings. */
export async function fuseNorms(model: DecoderModel): Promise<void> {
  await untieEmbeddings(model);
  const be = model.backend, w = model.weights, ones = new Float32Array(model.config.dim).fill(1);
  for (const l of w.layers) {
    await scaleColumns(model, [floatWeight(l.wq), floatWeight(l.wk), floatWeight(l.wv)], await be.read(l.attnNorm));
    await scaleColumns(model, [floatWeight(l.wGate), floatWeight(l.wUp)], await be.read(l.ffnNorm));
    be.write(l.attnNorm, ones);
    be.write(l.ffnNorm, ones);
  }
  await scaleColumns(model, [w.lmHead], await be.read(w.norm));
  be.write(w.norm, ones);
}

/** Steps (2)-(4) on a model whose norms are fused (fuseNorms). */
export async function applyRotations(model: DecoderModel, plan: RotationPlan): Promise<void> {
  const c = model.config, w = model.weights, d = c.dim, D = c.headDim;
  const right = async (t: Tensor, R: Float64Array, n: number) => write64(model, t, mulRight(await read64(model, t), t.size / n, n, R));
  if (plan.r1) {
    if (plan.r1.length !== d * d) throw new Error(`R1 must be ${d} x ${d}`);
    await right(w.embed, plan.r1, d);
    await right(w.lmHead, plan.r1, d);
    for (const l of w.layers) {
      for (const t of [floatWeight(l.wq), floatWeight(l.wk), floatWeight(l.wv), floatWeight(l.wGate), floatWeight(l.wUp)]) await right(t, plan.r1, d);
      for (const t of [floatWeight(l.wo), floatWeight(l.wDown)]) write64(model, t, mulLeftT(plan.r1, d, await read64(model, t), t.shape[1]!));
    }
  }
  if (plan.r2) {
    const group = c.nHeads / c.nKVHeads;
    for (let i = 0; i < c.nLayers; i++) {
      const l = w.layers[i]!, rs = plan.r2[i]!;
      const v = await read64(model, floatWeight(l.wv)), bias = l.bv ? await read64(model, l.bv) : null;
      for (let h = 0; h < c.nKVHeads; h++) {
        const rows = v.subarray(h * D * d, (h + 1) * D * d);
        rows.set(mulLeftT(rs[h]!, D, rows, d));
        if (bias) bias.subarray(h * D, (h + 1) * D).set(mulLeftT(rs[h]!, D, bias.subarray(h * D, (h + 1) * D), 1));
      }
      write64(model, floatWeight(l.wv), v);
      if (bias && l.bv) write64(model, l.bv, bias);
      const o = await read64(model, floatWeight(l.wo)), qd = c.nHeads * D, blk = new Float64Array(d * D);
      for (let j = 0; j < c.nHeads; j++) {
        for (let r = 0; r < d; r++) blk.set(o.subarray(r * qd + j * D, r * qd + (j + 1) * D), r * D);
        const rot = mulRight(blk, d, D, rs[Math.floor(j / group)]!);
        for (let r = 0; r < d; r++) o.set(rot.subarray(r * D, (r + 1) * D), r * qd + j * D);
      }
      write64(model, floatWeight(l.wo), o);
    }
  }
  if (plan.r4) {
    requireHadamardSize(c.hiddenDim, 'R4 (MLP hidden size)');
    const H = hadamardMatrix(c.hiddenDim);
    for (const l of w.layers) await right(floatWeight(l.wDown), H, c.hiddenDim);
  }
}

/** QuaRot's random Hadamard diag(s) H_n / sqrt(n), s uniform +-1 from `rand`. */
export function randomHadamard(n: number, rand: () => number): Float64Array {
  const H = hadamardMatrix(n);
  for (let i = 0; i < n; i++) if (rand() < 0.5) for (let j = 0; j < n; j++) H[i * n + j] = -H[i * n + j]!;
  return H;
}
