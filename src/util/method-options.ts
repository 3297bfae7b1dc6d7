/**
 * Options of a registered method (prune, quantize, rotate, kv): what the CLI turns into flags and help, and what the
 * library checks. A method lists its options with defaults; `resolveOptions` merges what a caller gave with the
 * defaults and checks every value, naming the method and the option (not a CLI flag) in the error.
 */
import { OptionError } from './errors.js';

export interface OptionSpec {
  /** the option's name in the library (camelCase) */
  readonly key: string;
  /** the command-line flag, e.g. '--dsnot-cycles' */
  readonly flag: string;
  readonly description: string;
  readonly type: 'number' | 'int' | 'boolean' | 'choice';
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
}

/** What every registered method declares (kinds add their own `apply`). */
export interface MethodInfo<O extends object> {
  readonly name: string;
  readonly kind: 'prune' | 'quantize' | 'rotate' | 'kv';
  /** one line for help texts */
  readonly summary: string;
  /** the calibration statistics it needs: per-column norms and means/variances, and/or X^T X Hessians */
  readonly needs: { readonly stats: boolean; readonly hessian: boolean | ((o: O) => boolean) };
  readonly options: readonly OptionSpec[];
  readonly defaults: O;
}

function check(method: string, spec: OptionSpec, v: unknown): unknown {
  const where = `${method} option ${spec.key}`;
  switch (spec.type) {
    case 'boolean':
      if (typeof v !== 'boolean') throw new OptionError(where, `expected true or false, got ${JSON.stringify(v)}`);
      return v;
    case 'choice':
      if (typeof v !== 'string' || !spec.choices!.includes(v)) throw new OptionError(where, `expected one of ${spec.choices!.join(', ')}, got ${JSON.stringify(v)}`);
      return v;
    default: {
      const n = v as number;
      if (typeof v !== 'number' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n)) || n < (spec.min ?? -Infinity) || n > (spec.max ?? Infinity)) {
        throw new OptionError(where, `expected ${spec.type === 'int' ? 'an integer' : 'a number'} in [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}], got ${JSON.stringify(v)}`);
      }
      return n;
    }
  }
}

/** The method's options: its defaults overridden by `given` (undefined values ignored), each checked. */
export function resolveOptions<O extends object>(m: MethodInfo<O>, given: Partial<O> = {}): O {
  const out: Record<string, unknown> = { ...(m.defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    const spec = m.options.find((s) => s.key === k);
    if (!spec) throw new OptionError(`${m.name} options`, `unknown option "${k}" (known: ${m.options.map((s) => s.key).join(', ') || 'none'})`);
    out[k] = check(m.name, spec, v);
  }
  return out as O;
}

export function needsHessian<O extends object>(m: MethodInfo<O>, o: O): boolean {
  return typeof m.needs.hessian === 'function' ? m.needs.hessian(o) : m.needs.hessian;
}
