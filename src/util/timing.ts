/** Timing helpers for benchmarks and evaluations: the median, and the median time of repeated calls after a warm-up. */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `fn` once untimed (warm-up), then `repeat` times; its last value and the median milliseconds. */
export async function timed<T>(repeat: number, fn: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const times: number[] = [];
  let value = await fn();
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    value = await fn();
    times.push(performance.now() - t0);
  }
  return { value, ms: median(times) };
}
