/** `lithe stereo LEFT RIGHT` (one pair -> disparity PNG) and `lithe stereo eval [DIR]` (Middlebury table). */
import path from 'node:path';
import { defaultThreads } from '../options.js';
import type { Context } from './common.js';
import { BadPixelRates, COSTS, CostName, DEFAULT_STEREO_DATASET, DEFAULT_STEREO_OPTIONS, OptionError, SafeOutput, StereoOptions, StereoResult, Subpixel, WasmStereoKernels, assetPath, badPixelRates, cancellationPoint, checkPair, disparityPreview, encodePng, evaluationMasks, inferGtScale, markdownTable, matchStereo, penalties, readDataset, readGray, readGroundTruth, requireCpu, toFixed16 } from '../../index.js';

export interface StereoFlags {
  maxDisp?: number;
  cost: string;
  paths: number;
  p1?: number;
  p2?: number;
  adaptiveP2?: boolean;
  uniqueness: number;
  subpixel: string;
  lrCheck: boolean;
  lrMaxDiff: number;
  speckleSize: number;
  speckleRange: number;
  fill: boolean;
  median: boolean;
  censusWindow: string;
  censusSymmetric?: boolean;
  rankWindow: string;
  rankRegions: string;
  aggregate?: number;
  sadAggregate?: number;
  t1?: number;
  t2?: number;
  lambda: number;
  threads?: number;
  backend?: string;
  json?: boolean;
}

function parseWindow(flag: string, v: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(v.trim());
  if (!m) throw new OptionError(flag, `expected WxH (e.g. 9x7), got "${v}"`);
  return [Number(m[1]), Number(m[2])];
}

/** Options for one cost from the flags; --max-disp may be left to the caller (eval uses each pair's range). */
export function stereoOptionsFromFlags(f: StereoFlags, cost: string, maxDisp: number): StereoOptions {
  if (!(COSTS as readonly string[]).includes(cost)) throw new OptionError('--cost', `expected one of ${COSTS.join(', ')}, got "${cost}"`);
  if (!['none', 'parabola', 'equiangular'].includes(f.subpixel)) throw new OptionError('--subpixel', `expected none, parabola or equiangular, got "${f.subpixel}"`);
  if (f.rankRegions !== 'quadrants' && f.rankRegions !== 'octants') throw new OptionError('--rank-regions', `expected quadrants or octants, got "${f.rankRegions}"`);
  return {
    ...DEFAULT_STEREO_OPTIONS,
    cost: cost as CostName, maxDisp, paths: f.paths as 4 | 8 | 16, P1: f.p1, P2: f.p2, adaptiveP2: !!f.adaptiveP2,
    uniqueness: f.uniqueness, subpixel: f.subpixel as Subpixel, lrMaxDiff: f.lrCheck ? f.lrMaxDiff : -1, speckleSize: f.speckleSize,
    speckleRange: f.speckleRange, fill: f.fill, median: f.median,
    censusWindow: parseWindow('--census-window', f.censusWindow), censusSymmetric: !!f.censusSymmetric,
    rankWindow: parseWindow('--rank-window', f.rankWindow), rankRegions: f.rankRegions, aggregate: f.aggregate,
    sadAggregate: f.sadAggregate, t1: f.t1, t2: f.t2, lambda: f.lambda,
  };
}

function describe(o: StereoOptions): Record<string, unknown> {
  const [P1, P2] = penalties(o);
  return { cost: o.cost, paths: o.paths, maxDisp: o.maxDisp, P1, P2, adaptiveP2: o.adaptiveP2, uniqueness: o.uniqueness, lrMaxDiff: o.lrMaxDiff };
}

export interface StereoCommandFlags extends StereoFlags {
  out?: string;
  preview?: string;
  gt?: string;
  gtScale?: number;
  /** replace existing --out / --preview files */
  force?: boolean;
}

function checkPngName(flag: string, file: string | undefined): void {
  if (file !== undefined && !file.toLowerCase().endsWith('.png')) throw new OptionError(flag, `expected a .png file name, got "${file}"`);
}

export async function stereoCommand(leftFile: string, rightFile: string, f: StereoCommandFlags, ctx: Context): Promise<void> {
  requireCpu(f.backend, 'stereo matching');
  if (f.out === undefined) throw new OptionError('--out', 'required: the disparity PNG to write');
  checkPngName('--out', f.out);
  checkPngName('--preview', f.preview);
  const inputs = [leftFile, rightFile, f.gt];
  const outputs: SafeOutput[] = [];
  try {
    outputs.push(SafeOutput.file(f.out, { force: f.force, inputs }));
    if (f.preview) outputs.push(SafeOutput.file(f.preview, { force: f.force, inputs }));
    await stereoPair(leftFile, rightFile, f, ctx, outputs[0]!, outputs[1]);
  } finally {
    for (const o of outputs) o.discard();
  }
}

async function stereoPair(leftFile: string, rightFile: string, f: StereoCommandFlags, ctx: Context, out: SafeOutput, preview: SafeOutput | undefined): Promise<void> {
  const left = readGray(leftFile), right = readGray(rightFile);
  checkPair(leftFile, left, rightFile, right);
  const options = stereoOptionsFromFlags(f, f.cost, f.maxDisp ?? 64);
  if (f.gtScale !== undefined && !f.gt) throw new OptionError('--gt-scale', 'applies to --gt only');
  const gtScale = f.gt ? f.gtScale ?? inferGtScale(f.gt) : null;
  if (f.gt && gtScale === null) {
    throw new OptionError('--gt-scale', `required for ${f.gt}: its disparity scale is not in a dataset.json or a Middlebury layout (e.g. 4 for teddy/cones, 8 venus, 16 tsukuba; 1 = values in pixels)`);
  }
  const gt = f.gt ? readGroundTruth(f.gt, gtScale!) : undefined;
  if (gt && (gt.width !== left.width || gt.height !== left.height)) {
    throw new OptionError('--gt', `${f.gt}: size ${gt.width}x${gt.height} differs from the images (${left.width}x${left.height})`);
  }
  const k = await WasmStereoKernels.create({ threads: f.threads ?? defaultThreads() });
  let res: StereoResult;
  try {
    res = matchStereo(k, { width: left.width, height: left.height, left: left.data, right: right.data }, options);
  } finally {
    await k.dispose();
  }
  out.write(encodePng(res.width, res.height, 1, toFixed16(res.disparity)));
  preview?.write(encodePng(res.width, res.height, 3, disparityPreview(res.disparity, options.maxDisp)));
  const masks = gt ? evaluationMasks(gt) : undefined;
  const metrics = gt ? [0.5, 1, 2].map((t) => badPixelRates(res.disparity, gt, masks!, t)) : undefined;
  const t = res.timings;
  ctx.out.line(`${leftFile} ${res.width}x${res.height}, ${options.maxDisp} disparities, ${options.cost}, ${options.paths} paths, ${k.description}`);
  ctx.out.line(`${t.total.toFixed(1)} ms (cost ${t.cost.toFixed(1)}, aggregation ${t.aggregate.toFixed(1)}, WTA ${t.wta.toFixed(1)}, refinement ${t.refine.toFixed(1)}); ${(100 * res.validFraction).toFixed(1)}% valid before filling`);
  if (metrics) for (const m of metrics) ctx.out.line(`bad > ${m.threshold}: nonocc ${m.nonocc.toFixed(2)}%, all ${m.all.toFixed(2)}%, disc ${m.disc.toFixed(2)}%`);
  ctx.out.line(`wrote ${f.out} (16-bit PNG, disparity x 16, 0 = invalid)${f.preview ? ` and ${f.preview}` : ''}`);
  ctx.out.result({ command: 'stereo', left: leftFile, right: rightFile, width: res.width, height: res.height, ...describe(options),
    threads: k.threads, timingsMs: t, validFraction: res.validFraction, out: f.out, preview: f.preview ?? null, gtScale, badPixels: metrics ?? null });
}

export interface StereoEvalFlags extends StereoFlags {
  threshold: number;
  border: number;
  outDir?: string;
  /** replace existing maps in --out-dir */
  force?: boolean;
}

export interface StereoEvalRow {
  pair: string;
  cost: string;
  maxDisp: number;
  width: number;
  height: number;
  badPixels: BadPixelRates[];
  ms: number;
  validFraction: number;
}

export async function stereoEvalCommand(dir: string | undefined, f: StereoEvalFlags, ctx: Context): Promise<void> {
  requireCpu(f.backend, 'stereo matching');
  const root = dir ?? assetPath(DEFAULT_STEREO_DATASET);
  const pairs = readDataset(root);
  const costs = f.cost.split(',').map((c) => c.trim());
  for (const c of costs) stereoOptionsFromFlags(f, c, 64); // fail on bad flags before any work
  const thresholds = [...new Set([0.5, 1, 2, f.threshold])].sort((a, b) => a - b);
  // every map --out-dir will hold, checked and locked before any work
  const maps = new Map<string, SafeOutput>();
  try {
    if (f.outDir) {
      const inputs = pairs.flatMap((p) => [p.left, p.right, p.gt]);
      for (const p of pairs) for (const cost of costs) maps.set(`${p.name}-${cost}`, SafeOutput.file(path.join(f.outDir, `${p.name}-${cost}.png`), { force: f.force, inputs }));
    }
    await stereoEval(root, pairs, costs, thresholds, f, ctx, maps);
  } finally {
    for (const o of maps.values()) o.discard();
  }
}

async function stereoEval(root: string, pairs: ReturnType<typeof readDataset>, costs: string[], thresholds: number[], f: StereoEvalFlags, ctx: Context,
  maps: Map<string, SafeOutput>): Promise<void> {
  const k = await WasmStereoKernels.create({ threads: f.threads ?? defaultThreads() });
  const rows: StereoEvalRow[] = [];
  try {
    for (const p of pairs) {
      const left = readGray(p.left), right = readGray(p.right);
      checkPair(p.left, left, p.right, right);
      const gt = readGroundTruth(p.gt, p.gtScale);
      const masks = evaluationMasks(gt, f.border);
      for (const cost of costs) {
        await cancellationPoint(ctx.signal);
        const options = stereoOptionsFromFlags(f, cost, f.maxDisp ?? p.maxDisp);
        const res = matchStereo(k, { width: left.width, height: left.height, left: left.data, right: right.data }, options);
        maps.get(`${p.name}-${cost}`)?.write(encodePng(res.width, res.height, 1, toFixed16(res.disparity)));
        const badPixels = thresholds.map((t) => badPixelRates(res.disparity, gt, masks, t));
        rows.push({ pair: p.name, cost, maxDisp: options.maxDisp, width: res.width, height: res.height, badPixels, ms: res.timings.total, validFraction: res.validFraction });
        const b = badPixels.find((m) => m.threshold === f.threshold)!;
        ctx.out.line(`${p.name} ${cost}: nonocc ${b.nonocc.toFixed(2)}% all ${b.all.toFixed(2)}% disc ${b.disc.toFixed(2)}% (${res.timings.total.toFixed(0)} ms)`);
      }
    }
  } finally {
    await k.dispose();
  }
  const table = stereoTable(rows, pairs.map((p) => p.name), costs, f.threshold);
  ctx.out.line();
  ctx.out.line(`bad pixels > ${f.threshold} px, % nonocc / all / disc (${f.paths} paths, ${k.description}${f.border ? `, ${f.border}-px border ignored` : ''}):`);
  ctx.out.line(table);
  const averages = Object.fromEntries(costs.map((c) => [c, averageBad(rows.filter((r) => r.cost === c), f.threshold)]));
  ctx.out.result({ command: 'stereo eval', dataset: root, threshold: f.threshold, paths: f.paths, threads: k.threads, rows, averages });
}

/** Mean of the 12 numbers (pairs x nonocc/all/disc): Middlebury v2's single score. */
export function averageBad(rows: StereoEvalRow[], threshold: number): number {
  const v = rows.flatMap((r) => {
    const b = r.badPixels.find((m) => m.threshold === threshold)!;
    return [b.nonocc, b.all, b.disc];
  });
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
}

export function stereoTable(rows: StereoEvalRow[], pairs: string[], costs: string[], threshold: number): string {
  const body = costs.map((c) => {
    const cells = pairs.map((p) => {
      const r = rows.find((x) => x.pair === p && x.cost === c);
      const b = r?.badPixels.find((m) => m.threshold === threshold);
      return b ? `${b.nonocc.toFixed(2)} / ${b.all.toFixed(2)} / ${b.disc.toFixed(2)}` : '';
    });
    const ms = pairs.map((p) => rows.find((x) => x.pair === p && x.cost === c)?.ms.toFixed(0) ?? '').join(' / ');
    return [c, ...cells, averageBad(rows.filter((r) => r.cost === c), threshold).toFixed(2), ms];
  });
  return markdownTable(['cost', ...pairs, 'average', 'ms per pair'], body);
}
