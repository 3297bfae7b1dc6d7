/** Learning-rate schedules: linear warmup from 0, then constant, cosine or linear decay to `minLr` at `totalSteps`. */
export interface Schedule {
  kind: 'constant' | 'cosine' | 'linear';
  warmupSteps: number;
  totalSteps: number;
  /** the floor of the decay, as a fraction of the base rate (default 0) */
  minFactor?: number;
}

/** the learning rate for update number `step` (1-based) */
export function scheduledLr(base: number, s: Schedule, step: number): number {
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (base * step) / s.warmupSteps;
  if (s.kind === 'constant') return base;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  const min = s.minFactor ?? 0;
  const f = s.kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return base * (min + (1 - min) * f);
}
