/**
 * QuaRot (Ashkboos et al., 2024, "QuaRot: Outlier-Free 4-Bit Inference in Rotated LLMs", arXiv 2404.00456):
 * fuse the norms, then R1 = a random Hadamard diag(s) H_d / sqrt(d) on the residual stream (seeded), R2 = the
 * Hadamard H_D / sqrt(D) for every layer and KV head (the reference applies the exact Hadamard to v_proj's output
 * and o_proj's input), R4 = H_hidden fused into W_down with the online Hadamard on the down_proj input; R3 (online
 * Hadamard on Q/K after RoPE) is switched on where keys are quantized. Weights are then quantized by GPTQ or RTN
 * on the rotated model; activations and the KV cache by the online hook (online.ts).
 */
import { seededRandom } from '../../util/random.js';
import { hadamardMatrix, requireHadamardSize } from '../../linalg/hadamard.js';
import { applyRotations, fuseNorms, randomHadamard } from './rotate.js';
import { DecoderModel } from '../../models/index.js';

export interface RotationRecord {
  method: 'quarot';
  r1: string;
  r2: string;
  seed: number;
  /** online Hadamard on the down_proj input (its W_down is fused with H) */
  r4: boolean;
}

export function checkRotatable(model: Pick<DecoderModel, 'config'>): void {
  const c = model.config;
  requireHadamardSize(c.dim, 'R1 (hidden size)');
  requireHadamardSize(c.headDim, 'R2/R3 (head dim)');
  requireHadamardSize(c.hiddenDim, 'R4 (MLP hidden size)');
}

export async function quarotRotate(model: DecoderModel, seed: number): Promise<RotationRecord> {
  checkRotatable(model);
  const c = model.config;
  await fuseNorms(model);
  const H = hadamardMatrix(c.headDim);
  await applyRotations(model, {
    r1: randomHadamard(c.dim, seededRandom(seed)),
    r2: Array.from({ length: c.nLayers }, () => Array.from({ length: c.nKVHeads }, () => H)),
    r4: true,
  });
  return { method: 'quarot', r1: `random Hadamard ${c.dim}`, r2: `Hadamard ${c.headDim} per head`, seed, r4: true };
}
