// `node bench/device/probe-dispatch.mjs` on the device machine (after gpu-env.sh and unpack-node.sh, carry .device/webgpu,
// dist, .gl): host time per WebGPU dispatch.
// Where a WebGPU GEMV's wall time goes: batches of n dense GEMVs (4096x4096) then finish(), n = 1..1000;
// host recording time alone; and an empty finish().
const { WebGpuBackend } = await import(process.cwd() + '/dist/src/backend/webgpu/webgpu-backend.js');
const ops = await import(process.cwd() + '/dist/src/ops/index.js');
const gpu = await WebGpuBackend.create();
console.log(gpu.description);
const R = 4096, C = 4096;
const w = gpu.alloc([R, C]); gpu.write(w, Float32Array.from({ length: R * C }, () => Math.random() - 0.5));
const x = gpu.alloc([1, C]); gpu.write(x, Float32Array.from({ length: C }, () => Math.random() - 0.5));
const out = gpu.alloc([1, R]);
for (let i = 0; i < 20; i++) ops.linear(gpu, x, w, null, out);
await gpu.finish();
const med = (a) => a.sort((p, q) => p - q)[a.length >> 1];
let t = [];
for (let i = 0; i < 9; i++) { const t0 = performance.now(); await gpu.finish(); t.push(performance.now() - t0); }
console.log('empty finish ms', med(t).toFixed(3));
for (const n of [1, 10, 50, 200, 1000]) {
  const tot = [], rec = [];
  for (let rep = 0; rep < 7; rep++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) ops.linear(gpu, x, w, null, out);
    const t1 = performance.now();
    await gpu.finish();
    tot.push(performance.now() - t0); rec.push(t1 - t0);
  }
  console.log(`n=${n} per call us: total ${(med(tot) * 1000 / n).toFixed(1)} recording ${(med(rec) * 1000 / n).toFixed(1)}`);
}
// pieces of one dispatch's host work, each timed alone over N calls
const d = gpu['device'], N = 2000;
const p = [...gpu['pipelines'].values()][0].pipeline;
const us = (t0) => ((performance.now() - t0) * 1000 / N).toFixed(1);
let t0 = performance.now(); for (let i = 0; i < N; i++) p.getBindGroupLayout(0); console.log('getBindGroupLayout us', us(t0));
const layout = p.getBindGroupLayout(0);
const ub = d.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM });
const bufs = [gpu['buf'](x), gpu['buf'](w), gpu['buf'](x), gpu['buf'](out)];
const entries = [{ binding: 0, resource: { buffer: ub, offset: 0, size: 64 } }, ...bufs.map((b, i) => ({ binding: i + 1, resource: { buffer: b } }))];
t0 = performance.now(); for (let i = 0; i < N; i++) d.createBindGroup({ layout, entries }); console.log('createBindGroup us', us(t0));
const bg = d.createBindGroup({ layout, entries });
const enc = d.createCommandEncoder(); const pass = enc.beginComputePass();
t0 = performance.now(); for (let i = 0; i < N; i++) { pass.setPipeline(p); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(1); } console.log('setPipeline+setBindGroup+dispatchWorkgroups us', us(t0));
pass.end(); d.queue.submit([enc.finish()]);
await gpu.finish();
await gpu.dispose();
