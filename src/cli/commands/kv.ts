/**
 * `lithe kv profile | search | eval`: KV-cache quantization (KIVI-style cache, KVTuner search) from the command line.
 * Quality is measured by the batched evaluator (quant/kv/evaluate.ts), which equals decoding through the cache.
 */
import { createProgress } from '../progress.js';
import { CommonFlags, Context, openModel } from './common.js';
import { CANDIDATE_PAIRS, DEFAULT_CALIBRATION, DecoderModel, InputError, KV_SCHEMES, KvPair, KvQuantConfig, KvScheme, LayerProfile, OptionError, QualityAccumulator, SafeOutput, adaptiveSpace, assetPath, cpuBackendOf, defaultGroupCount, evalInputs, evaluateConfig, floatReference, keyValueFinding, kvEvaluate, markdownTable, meanBits, pairName, parsePair, presetFile, profileLayers, prunePairs, readDocuments, readPreset, requireCpu, requireTokenizer, sampleCalibration, schemeDefaults, searchPreset, serializePreset, validateKvConfig, vanillaSpace } from '../../index.js';

export interface KvSchemeFlags {
  scheme?: string;
  group?: number;
  residual?: number;
  zeroPoint?: string;
}

export interface KvCalibFlags extends CommonFlags, KvSchemeFlags {
  /** replace an existing --out file */
  force?: boolean;
  calib?: string;
  nsamples: number;
  seqlen?: number;
  seed: number;
}

/** Scheme settings from flags (KVTuner's defaults per scheme), checked against the model. */
export function kvBase(flags: KvSchemeFlags, model: DecoderModel): Omit<KvQuantConfig, 'layers'> {
  const scheme = (flags.scheme ?? 'kivi') as KvScheme;
  if (!KV_SCHEMES.includes(scheme)) throw new OptionError('--scheme', `expected ${KV_SCHEMES.join(' or ')}, got "${flags.scheme}"`);
  if (flags.zeroPoint !== undefined && flags.zeroPoint !== 'float' && flags.zeroPoint !== 'rounded') throw new OptionError('--zero-point', `expected float or rounded, got "${flags.zeroPoint}"`);
  const d = schemeDefaults(scheme);
  const base = { scheme, group: flags.group ?? d.group, residual: flags.residual ?? d.residual, zeroPoint: (flags.zeroPoint ?? 'float') as 'float' | 'rounded' };
  validateKvConfig({ ...base, layers: [] }, 0, model.config.headDim, '--scheme/--group/--residual');
  return base;
}

/** --config FILE or --bits PAIR (uniform). */
export function kvConfigFrom(flags: KvSchemeFlags & { config?: string; bits?: string }, model: DecoderModel, names = { config: '--config', bits: '--bits' }): KvQuantConfig {
  const c = model.config;
  if (flags.config && flags.bits) throw new OptionError(names.config, `give ${names.config} or ${names.bits}, not both`);
  if (flags.config) return readPreset(flags.config, c.nLayers, c.headDim, { scheme: (flags.scheme ?? 'kivi') as KvScheme, group: flags.group, residual: flags.residual });
  if (!flags.bits) throw new OptionError(names.bits, `give ${names.bits} (e.g. K8V4) or ${names.config} preset.json`);
  const base = kvBase(flags, model);
  const pair = parsePair(flags.bits, names.bits);
  const config = { ...base, layers: Array.from({ length: c.nLayers }, () => ({ ...pair })) };
  validateKvConfig(config, c.nLayers, c.headDim, names.bits);
  return config;
}

function calibrationWindows(model: DecoderModel, flags: KvCalibFlags): { windows: Int32Array[]; source: string; seqlen: number } {
  const tok = requireTokenizer(model);
  const source = flags.calib ?? assetPath(DEFAULT_CALIBRATION);
  const seqlen = flags.seqlen ?? Math.min(256, model.config.maxSeqLen);
  if (seqlen > model.config.maxSeqLen) throw new OptionError('--seqlen', `${seqlen} exceeds the model's context length ${model.config.maxSeqLen}`);
  const set = sampleCalibration(tok, readDocuments(source), { nsamples: flags.nsamples, seqlen, seed: flags.seed, source });
  return { windows: set.windows, source, seqlen };
}

function profileTable(profiles: LayerProfile[], kept: KvPair[][]): string {
  const pairs = profiles[0]!.pairs.map((p) => p.pair);
  return markdownTable(['layer', ...pairs.map((p) => `${p} attn err / KL`)], profiles.map((lp, l) => [
    String(l), ...lp.pairs.map((p) => `${p.attnErr.toFixed(4)} / ${p.kl.toExponential(2)}${kept[l]!.some((k) => pairName(k) === p.pair) ? ' *' : ''}`),
  ]));
}

export interface KvProfileFlags extends KvCalibFlags {
  out?: string;
}

async function runProfile(model: DecoderModel, base: Omit<KvQuantConfig, 'layers'>, ctx: Context, windows: Int32Array[]): Promise<LayerProfile[]> {
  const bar = createProgress('kv profile', model.config.nLayers * CANDIDATE_PAIRS.length * windows.length, 'runs', ctx.out.json);
  try {
    return await profileLayers(model, windows, { base, signal: ctx.signal, onStep: (d) => bar.update(d) });
  } finally {
    bar.stop();
  }
}

/** The --out file of kv profile / search, checked and locked before any work. */
function kvOutput(modelPath: string, flags: KvCalibFlags & { out?: string }): SafeOutput | undefined {
  return flags.out ? SafeOutput.file(flags.out, { force: flags.force, inputs: [modelPath, flags.calib, flags.tokenizer] }) : undefined;
}

export async function kvProfileCommand(modelPath: string, flags: KvProfileFlags, ctx: Context): Promise<void> {
  requireCpu(flags.backend, 'KV-cache quantization (its packed cache lives in the wasm memory)');
  const out = kvOutput(modelPath, flags);
  try {
    await kvProfile(modelPath, flags, ctx, out);
  } finally {
    out?.discard();
  }
}

async function kvProfile(modelPath: string, flags: KvProfileFlags, ctx: Context, out: SafeOutput | undefined): Promise<void> {
  const model = await openModel(modelPath, flags);
  try {
    cpuBackendOf(model);
    const { windows, source, seqlen } = calibrationWindows(model, flags);
    const t0 = performance.now();
    const base = kvBase(flags, model);
    const profiles = await runProfile(model, base, ctx, windows);
    const seconds = (performance.now() - t0) / 1000;
    const kept = prunePairs(profiles);
    const groups = adaptiveSpace(profiles, defaultGroupCount(model.config.nLayers));
    ctx.out.line(`sensitivity of each layer alone (others at 16 bits): relative error of its attention output / KL of next-token distributions; * = kept by Pareto pruning`);
    ctx.out.line(profileTable(profiles, kept));
    ctx.out.line(`keys vs values: ${keyValueFinding(profiles)}`);
    ctx.out.line(`layer groups (${groups.groups.length}): ${groups.groups.map((g, i) => `[${g.join(',')}] ${groups.templates[i]!.map(pairName).join('/')}`).join('  ')}`);
    ctx.out.line(`${windows.length} windows of ${seqlen} tokens from ${source}; ${seconds.toFixed(1)} s`);
    const result = { model: modelPath, calib: source, nsamples: windows.length, seqlen, base, profiles, pareto: kept.map((k) => k.map(pairName)), groups: groups.groups, templates: groups.templates.map((t) => t.map(pairName)), seconds };
    out?.write(JSON.stringify(result, null, 2) + '\n');
    ctx.out.result(result);
  } finally {
    await model.backend.dispose();
  }
}

export interface KvSearchFlags extends KvCalibFlags {
  budget: number;
  trials: number;
  population: number;
  groups?: number;
  vanilla?: boolean;
  objective: string;
  profile?: string;
  out: string;
}

export async function kvSearchCommand(modelPath: string, flags: KvSearchFlags, ctx: Context): Promise<void> {
  requireCpu(flags.backend, 'KV-cache quantization (its packed cache lives in the wasm memory)');
  if (!flags.out) throw new OptionError('--out', 'required: where to write the preset (.json or .yaml)');
  if (flags.objective !== 'kl' && flags.objective !== 'ppl') throw new OptionError('--objective', `expected kl or ppl, got "${flags.objective}"`);
  if (!(flags.budget >= 2 && flags.budget <= 16)) throw new OptionError('--budget', `mean bits must be within [2, 16], got ${flags.budget}`);
  const out = kvOutput(modelPath, flags)!;
  try {
    await kvSearch(modelPath, flags, ctx, out);
  } finally {
    out.discard();
  }
}

async function kvSearch(modelPath: string, flags: KvSearchFlags, ctx: Context, out: SafeOutput): Promise<void> {
  const model = await openModel(modelPath, flags);
  try {
    cpuBackendOf(model);
    const c = model.config, base = kvBase(flags, model);
    const { windows, source, seqlen } = calibrationWindows(model, flags);
    const t0 = performance.now();
    let profiles: LayerProfile[] | null = null;
    if (!flags.vanilla) profiles = await runProfile(model, base, ctx, windows);
    const profileSeconds = (performance.now() - t0) / 1000;
    const space = profiles ? adaptiveSpace(profiles, flags.groups ?? defaultGroupCount(c.nLayers)) : vanillaSpace(c.nLayers);
    ctx.out.line(`search space: ${space.groups.length} variables, ${space.templates.reduce((a, t) => a * t.length, 1)} configurations`);
    const reference = await floatReference(model, windows, ctx.signal);
    const bar = createProgress('kv search', flags.trials, 'trials', ctx.out.json);
    const r = await searchPreset(space, c.nLayers, {
      budget: flags.budget, trials: flags.trials, populationSize: flags.population, seed: flags.seed,
      loss: async (layers) => {
        const q = await evaluateConfig(model, windows, reference, { config: { ...base, layers }, prefill: 0, forceQuant: false }, ctx.signal);
        return flags.objective === 'kl' ? q.kl : q.nll;
      },
      onTrial: (d, _t, best) => bar.update(d, best === null ? undefined : { value: best, unit: `best ${flags.objective}` }),
    });
    bar.stop();
    if (!r.best) throw new InputError(`no configuration of the search space fits --budget ${flags.budget} (the lowest is ${Math.min(...space.templates.map((t) => Math.min(...t.map((p) => (p.k + p.v) / 2))))} bits)`);
    const preset = { ...base, layers: r.best.layers };
    const search = {
      method: flags.vanilla ? 'vanilla' : 'kvtuner', budget: flags.budget, objective: flags.objective, loss: r.best.loss, trials: r.trials, offspring: r.offspring,
      population: flags.population, seed: flags.seed, calib: source, nsamples: windows.length, seqlen, groups: r.space.groups, templates: r.space.templates,
      profile_s: profileSeconds, search_s: r.seconds, front: r.front,
    };
    out.write(serializePreset(presetFile(preset, { model: modelPath, search }), flags.out));
    ctx.out.line(`preset: ${preset.layers.map(pairName).join(' ')} (mean ${meanBits(preset.layers).toFixed(3)} bits, ${flags.objective} ${r.best.loss.toExponential(3)})`);
    ctx.out.line(`Pareto front (${r.front.length}): ${r.front.map((f) => `${f.meanBits.toFixed(2)}b ${f.loss.toExponential(2)}`).join(', ')}`);
    ctx.out.line(`${r.trials} configurations evaluated (${r.offspring} bred) in ${r.seconds.toFixed(1)} s; profile ${profileSeconds.toFixed(1)} s; wrote ${flags.out}`);
    ctx.out.result({ model: modelPath, out: flags.out, layers: preset.layers.map(pairName), mean_bits: meanBits(preset.layers), ...search });
  } finally {
    await model.backend.dispose();
  }
}

export interface KvEvalFlags extends CommonFlags, KvSchemeFlags {
  config?: string;
  bits?: string;
  data?: string;
  seqlen?: number;
  maxWindows: number;
  prefill: number;
  forceQuant?: boolean;
  continuations: number;
  promptTokens: number;
  genTokens: number;
}

export async function kvEvalCommand(modelPath: string, flags: KvEvalFlags, ctx: Context): Promise<void> {
  requireCpu(flags.backend, 'KV-cache quantization (its packed cache lives in the wasm memory)');
  const model = await openModel(modelPath, flags);
  try {
    cpuBackendOf(model);
    const config = kvConfigFrom(flags, model);
    const { data, seqlen, windows, continuations } = await evalInputs(model, flags);
    if (flags.prefill >= seqlen) throw new OptionError('--prefill', `${flags.prefill} must be below --seqlen ${seqlen}`);
    const t0 = performance.now();
    const reference = await floatReference(model, windows, ctx.signal);
    const fp = new QualityAccumulator();
    windows.forEach((w, i) => fp.add(w, reference[i]!, reference[i]!, model.config.vocabSize, flags.prefill));
    const r = await kvEvaluate(model, config, windows, reference, fp.result(), { prefill: flags.prefill, forceQuant: !!flags.forceQuant, continuations, signal: ctx.signal });
    const seconds = (performance.now() - t0) / 1000;
    const fp32 = 2 * model.config.nLayers * model.config.nKVHeads * model.config.headDim * 4;
    ctx.out.line(markdownTable(['config', 'mean bits', 'bytes/token', 'vs fp32', 'ppl fp', 'ppl', 'delta', 'KL', 'top-1', 'greedy top-1', 'greedy prefix'], [[
      r.config, r.mean_bits.toFixed(2), r.bytes_per_token.toFixed(0), `${(fp32 / r.bytes_per_token).toFixed(2)}x`, r.fp_ppl.toFixed(3), r.ppl.toFixed(3),
      `${r.ppl_delta_pct >= 0 ? '+' : ''}${r.ppl_delta_pct.toFixed(2)}%`, r.kl.toExponential(2), r.top1.toFixed(4), r.greedy_top1.toFixed(4), r.greedy_match_prefix.toFixed(3),
    ]]));
    ctx.out.line(`${windows.length} windows of ${seqlen} tokens from ${data} (prefill ${flags.prefill}${flags.forceQuant ? ', force_quant' : ''}); ${continuations.length} greedy continuations; ${seconds.toFixed(1)} s`);
    ctx.out.result({ model: modelPath, data, seqlen, windows: windows.length, scheme: config.scheme, group: config.group, residual: config.residual, layers: config.layers.map(pairName), ...r, seconds });
  } finally {
    await model.backend.dispose();
  }
}
