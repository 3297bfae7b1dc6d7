/**
 * Batched inference of a classifier: inputs on the host, `batch` at a time through Net.forward, logits back, and the
 * top-1 accuracy against labels.
 */
import type { Net } from './net.js';

/** inputs: count x the net's input size floats; returns count x classes logits. */
export async function predictBatched(net: Net, inputs: Float32Array, count: number, batch = 256): Promise<Float32Array> {
  const per = net.spec.input.reduce((a, b) => a * b, 1), classes = net.outputShape.reduce((a, b) => a * b, 1);
  if (inputs.length !== count * per) throw new Error(`predictBatched: ${inputs.length} floats for ${count} inputs of ${per}`);
  const out = new Float32Array(count * classes);
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i), x = net.be.alloc([n, ...net.spec.input]);
    net.be.write(x, inputs.subarray(i * per, (i + n) * per));
    const y = net.forward(x);
    out.set(await net.be.read(y), i * classes);
    net.be.free(x);
    net.be.free(y);
  }
  return out;
}

/** Index of the largest logit of each row (the first on ties). */
export function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(logits.length / classes);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}

export function accuracy(predicted: Int32Array, labels: ArrayLike<number>): number {
  let ok = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) ok++;
  return ok / predicted.length;
}
