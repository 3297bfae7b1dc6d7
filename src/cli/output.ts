/**
 * Where command output goes. Human-readable lines go to stdout; under --json they go to stderr and stdout
 * carries exactly one JSON object, printed last.
 */
export class Output {
  constructor(readonly json: boolean) {}

  line(s = ''): void {
    (this.json ? process.stderr : process.stdout).write(`${s}\n`);
  }

  /** raw text without a newline (streamed tokens) */
  write(s: string): void {
    (this.json ? process.stderr : process.stdout).write(s);
  }

  result(obj: Record<string, unknown>): void {
    if (this.json) process.stdout.write(`${JSON.stringify(obj)}\n`);
  }
}
/** One diagnostic line on stderr (e.g. which WebGPU adapter was chosen), whatever the output mode. */
export function stderrLine(s: string): void {
  process.stderr.write(`${s}\n`);
}
