/**
 * Per-layer sensitivity profiles (KVTuner, Li et al., ICML 2025, section 4): for each layer and each candidate
 * (key bits, value bits) pair, with every other layer at 16 bits, the relative L2 error of that layer's
 * attention output (same input as the float model) and the KL divergence / top-1 agreement of the final
 * next-token distributions. The float pass records each layer's input and attention output once per window;
 * each (layer, pair) run then starts at its layer.
 */
import * as ops from '../../ops/index.js';
import { cancellationPoint } from '../../util/errors.js';
import { KvPair, KvQuantConfig, pairBits, pairName } from './config.js';
import { cpuBackendOf, KvEvalSetup, QualityAccumulator, quantizedAttention, windowLogProbs } from './evaluate.js';
import { DecoderModel } from '../../models/index.js';

export interface PairSensitivity {
  pair: string;
  k: number;
  v: number;
  bits: number;
  /** mean over windows of ||att_q - att_fp|| / ||att_fp|| of the layer's attention output */
  attnErr: number;
  /** mean KL(p_fp || p_q) of next-token distributions (nats per position) */
  kl: number;
  top1: number;
}

export interface LayerProfile {
  layer: number;
  pairs: PairSensitivity[];
}

/** The full candidate space of KVTuner: K, V in {2, 4, 8}. */
export const CANDIDATE_PAIRS: readonly KvPair[] = [8, 4, 2].flatMap((k) => [8, 4, 2].map((v) => ({ k, v }) as KvPair));

export interface ProfileOptions {
  /** scheme, group, residual, zero point (layers ignored) */
  base: Omit<KvQuantConfig, 'layers'>;
  candidates?: readonly KvPair[];
  prefill?: number;
  signal?: AbortSignal;
  onStep?: (done: number, total: number) => void;
}

export async function profileLayers(model: DecoderModel, windows: readonly ArrayLike<number>[], o: ProfileOptions): Promise<LayerProfile[]> {
  const be = cpuBackendOf(model), c = model.config, L = c.nLayers, V = c.vocabSize;
  const candidates = o.candidates ?? CANDIDATE_PAIRS;
  const prefill = o.prefill ?? 0;
  const attnErr = new Float64Array(L * candidates.length);
  const acc = Array.from({ length: L * candidates.length }, () => new QualityAccumulator());
  const total = windows.length * L * candidates.length;
  let done = 0;
  for (const ids of windows) {
    const T = ids.length;
    // float pass: each layer's input and attention output
    const inputs: Float32Array[] = [], attOut: Float32Array[] = [];
    const h = model.embed(ids);
    let fp: Float32Array;
    try {
      for (let l = 0; l < L; l++) {
        inputs.push(be.f32View(h).slice());
        model.block(l, h, { pos0: 0, attend: (_i, q, k, v, out, p) => { ops.attention(be, q, k, v, out, p); attOut[l] = be.f32View(out).slice(); } });
      }
      fp = await windowLogProbs(model, ids, undefined, { layer: L, h }); // the recording pass's own output: only the head is left
    } finally {
      be.free(h);
    }
    for (let l = 0; l < L; l++) {
      for (let ci = 0; ci < candidates.length; ci++) {
        await cancellationPoint(o.signal);
        const layers = Array.from({ length: L }, (_, i) => (i === l ? candidates[ci]! : { k: 16, v: 16 } as KvPair));
        const setup: KvEvalSetup = { config: { ...o.base, layers }, prefill, forceQuant: false };
        const inner = quantizedAttention(model, setup, new Set([l]));
        let err = 0;
        const start = be.alloc([T, c.dim]);
        be.write(start, inputs[l]!);
        try {
          const q = await windowLogProbs(model, ids, (i, qq, k, v, out, p) => {
            inner(i, qq, k, v, out, p);
            if (i === l) err = relErrRows(be.f32View(out), attOut[l]!, prefill * c.nHeads * c.headDim);
          }, { layer: l, h: start });
          acc[l * candidates.length + ci]!.add(ids, fp, q, V, prefill);
        } finally {
          be.free(start);
        }
        attnErr[l * candidates.length + ci]! += err / windows.length;
        o.onStep?.(++done, total);
      }
    }
  }
  return Array.from({ length: L }, (_, l) => ({
    layer: l,
    pairs: candidates.map((p, ci) => {
      const r = acc[l * candidates.length + ci]!.result();
      return { pair: pairName(p), k: p.k, v: p.v, bits: pairBits(p), attnErr: attnErr[l * candidates.length + ci]!, kl: r.kl, top1: r.top1 };
    }),
  }));
}

function relErrRows(a: Float32Array, b: Float32Array, from: number): number {
  let num = 0, den = 0;
  for (let i = from; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
