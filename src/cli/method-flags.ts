/**
 * Command-line flags of registered methods: each option of each method becomes a flag (its `flag`, help and
 * parser), and the flags given are turned back into the chosen method's options. A flag of another method is an
 * error naming the method it belongs to.
 */
import { Option, type Command } from 'commander';
import type { MethodInfo, OptionSpec } from '../index.js';
import { OptionError } from '../index.js';
import { floatOption, intOption } from './options.js';

/** commander's property name for a flag: --dsnot-cycles -> dsnotCycles */
const prop = (flag: string) => flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function flagOption(spec: OptionSpec, dflt: unknown): Option {
  const shown = dflt === undefined || dflt === false ? '' : ` (default: ${dflt})`;
  if (spec.type === 'boolean') return new Option(spec.flag, spec.description);
  const o = new Option(`${spec.flag} <${spec.type === 'choice' ? 'name' : 'x'}>`, spec.description + shown);
  if (spec.type === 'choice') return o.choices([...spec.choices!]);
  return o.argParser(spec.type === 'int' ? intOption(spec.flag, spec.min ?? 0, spec.max) : floatOption(spec.flag, spec.min ?? -Number.MAX_VALUE, spec.max ?? Number.MAX_VALUE));
}

/** Adds the flags of every option of `methods` (a flag shared by two methods is added once). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function addMethodFlags(c: Command, methods: readonly MethodInfo<any>[]): Command {
  const seen = new Set<string>();
  for (const m of methods) {
    for (const spec of m.options) {
      if (seen.has(spec.flag)) continue;
      seen.add(spec.flag);
      c.addOption(flagOption(spec, (m.defaults as Record<string, unknown>)[spec.key]));
    }
  }
  return c;
}

/** The chosen method's options from the parsed flags; a flag that belongs only to other methods is an error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function methodOptionsFromFlags(flags: Record<string, unknown>, method: MethodInfo<any>, all: readonly MethodInfo<any>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of method.options) if (flags[prop(spec.flag)] !== undefined) out[spec.key] = flags[prop(spec.flag)];
  for (const m of all) {
    for (const spec of m.options) {
      if (flags[prop(spec.flag)] !== undefined && !method.options.some((s) => s.flag === spec.flag)) {
        throw new OptionError(spec.flag, `applies to --method ${all.filter((x) => x.options.some((s) => s.flag === spec.flag)).map((x) => x.name).join(' or ')} only (got --method ${method.name})`);
      }
    }
  }
  return out;
}
