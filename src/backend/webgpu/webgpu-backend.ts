/// <reference types="@webgpu/types" preserve="true" />
/**
 * The WebGPU backend: the Backend interface on a GPUDevice (Dawn in Node, navigator.gpu in a browser), running the
 * WGSL kernels of the op registry (src/kernels/<op>/wgsl.ts). Tensors are GPU buffers (freed buffers are pooled by size and reused); views pass
 * element offsets to the kernels as parameters. Every dispatch runs inside validation and out-of-memory error
 * scopes; WebGPU reports errors asynchronously, so `read` (the only call that waits) throws the first error of
 * everything enqueued before it, with the shader's compilation messages when a module failed. `startProfile` /
 * `stopProfile` time every dispatch on the GPU (timestamp queries around a compute pass of its own) per kernel.
 */
import { tensorCache, unsupported, type Backend } from '../backend.js';
import type { GpuBinding, GpuKernels, GpuParam, OpDef } from '../../kernels/op.js';
import { DType, DTYPE_BYTES, elementCount } from '../../tensor/dtype.js';
import { Storage, Tensor } from '../../tensor/tensor.js';
import { acquireDevice, type DeviceOptions, type GpuDeviceInfo } from './device.js';
import { InputError } from '../../util/errors.js';

class GpuStorage implements Storage {
  freed = false;
  constructor(readonly buffer: GPUBuffer, readonly bytes: number) {}
}

const MAX_GROUPS = 65535;
/**
 * Dispatches per submitted command buffer (see dispatch); LITHE_WEBGPU_BATCH (an integer 1-256) overrides it in Node.
 * 32: the GPU starts on a step's first kernels while the host still records the rest (on an H200 the LLaMA block's
 * training step ran at 121-160 steps/s with 8-64 per submit, 98-137 with 256; bench/RESULTS.md)
 */
const envBatch = (): string | undefined => (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env['LITHE_WEBGPU_BATCH'];

function batchSize(v: string | undefined): number {
  if (v === undefined || v === '') return 32;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InputError(`LITHE_WEBGPU_BATCH: expected an integer from 1 to 256, got "${v}"`);
  return n;
}
/** bytes per dispatch's parameter block in the uniform buffer (minUniformBufferOffsetAlignment is at most 256) */
const UNIFORM_SLOT = 256;
/** bind groups kept for reuse before the cache is emptied (a decode step or a training step repeats its dispatches) */
const BIND_GROUP_CACHE = 8192;

/** GPU time of one kernel (a dispatch key) over a profile */
export interface KernelTime { ms: number; calls: number }

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  /** dispatches per submit (see batchSize) */
  private readonly maxBatch = batchSize(envBatch());
  readonly threads = 1;
  readonly device: GPUDevice;
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; module: GPUShaderModule; layout: GPUBindGroupLayout }>();
  /**
   * Bind groups by (kernel, parameter slot, buffers). createBindGroup was most of a dispatch's host time (18 of about
   * 30 us on the H200's driver); the buffers outlive their tensors (pooled, never destroyed) and every batch writes
   * its parameter blocks into the same uniform buffer, so a bind group stays valid for as long as the device.
   */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new Map<GPUBuffer, number>();
  /** the parameter blocks of the open batch, one 256-byte slot per dispatch; written at flush, before its submit */
  private readonly uniforms: GPUBuffer;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pending: Promise<string | null>[] = [];
  /** the open batch: dispatches recorded into one compute pass, submitted together by flush() */
  private batch: { enc: GPUCommandEncoder; pass: GPUComputePassEncoder | null; keys: string[]; modules: GPUShaderModule[]; words: Uint32Array<ArrayBuffer>; view: DataView } | null = null;
  /** while profiling: the timestamp queries (begin, end of each dispatch of a batch), totals per kernel, pending reads */
  private profile: { queries: GPUQuerySet; resolved: GPUBuffer; totals: Map<string, KernelTime>; reads: Promise<void>[] } | null = null;
  /** placeholders for bindings a call does not use: one read-only, one written (they must not alias) */
  private readonly dummy: GPUBuffer;
  private readonly dummyOut: GPUBuffer;
  /** what op implementations see (kernels/op.ts GpuKernels) */
  private readonly kernels: GpuKernels;

  private constructor(private info: GpuDeviceInfo) {
    this.device = info.device;
    this.dummy = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    this.dummyOut = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    // one uniform buffer for every batch: queue.writeBuffer at a flush is ordered after the earlier submits, which
    // have read their own parameters by then
    this.uniforms = this.device.createBuffer({ size: this.maxBatch * UNIFORM_SLOT, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const be = this;
    this.kernels = {
      get features() { return be.features; },
      get subgroups() { return be.features.includes('subgroups') && !be.noSubgroups; },
      get description() { return be.info.description; },
      dispatch: (key, code, bindings, params, groups) => this.dispatch(key, code, bindings, params, groups),
      sameBuffer: (a, b) => this.buf(a) === this.buf(b),
      alloc: (shape, dtype) => this.alloc(shape, dtype),
      free: (t) => this.free(t),
      ...tensorCache(this),
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  supports(op: OpDef<any>): boolean {
    return op.webgpu !== undefined && (op.webgpuFeatures ?? []).every((f) => this.features.includes(f));
  }

  run<A>(op: OpDef<A>, args: A): void {
    if (!op.webgpu) throw unsupported(this.name, op.name);
    op.webgpu(this.kernels, args);
  }

  /** A backend on the first adapter found; throws an InputError naming why there is none. */
  static async create(o: DeviceOptions = {}): Promise<WebGpuBackend> {
    batchSize(envBatch()); // a bad setting is refused before a device is made
    const r = await acquireDevice(o);
    if ('reason' in r) throw new InputError(`--backend webgpu: ${r.reason}`);
    return new WebGpuBackend(r);
  }

  /** A backend, or the reason there is none (tests skip with it). */
  static async tryCreate(o: DeviceOptions = {}): Promise<WebGpuBackend | string> {
    batchSize(envBatch());
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

  /** force the workgroup-memory reductions (tests compare both; with subgroups they use subgroupAdd / subgroupMax) */
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

  private bufferId(g: GPUBuffer): number {
    let id = this.bufferIds.get(g);
    if (id === undefined) this.bufferIds.set(g, (id = this.bufferIds.size));
    return id;
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
    this.flush(); // queue.writeBuffer runs before any later submit: the recorded dispatches must go first
    // a copy: the source may be a view into shared (wasm) memory, and the size must be a multiple of 4
    const bytes = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.device.queue.writeBuffer(this.buf(t), offset, bytes);
  }

  async read(t: Tensor): Promise<Float32Array> {
    if (t.dtype !== 'f32') throw new Error(`read of a ${t.dtype} tensor`);
    this.flush();
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
    this.flush();
    const pending = this.pending;
    this.pending = [];
    const errors = (await Promise.all(pending)).filter((e): e is string => e !== null);
    if (errors.length) throw new Error(`webgpu: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`);
  }

  /** Wait until the GPU has finished all submitted work (for timing), then report any error. */
  async finish(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  private pipeline(key: string, code: () => string): { pipeline: GPUComputePipeline; module: GPUShaderModule; layout: GPUBindGroupLayout } {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code(), label: key });
      const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      p = { module, pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * One dispatch: bindings 1.. = tensors or placeholders, the parameter block, `groups` workgroups (a count, or x and
   * y). Dispatches are recorded into one compute pass (WebGPU orders them and makes each one's writes visible to the
   * next) and submitted together by flush(): before a write or read, at finish, and every maxBatch dispatches.
   * Submitting each dispatch alone cost more than the small kernels of a training step.
   */
  private dispatch(key: string, code: () => string, bindings: GpuBinding[], params: GpuParam[], groups: number | [number, number]): void {
    const d = this.device;
    if (!this.batch) {
      d.pushErrorScope('out-of-memory');
      d.pushErrorScope('validation');
      const enc = d.createCommandEncoder();
      const words = new Uint32Array((this.maxBatch * UNIFORM_SLOT) / 4);
      this.batch = { enc, pass: this.profile ? null : enc.beginComputePass(), keys: [], modules: [], words, view: new DataView(words.buffer) };
    }
    const b = this.batch;
    // profiling: a pass of its own per dispatch, timestamps written at its beginning and end
    const q = b.keys.length, pass = b.pass ?? b.enc.beginComputePass({ timestampWrites: { querySet: this.profile!.queries, beginningOfPassWriteIndex: 2 * q, endOfPassWriteIndex: 2 * q + 1 } });
    const { pipeline, module, layout } = this.pipeline(key, code);
    const slot = b.keys.length * UNIFORM_SLOT;
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      if (typeof p === 'number') b.view.setUint32(slot + 4 * i, p, true);
      else b.view.setFloat32(slot + 4 * i, p.f, true);
    }
    const buffers: GPUBuffer[] = [];
    let cacheKey = `${key}|${slot}`;
    for (const t of bindings) {
      const g = t === 'unused' ? this.dummy : t === 'unusedOut' ? this.dummyOut : this.buf(t);
      buffers.push(g);
      cacheKey += `,${this.bufferId(g)}`;
    }
    let bind = this.bindGroups.get(cacheKey);
    if (!bind) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniforms, offset: slot, size: 64 } }];
      buffers.forEach((g, i) => entries.push({ binding: i + 1, resource: { buffer: g } }));
      bind = d.createBindGroup({ layout, entries });
      this.bindGroups.set(cacheKey, bind);
    }
    const [gx, gy] = typeof groups === 'number' ? [Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS)] : groups;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    if (gx > 0 && gy > 0) pass.dispatchWorkgroups(gx, gy);
    if (!b.pass) pass.end();
    b.keys.push(key);
    if (!b.modules.includes(module)) b.modules.push(module);
    if (b.keys.length >= this.maxBatch) this.flush();
  }

  /** Submits the open batch; its errors (naming the kernels and their shader messages) reach checkErrors. */
  private flush(): void {
    const b = this.batch;
    if (!b) return;
    this.batch = null;
    b.pass?.end();
    const readback = this.profile ? this.resolveTimestamps(b.enc, b.keys) : null;
    this.device.queue.writeBuffer(this.uniforms, 0, b.words, 0, (b.keys.length * UNIFORM_SLOT) / 4);
    this.device.queue.submit([b.enc.finish()]);
    readback?.();
    const scope = async (e: GPUError | null) => {
      if (!e) return null;
      const msgs: string[] = [];
      for (const m of b.modules) {
        const info = await m.getCompilationInfo();
        for (const x of info.messages) if (x.type === 'error') msgs.push(`${m.label} ${x.lineNum}:${x.linePos} ${x.message}`);
      }
      const keys = [...new Set(b.keys)];
      return `${keys.length === 1 ? keys[0] : `one of ${keys.join(', ')}`}: ${e.message.split('\n')[0]}${msgs.length ? ` [shader: ${msgs.join('; ')}]` : ''}`;
    };
    this.pending.push(this.device.popErrorScope().then(scope), this.device.popErrorScope().then(scope));
  }

  /**
   * Starts timing every dispatch on the GPU per kernel (needs the adapter's timestamp-query feature). Each dispatch
   * then runs in a compute pass of its own, which costs a little more than the batched passes: use it to see where
   * the GPU's time goes, not for end-to-end timings.
   */
  startProfile(): void {
    if (!this.features.includes('timestamp-query')) throw new Error(`webgpu: kernel profiling needs the timestamp-query feature, which ${this.description} does not offer`);
    if (this.profile) return;
    this.flush();
    this.profile = {
      queries: this.device.createQuerySet({ type: 'timestamp', count: 2 * this.maxBatch }),
      resolved: this.device.createBuffer({ size: 16 * this.maxBatch, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
      totals: new Map(), reads: [],
    };
  }

  /** Stops profiling: GPU milliseconds and calls per kernel since startProfile, most time first. */
  async stopProfile(): Promise<Map<string, KernelTime>> {
    const p = this.profile;
    if (!p) throw new Error('webgpu: stopProfile without startProfile');
    this.flush();
    this.profile = null;
    await Promise.all(p.reads);
    await this.checkErrors();
    p.queries.destroy();
    p.resolved.destroy();
    return new Map([...p.totals].sort((a, b) => b[1].ms - a[1].ms));
  }

  /** Records the copy of a profiled batch's timestamps; the returned function (called after submit) reads them back. */
  private resolveTimestamps(enc: GPUCommandEncoder, keys: string[]): () => void {
    const p = this.profile!, bytes = 16 * keys.length;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    enc.resolveQuerySet(p.queries, 0, 2 * keys.length, p.resolved, 0);
    enc.copyBufferToBuffer(p.resolved, 0, staging, 0, bytes);
    return () => p.reads.push(staging.mapAsync(GPUMapMode.READ).then(() => {
      const t = new BigUint64Array(staging.getMappedRange());
      keys.forEach((k, i) => {
        const e = p.totals.get(k) ?? { ms: 0, calls: 0 };
        // nanoseconds; an end before its beginning (a counter reset) counts as 0
        e.ms += t[2 * i + 1]! > t[2 * i]! ? Number(t[2 * i + 1]! - t[2 * i]!) / 1e6 : 0;
        e.calls++;
        p.totals.set(k, e);
      });
      staging.unmap();
      staging.destroy();
    }));
  }

  async dispose(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.device.destroy();
    // drop Dawn's instance so the process can exit (webgpu README, "Lifetime")
    this.info = { ...this.info, gpu: undefined as unknown as GPU };
  }
}
