/** Next-token choice: greedy argmax, or temperature sampling with optional nucleus (top-p) truncation, seeded. */

import { seededRandom } from '../util/random.js';

export interface SamplerOptions {
  /** 0 = greedy */
  temperature: number;
  /** nucleus mass in (0, 1]; 1 = no truncation */
  topP: number;
  seed: number;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

export class Sampler {
  private readonly random: () => number;
  constructor(readonly options: SamplerOptions) {
    this.random = seededRandom(options.seed);
  }

  sample(logits: Float32Array): number {
    const { temperature, topP } = this.options;
    if (temperature <= 0) return argmax(logits);
    const n = logits.length;
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, logits[i]!);
    const p = new Float64Array(n);
    let z = 0;
    for (let i = 0; i < n; i++) z += p[i] = Math.exp((logits[i]! - m) / temperature);
    for (let i = 0; i < n; i++) p[i]! /= z;
    let order: number[];
    if (topP < 1) {
      // candidates above (1 - topP) / (n - 1) cannot all be dropped; sort only those (as llama2.c does)
      const cutoff = (1 - topP) / (n - 1);
      order = [];
      for (let i = 0; i < n; i++) if (p[i]! >= cutoff) order.push(i);
      order.sort((a, b) => p[b]! - p[a]! || a - b);
      let mass = 0, last = order.length - 1;
      for (let i = 0; i < order.length; i++) {
        mass += p[order[i]!]!;
        if (mass > topP) { last = i; break; }
      }
      order = order.slice(0, last + 1);
    } else {
      order = Array.from({ length: n }, (_, i) => i);
    }
    let total = 0;
    for (const i of order) total += p[i]!;
    let r = this.random() * total;
    for (const i of order) {
      r -= p[i]!;
      if (r <= 0) return i;
    }
    return order[order.length - 1]!;
  }
}
