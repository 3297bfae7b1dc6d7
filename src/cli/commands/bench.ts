import { benchGemm, CPU_GEMM_SHAPES, gemmRows, GPU_GEMM_SHAPES, GemmRow } from '../../eval/bench-gemm.js';
import { createBackend, isSoftwareAdapter } from '../../backend/create.js';
import { machineDescription } from '../../util/machine.js';
import { OptionError } from '../../util/errors.js';
import { defaultThreads } from '../options.js';
import { markdownTable } from '../../util/table.js';
import { stderrLine } from '../output.js';
import type { CommonFlags, Context } from './common.js';

export function gemmTable(rows: GemmRow[]): string {
  return markdownTable(['kernel', 'M x N x K', 'threads', 'backend', 'median ms', 'GFLOP/s'],
    rows.map((r) => [r.kernel, `${r.M}x${r.N}x${r.K}`, r.threads, r.variant, r.medianMs.toFixed(2), r.gflops.toFixed(1)]));
}

export async function benchCommand(name: string, flags: CommonFlags, ctx: Context): Promise<void> {
  if (name !== 'gemm') throw new OptionError('bench', `unknown benchmark "${name}" (available: gemm)`);
  const all = flags.threads ?? defaultThreads();
  let rows: GemmRow[];
  if (flags.backend && flags.backend !== 'cpu') {
    const be = await createBackend(flags.backend, all, stderrLine);
    try {
      rows = await gemmRows(be, be.name === 'cpu' || isSoftwareAdapter(be.description) ? CPU_GEMM_SHAPES : GPU_GEMM_SHAPES, 1, be.description);
    } finally {
      await be.dispose();
    }
  } else {
    rows = await benchGemm([...new Set([1, all])]);
  }
  ctx.out.line(machineDescription());
  ctx.out.line(gemmTable(rows));
  ctx.out.result({ benchmark: 'gemm', machine: machineDescription(), rows });
}
