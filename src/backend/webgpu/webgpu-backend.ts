/// <reference types="@webgpu/types" preserve="true" />
/**
 * The WebGPU backend: the Backend interface on a GPUDevice (Dawn in Node, navigator.gpu in a browser), with the
 * WGSL kernels of kernels/wgsl. Tensors are GPU buffers (freed buffers are pooled by size and reused); views pass
 * element offsets to the kernels as parameters. Every dispatch runs inside validation and out-of-memory error
 * scopes; WebGPU reports errors asynchronously, so `read` (the only call that waits) throws the first error of
 * everything enqueued before it, with the shader's compilation messages when a module failed.
 */
import { grownScratch, type AttentionParams, type Backend, type BlockAttentionParams, type BlockMaskTensors, type FakeQuantParams, type MixedKV, type PackedWeight, type RopeParams } from '../backend.js';
import { hadamardBase, requireHadamardSize } from '../../quant/rotation/hadamard.js';
import { DType, DTYPE_BYTES, elementCount } from '../../tensor/dtype.js';
import { Storage, Tensor } from '../../tensor/tensor.js';
import * as K from '../../kernels/wgsl/index.js';
import { acquireDevice, type DeviceOptions, type GpuDeviceInfo } from './device.js';
import { InputError } from '../../util/errors.js';

class GpuStorage implements Storage {
  freed = false;
  constructor(readonly buffer: GPUBuffer, readonly bytes: number) {}
}

/** A float parameter (bit-cast into the u32 parameter block). */
interface F { f: number }
const f = (x: number): F => ({ f: x });
type Param = number | F;

const MAX_GROUPS = 65535;

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly threads = 1;
  readonly device: GPUDevice;
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; module: GPUShaderModule }>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pending: Promise<string | null>[] = [];
  /** placeholders for bindings a call does not use: one read-only, one written (they must not alias) */
  private readonly dummy: GPUBuffer;
  private readonly dummyOut: GPUBuffer;
  private packedScratch: Tensor | null = null;

  private constructor(private info: GpuDeviceInfo) {
    this.device = info.device;
    this.dummy = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    this.dummyOut = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  }

  /** A backend on the first adapter found; throws an InputError naming why there is none. */
  static async create(o: DeviceOptions = {}): Promise<WebGpuBackend> {
    const r = await acquireDevice(o);
    if ('reason' in r) throw new InputError(`--backend webgpu: ${r.reason}`);
    return new WebGpuBackend(r);
  }

  /** A backend, or the reason there is none (tests skip with it). */
  static async tryCreate(o: DeviceOptions = {}): Promise<WebGpuBackend | string> {
    const r = await acquireDevice(o);
    return 'reason' in r ? r.reason : new WebGpuBackend(r);
  }

  get description(): string {
    return `webgpu ${this.info.description}`;
  }

  /** one line: which adapter was chosen and why (the CLI prints it once to stderr) */
  get note(): string {
    return this.info.note;
  }

  /** '_sg' when the device has subgroups: the reductions (gemv, rmsnorm, softmax) then use subgroupAdd / subgroupMax */
  private get sg(): string {
    return this.features.includes('subgroups') && !this.noSubgroups ? '_sg' : '';
  }

  /** force the workgroup-memory reductions (tests compare both) */
  noSubgroups = false;

  /** optional features the device was created with (shader-f16, subgroups, timestamp-query) */
  get features(): string[] {
    return this.info.features;
  }

  alloc(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const bytes = elementCount(shape) * DTYPE_BYTES[dtype];
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const buffer = this.pool.get(size)?.pop() ?? this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    return new Tensor(new GpuStorage(buffer, size), dtype, shape);
  }

  free(t: Tensor): void {
    const s = t.storage as GpuStorage;
    if (s.freed) return;
    s.freed = true;
    const list = this.pool.get(s.bytes) ?? [];
    list.push(s.buffer);
    this.pool.set(s.bytes, list);
  }

  private buf(t: Tensor): GPUBuffer {
    const s = t.storage as GpuStorage;
    if (s.freed) throw new Error('use of a freed tensor');
    return s.buffer;
  }

  write(t: Tensor, data: ArrayBufferView): void {
    if (data.byteLength !== t.byteLength) throw new Error(`write: ${data.byteLength} bytes into a tensor of ${t.byteLength}`);
    const offset = t.offset * DTYPE_BYTES[t.dtype];
    if (offset % 4) throw new Error(`write: a ${t.dtype} view at byte ${offset} is not 4-byte aligned`);
    // a copy: the source may be a view into shared (wasm) memory, and the size must be a multiple of 4
    const bytes = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.device.queue.writeBuffer(this.buf(t), offset, bytes);
  }

  async read(t: Tensor): Promise<Float32Array> {
    if (t.dtype !== 'f32') throw new Error(`read of a ${t.dtype} tensor`);
    const size = t.byteLength;
    const staging = this.device.createBuffer({ size: Math.max(4, size), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(this.buf(t), t.offset * 4, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    await this.checkErrors();
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Wait for everything enqueued so far and throw its first error. */
  async checkErrors(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    const errors = (await Promise.all(pending)).filter((e): e is string => e !== null);
    if (errors.length) throw new Error(`webgpu: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`);
  }

  /** Wait until the GPU has finished all submitted work (for timing), then report any error. */
  async finish(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  private pipeline(key: string, code: () => string): { pipeline: GPUComputePipeline; module: GPUShaderModule } {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code(), label: key });
      p = { module, pipeline: this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key }) };
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** One dispatch: bindings 1.. = tensors or buffers, the parameter block, `groups` workgroups (a count, or x and y). */
  private run(key: string, code: () => string, bindings: (Tensor | GPUBuffer)[], params: Param[], groups: number | [number, number]): void {
    const d = this.device;
    d.pushErrorScope('out-of-memory');
    d.pushErrorScope('validation');
    const { pipeline, module } = this.pipeline(key, code);
    const words = new Uint32Array(16);
    const view = new DataView(words.buffer);
    params.forEach((p, i) => (typeof p === 'number' ? view.setUint32(4 * i, p, true) : view.setFloat32(4 * i, p.f, true)));
    const uniform = d.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    d.queue.writeBuffer(uniform, 0, words);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
    bindings.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b instanceof Tensor ? this.buf(b) : b } }));
    const bind = d.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const [gx, gy] = typeof groups === 'number' ? [Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS)] : groups;
    const enc = d.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    if (gx > 0 && gy > 0) pass.dispatchWorkgroups(gx, gy);
    pass.end();
    d.queue.submit([enc.finish()]);
    const scope = async (e: GPUError | null) => {
      if (!e) return null;
      const info = await module.getCompilationInfo();
      const msgs = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
      return `${key}: ${e.message.split('\n')[0]}${msgs.length ? ` [shader: ${msgs.join('; ')}]` : ''}`;
    };
    this.pending.push(d.popErrorScope().then(scope), d.popErrorScope().then(scope));
  }

  linear(x: Tensor, w: Tensor, bias: Tensor | null, out: Tensor): void {
    const [N, Kd] = w.shape as [number, number];
    const M = x.size / Kd;
    const b = bias ?? x;
    if (M === 1) this.run(`gemv${this.sg}`, () => K.GEMV(!!this.sg), [x, w, b, out], [N, Kd, bias ? 1 : 0, x.offset, w.offset, b.offset, out.offset], N);
    else {
      // 128x128 tiles when there are enough of them to fill a large GPU, else 64x64 (four times the workgroups)
      const big = Math.ceil(M / 128) * Math.ceil(N / 128) >= 256;
      const t = big ? 128 : 64;
      const v4 = big && Kd % 4 === 0 && x.offset % 4 === 0 && w.offset % 4 === 0;
      this.run(big ? `sgemm${v4 ? '_v4' : ''}` : 'sgemm_64', () => (big ? K.GEMM128({ half: false, vec4Loads: v4 }) : K.SGEMM_64), [x, w, b, out], [M, N, Kd, bias ? 1 : 0, x.offset, w.offset, b.offset, out.offset],
        [Math.ceil(N / t), Math.ceil(M / t)]);
    }
  }

  /**
   * out[M,N] (f32) = a[M,K] w[N,K]^T for f16 tensors a and w, computed in half precision (kernels/wgsl GEMM128 half); only on
   * devices with shader-f16. Not part of the Backend interface: the model keeps f32 weights; for benchmarks and users
   * of half-precision data.
   */
  linearF16(a: Tensor, w: Tensor, out: Tensor): void {
    if (!this.features.includes('shader-f16')) throw new InputError(`linearF16: this adapter (${this.info.description}) has no shader-f16`);
    if (a.dtype !== 'f16' || w.dtype !== 'f16' || out.dtype !== 'f32') throw new Error('linearF16: a and w must be f16, out f32');
    const [N, Kd] = w.shape as [number, number];
    const M = a.size / Kd;
    const v4 = Kd % 4 === 0 && a.offset % 4 === 0 && w.offset % 4 === 0;
    this.run(`hgemm${v4 ? '_v4' : ''}`, () => K.GEMM128({ half: true, vec4Loads: v4 }), [a, w, this.dummy, out], [M, N, Kd, 0, a.offset, w.offset, 0, out.offset],
      [Math.ceil(N / 128), Math.ceil(M / 128)]);
  }

  linearPacked(x: Tensor, w: PackedWeight, bias: Tensor | null, out: Tensor): void {
    const [rows, cols] = w.shape;
    this.packedScratch = grownScratch(this, this.packedScratch, rows * cols);
    const full = this.packedScratch.view([rows, cols]);
    this.dequantize(w, full);
    this.linear(x, full, bias, out);
  }

  dequantize(w: PackedWeight, out: Tensor): void {
    const [rows, cols] = w.shape;
    for (const t of [w.codes, w.scales, w.zeros]) if (t.offset) throw new Error('dequantize: packed tensors must not be views');
    this.run('dequant', () => K.DEQUANT, [w.codes, w.scales, w.zeros, out], [rows, cols, w.group, w.container, out.offset], Math.ceil(rows * cols / 256));
  }

  rmsnorm(x: Tensor, w: Tensor, eps: number, out: Tensor): void {
    const n = w.size, rows = x.size / n;
    this.run(`rmsnorm${this.sg}`, () => K.RMSNORM(!!this.sg), [x, w, out], [rows, n, f(eps), x.offset, w.offset, out.offset], rows);
  }

  rope(x: Tensor, cos: Tensor, sin: Tensor, p: RopeParams): void {
    const stride = x.shape[x.shape.length - 1]!;
    this.run('rope', () => K.ROPE, [x, cos, sin], [p.T, p.heads, p.headDim, stride, p.pos0, p.neox ? 1 : 0, x.offset, cos.offset, sin.offset],
      Math.ceil(p.T * p.heads * p.headDim / 2 / 256));
  }

  attention(q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: AttentionParams, mixed?: MixedKV): void {
    if (mixed) throw new InputError('the quantized-KV evaluation (mixed attention) runs on the cpu backend only');
    if (p.headDim > 256) throw new Error(`attention: head dim ${p.headDim} > 256`);
    this.run('attention', () => K.ATTENTION, [q, k, v, out], [p.T, p.nHeads, p.nKVHeads, p.headDim, p.nHeads * p.headDim, p.nKVHeads * p.headDim,
      p.pos0, p.window, f(p.scale), q.offset, k.offset, v.offset, out.offset], p.T * p.nHeads);
  }

  blockAttention(q: Tensor, k: Tensor, v: Tensor, out: Tensor, p: BlockAttentionParams, mask?: BlockMaskTensors, lse?: Tensor): void {
    const nb = Math.ceil(p.tokens / p.block);
    const mode = !mask ? 0 : 'bitmap' in mask ? 2 : 1;
    const rowPtr = mask && 'rowPtr' in mask ? mask.rowPtr : this.dummy;
    const cols = mask ? ('bitmap' in mask ? mask.bitmap : mask.cols) : this.dummy;
    for (const t of [rowPtr, cols]) if (t instanceof Tensor && t.offset) throw new Error('blockAttention: mask tensors must not be views');
    if (lse?.offset) throw new Error('blockAttention: lse must not be a view');
    this.run(`block_attention_${p.headDim}_${p.block}`, () => K.BLOCK_ATTENTION(p.headDim, p.block), [q, k, v, out, lse ?? this.dummyOut, rowPtr, cols],
      [p.heads, p.tokens, p.block, f(p.scale), mode, lse ? 1 : 0, q.offset, k.offset, v.offset, out.offset], p.heads * nb);
  }

  blockMass(q: Tensor, k: Tensor, lse: Tensor, mass: Tensor, p: BlockAttentionParams): void {
    const nb = Math.ceil(p.tokens / p.block);
    this.run(`block_mass_${p.headDim}_${p.block}`, () => K.BLOCK_MASS(p.headDim, p.block), [q, k, lse, mass],
      [p.heads, p.tokens, p.block, f(p.scale), q.offset, k.offset, lse.offset, mass.offset], p.heads * nb);
  }

  siluMul(g: Tensor, u: Tensor, out: Tensor): void {
    const same = (a: Tensor, b: Tensor) => this.buf(a) === this.buf(b);
    const variant = same(out, g) ? 'silu_mul_a' : same(out, u) ? 'silu_mul_b' : 'silu_mul';
    if (variant !== 'silu_mul' && out.offset !== (variant === 'silu_mul_a' ? g : u).offset) throw new Error('siluMul: the output overlaps an input at another offset');
    this.run(variant, () => K.ELEMENTWISE(variant), variant === 'silu_mul' ? [g, u, out] : [g, u], [g.size, g.offset, u.offset, out.offset], Math.ceil(g.size / 256));
  }

  addInPlace(a: Tensor, b: Tensor): void {
    this.run('add', () => K.ELEMENTWISE('add'), [a, b], [a.size, a.offset, b.offset, 0], Math.ceil(a.size / 256));
  }

  softmax(x: Tensor): void {
    const n = x.shape[x.shape.length - 1]!, rows = x.size / n;
    this.run(`row_softmax${this.sg}`, () => K.ROW_SOFTMAX(!!this.sg), [x, this.dummyOut], [rows, n, x.offset, 0, 0], rows);
  }

  logsumexp(x: Tensor, out: Tensor): void {
    const n = x.shape[x.shape.length - 1]!, rows = x.size / n;
    this.run(`row_softmax${this.sg}`, () => K.ROW_SOFTMAX(!!this.sg), [x, out], [rows, n, x.offset, out.offset, 1], rows);
  }

  embed(table: Tensor, ids: Tensor, out: Tensor): void {
    const dim = table.shape[1]!;
    this.run('embed', () => K.EMBED, [ids, table, out], [ids.size, dim, ids.offset, table.offset, out.offset], Math.ceil(ids.size * dim / 256));
  }

  toF32(src: Tensor, out: Tensor): void {
    if (src.dtype !== 'f16' && src.dtype !== 'bf16') throw new Error(`toF32: unsupported source type ${src.dtype}`);
    this.run('to_f32', () => K.TO_F32, [src, out], [src.size, src.offset, out.offset, src.dtype === 'f16' ? 0 : 1], Math.ceil(src.size / 256));
  }

  roundTo(x: Tensor, dtype: 'f16' | 'bf16'): void {
    this.run('round_to', () => K.ROUND_TO, [x], [x.size, x.offset, dtype === 'f16' ? 0 : 1], Math.ceil(x.size / 256));
  }

  private readonly hadamardBases = new Map<number, Tensor>();

  hadamard(x: Tensor, n: number): void {
    const { K: k, pow2 } = requireHadamardSize(n, 'hadamard');
    let hk = this.hadamardBases.get(k);
    if (!hk) {
      hk = this.alloc([k, k]);
      this.write(hk, Float32Array.from(hadamardBase(k)));
      this.hadamardBases.set(k, hk);
    }
    const rows = x.size / n;
    const tmp = this.alloc([rows * n]);
    this.run('hadamard', () => K.HADAMARD, [x, hk, tmp], [rows, n, k, pow2, f(1 / Math.sqrt(n)), x.offset], Math.ceil(rows / 64));
    this.free(tmp);
  }

  fakeQuant(x: Tensor, p: FakeQuantParams): void {
    const groups = x.size / p.group;
    this.run('fake_quant', () => K.FAKE_QUANT, [x], [groups, p.group, p.bits, p.asym ? 1 : 0, f(p.clip), x.offset], Math.ceil(groups / 64));
  }

  async dispose(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.device.destroy();
    // drop Dawn's instance so the process can exit (webgpu README, "Lifetime")
    this.info = { ...this.info, gpu: undefined as unknown as GPU };
  }
}
