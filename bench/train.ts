/**
 * `npm run bench -- train [--only throughput|mnist|webgpu] [--steps 20] [--rounds 3] [--profile]`: the training engine.
 * throughput: AdamW steps/s of (a) the MLP 784-1024-1024-10 at batch 256, (b) LeNet-5 at batch 128 (both with
 * cross-entropy), (c) one LLaMA block (hidden 384, 6 heads / 2 KV heads, MLP 1152, RMSNorm, RoPE, seq 512, MSE),
 * Lithe and PyTorch (bench/train_peer.py, Debian's python3-torch with OpenBLAS) at 1 and 2 threads in the same
 * run, in R rounds that alternate the two (`--rounds 3`; a shared machine's load changes between them); median of N
 * timed steps after 3 warm-ups on both sides, then the median over the rounds. Also the peak memory of a LLaMA fine-tuning step over
 * four blocks with and without gradient checkpointing.
 * mnist: LeNet-5 trained on the MNIST test set's images split 8k/2k (seeded), held-out accuracy per epoch, steps/s;
 * [--augment-shift N | --select 0,1,2] the random-shift amount, fixed or picked on a validation split of the training
 * images; [--init-seeds 1,2,3] the final accuracy from other initializations and shuffles.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { CpuBackend } from '../src/backend/cpu/cpu-backend.js';
import { WebGpuBackend } from '../src/backend/webgpu/webgpu-backend.js';
import type { Backend } from '../src/backend/backend.js';
import { F, Param, Tape } from '../src/autograd/index.js';
import { AdamW, Rng, splitSeeded, trainClassifier, type EpochInfo, type LabelledImages, type TrainResult } from '../src/train/index.js';
import { mnistImages } from '../src/train/mnist.js';
import { buildTrainable } from '../src/train/spec-net.js';
import { blockStack, llamaBlock, type BlockWeights } from '../src/train/llama-block.js';
import { ropeTables } from '../src/models/llama/rope.js';
import { markdownTable } from '../src/util/table.js';
import { median } from '../src/util/timing.js';

type Record = (name: string, command: string, table: string, notes?: string) => void;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function flag(argv: string[], name: string, def: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
}

/** median steps/s of `step` over `n` timed calls after 3 warm-ups */
async function stepsPerSecond(be: Backend, n: number, step: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    const t0 = performance.now();
    await step();
    await be.finish();
    if (i >= 3) times.push(performance.now() - t0);
  }
  return 1000 / median(times);
}

/** one AdamW training step of the MLP or LeNet-5 on a fixed random batch (cross-entropy) */
function classifierStepFn(be: Backend, arch: 'mlp' | 'lenet', batch: number): () => Promise<void> {
  const net = buildTrainable(be, arch, [1, 28, 28], 10, 0), opt = new AdamW(be, net.params, { lr: 1e-3 }), r = new Rng(1);
  const x = Float32Array.from({ length: batch * 784 }, () => r.normal()), y = Int32Array.from({ length: batch }, () => r.int(10));
  return async () => {
    const t = new Tape(be);
    const loss = F.crossEntropy(t, net.forward(t, t.tensor(x, [batch, 1, 28, 28]), true), t.tensor(y, [batch]));
    t.backward(loss);
    opt.update();
    opt.zeroGrad();
    t.release();
  };
}

const classifierStep = (be: Backend, arch: 'mlp' | 'lenet', batch: number, n: number): Promise<number> => stepsPerSecond(be, n, classifierStepFn(be, arch, batch));

const LLAMA = { hidden: 384, heads: 6, kvHeads: 2, mlp: 1152, seq: 512, eps: 1e-5, neox: true };

function llamaWeights(be: Backend, blocks: number, r: Rng): { weights: BlockWeights[]; params: Param[] } {
  const params: Param[] = [], H = LLAMA.hidden, kvd = (H / LLAMA.heads) * LLAMA.kvHeads;
  const mk = (name: string, shape: number[], init: () => number) => {
    const t = be.alloc(shape);
    be.write(t, Float32Array.from({ length: shape.reduce((a, b) => a * b) }, init));
    params.push(new Param(name, t));
    return t;
  };
  const w = (name: string, shape: number[]) => mk(name, shape, () => r.normal() / Math.sqrt(shape[1]!));
  const weights = Array.from({ length: blocks }, (_, i) => ({
    attnNorm: mk(`${i}.attn_norm`, [H], () => 1), wq: w(`${i}.q`, [H, H]), wk: w(`${i}.k`, [kvd, H]), wv: w(`${i}.v`, [kvd, H]), wo: w(`${i}.o`, [H, H]),
    ffnNorm: mk(`${i}.ffn_norm`, [H], () => 1), wGate: w(`${i}.gate`, [LLAMA.mlp, H]), wUp: w(`${i}.up`, [LLAMA.mlp, H]), wDown: w(`${i}.down`, [H, LLAMA.mlp]),
  }));
  return { weights, params };
}

function ropeOn(t: Tape) {
  const hd = LLAMA.hidden / LLAMA.heads, { cos, sin } = ropeTables(LLAMA.seq, hd, 10000, null);
  return { cos: t.tensor(cos, [LLAMA.seq, hd / 2]), sin: t.tensor(sin, [LLAMA.seq, hd / 2]), negSin: t.tensor(sin.map((v) => -v), [LLAMA.seq, hd / 2]) };
}

/** one AdamW fine-tuning step of a LLaMA block (seq 512, MSE against a fixed random target) */
function llamaStepFn(be: Backend): () => Promise<void> {
  const r = new Rng(2), { weights, params } = llamaWeights(be, 1, r), opt = new AdamW(be, params, { lr: 1e-3 });
  const x = Float32Array.from({ length: LLAMA.seq * LLAMA.hidden }, () => r.normal()), y = Float32Array.from({ length: x.length }, () => r.normal());
  return async () => {
    const t = new Tape(be);
    const loss = F.mse(t, llamaBlock(t, t.tensor(x, [LLAMA.seq, LLAMA.hidden]), weights[0]!, ropeOn(t), LLAMA), t.tensor(y, [LLAMA.seq, LLAMA.hidden]));
    t.backward(loss);
    opt.update();
    opt.zeroGrad();
    t.release();
  };
}

const llamaStep = (be: Backend, n: number): Promise<number> => stepsPerSecond(be, n, llamaStepFn(be));

/**
 * Where a WebGPU training step's time goes: `n` steps under the backend's kernel profile (after 2 unprofiled
 * warm-ups), per kernel GPU ms per step and share, the top `top` kernels, and the sum of all kernels beside the
 * step's unprofiled wall time (the rest is the GPU waiting: submission, synchronisation, the host).
 */
async function kernelProfile(gpu: WebGpuBackend, label: string, step: () => Promise<void>, wallMs: number, n = 5, top = 8): Promise<string> {
  for (let i = 0; i < 2; i++) await step();
  await gpu.finish();
  gpu.startProfile();
  for (let i = 0; i < n; i++) await step();
  await gpu.finish();
  const prof = await gpu.stopProfile();
  const total = [...prof.values()].reduce((a, v) => a + v.ms, 0) / n;
  const rows = [...prof].slice(0, top).map(([k, v]) => [k, (v.ms / n).toFixed(3), (100 * v.ms / n / total).toFixed(1), String(v.calls / n)]);
  rows.push(['all kernels', total.toFixed(3), '100.0', String([...prof.values()].reduce((a, v) => a + v.calls, 0) / n)]);
  return `${label}: kernels ${total.toFixed(2)} ms of a ${wallMs.toFixed(2)} ms step (${(100 * total / wallMs).toFixed(0)}%; the rest is launch, ` +
    `synchronisation and host time)\n\n${markdownTable(['kernel', 'GPU ms per step', '% of kernel time', 'dispatches per step'], rows)}`;
}

/** peak bytes above the weights of one fine-tuning step (forward + backward) over `blocks` blocks */
async function llamaPeak(blocks: number, checkpointing: boolean): Promise<number> {
  const be = await CpuBackend.create({ threads: 1 });
  const r = new Rng(3), { weights, params } = llamaWeights(be, blocks, r);
  for (const p of params) p.gradOn(be); // gradient buffers are part of the step's steady state, not its activations
  const x = Float32Array.from({ length: LLAMA.seq * LLAMA.hidden }, () => r.normal());
  const t = new Tape(be), xi = t.tensor(x, [LLAMA.seq, LLAMA.hidden]), yi = t.tensor(x, [LLAMA.seq, LLAMA.hidden]), rope = ropeOn(t);
  be.resetPeak();
  const base = be.bytesInUse;
  t.backward(F.mse(t, blockStack(t, xi, weights, rope, LLAMA, checkpointing), yi));
  const peak = be.peakBytes - base;
  t.release();
  await be.dispose();
  return peak;
}

function torchPeer(threads: number, steps: number, device = 'cpu', which = 'mlp,lenet,llama'): { [k: string]: number } | string {
  // Debian's python3 (with python3-torch) here; the device machine's python3 there (LITHE_PYTHON)
  const py = process.env.LITHE_PYTHON ?? '/usr/bin/python3', script = path.join(root, 'bench/train_peer.py');
  if (py.startsWith('/') && !existsSync(py)) return `no ${py}`;
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const res = spawnSync(py, [script, String(threads), which, String(steps), device], { env, encoding: 'utf8', timeout: 900_000 });
  if (res.status !== 0) return `PyTorch peer failed: ${(res.stderr || res.error?.message || '').trim().split('\n').pop()}`;
  return JSON.parse(res.stdout.trim().split('\n').pop()!);
}

async function throughput(argv: string[], record: Record): Promise<void> {
  const steps = Number(flag(argv, '--steps', '20')), rounds = Number(flag(argv, '--rounds', '3'));
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const workloads = [['mlp', '(a) MLP 784-1024-1024-10, batch 256'], ['lenet', '(b) LeNet-5, batch 128'], ['llama', '(c) LLaMA block 384/6/2/1152, seq 512']] as const;
  type Side = { [k in (typeof workloads)[number][0]]: number };
  // rounds alternate Lithe and PyTorch, so a change in the shared machine's load reaches both sides
  const runs = new Map<number, { lithe: Side[]; torch: Side[] }>([[1, { lithe: [], torch: [] }], [2, { lithe: [], torch: [] }]]);
  for (let round = 0; round < rounds; round++) {
    for (const threads of [1, 2]) {
      const be = await CpuBackend.create({ threads });
      const lithe = { mlp: await classifierStep(be, 'mlp', 256, steps), lenet: await classifierStep(be, 'lenet', 128, steps), llama: await llamaStep(be, Math.max(5, Math.floor(steps / 4))) };
      await be.dispose();
      const torch = torchPeer(threads, steps);
      runs.get(threads)!.lithe.push(lithe);
      if (typeof torch === 'string') notes.push(`${threads} thread(s), round ${round + 1}: ${torch}`);
      else runs.get(threads)!.torch.push(torch as Side);
    }
  }
  for (const threads of [1, 2]) {
    const { lithe, torch } = runs.get(threads)!;
    for (const [k, label] of workloads) {
      const l = median(lithe.map((s) => s[k])), t = torch.length ? median(torch.map((s) => s[k])) : undefined;
      const per = torch.length === lithe.length ? lithe.map((s, i) => s[k] / torch[i]![k]) : [];
      rows.push([label, threads, l.toFixed(1), t !== undefined ? t.toFixed(1) : 'n/a', t !== undefined ? (l / t).toFixed(2) : 'n/a',
        per.length ? `${Math.min(...per).toFixed(2)}-${Math.max(...per).toFixed(2)}` : 'n/a']);
    }
  }
  const peak1 = await llamaPeak(1, false), peak4 = await llamaPeak(4, false), peak4ck = await llamaPeak(4, true);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  record('train (throughput)', `npm run bench -- train --only throughput --steps ${steps} --rounds ${rounds}`,
    markdownTable(['workload (AdamW step)', 'threads', 'Lithe steps/s', 'PyTorch steps/s', 'Lithe / PyTorch', 'per round'], rows),
    `${rounds} rounds, each Lithe then PyTorch at 1 and then 2 threads; each side's steps/s is the median over the rounds of the median of ${steps} ` +
    `timed steps after 3 warm-ups (the LLaMA block: ${Math.max(5, Math.floor(steps / 4))}); "per round" is the range of the rounds' own ratios. PyTorch: Debian python3-torch with OpenBLAS ` +
    `(bench/train_peer.py, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, OMP/OpenBLAS/torch threads equal). The machine was shared with other jobs: ` +
    `indicative numbers. ${notes.join(' ')}\n\nPeak memory of one LLaMA fine-tuning step (forward + backward, above the weights and their gradients; ` +
    `seq 512): one block ${mib(peak1)} MiB; four blocks ${mib(peak4)} MiB keeping activations, ${mib(peak4ck)} MiB with gradient checkpointing per block.`);
}

/** the LeNet-5 recipe of the MNIST benchmark (AdamW, warmup then cosine, batch 64), with a random-shift amount */
async function lenetRun(train: LabelledImages, heldOut: LabelledImages, epochs: number, threads: number, shift: number, seed: number,
  onEpoch?: (e: EpochInfo) => void): Promise<TrainResult> {
  const be = await CpuBackend.create({ threads });
  try {
    return await trainClassifier(be, buildTrainable(be, 'lenet', [1, 28, 28], 10, seed), train, heldOut,
      { epochs, batch: 64, lr: 2e-3, optimizer: 'adamw', schedule: 'cosine', warmupSteps: 100, augmentShift: shift, seed, onEpoch });
  } finally {
    await be.dispose();
  }
}

const pct = (a: number) => (100 * a).toFixed(2);
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * LeNet-5 on MNIST's 10k test images split 8k / 2k (seeded): held-out accuracy per epoch, steps/s. --select 0,1,2
 * first picks the random-shift amount by the mean accuracy of seeds 0-2 on a validation split of the 8k training
 * images (7k / 1k), never looking at the 2k held-out images; --augment-shift N fixes it instead (default 0).
 */
async function mnist(argv: string[], record: Record, shared: string): Promise<void> {
  const dir = path.join(shared, 'vision/mnist'), epochs = Number(flag(argv, '--epochs', '10')), threads = Number(flag(argv, '--threads', '2'));
  const seed = 0, { train, heldOut } = splitSeeded(mnistImages(dir), 8000, seed);
  let shift = Number(flag(argv, '--augment-shift', '0')), selectNote = '';
  const candidates = flag(argv, '--select', '').split(',').filter(Boolean).map(Number);
  if (candidates.length) {
    const val = splitSeeded(train, 7000, 1), rows: string[][] = [];
    let best = -1;
    for (const c of candidates) {
      const accs: number[] = [];
      for (const s of [0, 1, 2]) accs.push((await lenetRun(val.train, val.heldOut, epochs, threads, c, s)).heldOutAccuracy);
      rows.push([String(c), ...accs.map(pct), pct(meanOf(accs))]);
      console.error(`shift ${c}: validation ${rows[rows.length - 1]!.slice(1).join(' ')}`);
      if (meanOf(accs) > best) { best = meanOf(accs); shift = c; }
    }
    selectNote = `\n\nRecipe selection (the 2k held-out images unused): the 8,000 training images split again 7,000 / 1,000 (seed 1), ` +
      `${epochs} epochs, seeds 0-2; picked shift ${shift} (highest mean validation accuracy).\n\n` +
      markdownTable(['random shift (px)', 'seed 0 %', 'seed 1 %', 'seed 2 %', 'mean %'], rows);
  }
  const rows: (string | number)[][] = [], t0 = performance.now();
  const res = await lenetRun(train, heldOut, epochs, threads, shift, seed, (e) => {
    rows.push([e.epoch, e.meanLoss.toFixed(4), pct(e.heldOutAccuracy), e.seconds.toFixed(1)]);
    console.error(`epoch ${e.epoch}: ${rows[rows.length - 1]!.join(' ')}`);
  });
  const total = (performance.now() - t0) / 1000;
  // --init-seeds 1,2,...: the same recipe and the same held-out images from other initializations and shuffles
  const others: string[] = [], finals = [res.heldOutAccuracy];
  for (const s of flag(argv, '--init-seeds', '').split(',').filter(Boolean).map(Number)) {
    const r2 = await lenetRun(train, heldOut, epochs, threads, shift, s);
    finals.push(r2.heldOutAccuracy);
    others.push(`${s}: ${pct(r2.heldOutAccuracy)}%`);
    console.error(`init seed ${s}: ${pct(r2.heldOutAccuracy)}%`);
  }
  const seedsLine = others.length ? ` Final held-out accuracy from other initialization/shuffle seeds (same split): ${others.join(', ')}; mean over ${finals.length} seeds ${pct(meanOf(finals))}%.` : '';
  const opts = [candidates.length ? `--select ${candidates.join(',')}` : `--augment-shift ${shift}`, others.length ? `--init-seeds ${flag(argv, '--init-seeds', '')}` : ''].filter(Boolean).join(' ');
  record('train (LeNet-5 on MNIST)', `npm run bench -- train --only mnist --epochs ${epochs} --threads ${threads} ${opts}`,
    markdownTable(['epoch', 'mean training loss', 'held-out accuracy %', 'seconds'], rows),
    `MNIST t10k images (../shared/data/vision/mnist) split 8,000 training / 2,000 held out (seed ${seed}); LeNet-5 (conv 5x5 6 and 16 channels, ` +
    `ReLU, 2x2 max pooling, 120-84-10), PyTorch's default init; AdamW lr 0.002 (weight decay 0.01), 100 warmup steps then cosine decay, batch 64, ` +
    `random shift up to ${shift} px (zero fill). Final held-out accuracy ${pct(res.heldOutAccuracy)}%; ${res.stepsPerSecond.toFixed(1)} training steps/s ` +
    `(evaluation excluded) on ${threads} threads; ${total.toFixed(0)} s in all. The machine was shared with other jobs: times are indicative.${seedsLine}${selectNote}`);
}

/**
 * --only webgpu: the AdamW steps of (a) the MLP, (b) LeNet-5 (as in the CPU throughput part) and (c) one LLaMA block
 * (seq 512, MSE) on the first WebGPU adapter beside PyTorch CUDA (f32, TF32 off) on the same GPU.
 */
async function webgpu(argv: string[], record: Record): Promise<void> {
  const steps = Number(flag(argv, '--steps', '20'));
  const gpu = await WebGpuBackend.tryCreate();
  if (typeof gpu === 'string') throw new Error(`no WebGPU adapter: ${gpu}`);
  const llamaSteps = Math.max(5, Math.floor(steps / 4));
  const fns = { mlp: classifierStepFn(gpu, 'mlp', 256), lenet: classifierStepFn(gpu, 'lenet', 128), llama: llamaStepFn(gpu) };
  const lithe = { mlp: await stepsPerSecond(gpu, steps, fns.mlp), lenet: await stepsPerSecond(gpu, steps, fns.lenet) };
  const llama = await stepsPerSecond(gpu, llamaSteps, fns.llama);
  // --profile: per-kernel GPU time of each workload's step (timestamp queries)
  const profiles: string[] = [];
  if (argv.includes('--profile')) {
    for (const [k, label] of [['mlp', '(a) MLP'], ['lenet', '(b) LeNet-5'], ['llama', '(c) LLaMA block']] as const) {
      profiles.push(await kernelProfile(gpu, label, fns[k], 1000 / (k === 'llama' ? llama : lithe[k])));
      console.error(profiles[profiles.length - 1]);
    }
  }
  const desc = gpu.description;
  await gpu.dispose();
  const torch = torchPeer(1, steps, 'cuda', 'mlp,lenet,llama');
  const rows = ([['mlp', '(a) MLP 784-1024-1024-10, batch 256'], ['lenet', '(b) LeNet-5, batch 128']] as const).map(([k, label]) => {
    const t = typeof torch === 'string' ? undefined : torch[k];
    return [label, lithe[k].toFixed(1), t !== undefined ? t.toFixed(1) : 'n/a', t !== undefined ? (lithe[k] / t).toFixed(2) : 'n/a'];
  });
  rows.push(webgpuLlamaRow(llama, torch));
  record('train (WebGPU)', `npm run bench -- train --only webgpu --steps ${steps}${argv.includes('--profile') ? ' --profile' : ''}`,
    markdownTable(['workload (AdamW step)', 'Lithe WebGPU steps/s', 'PyTorch CUDA steps/s', 'Lithe / PyTorch'], rows),
    `Adapter: ${desc}. Median of ${steps} timed steps after 3 warm-ups (the LLaMA block: ${llamaSteps}), each waited for (Backend.finish / torch.cuda.synchronize). ` +
    `PyTorch: f32 with TF32 off (bench/train_peer.py ... cuda). ${typeof torch === 'string' ? torch : ''}` +
    (profiles.length ? `\n\nKernel profile (--profile; each dispatch in a compute pass of its own with timestamp queries, 5 steps):\n\n${profiles.join('\n\n')}` : ''));
}

/** the LLaMA block's row of the WebGPU table: Lithe's steps/s beside the CUDA peer's (or n/a when it failed) */
function webgpuLlamaRow(lithe: number, torch: { [k: string]: number } | string): string[] {
  const t = typeof torch === 'string' ? undefined : torch['llama'];
  return ['(c) LLaMA block 384/6/2/1152, seq 512', lithe.toFixed(2), t !== undefined ? t.toFixed(1) : 'n/a', t !== undefined ? (lithe / t).toFixed(3) : 'n/a'];
}

export async function trainBench(argv: string[], record: Record, shared: string): Promise<void> {
  const only = flag(argv, '--only', 'all');
  if (only === 'all' || only === 'mnist') await mnist(argv, record, shared);
  if (only === 'all' || only === 'throughput') await throughput(argv, record);
  if (only === 'webgpu') await webgpu(argv, record);
}

