/**
 * Progress for long work: a bar with ETA and rate on a TTY (cli-progress), a line every few seconds otherwise
 * (logs, CI). Always on stderr, so stdout stays clean for results and --json.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `note`: a short status shown after the rate (training: loss and accuracy) */
  update(done: number, rate?: { value: number; unit: string }, note?: string): void;
  stop(): void;
}

export function createProgress(label: string, total: number, unit: string, quiet = false): Progress {
  if (quiet) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {value}/{total} ${unit} | {rate}{note} | ETA {eta_formatted}`,
      stream: process.stderr, hideCursor: true, etaBuffer: 20,
    }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { rate: '', note: '' });
    return {
      update(done, rate, note) { bar.update(done, { rate: rate ? `${rate.value.toFixed(1)} ${rate.unit}` : '', note: note ? ` | ${note}` : '' }); },
      stop() { bar.stop(); },
    };
  }
  // a line every 5 s; work that ends sooner prints nothing (no noise in logs for quick steps)
  const t0 = Date.now();
  let last = t0, printed = false;
  return {
    update(done, rate, note) {
      const now = Date.now();
      if (now - last < 5000 && !(done >= total && printed)) return;
      last = now;
      printed = true;
      const elapsed = (now - t0) / 1000;
      const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
      const r = (rate ? `, ${rate.value.toFixed(1)} ${rate.unit}` : '') + (note ? `, ${note}` : '');
      process.stderr.write(`${label}: ${done}/${total} ${unit}${r}, ${elapsed.toFixed(0)} s elapsed${done < total && Number.isFinite(eta) ? `, ETA ${eta.toFixed(0)} s` : ''}\n`);
    },
    stop() {},
  };
}
