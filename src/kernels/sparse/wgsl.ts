// WGSL kernels of the linear_sparse op (see kernels/common/wgsl.ts for the conventions): one workgroup per output row.
import { HEADER, REDUCE, SG, storage } from '../common/wgsl.js';

/**
 * params: rows, cols, hasBias, offX, offOut, offBias, mode (the storage code of models/sparse-storage.ts: 0 bitmask
 * f32, 1 bitmask int8, 2 2:4 f32, 3 4:8 f32, 4 2:4 int8, 5 4:8 int8, 6 1x8 blocks f32, 7 bitmask int4, 8 2:4 int4,
 * 9 4:8 int4), maskWords (u32 words per mask row), idxStride (bytes per N:M index row), group (int8/int4: columns per
 * scale and zero), rowGroups (workgroups per input row along y) | for every input row m (x at offX + m cols, y at
 * offOut + m rows): y[r] = sum over kept weights of row r of w * x[column] (+ bias). Workgroup (gx, gy) takes weight
 * row gx + (gy % rowGroups) * 65535 of input row gy / rowGroups: one dispatch for all input rows.
 * Bitmask and 1x8 blocks: the row's mask words are taken 256 at a time; each thread counts its word's bits, a
 * workgroup prefix sum gives where its entries start, then it walks its set bits (a 1x8 block bit stands for 8
 * stored weights). 2:4: each thread takes groups of 4 columns, reading the two in-group indices from the row's 4-bit
 * fields; 4:8: groups of 8 columns, four 3-bit indices in a 12-bit field.
 * `quant`: the values are int8 codes (one byte each) or int4 codes (two per byte, low nibble first) read from u32
 * words, and stored entry i at column c of row r weighs s (q - z) with the scale and zero of (r, c / group). Entries
 * that share a group (an N:M group; a bitmask word's 32 columns when group % 32 == 0) are summed as
 * s (sum q x - z sum x): one scale and zero read per group instead of per weight.
 */
export const SPARSE_GEMV = (sub: boolean, quant: boolean): string => SG(sub).enable + HEADER +
  storage([['L', 'u32', false], ['Of', 'i32', false], ['V', quant ? 'u32' : 'f32', false], ['X', 'f32', false], ['Bs', 'f32', false], ['Y', 'f32', true],
    ...(quant ? [['Sc', 'f32', false], ['Zr', 'f32', false]] as [string, 'f32', boolean][] : [])]) + REDUCE(sub) + `
var<workgroup> scan: array<u32, 256>;
${quant ? `// code of stored entry i; the scale and zero index of column c of row r
fn code(i: u32) -> f32 {
  if (pu(6u) >= 7u) { return f32((V[i / 8u] >> (4u * (i % 8u))) & 15u); }
  return f32((V[i / 4u] >> (8u * (i % 4u))) & 255u);
}
fn grp(r: u32, c: u32) -> u32 { return r * (pu(1u) / pu(9u)) + c / pu(9u); }` : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>${SG(sub).params}) {
  let r = w.x + (w.y % pu(10u)) * nw.x;
  let m = w.y / pu(10u);
  let valid = r < pu(0u);
  let cols = pu(1u);
  let xo = pu(3u) + m * cols;
  let mode = pu(6u);
  var acc = 0.0;
  if (mode == 0u || mode == 1u || mode == 6u || mode == 7u) {
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
${quant ? `if (pu(9u) % 32u == 0u) {
        // the word's 32 columns share one scale and zero: sum q x and x, then s (sum q x - z sum x)
        var sq = 0.0; var sx = 0.0;
        while (bits != 0u) {
          let xv = X[xo + wi * 32u + firstTrailingBit(bits)];
          sq += code(idx) * xv; sx += xv;
          idx += 1u;
          bits &= bits - 1u;
        }
        if (word != 0u) { let g = grp(r, wi * 32u); acc += Sc[g] * (sq - Zr[g] * sx); }
      } else {
        while (bits != 0u) {
          let b = wi * 32u + firstTrailingBit(bits);
          let g = grp(r, b);
          acc += Sc[g] * (code(idx) - Zr[g]) * X[xo + b];
          idx += 1u;
          bits &= bits - 1u;
        }
      }` : `while (bits != 0u) {
        let b = wi * 32u + firstTrailingBit(bits);
        if (mode == 6u) {
          for (var k = 0u; k < 8u; k++) { acc += V[8u * idx + k] * X[xo + 8u * b + k]; }
        } else {
          acc += V[idx] * X[xo + b];
        }
        idx += 1u;
        bits &= bits - 1u;
      }`}
      base += scan[255u];
      workgroupBarrier();
    }
  } else if (mode == 3u || mode == 5u || mode == 9u) {
    let groups = cols / 8u;
    let vb = r * groups * 4u;
    if (valid) {
      for (var g = l.x; g < groups; g += 256u) {
        let bit = (r * pu(8u)) * 8u + g * 12u; // the group's 12-bit field in the row's little-endian bit stream
        let wi = bit / 32u; let sh = bit % 32u;
        let field = ((L[wi] >> sh) | select(L[wi + 1u] << (32u - sh), 0u, sh == 0u)) & 4095u;
        ${quant ? `var sq = 0.0; var sx = 0.0;
        for (var k = 0u; k < 4u; k++) { let xv = X[xo + 8u * g + ((field >> (3u * k)) & 7u)]; sq += code(vb + 4u * g + k) * xv; sx += xv; }
        let gi = grp(r, 8u * g);
        acc += Sc[gi] * (sq - Zr[gi] * sx);` : `for (var k = 0u; k < 4u; k++) { acc += V[vb + 4u * g + k] * X[xo + 8u * g + ((field >> (3u * k)) & 7u)]; }`}
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
        let x0 = X[xo + 4u * g + (nib & 3u)]; let x1 = X[xo + 4u * g + (nib >> 2u)];
        ${quant ? `let gi = grp(r, 4u * g);
        acc += Sc[gi] * (code(vb + 2u * g) * x0 + code(vb + 2u * g + 1u) * x1 - Zr[gi] * (x0 + x1));` : 'acc += V[vb + 2u * g] * x0 + V[vb + 2u * g + 1u] * x1;'}
      }
    }
  }
  let t = wgReduce(acc, l.x, ${SG(sub).args}, false);
  if (l.x == 0u && valid) { Y[pu(4u) + m * pu(0u) + r] = t + select(0.0, Bs[pu(5u) + r], pu(2u) == 1u); }
}`;
