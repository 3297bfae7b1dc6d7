import { defaultThreads } from '../options.js';
import { createProgress } from '../progress.js';
import type { CommonFlags, Context } from './common.js';
import { CancelledError, PRUNE_METHODS, InputError, LitheError, OptionError, ReportConfig, SafeOutput, machineDescription, parseNM, reportGrid, reportMarkdown, runReport } from '../../index.js';

export interface ReportFlags extends CommonFlags {
  methods: string;
  inits: string;
  sparsities: string;
  nm: string;
  owl?: boolean;
  dsnotVariants: string;
  cyclesPerColumn: number;
  eval: string;
  evalSeqlen?: number;
  maxWindows?: number;
  calib?: string;
  calibWindows?: string;
  nsamples?: number;
  seqlen?: number;
  seed?: number;
  jobs: number;
  out: string;
  /** replace existing PREFIX.md / PREFIX.json */
  force?: boolean;
}

const INITS = ['wanda', 'magnitude', 'sparsegpt', 'sparsegpt-reference'];
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

export async function reportCommand(kind: string, model: string, f: ReportFlags, ctx: Context): Promise<void> {
  if (kind !== 'prune') throw new OptionError('report', `unknown report "${kind}" (available: prune)`);
  const methods = list(f.methods);
  for (const m of methods) if (!PRUNE_METHODS.some((x) => x.name === m)) throw new OptionError('--methods', `unknown method "${m}" (registered: ${PRUNE_METHODS.map((x) => x.name).join(', ')})`);
  const sparsities = list(f.sparsities).map(Number);
  for (const s of sparsities) if (!(s > 0 && s < 1)) throw new OptionError('--sparsities', `each must be in (0, 1), got ${s}`);
  const nms = list(f.nm);
  nms.forEach(parseNM);
  const variants = list(f.dsnotVariants);
  for (const v of variants) if (!['reference', 'width', 'guard', 'width+guard'].includes(v)) throw new OptionError('--dsnot-variants', `unknown variant "${v}"`);
  const inits = list(f.inits);
  for (const i of inits) if (!INITS.includes(i)) throw new OptionError('--inits', `unknown initial mask "${i}" (expected ${INITS.join(', ')})`);
  const configs = reportGrid({ methods, inits, sparsities, nms, owl: !!f.owl, dsnotVariants: variants, cyclesPerColumn: f.cyclesPerColumn });
  const evalFiles = list(f.eval);
  const inputs = [model, ...evalFiles, f.calib, f.calibWindows];
  const outputs: SafeOutput[] = [];
  try {
    outputs.push(SafeOutput.file(`${f.out}.md`, { force: f.force, inputs }));
    outputs.push(SafeOutput.file(`${f.out}.json`, { force: f.force, inputs }));
    await pruneReport(model, f, ctx, configs, evalFiles, outputs[0]!, outputs[1]!);
  } finally {
    for (const o of outputs) o.discard();
  }
}

async function pruneReport(model: string, f: ReportFlags, ctx: Context, configs: ReportConfig[], evalFiles: string[], mdOut: SafeOutput, jsonOut: SafeOutput): Promise<void> {
  const calibArgs = [...(f.calib ? ['--calib', f.calib] : []), ...(f.calibWindows ? ['--calib-windows', f.calibWindows] : []),
    ...(f.nsamples ? ['--nsamples', String(f.nsamples)] : []), ...(f.seqlen ? ['--seqlen', String(f.seqlen)] : []), ...(f.seed !== undefined ? ['--seed', String(f.seed)] : [])];
  const threads = f.threads ?? Math.max(1, Math.floor(defaultThreads() / f.jobs));
  ctx.out.line(`${configs.length + 1} runs (dense + ${configs.length} pruned), ${f.jobs} at a time with ${threads} threads each`);
  const bar = createProgress('report', configs.length + 1, 'runs');
  const rows = await runReport(configs, { model, evalFiles, evalSeqlen: f.evalSeqlen, maxWindows: f.maxWindows, calibArgs, jobs: f.jobs, threads, signal: ctx.signal,
    onRow: (r, d) => { bar.update(d); if (r.error) process.stderr.write(`  ${r.setting} ${r.label}: ${r.error}\n`); } });
  bar.stop();
  if (ctx.signal.aborted) throw new CancelledError();
  const md = `# Pruning report: ${model}\n\n${machineDescription()}; calibration ${calibArgs.join(' ') || 'defaults'}; evaluation seqlen ${f.evalSeqlen ?? 'default'}${f.maxWindows ? `, first ${f.maxWindows} windows` : ''}\n\n${reportMarkdown(rows, evalFiles)}\n`;
  mdOut.write(md);
  jsonOut.write(JSON.stringify({ model, evalFiles, calibArgs, rows }, null, 2));
  ctx.out.line(md);
  ctx.out.line(`wrote ${f.out}.md and ${f.out}.json`);
  ctx.out.result({ report: 'prune', out: f.out, rows });
  const failed = rows.filter((r) => r.error !== undefined);
  if (failed.length) {
    // exit 2 when every failed run was refused as bad input (e.g. an N:M the widths do not allow), 1 when one failed internally
    const internal = failed.some((r) => r.exitCode !== 2);
    const message = `${failed.length} of ${rows.length} runs failed (reasons in ${f.out}.md)`;
    throw internal ? new LitheError(message) : new InputError(message);
  }
}
