/**
 * The differentiable operations: each allocates its output on the tape, runs the op out of place and records it
 * (model code that works in place, such as the residual add or silu(gate) * up into gate, calls these when training).
 * Gradients come from the ops' `grad` slots (kernels/<op>/index.ts) or, for composites, the functions named here.
 */
import * as K from '../kernels/index.js';
import type { FakeQuantParams, GradFn } from '../kernels/index.js';
import { elementCount } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { Tape } from './tape.js';
import { Param } from './param.js';

const last = (t: Tensor) => t.shape[t.shape.length - 1]!;

/** x[..., K] w[N, K]^T (+ bias[N]) */
export function linear(t: Tape, x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  const out = t.alloc([...x.shape.slice(0, -1), w.shape[0]!]);
  t.op(K.LINEAR, { x, w, bias, out }, [out]);
  return out;
}

const matmulGrad: GradFn<K.GemmArgs> = (r, { a, b, out, M, N, K: Kd }, grad, into) => {
  const dy = grad(out);
  if (!dy) return;
  const da = into(a);
  if (da) r.run(K.GEMM, { a: dy, b, out: da.g, M, N: Kd, K: N, transA: false, transB: true, accumulate: da.accumulate });
  const db = into(b);
  if (db) r.run(K.GEMM, { a, b: dy, out: db.g, M: Kd, N, K: M, transA: true, transB: false, accumulate: db.accumulate });
};

/** a[M, K] b[K, N] */
export function matmul(t: Tape, a: Tensor, b: Tensor): Tensor {
  const [M, Kd] = a.shape as [number, number], N = b.shape[1]!;
  const out = t.alloc([M, N]);
  t.op(K.GEMM, { a, b, out, M, N, K: Kd, transA: false, transB: false, accumulate: false }, [out], matmulGrad);
  return out;
}

const addGrad: GradFn<{ a: Tensor; b: Tensor; out: Tensor }> = (r, { a, b, out }, grad) => {
  const dy = grad(out);
  if (!dy) return;
  for (const x of [a, b]) { const dx = grad(x); if (dx) r.run(K.ADD, { a: dx, b: dy }); }
};

/** a + b (same sizes) */
export function add(t: Tape, a: Tensor, b: Tensor): Tensor {
  const out = t.alloc(a.shape);
  t.run(K.COPY_COLUMNS, { src: a.view([a.size]), srcCol: 0, dst: out.view([out.size]), dstCol: 0, cols: a.size, accumulate: false });
  t.run(K.ADD, { a: out, b });
  t.record('add', { a, b, out }, [out], addGrad);
  return out;
}

export function gelu(t: Tape, x: Tensor): Tensor {
  const out = t.alloc(x.shape);
  t.op(K.GELU, { x, out }, [out]);
  return out;
}

/** silu(g) * u (the SwiGLU gate), out of place */
export function siluMul(t: Tape, g: Tensor, u: Tensor): Tensor {
  const out = t.alloc(g.shape);
  t.op(K.SILU_MUL, { g, u, out }, [out]);
  return out;
}

/** softmax over the last axis */
export function softmax(t: Tape, x: Tensor): Tensor {
  const out = t.alloc(x.shape);
  t.run(K.COPY_COLUMNS, { src: x.view([x.size]), srcCol: 0, dst: out.view([out.size]), dstCol: 0, cols: x.size, accumulate: false });
  t.run(K.SOFTMAX, { x: out });
  t.record('softmax', { x, out }, [out], K.softmaxGrad);
  return out;
}

export function logSoftmax(t: Tape, x: Tensor): Tensor {
  const out = t.alloc(x.shape);
  t.op(K.LOG_SOFTMAX, { x, out }, [out]);
  return out;
}

/** mean over rows of -log softmax(logits)[label]; labels an i32 tensor of one label per row */
export function crossEntropy(t: Tape, logits: Tensor, labels: Tensor): Tensor {
  const probs = t.alloc(logits.shape), loss = t.alloc([1]);
  t.op(K.CROSS_ENTROPY, { logits, labels, probs, loss }, [probs, loss]);
  return loss;
}

/** mean (a - b)^2 */
export function mse(t: Tape, a: Tensor, b: Tensor): Tensor {
  const loss = t.alloc([1]);
  t.op(K.MSE, { a, b, loss }, [loss]);
  return loss;
}

/** T^2 / rows sum KL(softmax(teacher / T) || softmax(student / T)); no gradient for the teacher */
export function klDiv(t: Tape, student: Tensor, teacher: Tensor, T: number): Tensor {
  const ps = t.alloc(student.shape), pt = t.alloc(student.shape), loss = t.alloc([1]);
  t.op(K.KL_DIV, { student, teacher, T, ps, pt, loss }, [ps, pt, loss]);
  return loss;
}

export function rmsnorm(t: Tape, x: Tensor, w: Tensor, eps: number): Tensor {
  const out = t.alloc(x.shape);
  t.op(K.RMS_NORM, { x, w, eps, out }, [out]);
  return out;
}

/** rows of table for i32 ids */
export function embed(t: Tape, table: Tensor, ids: Tensor): Tensor {
  const out = t.alloc([...ids.shape, table.shape[1]!]);
  t.op(K.EMBED, { table, ids, out }, [out]);
  return out;
}

/** seeded dropout (identity when p = 0) */
export function dropout(t: Tape, x: Tensor, p: number, seed: number): Tensor {
  if (p === 0) return x;
  const out = t.alloc(x.shape);
  t.op(K.DROPOUT, { x, out, p, seed: seed >>> 0 }, [out]);
  return out;
}

interface ConcatArgs { xs: Tensor[]; out: Tensor }
const concatGrad: GradFn<ConcatArgs> = (r, { xs, out }, grad) => {
  const dy = grad(out);
  if (!dy) return;
  let col = 0;
  for (const x of xs) {
    const dx = grad(x), w = last(x);
    if (dx) r.run(K.COPY_COLUMNS, { src: dy, srcCol: col, dst: dx, dstCol: 0, cols: w, accumulate: true });
    col += w;
  }
};

/** concatenation along the last axis of tensors with equal leading dimensions */
export function concat(t: Tape, xs: Tensor[]): Tensor {
  const width = xs.reduce((s, x) => s + last(x), 0);
  const out = t.alloc([...xs[0]!.shape.slice(0, -1), width]);
  let col = 0;
  for (const x of xs) {
    t.run(K.COPY_COLUMNS, { src: x, srcCol: 0, dst: out, dstCol: col, cols: last(x), accumulate: false });
    col += last(x);
  }
  t.record('concat', { xs, out }, [out], concatGrad);
  return out;
}

interface SliceArgs { x: Tensor; start: number; out: Tensor }
const sliceGrad: GradFn<SliceArgs> = (r, { x, start, out }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (dy && dx) r.run(K.COPY_COLUMNS, { src: dy, srcCol: 0, dst: dx, dstCol: start, cols: last(out), accumulate: true });
};

/** columns [start, start + count) of the last axis */
export function slice(t: Tape, x: Tensor, start: number, count: number): Tensor {
  const out = t.alloc([...x.shape.slice(0, -1), count]);
  t.run(K.COPY_COLUMNS, { src: x, srcCol: start, dst: out, dstCol: 0, cols: count, accumulate: false });
  t.record('slice', { x, start, out }, [out], sliceGrad);
  return out;
}

const identityGrad: GradFn<{ x: Tensor; out: Tensor }> = (r, { x, out }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (dy && dx) r.run(K.ADD, { a: dx, b: dy });
};

/**
 * Fake quantization with a straight-through estimator: the forward rounds x to its quantization grid (rows of p.n,
 * groups of p.group), the backward passes the gradient through unchanged (Bengio et al.'s STE, as QAT uses).
 */
export function fakeQuantSTE(t: Tape, x: Tensor, p: FakeQuantParams): Tensor {
  const out = t.alloc(x.shape);
  t.run(K.COPY_COLUMNS, { src: x.view([x.size]), srcCol: 0, dst: out.view([out.size]), dstCol: 0, cols: x.size, accumulate: false });
  t.run(K.FAKE_QUANT, { x: out, p });
  t.record('fake_quant_ste', { x, out }, [out], identityGrad);
  return out;
}

/**
 * Batch normalization of x [N, C, ...] per channel: in training the batch statistics (and the running averages in
 * `runMean` / `runVar` are updated), in evaluation the running statistics.
 */
export function batchNorm(t: Tape, x: Tensor, gamma: Tensor, beta: Tensor, runMean: Tensor, runVar: Tensor, train: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  const C = x.shape[1]!, out = t.alloc(x.shape), mean = t.alloc([C]), invstd = t.alloc([C]);
  t.op(K.BATCH_NORM, { x, gamma, beta, runMean, runVar, out, mean, invstd, train, momentum, eps }, [out, mean, invstd]);
  return out;
}

/** RoPE tables on the backend: cos and sin [positions, headDim / 2], and -sin (the inverse rotation of backward). */
export interface RopeTables { cos: Tensor; sin: Tensor; negSin: Tensor }

interface RopeRecord { x: Tensor; tables: RopeTables; p: K.RopeParams; out: Tensor }
const ropeGrad: GradFn<RopeRecord> = (r, { x, tables, p, out }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (!dy || !dx) return;
  // a rotation's transpose is the rotation by the opposite angle
  const tmp = r.alloc(dy.shape);
  r.run(K.COPY_COLUMNS, { src: dy.view([dy.size]), srcCol: 0, dst: tmp.view([tmp.size]), dstCol: 0, cols: dy.size, accumulate: false });
  r.run(K.ROPE, { x: tmp, cos: tables.cos, sin: tables.negSin, p });
  r.run(K.ADD, { a: dx, b: tmp });
  r.free(tmp);
};

/** rotary position embedding of x [T, stride] (the first heads * headDim columns of each row), out of place */
export function rope(t: Tape, x: Tensor, tables: RopeTables, p: K.RopeParams): Tensor {
  const out = t.alloc(x.shape);
  t.run(K.COPY_COLUMNS, { src: x.view([x.size]), srcCol: 0, dst: out.view([out.size]), dstCol: 0, cols: x.size, accumulate: false });
  t.run(K.ROPE, { x: out, cos: tables.cos, sin: tables.sin, p });
  t.record('rope', { x, tables, p, out }, [out], ropeGrad);
  return out;
}

/** grouped-query attention: q [T, nHeads headDim], k / v [pos0 + T, nKVHeads headDim] (causal), or [S, nKVHeads headDim] with p.causal false (every query sees all S keys) */
export function attention(t: Tape, q: Tensor, k: Tensor, v: Tensor, p: K.AttentionParams): Tensor {
  const out = t.alloc(q.shape);
  t.op(K.ATTENTION, { q, k, v, out, p, training: true }, [out]);
  return out;
}

interface CheckpointRecord { inputs: Tensor[]; out: Tensor }

/**
 * Gradient checkpointing (Chen et al. 2016): runs `fn` without keeping its activations (only `inputs` and the output
 * stay); backward runs it again on a recording tape and backpropagates through that, so a stack of checkpointed
 * blocks holds one block's activations at a time. `fn` must be deterministic (dropout: a fixed seed) and read
 * its parameters itself; their gradients accumulate in Param.grad as usual (their hooks run once per recompute).
 */
export function checkpoint(t: Tape, inputs: Tensor[], fn: (t: Tape, inputs: Tensor[]) => Tensor): Tensor {
  const inner = new Tape(t.be, { record: false });
  const y = fn(inner, inputs);
  const out = t.alloc(y.shape);
  t.run(K.COPY_COLUMNS, { src: y.view([y.size]), srcCol: 0, dst: out.view([out.size]), dstCol: 0, cols: y.size, accumulate: false });
  inner.release();
  const grad: GradFn<CheckpointRecord> = (r, rec, g) => {
    const dy = g(rec.out);
    if (!dy) return;
    const again = new Tape(t.be);
    const wanted = rec.inputs.filter((x) => g(x) !== null);
    for (const x of wanted) if (!Param.of(x)) again.watch(x);
    const y2 = fn(again, rec.inputs);
    const kept = again.backward(y2, dy, wanted);
    for (const [x, dx] of kept) { r.run(K.ADD, { a: g(x)!, b: dx }); t.be.free(dx); }
    again.release();
  };
  t.record('checkpoint', { inputs, out }, [out], grad, true);
  return out;
}

export function relu(t: Tape, x: Tensor): Tensor {
  const out = t.alloc(x.shape);
  t.op(K.RELU, { x, out }, [out]);
  return out;
}

/** conv2d of x [N, C, H, W] with w [O, C / groups, kh, kw] (+ bias [O]) */
export function conv2d(t: Tape, x: Tensor, w: Tensor, bias: Tensor | null, p: K.Conv2dParams): Tensor {
  const [N, , H, W] = x.shape as [number, number, number, number];
  const OH = K.convOutSize(H, p.kernel[0], p.stride[0], p.dilation[0], p.pad[0], p.pad[2]), OW = K.convOutSize(W, p.kernel[1], p.stride[1], p.dilation[1], p.pad[1], p.pad[3]);
  const out = t.alloc([N, w.shape[0]!, OH, OW]);
  t.op(K.CONV2D, { x, w, bias, out, p }, [out]);
  return out;
}

/** max pooling of x [N, C, H, W] (the argmax indices are kept for backward) */
export function maxPool2d(t: Tape, x: Tensor, p: K.Pool2dParams): Tensor {
  const [OH, OW] = K.poolOutShape(x.shape[2]!, x.shape[3]!, p), shape = [x.shape[0]!, x.shape[1]!, OH, OW];
  const out = t.alloc(shape), indices = t.alloc(shape, 'i32');
  t.op(K.MAX_POOL2D, { x, out, indices, p }, [out, indices]);
  return out;
}

export function avgPool2d(t: Tape, x: Tensor, p: K.Pool2dParams): Tensor {
  const [OH, OW] = K.poolOutShape(x.shape[2]!, x.shape[3]!, p);
  const out = t.alloc([x.shape[0]!, x.shape[1]!, OH, OW]);
  t.op(K.AVG_POOL2D, { x, out, p }, [out]);
  return out;
}

/** LayerNorm over the last axis (w, and b when given, of its size) */
export function layerNorm(t: Tape, x: Tensor, w: Tensor, b: Tensor | null, eps = 1e-5): Tensor {
  const rows = x.size / w.size, out = t.alloc(x.shape), mean = t.alloc([rows]), rstd = t.alloc([rows]);
  t.op(K.LAYER_NORM, { x, w, b, eps, out, mean, rstd }, [out, mean, rstd]);
  return out;
}

/**
 * CTC loss of logits [T, B, C] against padded i32 targets [B, maxLen] with i32 target and input lengths [B]
 * (mean over items of -log p / target length)
 */
export function ctcLoss(t: Tape, x: Tensor, targets: Tensor, targetLengths: Tensor, inputLengths: Tensor, blank = 0): Tensor {
  const loss = t.alloc([1]);
  t.op(K.CTC_LOSS, { x, targets, targetLengths, inputLengths, blank, loss }, [loss]);
  return loss;
}

/** x viewed with another shape of the same size (shares storage; gradients flow through). */
export function reshape(t: Tape, x: Tensor, shape: readonly number[]): Tensor {
  if (elementCount(shape) !== x.size) throw new Error(`reshape: [${x.shape}] has ${x.size} elements, not those of [${shape}]`);
  const out = x.view(shape);
  t.record('reshape', { x, out }, [out], reshapeGrad);
  return out;
}
const reshapeGrad: GradFn<{ x: Tensor; out: Tensor }> = (r, { x, out }, grad) => {
  const dy = grad(out), dx = grad(x);
  if (dy && dx) r.run(K.ADD, { a: dx, b: dy.view(dx.shape) });
};

/** x [N, C, H, W] upsampled by integer factors (nearest, or bilinear with align_corners false / true) */
export function upsample2d(t: Tape, x: Tensor, p: K.Upsample2dParams): Tensor {
  const [OH, OW] = K.upsampleOutShape(x.shape[2]!, x.shape[3]!, p);
  const out = t.alloc([x.shape[0]!, x.shape[1]!, OH, OW]);
  t.op(K.UPSAMPLE2D, { x, out, p }, [out]);
  return out;
}

const mulGrad: GradFn<{ a: Tensor; b: Tensor; out: Tensor }> = (r, { a, b, out }, grad) => {
  const dy = grad(out);
  if (!dy) return;
  for (const [x, other] of [[a, b], [b, a]] as const) {
    const dx = grad(x);
    if (!dx) continue;
    const tmp = r.alloc(dy.shape);
    r.run(K.COPY_COLUMNS, { src: dy.view([dy.size]), srcCol: 0, dst: tmp.view([tmp.size]), dstCol: 0, cols: dy.size, accumulate: false });
    r.run(K.MUL, { a: tmp, b: other });
    r.run(K.ADD, { a: dx, b: tmp.view(dx.shape) });
    r.free(tmp);
  }
};

/** a * b elementwise (same sizes) */
export function mul(t: Tape, a: Tensor, b: Tensor): Tensor {
  const out = t.alloc(a.shape);
  t.run(K.COPY_COLUMNS, { src: a.view([a.size]), srcCol: 0, dst: out.view([out.size]), dstCol: 0, cols: a.size, accumulate: false });
  t.run(K.MUL, { a: out, b });
  t.record('mul', { a, b, out }, [out], mulGrad);
  return out;
}

/** concatenation of [N, C_i, ...] tensors along axis 1 (channels) */
export function concatChannels(t: Tape, xs: Tensor[]): Tensor {
  const N = xs[0]!.shape[0]!;
  const flat = concat(t, xs.map((x) => reshape(t, x, [N, x.size / N])));
  return reshape(t, flat, [N, xs.reduce((a, x) => a + x.shape[1]!, 0), ...xs[0]!.shape.slice(2)]);
}

/** 1 / (1 + exp(-x)), out of place */
export function sigmoid(t: Tape, x: Tensor): Tensor {
  const out = t.alloc(x.shape);
  t.op(K.SIGMOID, { x, out }, [out]);
  return out;
}
