/** Parsing and checking of numeric flags: a bad value is an OptionError naming the flag (exit code 2). */
import os from 'node:os';
import { OptionError } from '../index.js';

export function intOption(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new OptionError(flag, `expected an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}], got "${v}"`);
    }
    return n;
  };
}

export function floatOption(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new OptionError(flag, `expected a number in [${min}, ${max}], got "${v}"`);
    return n;
  };
}

export const threadsOption = intOption('--threads', 1, 256);
export const defaultThreads = (): number => os.availableParallelism();
