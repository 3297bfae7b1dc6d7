/**
 * `npm run bench -- quant-fidelity [--methods rtn,gptq] [--jobs N] [--threads T]`: the official GPTQ repository's RTN
 * and GPTQ runs on lithe-ref-a (quant-reference/results.json) redone by `lithe quantize` with the same calibration
 * windows (seed 0, 128 x 512 from the C4 sample: Lithe's sampler draws the reference's tokens) and evaluated on
 * WikiText-2 (785 windows of 512). Reports each perplexity against the reference and whether the dequantized
 * weights hash-match. Each run is its own process, `--jobs` at a time.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markdownTable } from '../src/util/table.js';
import { runCli } from '../src/eval/prune-report.js';

type Record = (name: string, command: string, table: string, notes?: string) => void;
interface Ref { method: string; wbits: number; groupsize: number; sym: boolean; act_order: boolean; ppl: number; weights_sha256: string }

export async function quantFidelityBench(argv: string[], record: Record, shared: string): Promise<void> {
  const flag = (name: string, dflt: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1]! : dflt; };
  const methods = flag('--methods', 'rtn,gptq').split(','), jobs = Number(flag('--jobs', '1')), threads = flag('--threads', String(os.availableParallelism()));
  const model = path.join(shared, 'llm/lithe-ref-a'), data = path.join(shared, 'text/wikitext-2-raw/test.joined.txt');
  const refFile = path.join(model, 'quant-reference/results.json');
  if (!existsSync(refFile) || !existsSync(data)) {
    console.log(`quant-fidelity: skipped, ${refFile} or ${data} not present`);
    return;
  }
  const refs = (JSON.parse(readFileSync(refFile, 'utf8')) as { runs: Ref[] }).runs.filter((r) => methods.includes(r.method));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lithe-quant-fidelity-'));
  const rows: (string | number)[][] = new Array(refs.length);
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const i = next++, r = refs[i]!;
      const args = ['quantize', model, '--method', r.method, '--w-bits', String(r.wbits), '--w-group', String(r.groupsize), ...(r.sym ? ['--sym'] : []),
        ...(r.act_order ? ['--act-order'] : []), ...(r.method === 'gptq' ? ['--nsamples', '128', '--seqlen', '512', '--seed', '0'] : []),
        '--eval', data, '--eval-seqlen', '512', '--threads', threads, '--out', path.join(tmp, String(i))];
      const j = await runCli(args);
      const ppl = ((j['evaluation'] as { ppl: number }[])[0]!).ppl;
      rows[i] = [r.method, `W${r.wbits}`, r.groupsize > 0 ? String(r.groupsize) : 'channel', r.sym ? 'sym' : 'asym', r.act_order ? 'yes' : 'no', ppl.toFixed(3), r.ppl.toFixed(3),
        `${(100 * (ppl / r.ppl - 1)).toFixed(2)}%`, j['weights_sha256'] === r.weights_sha256 ? 'identical' : 'differs', (j['seconds'] as number).toFixed(0)];
      process.stderr.write(`${JSON.stringify({ run: args.join(' '), ppl, reference: r.ppl, sha256: j['weights_sha256'] })}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  record('quant-fidelity', `npm run bench -- quant-fidelity ${argv.join(' ')}`.trim(),
    markdownTable(['method', 'bits', 'group', 'grid', 'act-order', 'ppl (Lithe)', 'ppl (official)', 'diff', 'weights', 'quantize s'], rows),
    `lithe-ref-a, WikiText-2 raw test, 785 windows of 512; GPTQ calibration: the reference's 128 C4 windows of 512 (seed 0), percdamp 0.01, blocksize 128, true-sequential. ${jobs} runs in parallel, ${threads} threads each; ${((performance.now() - t0) / 60000).toFixed(1)} min in all.`);
}
