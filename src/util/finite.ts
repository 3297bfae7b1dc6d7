/** Non-finite results (NaN, +-Infinity) found where they appear, so a run stops naming the step instead of printing NaN. */

/** Index of the first NaN or infinite value, or -1. */
export function firstNonFiniteValue(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}
