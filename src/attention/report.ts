/** The tables of the sparse-attention commands and benchmark: methods vs dense, the ARM confusion matrix, denoising steps. */
import { markdownTable } from '../util/table.js';
import type { MethodResult, StepRow } from './evaluate.js';
import { HEAD_KINDS, type HeadKind } from './synthetic.js';

const fmt = (x: number, d = 4) => x.toFixed(d);
export function attentionTable(rows: MethodResult[]): string {
  return markdownTable(
    ['method', 'sparsity', 'density', 'recall', 'rel-L1', 'rel-L2', 'cosine', 'min head cos', 'mask ms', 'permute ms', 'attention ms', 'speedup', 'end-to-end'],
    rows.map((r) => [r.method, fmt(r.sparsity, 2), fmt(r.density, 3), fmt(r.recall, 3), fmt(r.relL1), fmt(r.relL2), fmt(r.cosine), fmt(r.minHeadCosine),
      fmt(r.maskMs, 1), fmt(r.permuteMs, 1), fmt(r.attentionMs, 1), `${fmt(r.speedup, 2)}x`, `${fmt(r.endToEndSpeedup, 2)}x`]),
  );
}

/** Rows: generated head kind; columns: the kind RainFusion's ARM chose. */
export function confusionMatrix(truth: readonly HeadKind[], chosen: readonly string[]): { kinds: string[]; chosen: string[]; counts: number[][] } {
  const kinds = HEAD_KINDS.filter((k) => truth.includes(k));
  const cols = ['spatial', 'temporal', 'textural'];
  const counts = kinds.map((k) => cols.map((c) => truth.filter((t, h) => t === k && chosen[h] === c).length));
  return { kinds: [...kinds], chosen: cols, counts };
}

export function confusionTable(c: ReturnType<typeof confusionMatrix>): string {
  return markdownTable(['generated \\ ARM', ...c.chosen], c.kinds.map((k, i) => [k, ...c.counts[i]!]));
}

export function stepsTable(rows: StepRow[]): string {
  return markdownTable(['step', 'method', 'mask', 'density', 'recall', 'rel-L2', 'cosine', 'mask ms', 'attention ms', 'dense ms', 'mask Jaccard vs last prediction'],
    rows.map((r) => [r.step, r.method, r.mode, fmt(r.density, 3), fmt(r.recall, 3), fmt(r.relL2), fmt(r.cosine), fmt(r.maskMs, 1), fmt(r.attentionMs, 1), fmt(r.denseMs, 1),
      r.maskSimilarity === null ? '' : fmt(r.maskSimilarity, 3)]));
}

/** Per method over all steps: mean density and cosine, attention time (+ masks) vs dense. */
export function stepsSummary(rows: StepRow[]): { method: string; meanDensity: number; meanCosine: number; minCosine: number; speedup: number; endToEndSpeedup: number }[] {
  return [...new Set(rows.map((r) => r.method))].map((method) => {
    const m = rows.filter((r) => r.method === method);
    const sum = (f: (r: StepRow) => number) => m.reduce((a, r) => a + f(r), 0);
    return {
      method, meanDensity: sum((r) => r.density) / m.length, meanCosine: sum((r) => r.cosine) / m.length, minCosine: Math.min(...m.map((r) => r.cosine)),
      speedup: sum((r) => r.denseMs) / sum((r) => r.attentionMs), endToEndSpeedup: sum((r) => r.denseMs) / sum((r) => r.attentionMs + r.maskMs + r.permuteMs),
    };
  });
}
