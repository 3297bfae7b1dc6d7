// Rounding to the nearest integer with ties to even, as torch.round and numpy.round do (Math.round sends ties up).

/** x rounded to the nearest integer, ties to the even one: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
