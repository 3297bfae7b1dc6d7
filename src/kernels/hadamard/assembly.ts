// Online Hadamard rotation (QuaRot's R3 / R4): every n-float row of x becomes row . H_n / sqrt(n), with
// H_n = H_K (x) H_{2^m}: a Walsh-Hadamard butterfly inside each of the K blocks of 2^m floats, then the K x K stage
// across blocks (hk: the f32 K x K base, row-major; the stage multiplies by hk^T). Scratch: n floats per thread.
import { chunkStart, chunkEnd } from '../common/simd';

export function hadamard_rows(x: usize, rows: i32, n: i32, K: i32, hk: usize, scale: f32, scratch: usize, tid: i32, nt: i32): void {
  const r0 = chunkStart(rows, 1, tid, nt), r1 = chunkEnd(rows, 1, tid, nt);
  const p2 = n / K;
  const tmp = scratch + <usize>tid * (<usize>n << 2);
  const sv = f32x4.splat(scale);
  for (let r = r0; r < r1; r++) {
    const row = x + <usize>r * (<usize>n << 2);
    for (let a = 0; a < K; a++) {
      const o = row + (<usize>(a * p2) << 2);
      let h = 1;
      for (; h < p2 && h < 4; h <<= 1) {
        for (let i = 0; i < p2; i += 2 * h) {
          for (let j = i; j < i + h; j++) {
            const pu = o + (<usize>j << 2), pv = o + (<usize>(j + h) << 2);
            const u = load<f32>(pu), v = load<f32>(pv);
            store<f32>(pu, u + v); store<f32>(pv, u - v);
          }
        }
      }
      for (; h < p2; h <<= 1) {
        for (let i = 0; i < p2; i += 2 * h) {
          for (let j = i; j < i + h; j += 4) {
            const pu = o + (<usize>j << 2), pv = o + (<usize>(j + h) << 2);
            const u = v128.load(pu), v = v128.load(pv);
            v128.store(pu, f32x4.add(u, v)); v128.store(pv, f32x4.sub(u, v));
          }
        }
      }
    }
    if (K == 1) {
      let i = 0;
      for (; i + 4 <= n; i += 4) { const p = row + (<usize>i << 2); v128.store(p, f32x4.mul(v128.load(p), sv)); }
      for (; i < n; i++) { const p = row + (<usize>i << 2); store<f32>(p, load<f32>(p) * scale); }
      continue;
    }
    for (let c = 0; c < K; c++) {
      const out = tmp + (<usize>(c * p2) << 2);
      let d = 0;
      for (; d + 4 <= p2; d += 4) {
        let acc = f32x4.splat(0);
        for (let a = 0; a < K; a++) {
          acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(hk + (<usize>(a * K + c) << 2))), v128.load(row + (<usize>(a * p2 + d) << 2))));
        }
        v128.store(out + (<usize>d << 2), f32x4.mul(acc, sv));
      }
      for (; d < p2; d++) {
        let acc: f32 = 0;
        for (let a = 0; a < K; a++) acc += load<f32>(hk + (<usize>(a * K + c) << 2)) * load<f32>(row + (<usize>(a * p2 + d) << 2));
        store<f32>(out + (<usize>d << 2), acc * scale);
      }
    }
    memory.copy(row, tmp, <usize>n << 2);
  }
}
