/**
 * NSGA-II (Deb et al., IEEE TEC 2002) over integer variables, with Deb's constraint domination, shaped like
 * Optuna's NSGAIISampler that KVTuner uses: the first `populationSize` trials are uniform random; each later
 * generation breeds `populationSize` children from the survivors by binary tournament (rank, then crowding
 * distance), uniform crossover (probability 0.9, swapping probability 0.5) and per-variable mutation with
 * probability 1/nVars (a uniform re-draw); survivors = best `populationSize` of parents + children by
 * constrained non-dominated rank, then crowding distance. All objectives are minimised.
 * The evaluation is deterministic, so a genotype already evaluated is looked up, and `trials` counts distinct
 * evaluations (Optuna re-evaluates repeats and counts them; on small spaces half the trials would be repeats).
 * Breeding stops after 50 x trials offspring in case the space holds fewer than `trials` genotypes.
 */
import { PythonRandom } from '../../util/python-random.js';

export interface Individual {
  genes: number[];
  objectives: number[];
  /** total constraint violation (sum of positive constraint values); 0 = feasible */
  violation: number;
}

export interface Nsga2Options {
  /** number of choices of each variable */
  cardinalities: number[];
  trials: number;
  populationSize?: number;
  seed?: number;
  crossoverProb?: number;
  swappingProb?: number;
  evaluate: (genes: number[]) => Promise<{ objectives: number[]; constraints: number[] }>;
  onTrial?: (trial: number, ind: Individual) => void;
}

export interface Nsga2Result {
  /** every distinct evaluation, in order */
  trials: Individual[];
  /** offspring bred (repeats included) */
  offspring: number;
  /** the feasible non-dominated set over all trials (or the least-violating trials when none is feasible) */
  front: Individual[];
}

/** Deb's constrained domination: a feasible beats an infeasible; infeasibles compare by violation. */
export function constrainedDominates(a: Individual, b: Individual): boolean {
  if (a.violation === 0 && b.violation > 0) return true;
  if (a.violation > 0) return b.violation > 0 && a.violation < b.violation;
  let better = false;
  for (let i = 0; i < a.objectives.length; i++) {
    if (a.objectives[i]! > b.objectives[i]!) return false;
    if (a.objectives[i]! < b.objectives[i]!) better = true;
  }
  return better;
}

/** Fast non-dominated sort: fronts of indices, best first. */
export function nonDominatedSort(pop: readonly Individual[]): number[][] {
  const n = pop.length;
  const dominated: number[][] = Array.from({ length: n }, () => []);
  const count = new Array<number>(n).fill(0);
  const fronts: number[][] = [[]];
  for (let p = 0; p < n; p++) {
    for (let q = 0; q < n; q++) {
      if (p === q) continue;
      if (constrainedDominates(pop[p]!, pop[q]!)) dominated[p]!.push(q);
      else if (constrainedDominates(pop[q]!, pop[p]!)) count[p]!++;
    }
    if (count[p] === 0) fronts[0]!.push(p);
  }
  for (let i = 0; fronts[i]!.length; i++) {
    const next: number[] = [];
    for (const p of fronts[i]!) for (const q of dominated[p]!) if (--count[q]! === 0) next.push(q);
    fronts.push(next);
  }
  fronts.pop();
  return fronts;
}

export function crowdingDistance(pop: readonly Individual[], front: readonly number[]): Map<number, number> {
  const d = new Map<number, number>(front.map((i) => [i, 0]));
  if (!front.length) return d;
  const m = pop[front[0]!]!.objectives.length;
  for (let k = 0; k < m; k++) {
    const s = [...front].sort((a, b) => pop[a]!.objectives[k]! - pop[b]!.objectives[k]!);
    const lo = pop[s[0]!]!.objectives[k]!, hi = pop[s[s.length - 1]!]!.objectives[k]!;
    d.set(s[0]!, Infinity);
    d.set(s[s.length - 1]!, Infinity);
    if (hi === lo) continue;
    for (let i = 1; i < s.length - 1; i++) {
      d.set(s[i]!, d.get(s[i]!)! + (pop[s[i + 1]!]!.objectives[k]! - pop[s[i - 1]!]!.objectives[k]!) / (hi - lo));
    }
  }
  return d;
}

/** Rank (front index) and crowding distance of each member, and the best `size` members by (rank, -crowding). */
function survive(pop: Individual[], size: number): { survivors: Individual[]; rank: number[]; crowd: number[] } {
  const fronts = nonDominatedSort(pop);
  const chosen: number[] = [];
  const rankOf: number[] = [], crowdOf: number[] = [];
  fronts.forEach((f, r) => {
    const cd = crowdingDistance(pop, f);
    for (const i of f) { rankOf[i] = r; crowdOf[i] = cd.get(i)!; }
  });
  for (const f of fronts) {
    if (chosen.length + f.length <= size) { chosen.push(...f); continue; }
    const rest = [...f].sort((a, b) => crowdOf[b]! - crowdOf[a]!);
    chosen.push(...rest.slice(0, size - chosen.length));
    break;
  }
  return { survivors: chosen.map((i) => pop[i]!), rank: chosen.map((i) => rankOf[i]!), crowd: chosen.map((i) => crowdOf[i]!) };
}

function lexicographic(a: Individual, b: Individual): number {
  for (let i = 0; i < a.objectives.length; i++) if (a.objectives[i] !== b.objectives[i]) return a.objectives[i]! - b.objectives[i]!;
  return 0;
}

export async function nsga2(o: Nsga2Options): Promise<Nsga2Result> {
  const rnd = new PythonRandom(o.seed ?? 0);
  const uniform = () => rnd.nextUint32() / 2 ** 32;
  const P = o.populationSize ?? 50, nVars = o.cardinalities.length;
  const pc = o.crossoverProb ?? 0.9, ps = o.swappingProb ?? 0.5, pm = 1 / Math.max(1, nVars);
  const memo = new Map<string, Individual>();
  const trials: Individual[] = [];
  let offspring = 0;
  const maxOffspring = 50 * o.trials;
  const run = async (genes: number[]): Promise<Individual> => {
    offspring++;
    const key = genes.join(',');
    let ind = memo.get(key);
    if (!ind) {
      const r = await o.evaluate(genes);
      ind = { genes, objectives: r.objectives, violation: r.constraints.reduce((a, c) => a + Math.max(0, c), 0) };
      memo.set(key, ind);
      trials.push(ind);
      o.onTrial?.(trials.length, ind);
    }
    return ind;
  };
  const more = () => trials.length < o.trials && offspring < maxOffspring;
  let population: Individual[] = [];
  for (let i = 0; i < P && more(); i++) population.push(await run(o.cardinalities.map((c) => rnd.randint(0, c - 1))));
  while (more()) {
    const { survivors, rank, crowd } = survive(population, P);
    const better = (a: number, b: number) => (rank[a]! !== rank[b]! ? (rank[a]! < rank[b]! ? a : b) : crowd[a]! >= crowd[b]! ? a : b);
    const tournament = () => better(rnd.randint(0, survivors.length - 1), rnd.randint(0, survivors.length - 1));
    const children: Individual[] = [];
    for (let i = 0; i < P && more(); i++) {
      const a = survivors[tournament()]!.genes, b = survivors[tournament()]!.genes;
      const cross = uniform() < pc;
      const genes = a.map((g, j) => {
        let x = cross && uniform() < ps ? b[j]! : g;
        if (uniform() < pm) x = rnd.randint(0, o.cardinalities[j]! - 1);
        return x;
      });
      children.push(await run(genes));
    }
    population = [...survivors, ...children];
  }
  const distinct = [...memo.values()];
  const feasible = distinct.filter((d) => d.violation === 0);
  const pool = feasible.length ? feasible : distinct;
  const front = nonDominatedSort(pool)[0]!.map((i) => pool[i]!).sort(lexicographic);
  return { trials, offspring, front };
}
