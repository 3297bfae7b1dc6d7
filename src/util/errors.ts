/**
 * Typed errors. Everything a user can cause (bad files, bad flags) is an InputError: the CLI prints its
 * one-line message and exits with code 2. Anything else is a bug or an environment failure (exit code 1).
 */
export class LitheError extends Error {
  readonly exitCode: number = 1;
}

export class InputError extends LitheError {
  override readonly exitCode: number = 2;
}

/** A file that cannot be read as the format it claims to be. The message names the file and the problem. */
export class FormatError extends InputError {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'FormatError';
  }
}

/** A command-line flag or API option with a value outside what the operation accepts. */
export class OptionError extends InputError {
  constructor(readonly option: string, readonly problem: string) {
    super(`${option}: ${problem}`);
    this.name = 'OptionError';
  }
}

export class CancelledError extends LitheError {
  override readonly exitCode: number = 130;
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/**
 * Lets pending events run (a Ctrl-C handler, a progress redraw), then throws if cancelled. Long loops call it
 * once per unit of work: their awaits otherwise resolve at once and never give the event loop a turn.
 */
export async function cancellationPoint(signal?: AbortSignal): Promise<void> {
  // setImmediate in Node; a zero timeout in a browser (which has no setImmediate)
  await new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
  throwIfCancelled(signal);
}
