/**
 * WGSL compute kernels of the WebGPU backend (backend/webgpu). Conventions: binding 0 is a uniform block of 16
 * u32 words (`pu(i)`, `pf(i)` read word i as u32 / f32); bindings 1.. are storage buffers of f32 or u32 words.
 * Tensor views pass their element offsets as parameters, so whole buffers are bound (WebGPU binding offsets must be
 * 256-byte aligned). Large 1-D grids are dispatched as (x, y) with x <= 65535 and flattened by `gid()`.
 * Shared pieces of the WGSL kernels; each op's shaders live in kernels/<op>/wgsl.ts beside its AssemblyScript kernel and its twin.
 */

export const HEADER = /* wgsl */ `
@group(0) @binding(0) var<uniform> P: array<vec4<u32>, 4>;
fn pu(i: u32) -> u32 { return P[i / 4u][i % 4u]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(P[i / 4u][i % 4u]); }
`;

export const FLAT = /* wgsl */ `
fn flat(w: vec3<u32>, n: vec3<u32>, size: u32, l: vec3<u32>) -> u32 { return (w.x + w.y * n.x) * size + l.x; }
`;

export function storage(bindings: [string, 'f32' | 'u32' | 'i32', boolean][]): string {
  return bindings.map(([name, type, write], i) => `@group(0) @binding(${i + 1}) var<storage, ${write ? 'read_write' : 'read'}> ${name}: array<${type}>;`).join('\n');
}

/**
 * Workgroup-wide sum or max of one value per invocation (256 of them). With subgroups: one subgroupAdd/Max per
 * subgroup, then the partials; without: a tree in workgroup memory. Call from uniform control flow.
 */
export const REDUCE = (sub: boolean) => `
var<workgroup> red: array<f32, 256>;
fn wgReduce(v: f32, lid: u32, lane: u32, size: u32, isMax: bool) -> f32 {
  // every invocation has read the last call's red[0] (on Mesa 22's OpenGL ES, layer norm's two reductions in a row
  // raced without this barrier and the second one's result came out wrong)
  workgroupBarrier();
  ${sub ? `let s = select(subgroupAdd(v), subgroupMax(v), isMax);
  if (lane == 0u) { red[lid / size] = s; }
  workgroupBarrier();
  if (lid == 0u) {
    var t = red[0];
    for (var i = 1u; i < 256u / size; i++) { t = select(t + red[i], max(t, red[i]), isMax); }
    red[0] = t;
  }
  workgroupBarrier();` : `red[lid] = v;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) { red[lid] = select(red[lid] + red[lid + k], max(red[lid], red[lid + k]), isMax); }
    workgroupBarrier();
  }`}
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/**
 * Entry point of a kernel with one workgroup of 256 per row (wgReduce over the row): `r` is the row (a grid of more than
 * 65535 workgroups is 2-D, flattened here) and `valid` says r < pu(0) (the row count); the body follows, then `}`.
 */
export const ROW_MAIN = (sub: boolean) => `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>${SG(sub).params}) {
  let r = w.x + w.y * nw.x;
  let valid = r < pu(0u);`;

/** The entry point's extra builtins and the (lane, size) arguments of wgReduce, with or without subgroups. */
export const SG = (sub: boolean) => ({
  enable: sub ? 'enable subgroups;\n' : '',
  params: sub ? ', @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32' : '',
  args: sub ? 'lane, sgs' : '0u, 1u',
});
