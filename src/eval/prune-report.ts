/**
 * The pruning comparison table: dense and every requested (method, initial mask, variant, sparsity) on the same
 * calibration set, each evaluated on the same texts. Each configuration runs as its own `lithe prune` process
 * (fresh model, nothing shared), `jobs` at a time, so a many-core machine runs the grid in parallel. When the
 * dense run fails or the report is cancelled, the running children are stopped and awaited before it returns.
 * Pruned folders go to os.tmpdir()/lithe-report-PID-*; folders of reports that no longer run are removed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable } from '../util/table.js';
import { removeDeadProcessEntries } from '../io/safe-write.js';
import { InputError, LitheError } from '../util/errors.js';

const BIN = fileURLToPath(new URL('../../../bin/lithe.js', import.meta.url));

export interface ReportConfig {
  label: string;
  method: string;
  init: string | null;
  variant: string;
  setting: string;
  /** flags for `lithe prune` */
  args: string[];
}

export interface GridOptions {
  methods: string[];
  inits: string[];
  sparsities: number[];
  nms: string[];
  owl: boolean;
  /** reference | width | guard | width+guard */
  dsnotVariants: string[];
  /** swap budget per column for the width-aware variant */
  cyclesPerColumn: number;
}

export function reportGrid(g: GridOptions): ReportConfig[] {
  const out: ReportConfig[] = [];
  const settings: [string, string[]][] = [...g.sparsities.map((s) => [`${Math.round(s * 100)}%`, ['--sparsity', String(s)]] as [string, string[]]),
    ...g.nms.map((nm) => [nm, ['--nm', nm]] as [string, string[]])];
  const variantArgs: Record<string, string[]> = {
    reference: [], width: ['--dsnot-cycles-per-column', String(g.cyclesPerColumn)], guard: ['--dsnot-error-guard'],
    'width+guard': ['--dsnot-cycles-per-column', String(g.cyclesPerColumn), '--dsnot-error-guard'],
  };
  for (const [setting, sargs] of settings) {
    for (const m of g.methods.filter((x) => x !== 'dsnot')) out.push({ label: m, method: m, init: null, variant: 'reference', setting, args: ['--method', m, ...sargs] });
    if (g.methods.includes('dsnot')) {
      for (const init of g.inits) for (const v of g.dsnotVariants) {
        out.push({ label: `DSnoT on ${init}${v === 'reference' ? '' : ` (${v})`}`, method: 'dsnot', init, variant: v, setting, args: ['--method', 'dsnot', '--init', init, ...variantArgs[v]!, ...sargs] });
      }
    }
    if (g.owl && !setting.includes(':')) {
      for (const m of g.methods.filter((x) => x !== 'magnitude')) {
        const extra = m === 'dsnot' ? ['--init', 'wanda'] : [];
        out.push({ label: `OWL + ${m === 'dsnot' ? 'DSnoT on wanda' : m}`, method: m, init: m === 'dsnot' ? 'wanda' : null, variant: 'owl', setting, args: ['--method', m, ...extra, '--owl', ...sargs] });
      }
    }
  }
  return out;
}

export interface ReportRow {
  label: string;
  setting: string;
  method: string;
  init: string | null;
  variant: string;
  sparsity: number;
  ppl: Record<string, number>;
  maskSha256: string | null;
  seconds: { stats: number; method: number; forward: number } | null;
  error?: string;
  /** exit code of the failed run (2: refused as bad input) */
  exitCode?: number | null;
}

/** A `lithe` child that did not succeed; exitCode null when it was killed or never started. */
export class ChildError extends Error {
  constructor(message: string, readonly exitCode: number | null) {
    super(message);
    this.name = 'ChildError';
  }
}

/** Runs `lithe ARGS --json` and resolves its JSON result; settles only once the child has exited. */
export function runCli(args: string[], signal?: AbortSignal): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => {
      if (child.pid === undefined) reject(new ChildError(`lithe ${args.slice(0, 6).join(' ')} ...: ${e.message}`, null)); // never started
    });
    child.on('close', (code) => {
      if (code !== 0) return reject(new ChildError(`lithe ${args.slice(0, 6).join(' ')} ... exited ${code}: ${err.trim().split('\n').pop()}`, code));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new ChildError(`lithe ${args.join(' ')}: no JSON result`, code));
      }
    });
  });
}

const TMP_PREFIX = 'lithe-report-';

/** Removes os.tmpdir()/lithe-report-PID-* of reports that no longer run (killed with kill -9). */
export function removeStaleReportFolders(dir = os.tmpdir()): void {
  removeDeadProcessEntries(dir, (name) => {
    const m = /^lithe-report-(\d+)-/.exec(name);
    return m ? Number(m[1]) : null;
  });
}

export interface RunReportOptions {
  model: string;
  evalFiles: string[];
  evalSeqlen?: number;
  maxWindows?: number;
  /** calibration flags passed to every prune (--calib, --nsamples, --seqlen, --seed, --calib-windows) */
  calibArgs: string[];
  jobs: number;
  threads: number;
  /** evaluate the unpruned model too (default true) */
  dense?: boolean;
  signal?: AbortSignal;
  onRow?: (row: ReportRow, done: number, total: number) => void;
}

export async function runReport(configs: ReportConfig[], o: RunReportOptions): Promise<ReportRow[]> {
  removeStaleReportFolders();
  // stops every child when the caller cancels or a run the report cannot do without (dense) fails
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onAbort);
  if (o.signal?.aborted) stop.abort();
  const signal = stop.signal;
  const tmp = mkdtempSync(path.join(os.tmpdir(), `${TMP_PREFIX}${process.pid}-`));
  const evalArgs = [...(o.evalSeqlen ? ['--seqlen', String(o.evalSeqlen)] : []), ...(o.maxWindows ? ['--max-windows', String(o.maxWindows)] : [])];
  const tasks: (() => Promise<ReportRow>)[] = [];
  if (o.dense !== false) tasks.push(async () => {
    const ppl: Record<string, number> = {};
    for (const f of o.evalFiles) ppl[f] = (await runCli(['eval', 'ppl', o.model, '--data', f, ...evalArgs, '--threads', String(o.threads)], signal))['ppl'] as number;
    return { label: 'dense', setting: '0%', method: 'dense', init: null, variant: 'reference', sparsity: 0, ppl, maskSha256: null, seconds: null };
  });
  configs.forEach((c, i) => tasks.push(async () => {
    const out = path.join(tmp, String(i));
    const args = ['prune', o.model, ...c.args, ...o.calibArgs, '--eval', o.evalFiles.join(','), ...(o.evalSeqlen ? ['--eval-seqlen', String(o.evalSeqlen)] : []),
      ...(o.maxWindows ? ['--max-windows', String(o.maxWindows)] : []), '--threads', String(o.threads), '--out', out];
    try {
      const j = await runCli(args, signal);
      const ppl: Record<string, number> = {};
      for (const e of j['evaluation'] as { data: string; ppl: number }[]) ppl[e.data] = e.ppl;
      return { label: c.label, setting: c.setting, method: c.method, init: c.init, variant: c.variant, sparsity: j['total_sparsity'] as number, ppl,
        maskSha256: j['mask_sha256'] as string, seconds: { stats: j['stats_seconds'] as number, method: j['method_seconds'] as number, forward: j['forward_seconds'] as number } };
    } catch (e) {
      return { label: c.label, setting: c.setting, method: c.method, init: c.init, variant: c.variant, sparsity: NaN, ppl: {}, maskSha256: null, seconds: null, error: (e as Error).message,
        exitCode: e instanceof ChildError ? e.exitCode : null };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }));
  const rows: ReportRow[] = new Array(tasks.length);
  let next = 0, done = 0;
  let fatal: unknown;
  const worker = async () => {
    while (next < tasks.length && !signal.aborted) {
      const i = next++;
      try {
        rows[i] = await tasks[i]!();
      } catch (e) {
        fatal ??= e;
        stop.abort(); // the others' children are killed; every worker still waits for its child to exit
        return;
      }
      o.onRow?.(rows[i]!, ++done, tasks.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    rmSync(tmp, { recursive: true, force: true });
  }
  if (fatal !== undefined && !o.signal?.aborted) {
    const code = fatal instanceof ChildError ? fatal.exitCode : null;
    const message = `dense run failed: ${(fatal as Error).message}`;
    throw code === 2 ? new InputError(message) : new LitheError(message);
  }
  return rows.filter((r) => r !== undefined);
}

export function reportMarkdown(rows: ReportRow[], evalFiles: string[], extra: (r: ReportRow) => string[] = () => [], extraHeaders: string[] = []): string {
  const name = (f: string) => path.basename(f);
  const table = markdownTable(['setting', 'method', 'sparsity', ...evalFiles.map((f) => `ppl ${name(f)}`), ...extraHeaders, 'stats s', 'method s', 'forward s'],
    rows.map((r) => [r.setting, r.label, Number.isFinite(r.sparsity) ? r.sparsity.toFixed(4) : 'failed', ...evalFiles.map((f) => (r.ppl[f] !== undefined ? r.ppl[f]!.toFixed(2) : r.error ? 'error' : '')),
      ...extra(r), r.seconds ? r.seconds.stats.toFixed(1) : '', r.seconds ? r.seconds.method.toFixed(2) : '', r.seconds ? r.seconds.forward.toFixed(1) : '']));
  // why runs failed, once per distinct reason (e.g. an N:M pattern the model's widths do not allow)
  const reasons = new Map<string, string[]>();
  for (const r of rows) {
    if (!r.error) continue;
    const why = r.error.replace(/^[\s\S]*? exited \d+: /, '').trim();
    reasons.set(why, [...(reasons.get(why) ?? []), `${r.setting} ${r.label}`]);
  }
  const notes = [...reasons].map(([why, runs]) => `- ${runs.length} run${runs.length > 1 ? 's' : ''} failed (${runs[0]}${runs.length > 1 ? ', ...' : ''}): ${why}`);
  return notes.length ? `${table}\n\n${notes.join('\n')}` : table;
}
