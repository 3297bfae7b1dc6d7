/**
 * Folding an eval-mode BatchNorm2d into the convolution before it (the standard inference rewrite, e.g. PyTorch's
 * torch.fx fuse_conv_bn_eval): with s = gamma / sqrt(var + eps), W'[o] = W[o] * s[o] and b'[o] = (b[o] - mean[o]) * s[o] + beta[o].
 * Every batchnorm2d that directly follows a conv2d in a sequential (also inside residual blocks and graph nodes), or is
 * a graph node reading a conv2d node that nothing else reads, is removed and the conv gains a bias; other batch
 * norms stay. Parameter names of the layers after a removed one keep their original names when children are named,
 * else their indices shift (the new spec names every child of a changed sequential by its old index to keep them).
 */
import type { GraphNode, LayerSpec, NetSpec } from './spec.js';
import type { Weights } from './net.js';

export function foldBatchNorm(spec: NetSpec, weights: Weights): { spec: NetSpec; weights: Weights; folded: number } {
  const out: Weights = new Map(weights);
  let folded = 0;
  const full = (path: string, n: string) => (path === '' ? n : `${path}.${n}`);
  /** folds the batch norm at path bp into the conv c at path cp (weights in `out`) */
  const foldPair = (cp: string, bp: string, c: Extract<LayerSpec, { type: 'conv2d' }>, next: Extract<LayerSpec, { type: 'batchnorm2d' }>) => {
    const eps = next.eps ?? 1e-5;
    const get = (n: string) => out.get(`${bp}.${n}`)!;
    const gamma = get('weight'), beta = get('bias'), mean = get('running_mean'), v = get('running_var');
    const w = out.get(`${cp}.weight`)!.slice(), b = out.get(`${cp}.bias`) ?? new Float32Array(c.outChannels);
    const per = w.length / c.outChannels, nb = new Float32Array(c.outChannels);
    for (let o = 0; o < c.outChannels; o++) {
      const s = gamma[o]! / Math.sqrt(v[o]! + eps);
      for (let k = 0; k < per; k++) w[o * per + k] = w[o * per + k]! * s;
      nb[o] = (b[o]! - mean[o]!) * s + beta[o]!;
    }
    out.set(`${cp}.weight`, w);
    out.set(`${cp}.bias`, nb);
    for (const n of ['weight', 'bias', 'running_mean', 'running_var']) out.delete(`${bp}.${n}`);
  };
  /** a graph: each node's layer folded inside; a conv2d node read only by a batchnorm2d node absorbs it */
  const visitGraph = (l: Extract<LayerSpec, { type: 'graph' }>, path: string): LayerSpec => {
    const readers = new Map<string, number>([[l.output, 1]]);
    for (const n of l.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
    const rename = new Map<string, string>(), kept: GraphNode[] = [];
    for (const n0 of l.nodes) {
      const n = { ...n0, inputs: n0.inputs.map((i) => rename.get(i) ?? i), layer: visit(n0.layer, full(path, n0.name)) };
      const src = n.inputs.length === 1 ? kept.find((k) => k.name === n.inputs[0]) : undefined;
      if (n.layer.type === 'batchnorm2d' && src?.layer.type === 'conv2d' && readers.get(src.name) === 1 && src.layer.outChannels === n.layer.channels) {
        foldPair(full(path, src.name), full(path, n.name), src.layer, n.layer);
        src.layer = { ...src.layer, bias: true };
        rename.set(n.name, src.name);
        folded++;
        continue;
      }
      kept.push(n);
    }
    return { ...l, nodes: kept, output: rename.get(l.output) ?? l.output };
  };
  const visit = (l: LayerSpec, path: string): LayerSpec => {
    if (l.type === 'residual') return { ...l, body: visit(l.body, full(path, 'body')), ...(l.shortcut ? { shortcut: visit(l.shortcut, full(path, 'shortcut')) } : {}) };
    if (l.type === 'graph') return visitGraph(l, path);
    if (l.type !== 'sequential') return l;
    const names = l.layers.map((c, i) => c.name ?? String(i));
    const kept: [LayerSpec, string][] = [];
    let changed = false;
    for (let i = 0; i < l.layers.length; i++) {
      const c = l.layers[i]!, next = l.layers[i + 1];
      const cp = full(path, names[i]!);
      if (c.type === 'conv2d' && next?.type === 'batchnorm2d' && next.channels === c.outChannels) {
        foldPair(cp, full(path, names[i + 1]!), c, next);
        kept.push([{ ...c, bias: true }, names[i]!]);
        folded++;
        changed = true;
        i++;
        continue;
      }
      kept.push([visit(c, cp), names[i]!]);
    }
    return { ...l, layers: kept.map(([c, name]) => (changed ? { ...c, name } : c)) };
  };
  return { spec: { input: spec.input, net: visit(spec.net, '') }, weights: out, folded };
}
