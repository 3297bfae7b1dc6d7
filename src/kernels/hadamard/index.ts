/**
 * hadamard: in place, every n-float row r of x becomes r . H_n / sqrt(n), H_n = H_K (x) H_{2^m} (linalg/hadamard.ts
 * builds H_K): a fast Walsh-Hadamard transform along the 2^m axis, then the K x K stage.
 */
import { defineOp, opError, requireF32 } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { hadamardBase, requireHadamardSize } from '../../linalg/hadamard.js';
import { HADAMARD as HADAMARD_WGSL } from './wgsl.js';

export interface HadamardArgs { x: Tensor; n: number }

const base = (K: number) => Float32Array.from(hadamardBase(K));

export const HADAMARD = defineOp<HadamardArgs>({
  name: 'hadamard',
  check({ x, n }) {
    requireF32('hadamard', x);
    if (x.size % n) opError('hadamard', `${x.size} values are not rows of ${n}`);
    requireHadamardSize(n, 'hadamard');
  },
  cpu(k, { x, n }) {
    const { K } = requireHadamardSize(n, 'hadamard');
    const hk = k.constant(`hadamard_${K}`, [K, K], () => base(K));
    const scratch = k.scratch('hadamard', n * k.threads);
    const rows = x.size / n;
    k.call('hadamard_rows', [k.ptr(x), rows, n, K, k.ptr(hk), 1 / Math.sqrt(n), k.ptr(scratch)], rows * n * (Math.log2(n) + 2 * K));
  },
  webgpu(k, { x, n }) {
    const { K, pow2 } = requireHadamardSize(n, 'hadamard');
    const hk = k.constant(`hadamard_${K}`, [K, K], () => base(K));
    const rows = x.size / n;
    const tmp = k.alloc([rows * n]);
    k.dispatch('hadamard', () => HADAMARD_WGSL, [x, hk, tmp], [rows, n, K, pow2, { f: 1 / Math.sqrt(n) }, x.offset], Math.ceil(rows / 64));
    k.free(tmp);
  },
});
