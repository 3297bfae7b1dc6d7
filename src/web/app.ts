/**
 * The browser page of `lithe serve` (src/web/index.html): load a model from files the user picks, generate and
 * score text on the WebGPU backend (navigator.gpu) or the CPU backend (the WebAssembly SIMD kernels, one thread:
 * the page is cross-origin isolated, so the kernels' shared memory is allowed), and show tokens/s. The last
 * result is also written as JSON into #result (what the headless-browser test reads).
 */
import type { Backend } from '../backend/backend.js';
import { CpuBackend } from '../backend/cpu/cpu-backend.js';
import { provideKernelBytes } from '../backend/cpu/wasm.js';
import { WebGpuBackend } from '../backend/webgpu/webgpu-backend.js';
import { modelFilesFromBuffers } from '../load/model-buffers.js';
import { modelFromFiles } from '../load/load-model.js';
import { generate } from '../models/generate.js';
import { documentLoss } from '../eval/perplexity.js';
import { DecoderModel } from '../models/index.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => { $('status').textContent = s; };
let backend: Backend | null = null;
let model: DecoderModel | null = null;

function show(result: Record<string, unknown>): void {
  $('result').textContent = JSON.stringify(result);
}

async function makeBackend(kind: string): Promise<Backend> {
  if (kind !== 'cpu') {
    const g = await WebGpuBackend.tryCreate();
    if (typeof g !== 'string') return g;
    if (kind === 'webgpu') throw new Error(`WebGPU: ${g}`);
  }
  return CpuBackend.create({ threads: 1 });
}

async function load(): Promise<void> {
  const picked: File[] = [];
  for (const id of ['folder', 'files']) {
    const list = ($(id) as HTMLInputElement).files;
    for (let i = 0; list && i < list.length; i++) picked.push(list.item(i)!);
  }
  if (!picked.length) throw new Error('pick the model files first');
  const files = new Map<string, Uint8Array>();
  for (const f of picked) files.set(f.name, new Uint8Array(await f.arrayBuffer()));
  status('loading');
  if (backend) await backend.dispose();
  backend = await makeBackend(($('backend') as HTMLSelectElement).value);
  model = modelFromFiles(backend, modelFilesFromBuffers(files));
  const c = model.config;
  status(`loaded: ${model.parameterCount.toLocaleString('en-US')} parameters, ${c.nLayers} layers, dim ${c.dim} on ${backend.description}`);
  show({ loaded: true, backend: backend.description, parameters: model.parameterCount });
  for (const b of ['generate', 'ppl']) ($(b) as HTMLButtonElement).disabled = false;
}

async function runGenerate(): Promise<void> {
  const m = model!;
  if (!m.tokenizer) throw new Error('the model has no tokenizer');
  const prompt = m.tokenizer.encode(($('prompt') as HTMLInputElement).value, { bos: true });
  const maxTokens = Number(($('max-tokens') as HTMLInputElement).value) || 100;
  const out = $('output');
  out.textContent = '';
  const ids: number[] = [];
  status('generating');
  const t0 = performance.now();
  const r = await generate(m, prompt, { maxTokens, temperature: 0, onToken: (id) => { ids.push(id); out.textContent = m.tokenizer!.decode(ids); } });
  const s = (performance.now() - t0) / 1000;
  const text = m.tokenizer.decode(r.ids);
  out.textContent = text;
  status(`generated ${r.ids.length} tokens in ${s.toFixed(2)} s: ${(r.ids.length / s).toFixed(1)} tokens/s (prefill included) on ${backend!.description}`);
  show({ generated: text, ids: r.ids, tokensPerSecond: r.ids.length / s, backend: backend!.description });
}

async function runPerplexity(): Promise<void> {
  const docs = ($('text') as HTMLTextAreaElement).value.split(/\n\s*\n/).map((d) => d.trim()).filter(Boolean);
  if (!docs.length) throw new Error('paste some text first');
  status('scoring');
  const r = await documentLoss(model!, docs, { maxTokens: 512, onDocument: (d, n) => status(`scoring ${d}/${n}`) });
  status(`perplexity ${r.ppl.toFixed(4)} (loss ${r.meanNll.toFixed(4)} nats/token over ${r.predicted} tokens), ${r.tokensPerSecond.toFixed(0)} tokens/s on ${backend!.description}`);
  show({ ppl: r.ppl, meanNll: r.meanNll, predicted: r.predicted, tokensPerSecond: r.tokensPerSecond, backend: backend!.description });
}

function guarded(fn: () => Promise<void>): () => void {
  return () => { fn().catch((e: unknown) => { status(`error: ${(e as Error).message}`); show({ error: (e as Error).message }); }); };
}

async function start(): Promise<void> {
  for (const name of ['lithe-relaxed.wasm', 'lithe-simd.wasm'] as const) {
    const res = await fetch(`./${name}`);
    if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
    provideKernelBytes(name, new Uint8Array(await res.arrayBuffer()));
  }
  $('load').addEventListener('click', guarded(load));
  $('generate').addEventListener('click', guarded(runGenerate));
  $('ppl').addEventListener('click', guarded(runPerplexity));
  status(`ready (cross-origin isolated: ${globalThis.crossOriginIsolated}; navigator.gpu: ${'gpu' in navigator ? 'yes' : 'no'})`);
}

guarded(start)();
