// Searches four ±1 sequences of odd length n whose periodic autocorrelations sum to zero at every non-zero shift
// (Goethals-Seidel sequences): the circulant blocks of a Hadamard matrix of order 4n. Simulated annealing on the
// squared autocorrelation sums with single-element flips; restarts until found. Usage: node scripts/find-gs-sequences.mjs N [seed]
// Prints the four sequences as strings of + and -. src/quant/rotation/hadamard.ts embeds results for n = 39 (seed 1) and 43.
const n = Number(process.argv[2]);
let seed = Number(process.argv[3] ?? 1) >>> 0;
const rand = () => { seed = (seed + 0x6d2b79f5) >>> 0; let t = seed; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const h = (n - 1) / 2;
const x = Array.from({ length: 4 }, () => new Int8Array(n));
const paf = new Int32Array(h + 1); // summed PAF at shifts 1..h
function init() {
  for (const s of x) for (let i = 0; i < n; i++) s[i] = rand() < 0.5 ? 1 : -1;
  paf.fill(0);
  for (const s of x) for (let k = 1; k <= h; k++) { let a = 0; for (let i = 0; i < n; i++) a += s[i] * s[(i + k) % n]; paf[k] += a; }
}
const energy = () => { let e = 0; for (let k = 1; k <= h; k++) e += paf[k] * paf[k]; return e; };
const delta = new Int32Array(h + 1);
const t0 = Date.now();
for (let restart = 0; ; restart++) {
  init();
  let e = energy();
  let T = 40;
  for (let it = 0; it < 4e6 && e > 0; it++) {
    const q = (rand() * 4) | 0, k = (rand() * n) | 0, s = x[q], v = s[k];
    let ne = 0;
    for (let d = 1; d <= h; d++) {
      delta[d] = -2 * v * (s[(k + d) % n] + s[(k - d + n) % n]);
      const p = paf[d] + delta[d];
      ne += p * p;
    }
    if (ne <= e || rand() < Math.exp((e - ne) / T)) {
      s[k] = -v; e = ne;
      for (let d = 1; d <= h; d++) paf[d] += delta[d];
    }
    T = Math.max(1, T * 0.999999);
  }
  if (e === 0) {
    console.log(JSON.stringify({ n, restart, seconds: (Date.now() - t0) / 1000, sequences: x.map((s) => Array.from(s, (v) => (v > 0 ? '+' : '-')).join('')) }));
    break;
  }
  if (restart % 10 === 0) console.error(`n=${n} restart ${restart}, last energy ${e}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
