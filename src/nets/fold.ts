/**
 * Folding an eval-mode BatchNorm2d into the convolution before it (the standard inference rewrite, e.g. PyTorch's
 * torch.fx fuse_conv_bn_eval): with s = gamma / sqrt(var + eps), W'[o] = W[o] * s[o] and b'[o] = (b[o] - mean[o]) * s[o] + beta[o].
 * Every batchnorm2d that directly follows a conv2d in a sequential (also inside residual blocks and graph nodes) is removed and the conv gains a bias; other batch
 * norms stay. Parameter names of the layers after a removed one keep their original names when children are named,
 * else their indices shift (the new spec names every child of a changed sequential by its old index to keep them).
 */
import type { LayerSpec, NetSpec } from './spec.js';
import type { Weights } from './net.js';

export function foldBatchNorm(spec: NetSpec, weights: Weights): { spec: NetSpec; weights: Weights; folded: number } {
  const out: Weights = new Map(weights);
  let folded = 0;
  const full = (path: string, n: string) => (path === '' ? n : `${path}.${n}`);
  const visit = (l: LayerSpec, path: string): LayerSpec => {
    if (l.type === 'residual') return { ...l, body: visit(l.body, full(path, 'body')), ...(l.shortcut ? { shortcut: visit(l.shortcut, full(path, 'shortcut')) } : {}) };
    if (l.type === 'graph') return { ...l, nodes: l.nodes.map((n) => ({ ...n, layer: visit(n.layer, full(path, n.name)) })) };
    if (l.type !== 'sequential') return l;
    const names = l.layers.map((c, i) => c.name ?? String(i));
    const kept: [LayerSpec, string][] = [];
    let changed = false;
    for (let i = 0; i < l.layers.length; i++) {
      const c = l.layers[i]!, next = l.layers[i + 1];
      const cp = full(path, names[i]!);
      if (c.type === 'conv2d' && next?.type === 'batchnorm2d' && next.channels === c.outChannels) {
        const bp = full(path, names[i + 1]!), eps = next.eps ?? 1e-5;
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
