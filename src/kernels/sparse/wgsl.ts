// WGSL kernels of the linear_sparse op (see kernels/common/wgsl.ts for the conventions): one workgroup per output row.
import { HEADER, REDUCE, SG, storage } from '../common/wgsl.js';

/**
 * params: rows, cols, hasBias, offX, offOut, offBias, mode (0 bitmask f32, 2 2:4 f32, 3 4:8 f32), maskWords (u32 words per mask
 * row), idxStride (bytes per N:M index row) | y[r] = sum over kept weights of row r of value * x[column] (+ bias).
 * Bitmask: the row's mask words are taken 256 at a time; each thread counts its word's bits, a workgroup prefix sum
 * gives where its values start, then it walks its set bits. 2:4: each thread takes groups of 4 columns, reading the
 * two in-group indices from the row's 4-bit fields; 4:8: groups of 8 columns, four 3-bit indices in a 12-bit field.
 */
export const SPARSE_GEMV = (sub: boolean): string => SG(sub).enable + HEADER + storage([['L', 'u32', false], ['Of', 'i32', false], ['V', 'f32', false], ['X', 'f32', false], ['Bs', 'f32', false], ['Y', 'f32', true]]) + REDUCE(sub) + `
var<workgroup> scan: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>${SG(sub).params}) {
  let r = w.x + w.y * nw.x;
  let valid = r < pu(0u);
  let cols = pu(1u);
  let xo = pu(3u);
  var acc = 0.0;
  if (pu(6u) == 0u) {
    let words = pu(7u);
    var base = 0u;
    if (valid) { base = u32(Of[r]); }
    for (var chunk = 0u; chunk < words; chunk += 256u) {
      let wi = chunk + l.x;
      var word = 0u;
      if (valid && wi < words) { word = L[r * words + wi]; }
      let c = countOneBits(word);
      scan[l.x] = c;
      workgroupBarrier();
      for (var off = 1u; off < 256u; off <<= 1u) {
        var v = scan[l.x];
        if (l.x >= off) { v += scan[l.x - off]; }
        workgroupBarrier();
        scan[l.x] = v;
        workgroupBarrier();
      }
      var idx = base + scan[l.x] - c;
      var bits = word;
      while (bits != 0u) {
        let b = firstTrailingBit(bits);
        acc += V[idx] * X[xo + wi * 32u + b];
        idx += 1u;
        bits &= bits - 1u;
      }
      base += scan[255u];
      workgroupBarrier();
    }
  } else if (pu(6u) == 3u) {
    let groups = cols / 8u;
    let vb = r * groups * 4u;
    if (valid) {
      for (var g = l.x; g < groups; g += 256u) {
        let bit = (r * pu(8u)) * 8u + g * 12u; // the group's 12-bit field in the row's little-endian bit stream
        let wi = bit / 32u; let sh = bit % 32u;
        let field = ((L[wi] >> sh) | select(L[wi + 1u] << (32u - sh), 0u, sh == 0u)) & 4095u;
        for (var k = 0u; k < 4u; k++) { acc += V[vb + 4u * g + k] * X[xo + 8u * g + ((field >> (3u * k)) & 7u)]; }
      }
    }
  } else {
    let groups = cols / 4u;
    let rowByte = r * pu(8u);
    let vb = r * groups * 2u;
    if (valid) {
      for (var g = l.x; g < groups; g += 256u) {
        let byte = rowByte + g / 2u;
        let nib = (L[byte / 4u] >> ((byte % 4u) * 8u + (g % 2u) * 4u)) & 15u;
        acc += V[vb + 2u * g] * X[xo + 4u * g + (nib & 3u)] + V[vb + 2u * g + 1u] * X[xo + 4u * g + (nib >> 2u)];
      }
    }
  }
  let t = wgReduce(acc, l.x, ${SG(sub).args}, false);
  if (l.x == 0u && valid) { Y[pu(4u) + r] = t + select(0.0, Bs[pu(5u) + r], pu(2u) == 1u); }
}`;
