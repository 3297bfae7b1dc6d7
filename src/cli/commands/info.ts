import type { CommonFlags, Context } from './common.js';
import { checkModelTensors, readModelFiles } from '../../index.js';

export async function infoCommand(modelPath: string, flags: CommonFlags, ctx: Context): Promise<void> {
  const f = await readModelFiles(modelPath, { tokenizer: flags.tokenizer });
  // the loader's checks (names, shapes against the config, finite values); packed linears count rows x cols
  const params = checkModelTensors(f.config, f.tensors, f.source.path, f.packed);
  const dtypes = new Map<string, number>();
  let stored = 0;
  for (const t of f.tensors.values()) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    stored += n;
    dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + n);
  }
  // the linears (tensors of the layers' *_proj modules, whatever their storage) against everything else
  let linearBytes = 0, otherParams = 0;
  const linearDtypes = new Set<string>();
  for (const [name, t] of f.tensors) {
    if (/\.layers\.\d+\..*_proj\.(weight|qweight|scales|zeros|sparse_\w+)$/.test(name)) {
      linearBytes += t.data.byteLength;
      if (name.endsWith('.weight')) linearDtypes.add(t.dtype);
    } else {
      otherParams += t.shape.reduce((a, b) => a * b, 1);
    }
  }
  const linearParams = params - otherParams;
  const p = f.packed;
  const linearStorage = !p ? `dense ${[...linearDtypes].join('/')}`
    : 'layout' in p ? `sparse ${p.layout === 'nm' ? `${p.n}:${p.m}` : p.layout}, ${p.values === 'f32' ? 'float32 values' : `${p.values === 'q8' ? 'int8' : 'int4'} codes, group ${p.group}`}`
      : `packed int${p.container} codes (${p.bits}-bit grid), group ${p.group > 0 ? p.group : 'per channel'}`;
  const c = f.config;
  const rows: [string, string | number][] = [
    ['path', f.source.path], ['format', f.source.format], ['architecture', c.arch], ['parameters', params.toLocaleString('en-US')],
    ['storage', [...dtypes].map(([d, n]) => `${d} ${(100 * n / stored).toFixed(1)}%`).join(', ')],
    ['linear storage', `${linearStorage}: ${(linearBytes / linearParams).toFixed(3)} bytes per weight (${(linearBytes / 2 ** 20).toFixed(2)} MiB for ${linearParams.toLocaleString('en-US')} weights)`],
    ['hidden size', c.dim], ['layers', c.nLayers], ['heads / kv heads / head dim', `${c.nHeads} / ${c.nKVHeads} / ${c.headDim}`],
    ['intermediate size', c.hiddenDim], ['vocabulary', c.vocabSize], ['context', c.maxSeqLen],
    ['rope', `theta ${c.ropeTheta}, ${c.neoxRope ? 'rotate-half' : 'adjacent pairs'}${c.ropeScaling ? `, ${c.ropeScaling.type} x${c.ropeScaling.factor}` : ''}`],
    ['qkv bias', String(c.qkvBias)], ['tied embeddings', String(c.tiedEmbeddings)], ['sliding window', c.slidingWindow || 'none'],
    ['tokenizer', f.tokenizer ? `${f.tokenizer.vocabSize} tokens, bos ${f.tokenizer.bosId}, eos ${f.tokenizer.eosIds.join(',')}` : 'none'],
  ];
  for (const [k, v] of rows) ctx.out.line(`${k.padEnd(28)} ${v}`);
  ctx.out.result({ path: f.source.path, format: f.source.format, parameters: params, linear_storage: linearStorage, linear_bytes: linearBytes, linear_bytes_per_weight: linearBytes / linearParams, config: c, tokenizer_vocab: f.tokenizer?.vocabSize ?? null });
}
