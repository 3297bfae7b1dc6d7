/**
 * PyTorch's default initialization of a spec's parameters, seeded: Conv/Linear weights and biases uniform in
 * +-1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5), fan_in = in/groups * kernel size), batch norm weight 1, bias 0,
 * running mean 0, running variance 1. Draws come from a seeded MT19937 (data/python-random.ts), in parameter order.
 */
import { PythonRandom } from '../util/python-random.js';
import { paramShapes, type NetSpec } from './spec.js';
import type { Weights } from './net.js';

export function initWeights(spec: NetSpec, seed: number): Weights {
  const rng = new PythonRandom(seed), out: Weights = new Map();
  const uniform = (bound: number) => (rng.randint(0, 2 ** 24 - 1) / 2 ** 24 * 2 - 1) * bound;
  let fanIn = 1;
  for (const [name, shape] of paramShapes(spec)) {
    const n = shape.reduce((a, b) => a * b, 1), leaf = name.slice(name.lastIndexOf('.') + 1);
    const isBn = leaf === 'running_mean' || leaf === 'running_var' || (shape.length === 1 && isBatchNorm(spec, name));
    let v: Float32Array;
    if (isBn) v = new Float32Array(n).fill(leaf === 'weight' || leaf === 'running_var' ? 1 : 0);
    else {
      if (leaf === 'weight') fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(fanIn);
      v = Float32Array.from({ length: n }, () => uniform(bound));
    }
    out.set(name, v);
  }
  return out;
}

/** The parameter belongs to a batchnorm2d layer (its running statistics sit beside it). */
function isBatchNorm(spec: NetSpec, name: string): boolean {
  return paramShapes(spec).has(name.slice(0, name.lastIndexOf('.') + 1) + 'running_mean');
}
