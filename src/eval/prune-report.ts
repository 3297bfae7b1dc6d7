/**
 * The pruning comparison table: dense and every requested (method, initial mask, variant, sparsity) on the same
 * calibration set, each evaluated on the same texts. Each configuration runs as its own `lithe prune` process
 * (fresh model, nothing shared), `jobs` at a time, so a many-core machine runs the grid in parallel.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable } from '../util/table.js';

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
}

export function runCli(args: string[], signal?: AbortSignal): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '', err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`lithe ${args.slice(0, 6).join(' ')} ... exited ${code}: ${err.trim().split('\n').pop()}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new Error(`lithe ${args.join(' ')}: no JSON result`));
      }
    });
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
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lithe-report-'));
  const evalArgs = [...(o.evalSeqlen ? ['--seqlen', String(o.evalSeqlen)] : []), ...(o.maxWindows ? ['--max-windows', String(o.maxWindows)] : [])];
  const tasks: (() => Promise<ReportRow>)[] = [];
  if (o.dense !== false) tasks.push(async () => {
    const ppl: Record<string, number> = {};
    for (const f of o.evalFiles) ppl[f] = (await runCli(['eval', 'ppl', o.model, '--data', f, ...evalArgs, '--threads', String(o.threads)], o.signal))['ppl'] as number;
    return { label: 'dense', setting: '0%', method: 'dense', init: null, variant: 'reference', sparsity: 0, ppl, maskSha256: null, seconds: null };
  });
  configs.forEach((c, i) => tasks.push(async () => {
    const out = path.join(tmp, String(i));
    const args = ['prune', o.model, ...c.args, ...o.calibArgs, '--eval', o.evalFiles.join(','), ...(o.evalSeqlen ? ['--eval-seqlen', String(o.evalSeqlen)] : []),
      ...(o.maxWindows ? ['--max-windows', String(o.maxWindows)] : []), '--threads', String(o.threads), '--out', out];
    try {
      const j = await runCli(args, o.signal);
      const ppl: Record<string, number> = {};
      for (const e of j['evaluation'] as { data: string; ppl: number }[]) ppl[e.data] = e.ppl;
      return { label: c.label, setting: c.setting, method: c.method, init: c.init, variant: c.variant, sparsity: j['total_sparsity'] as number, ppl,
        maskSha256: j['mask_sha256'] as string, seconds: { stats: j['stats_seconds'] as number, method: j['method_seconds'] as number, forward: j['forward_seconds'] as number } };
    } catch (e) {
      return { label: c.label, setting: c.setting, method: c.method, init: c.init, variant: c.variant, sparsity: NaN, ppl: {}, maskSha256: null, seconds: null, error: (e as Error).message };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }));
  const rows: ReportRow[] = new Array(tasks.length);
  let next = 0, done = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      rows[i] = await tasks[i]!();
      o.onRow?.(rows[i]!, ++done, tasks.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
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
