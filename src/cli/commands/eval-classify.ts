/**
 * `lithe eval classify MODEL --mnist DIR`: top-1 accuracy of an image classifier (an ONNX file, or a lithe_net
 * .safetensors) on the MNIST test images (raw 0-255 pixels, as MNIST-8 expects), batched.
 */
import { defaultThreads } from '../options.js';
import type { CommonFlags, Context } from './common.js';
import { InputError, Net, accuracy, argmaxRows, createBackend, loadNet, predictBatched, readMnist, readOnnxNet } from '../../index.js';

export interface ClassifyFlags extends CommonFlags { mnist: string; limit?: number; batch?: number }

export async function evalClassifyCommand(modelPath: string, flags: ClassifyFlags, ctx: Context): Promise<void> {
  const { spec, weights } = modelPath.endsWith('.onnx') ? readOnnxNet(modelPath) : loadNet(modelPath);
  const data = readMnist(flags.mnist);
  const per = data.rows * data.cols, want = [1, data.rows, data.cols].join(',');
  if (spec.input.join(',') !== want) throw new InputError(`${modelPath}: the model takes [${spec.input}], MNIST images are [${want}]`);
  const count = Math.min(flags.limit ?? data.count, data.count);
  const be = await createBackend(flags.backend, flags.threads ?? defaultThreads());
  try {
    const net = Net.create(be, spec, weights, modelPath);
    const t0 = performance.now();
    const logits = await predictBatched(net, Float32Array.from(data.images.subarray(0, count * per)), count, flags.batch ?? 256);
    const seconds = (performance.now() - t0) / 1000;
    const acc = accuracy(argmaxRows(logits, net.outputShape[0]!), data.labels.subarray(0, count));
    ctx.out.line(`${modelPath}: top-1 ${(100 * acc).toFixed(2)} % on ${count} MNIST test images (${seconds.toFixed(2)} s, ${be.description})`);
    ctx.out.result({ model: modelPath, images: count, top1: acc, seconds, backend: be.description });
  } finally {
    await be.dispose();
  }
}
