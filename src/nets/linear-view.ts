/**
 * The model-interface view of a network for pruning and quantization: its linear-like layers (conv2d, conv1d,
 * linear) as weight matrices [out, in*kh*kw] (OIHW flattened per output row: a zero-copy reshape of the weight), grouped
 * by the activation they read, as the LLaMA path groups q/k/v (calib/: one set of input statistics per group). A conv
 * with groups > 1 is G diagonal blocks [out/G, in/G*kh*kw]: its matrix rows o read input channels of group
 * floor(o / (out/G)) only, and `groups` says so. Activations are named by the path of the layer that produced them
 * ('input' for the net's input); the input statistics of a conv are those of its im2col rows.
 */
import { walk, type LayerSpec, type NetSpec } from './spec.js';

export interface LinearLike {
  /** layer path, e.g. features.0; its weight is `${name}.weight` */
  name: string;
  kind: 'conv2d' | 'conv1d' | 'linear';
  /** matrix shape [rows, cols] = [out, in/groups * kernel size] */
  rows: number;
  cols: number;
  groups: number;
  bias: boolean;
}

export interface LinearGroup {
  /** the activation the layers read: 'input' or the path of the layer that wrote it */
  input: string;
  layers: LinearLike[];
}

export function linearLayers(spec: NetSpec): LinearGroup[] {
  walk(spec, 'net spec');
  const groups = new Map<string, LinearLike[]>();
  const add = (input: string, l: LinearLike) => groups.set(input, [...(groups.get(input) ?? []), l]);
  const full = (path: string, n: string) => (path === '' ? n : `${path}.${n}`);
  /** returns the name of the activation the layer outputs */
  const visit = (l: LayerSpec, path: string, input: string): string => {
    switch (l.type) {
      case 'conv2d': case 'conv1d': {
        const k = l.type === 'conv2d' ? l.kernel[0] * l.kernel[1] : l.kernel, g = l.groups ?? 1;
        add(input, { name: path, kind: l.type, rows: l.outChannels, cols: (l.inChannels / g) * k, groups: g, bias: l.bias !== false });
        return path;
      }
      case 'linear':
        add(input, { name: path, kind: 'linear', rows: l.outFeatures, cols: l.inFeatures, groups: 1, bias: l.bias !== false });
        return path;
      case 'flatten': return input; // a view: the same activation
      case 'sequential': return l.layers.reduce((x, c, i) => visit(c, full(path, c.name ?? String(i)), x), input);
      case 'residual': {
        visit(l.body, full(path, 'body'), input);
        if (l.shortcut) visit(l.shortcut, full(path, 'shortcut'), input);
        return path;
      }
      case 'graph': {
        const acts = new Map<string, string>([['input', input]]);
        for (const n of l.nodes) {
          const np = full(path, n.name);
          acts.set(n.name, n.inputs.length === 1 ? visit(n.layer, np, acts.get(n.inputs[0]!)!) : np);
        }
        return acts.get(l.output)!;
      }
      default: return path;
    }
  };
  visit(spec.net, '', 'input');
  return [...groups].map(([input, layers]) => ({ input, layers }));
}
