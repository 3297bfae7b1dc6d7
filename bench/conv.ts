/**
 * conv2d on a LeNet-sized layer (the second convolution of MNIST-8: 8 -> 16 channels, 5x5, 14x14, SAME padding,
 * batch 64): the im2col + sgemm kernel (1 and 2 threads) against the naive direct loop (the op's TS twin).
 * Run: `node dist/bench/conv.js` after a build. Prints ms per batch and GFLOP/s.
 */
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { conv2dRef } from '../src/kernels/conv/reference.js';
import * as ops from '../src/ops/index.js';
import { timed } from '../src/util/timing.js';

const [N, C, H, W, O] = [64, 8, 14, 14, 16];
const p = { kernel: [5, 5], stride: [1, 1], dilation: [1, 1], pad: [2, 2, 2, 2], groups: 1 } as const;
const flops = 2 * N * O * H * W * C * 25;
const x = Float32Array.from({ length: N * C * H * W }, (_, i) => Math.sin(i)), w = Float32Array.from({ length: O * C * 25 }, (_, i) => Math.cos(i));
const rows: string[] = [];
const naive = await timed(3, () => conv2dRef(x, w, null, N, C, H, W, O, p));
rows.push(`naive direct loop (TS twin): ${naive.ms.toFixed(2)} ms, ${(flops / naive.ms / 1e6).toFixed(2)} GFLOP/s`);
for (const threads of [1, 2]) {
  const be = await CpuBackend.create({ threads });
  const tx = be.alloc([N, C, H, W]), tw = be.alloc([O, C, 5, 5]), out = be.alloc([N, O, H, W]);
  be.write(tx, x); be.write(tw, w);
  const t = await timed(10, () => ops.conv2d(be, tx, tw, null, out, p));
  rows.push(`im2col + sgemm, ${threads} thread(s): ${t.ms.toFixed(2)} ms, ${(flops / t.ms / 1e6).toFixed(2)} GFLOP/s`);
  await be.dispose();
}
console.log(`conv2d [${N},${C},${H},${W}] x [${O},${C},5,5] SAME (${(flops / 1e6).toFixed(1)} MFLOP)\n${rows.join('\n')}`);
