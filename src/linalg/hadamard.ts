/**
 * Hadamard matrices for the rotations of QuaRot (Ashkboos et al., 2024, arXiv 2404.00456) and DartQuant: sizes
 * n = K * 2^m with K in {1, 12, 20, 28, 36, 40, 52, 60, 108, 140, 156, 172}, the K values of the reference code
 * (LLaMA-2-7B's 11008 = 172 * 64, LLaMA-3-8B's 14336 = 28 * 512). H_n = H_K (x) H_{2^m}: for x viewed as [K, 2^m],
 * a Walsh-Hadamard butterfly along the 2^m axis, then H_K across the K rows. Normalised by 1/sqrt(n) it is
 * orthogonal. The K x K bases are built here, not stored: Paley I (q = 11, 19, 59, 107, 139: order q + 1),
 * Paley II (q = 13, 17, 25: order 2(q + 1)), 40 = 2 x 20, and for 156 and 172 the Goethals-Seidel array over four
 * circulant +-1 sequences of length 39 and 43 whose periodic autocorrelations cancel (found by
 * scripts/find-gs-sequences.mjs: length 39 with seed 1, length 43 in a 32-seed run). These are valid Hadamard matrices but not the same ones as the reference's
 * tables; any Hadamard matrix gives the same computational invariance, only the random-rotation draws differ.
 */
import { InputError } from '../util/errors.js';

/** Base sizes in the reference's lookup order (the first that divides n with a power-of-two quotient wins). */
export const HADAMARD_BASES = [172, 156, 140, 108, 60, 52, 36, 28, 40, 20, 12] as const;

const GS_SEQUENCES: Record<number, string[]> = {
  39: ['--+----+++---++-++-+-+--+++++---+------', '++--+--+++-+-+----+--++++++--+-+-++--+-',
    '------+++-+++-+--++-----+-+-+--+--+-+++', '-++--++++-+-+++-+++--+++-++-++++---+--+'],
  43: ['++---+++++++-+------+-----+++--++-+-+++--+-', '--+--+++-+-++-+++-+++++-++++-++--++--+-+++-',
    '+--+++++-+--+--+++--+++++-+--+-+---+++-----', '-+-+++++---+-+++-+-+--+++-+++-++-+--+-+-++-'],
};

/** Elements of GF(p) or GF(p^2) = GF(p)[a]/(a^2 - r) as indices 0..q-1 (x = u + v a with index u + p v). */
function quadraticCharacter(p: number, k: 1 | 2): (i: number, j: number) => number {
  const q = p ** k;
  const r = k === 2 ? [...Array(p).keys()].find((t) => t > 0 && !isSquareMod(t, p))! : 0;
  const mul = (x: [number, number], y: [number, number]): [number, number] =>
    [(x[0] * y[0] + r * x[1] * y[1]) % p, (x[0] * y[1] + x[1] * y[0]) % p];
  const chi = new Int8Array(q);
  for (let i = 1; i < q; i++) {
    // chi(x) = x^((q-1)/2): 1 for non-zero squares, -1 otherwise
    let acc: [number, number] = [1, 0], base: [number, number] = [i % p, Math.floor(i / p)];
    for (let e = (q - 1) / 2; e > 0; e >>= 1) {
      if (e & 1) acc = mul(acc, base);
      base = mul(base, base);
    }
    chi[i] = acc[0] === 1 && acc[1] === 0 ? 1 : -1;
  }
  const sub = (i: number, j: number) => ((i % p) - (j % p) + p) % p + p * ((Math.floor(i / p) - Math.floor(j / p) + p) % p);
  return (i, j) => chi[sub(i, j)]!;
}

function isSquareMod(t: number, p: number): boolean {
  for (let x = 1; x < p; x++) if ((x * x) % p === t) return true;
  return false;
}

/** Paley I: q = 3 mod 4 prime (power), order q + 1. H = I + S with S = [[0, 1], [-1, Q]], Q[i][j] = chi(i - j). */
function paley1(p: number, k: 1 | 2 = 1): Int8Array {
  const q = p ** k, n = q + 1, chi = quadraticCharacter(p, k), H = new Int8Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const s = i === 0 ? (j === 0 ? 0 : 1) : j === 0 ? -1 : i === j ? 0 : chi(i - 1, j - 1);
      H[i * n + j] = s + (i === j ? 1 : 0);
    }
  }
  return H;
}

/**
 * Paley II: q = 1 mod 4 prime (power), order 2(q + 1). C = [[0, 1], [1, Q]] (symmetric conference matrix);
 * each entry becomes a 2x2 block: 0 -> [[1, -1], [-1, -1]], +-1 -> +-[[1, 1], [1, -1]].
 */
function paley2(p: number, k: 1 | 2 = 1): Int8Array {
  const q = p ** k, m = q + 1, n = 2 * m, chi = quadraticCharacter(p, k), H = new Int8Array(n * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const c = i === 0 ? (j === 0 ? 0 : 1) : j === 0 ? 1 : i === j ? 0 : chi(i - 1, j - 1);
      const blk = c === 0 ? [1, -1, -1, -1] : [c, c, c, -c];
      for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) H[(2 * i + a) * n + 2 * j + b] = blk[2 * a + b]!;
    }
  }
  return H;
}

/** [[H, H], [H, -H]] */
function doubled(H: Int8Array, k: number): Int8Array {
  const n = 2 * k, out = new Int8Array(n * n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = H[i * k + j]!;
      out[i * n + j] = v; out[i * n + j + k] = v; out[(i + k) * n + j] = v; out[(i + k) * n + j + k] = -v;
    }
  }
  return out;
}

/**
 * Goethals-Seidel array of four circulant +-1 matrices A, B, C, D of odd order m with AA' + BB' + CC' + DD' = 4mI
 * (R = back-diagonal identity): [[A, BR, CR, DR], [-BR, A, D'R, -C'R], [-CR, -D'R, A, B'R], [-DR, C'R, -B'R, A]].
 */
function goethalsSeidel(seqs: string[]): Int8Array {
  const m = seqs[0]!.length, n = 4 * m, H = new Int8Array(n * n);
  const circ = seqs.map((s) => Int8Array.from(s, (ch) => (ch === '+' ? 1 : -1)));
  // element (i, j) of X, X R, X' R for the circulant X with first row x: X[i][j] = x[(j - i) mod m]
  const X = (x: Int8Array, i: number, j: number) => x[(((j - i) % m) + m) % m]!;
  const XR = (x: Int8Array, i: number, j: number) => X(x, i, m - 1 - j);
  const XtR = (x: Int8Array, i: number, j: number) => X(x, m - 1 - j, i);
  const [a, b, c, d] = circ as [Int8Array, Int8Array, Int8Array, Int8Array];
  type Blk = (i: number, j: number) => number;
  const neg = (f: Blk): Blk => (i, j) => -f(i, j);
  const A: Blk = (i, j) => X(a, i, j);
  const grid: Blk[][] = [
    [A, (i, j) => XR(b, i, j), (i, j) => XR(c, i, j), (i, j) => XR(d, i, j)],
    [neg((i, j) => XR(b, i, j)), A, (i, j) => XtR(d, i, j), neg((i, j) => XtR(c, i, j))],
    [neg((i, j) => XR(c, i, j)), neg((i, j) => XtR(d, i, j)), A, (i, j) => XtR(b, i, j)],
    [neg((i, j) => XR(d, i, j)), (i, j) => XtR(c, i, j), neg((i, j) => XtR(b, i, j)), A],
  ];
  for (let bi = 0; bi < 4; bi++) {
    for (let bj = 0; bj < 4; bj++) {
      const f = grid[bi]![bj]!;
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) H[(bi * m + i) * n + bj * m + j] = f(i, j);
    }
  }
  return H;
}

const cache = new Map<number, Int8Array>();

/** The K x K +-1 base matrix (row-major); K = 1 is [1]. */
export function hadamardBase(K: number): Int8Array {
  let H = cache.get(K);
  if (H) return H;
  switch (K) {
    case 1: H = Int8Array.of(1); break;
    case 12: H = paley1(11); break;
    case 20: H = paley1(19); break;
    case 28: H = paley2(13); break;
    case 36: H = paley2(17); break;
    case 40: H = doubled(hadamardBase(20), 20); break;
    case 52: H = paley2(5, 2); break;
    case 60: H = paley1(59); break;
    case 108: H = paley1(107); break;
    case 140: H = paley1(139); break;
    case 156: H = goethalsSeidel(GS_SEQUENCES[39]!); break;
    case 172: H = goethalsSeidel(GS_SEQUENCES[43]!); break;
    default: throw new Error(`no Hadamard base of order ${K}`);
  }
  cache.set(K, H);
  return H;
}

export interface HadamardSize {
  n: number;
  /** the base order (1 for a power of two) */
  K: number;
  /** 2^m */
  pow2: number;
}

const isPow2 = (x: number) => x >= 1 && (x & (x - 1)) === 0;

/** n = K * 2^m, or null when no supported factorisation exists. */
export function hadamardSize(n: number): HadamardSize | null {
  if (!Number.isInteger(n) || n < 1) return null;
  for (const K of HADAMARD_BASES) if (n % K === 0 && isPow2(n / K)) return { n, K, pow2: n / K };
  return isPow2(n) ? { n, K: 1, pow2: n } : null;
}

/** Like hadamardSize, with a one-line error naming `what` when n is not supported. */
export function requireHadamardSize(n: number, what: string): HadamardSize {
  const s = hadamardSize(n);
  if (!s) {
    throw new InputError(`${what}: no Hadamard matrix of size ${n} (supported: K * 2^m with K in 1, ${HADAMARD_BASES.join(', ')})`);
  }
  return s;
}

/** The orthogonal n x n matrix (H_K (x) H_2^m) / sqrt(n), float64 row-major. */
export function hadamardMatrix(n: number): Float64Array {
  const { K, pow2 } = requireHadamardSize(n, 'hadamard');
  const hk = hadamardBase(K), out = new Float64Array(n * n), s = 1 / Math.sqrt(n);
  for (let a = 0; a < K; a++) {
    for (let b = 0; b < pow2; b++) {
      for (let c = 0; c < K; c++) {
        const hv = hk[a * K + c]!;
        for (let d = 0; d < pow2; d++) {
          // Sylvester H_2^m[b][d] = (-1)^popcount(b & d)
          out[(a * pow2 + b) * n + c * pow2 + d] = hv * (popcount(b & d) & 1 ? -s : s);
        }
      }
    }
  }
  return out;
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}
