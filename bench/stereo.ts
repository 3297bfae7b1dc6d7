/**
 * `npm run bench -- stereo`: Lithe's SGM on the four bundled Middlebury pairs for every cost (accuracy, the
 * cost ablation) and its speed at 1 and all threads, side by side in the same run with OpenCV StereoSGBM
 * (Debian's python3-opencv through bench/stereo/opencv_sgbm.py; installed with apt when missing and allowed,
 * otherwise skipped with the reason printed). Flags: --repeats R (timing runs per case, default 5).
 */
import { median } from '../src/util/timing.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readGray, readImage } from '../src/io/image.js';
import { markdownTable } from '../src/util/table.js';
import { COSTS, CostName } from '../src/vision/stereo/costs.js';
import { WasmStereoKernels } from '../src/vision/stereo/kernels.js';
import { DEFAULT_STEREO_OPTIONS, matchStereo, StereoInput } from '../src/vision/stereo/match.js';
import { badPixelRates, evaluationMasks, GroundTruth, Masks, readDataset, readGroundTruth } from '../src/vision/stereo/middlebury.js';
import { fillBackground } from '../src/vision/stereo/refine.js';

interface Pair {
  name: string;
  maxDisp: number;
  left: string;
  right: string;
  input: StereoInput;
  gt: GroundTruth;
  masks: Masks;
}

const fmt = (b: { nonocc: number; all: number; disc: number }) => `${b.nonocc.toFixed(2)} / ${b.all.toFixed(2)} / ${b.disc.toFixed(2)}`;

/** A python3 that imports cv2, installing Debian's python3-opencv when we may; else the reason there is none. */
function findOpenCv(): { python: string } | { skip: string } {
  const tryPy = () => ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import cv2'], { stdio: 'ignore' }).status === 0);
  let py = tryPy();
  if (py) return { python: py };
  if (process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0) {
    console.log('OpenCV peer: installing python3-opencv with apt-get ...');
    spawnSync('apt-get', ['install', '-y', '-q', 'python3-opencv'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    py = tryPy();
    if (py) return { python: py };
    return { skip: 'apt-get install python3-opencv did not give a python3 with cv2' };
  }
  return { skip: 'no python3 with cv2 (install Debian python3-opencv) and not root to install it' };
}

/**
 * The numpy census-SGM reference of the research notes (speech-and-vision.md, section C.7, the row "numpy
 * reference: census ..." of the table headed "implementation | Tsukuba | ..."): its nonocc / all / disc cells in
 * the order of `names`, read from that file; or why they could not be.
 */
export function numpyAnchor(file: string, names: string[]): string[] | string {
  if (!existsSync(file)) return `${file} not present`;
  const lines = readFileSync(file, 'utf8').split('\n');
  const row = lines.findIndex((l) => l.startsWith('| numpy reference: census'));
  if (row < 0) return `${file} has no "numpy reference: census" row`;
  let head = row;
  while (head > 0 && !lines[head]!.startsWith('| implementation')) head--;
  const cells = (l: string) => l.split('|').slice(1, -1).map((c) => c.trim().toLowerCase());
  const header = cells(lines[head]!), values = cells(lines[row]!);
  const out = names.map((n) => values[header.indexOf(n.toLowerCase())]);
  return head > 0 && out.every((v) => v !== undefined && /^[\d.]+ \/ [\d.]+ \/ [\d.]+$/.test(v)) ? out as string[] : `${file}: the C.7 table does not have the columns ${names.join(', ')}`;
}

/** OpenCV leaves invalid pixels; score it as the notes did: each invalid pixel takes its left neighbour's value. */
function fillFromLeft(disp: Float32Array, W: number, H: number): void {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (disp[y * W + x]! >= 0) continue;
      disp[y * W + x] = x > 0 ? disp[y * W + x - 1]! : -1;
    }
  }
  fillBackground(disp, W, H); // rows that start invalid
}

export async function stereoBench(argv: string[], record: (name: string, command: string, table: string, notes?: string) => void): Promise<void> {
  const repeats = Number(argv[argv.indexOf('--repeats') + 1] ?? 5) || 5;
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  const pairs: Pair[] = readDataset(path.join(root, 'assets/stereo/middlebury')).map((p) => {
    const l = readGray(p.left), r = readGray(p.right);
    const gt = readGroundTruth(p.gt, p.gtScale);
    return { name: p.name, maxDisp: p.maxDisp, left: p.left, right: p.right, input: { width: l.width, height: l.height, left: l.data, right: r.data }, gt, masks: evaluationMasks(gt) };
  });
  const threads = os.availableParallelism();
  const k1 = await WasmStereoKernels.create({ threads: 1 });
  const kn = await WasmStereoKernels.create({ threads });
  const time = (k: WasmStereoKernels, p: Pair, o: typeof DEFAULT_STEREO_OPTIONS) => {
    matchStereo(k, p.input, o); // warm-up (and wasm tier-up)
    return median(Array.from({ length: repeats }, () => matchStereo(k, p.input, o).timings.total));
  };

  // accuracy for every cost and path count, timing at 1 and all threads
  const accuracy: (string | number)[][] = [];
  const speed = new Map<string, { t1: number; tn: number }>();
  const averages: Record<string, number> = {};
  const cases: [CostName, 4 | 8 | 16][] = [...COSTS.map((c) => [c, 8] as [CostName, 8]), ['census', 4], ['census', 16], ['unified', 4], ['unified', 16], ['bt', 4]];
  for (const [cost, paths] of cases) {
    const cells: string[] = [];
    let sum = 0;
    for (const p of pairs) {
      const o = { ...DEFAULT_STEREO_OPTIONS, cost, paths, maxDisp: p.maxDisp };
      const res = matchStereo(kn, p.input, o);
      const b = badPixelRates(res.disparity, p.gt, p.masks, 1);
      cells.push(fmt(b));
      sum += b.nonocc + b.all + b.disc;
      speed.set(`lithe ${cost} ${paths}|${p.name}`, { t1: time(k1, p, o), tn: time(kn, p, o) });
    }
    averages[`${cost} ${paths}`] = sum / (3 * pairs.length);
    accuracy.push([`Lithe ${cost}, ${paths} paths`, ...cells, (sum / (3 * pairs.length)).toFixed(2)]);
  }
  await k1.dispose();
  await kn.dispose();

  // OpenCV in the same run
  const cv = findOpenCv();
  let cvNote = '';
  if ('python' in cv) {
    const out = mkdtempSync(path.join(os.tmpdir(), 'lithe-sgbm-'));
    const job = { pairs: pairs.map((p) => ({ name: p.name, left: p.left, right: p.right, maxDisp: p.maxDisp })), modes: ['sgbm', 'hh', 'hh4', '3way'], threads: [1, threads], repeats, out };
    const res = spawnSync(cv.python, [path.join(root, 'bench/stereo/opencv_sgbm.py')], { input: JSON.stringify(job), encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`opencv_sgbm.py failed: ${res.stderr}`);
    const j = JSON.parse(res.stdout) as { opencv: string; rows: { pair: string; mode: string; threads: number; ms: number }[] };
    cvNote = `OpenCV ${j.opencv} (${cv.python}); `;
    for (const mode of job.modes) {
      const cells: string[] = [];
      let sum = 0;
      for (const p of pairs) {
        const img = readImage(path.join(out, `${p.name}-${mode}.png`));
        const disp = new Float32Array(img.data.length);
        for (let i = 0; i < disp.length; i++) disp[i] = img.data[i]! === 0 ? -1 : img.data[i]! / 16;
        fillFromLeft(disp, img.width, img.height);
        const b = badPixelRates(disp, p.gt, p.masks, 1);
        cells.push(fmt(b));
        sum += b.nonocc + b.all + b.disc;
        const t = j.rows.filter((r) => r.pair === p.name && r.mode === mode);
        speed.set(`opencv ${mode}|${p.name}`, { t1: t.find((r) => r.threads === 1)!.ms, tn: t.find((r) => r.threads === threads)!.ms });
      }
      accuracy.push([`OpenCV SGBM ${mode}`, ...cells, (sum / (3 * pairs.length)).toFixed(2)]);
    }
    rmSync(out, { recursive: true, force: true });
  } else {
    console.log(`OpenCV peer skipped: ${cv.skip}`);
    cvNote = `OpenCV peer skipped (${cv.skip}); `;
  }
  const anchor = numpyAnchor(path.resolve(root, '../shared/docs/reference/speech-and-vision.md'), pairs.map((p) => p.name));
  if (typeof anchor === 'string') console.log(`numpy census-SGM anchor left out: ${anchor}`);
  else accuracy.push(['numpy census-SGM anchor (notes C.7, not rerun)', ...anchor, '']);

  const names = [...new Set([...speed.keys()].map((k) => k.split('|')[0]!))];
  const speedRows = names.map((n) => {
    const cells = pairs.map((p) => {
      const s = speed.get(`${n}|${p.name}`)!;
      return `${s.t1.toFixed(1)} / ${s.tn.toFixed(1)}`;
    });
    return [n, ...cells];
  });
  // equal-path ratios: Lithe 8 paths vs OpenCV HH (8 directions), Lithe 4 paths vs HH4 (4) and vs SGBM (5, single pass)
  const ratio = (a: string, b: string) => {
    if (!speed.has(`${b}|${pairs[0]!.name}`)) return null;
    const r1 = pairs.map((p) => speed.get(`${a}|${p.name}`)!.t1 / speed.get(`${b}|${p.name}`)!.t1);
    const rn = pairs.map((p) => speed.get(`${a}|${p.name}`)!.tn / speed.get(`${b}|${p.name}`)!.t1);
    return [`${a} / ${b}`, ...r1.map((v, i) => `${v.toFixed(2)} / ${rn[i]!.toFixed(2)}`)];
  };
  // BT against OpenCV is the like-for-like pair (OpenCV's cost is BT-based); census is Lithe's default
  const ratios = [ratio('lithe bt 8', 'opencv hh'), ratio('lithe census 8', 'opencv hh'), ratio('lithe bt 4', 'opencv hh4'),
    ratio('lithe census 4', 'opencv hh4'), ratio('lithe bt 4', 'opencv sgbm'), ratio('lithe bt 4', 'opencv 3way'),
    ratio('lithe census 4', 'opencv 3way')].filter((r): r is string[] => r !== null);

  const table = [
    'Bad pixels > 1 px, % nonocc / all / disc (dense maps: Lithe fills holes with the background disparity; OpenCV\'s invalid pixels take their left neighbour, as in the notes):',
    '',
    markdownTable(['method', ...pairs.map((p) => `${p.name} (D=${p.maxDisp})`), 'average of 12'], accuracy),
    '',
    `Milliseconds per pair, median of ${repeats} after a warm-up, 1 thread / ${threads} threads (whole pipeline; OpenCV: StereoSGBM.compute):`,
    '',
    markdownTable(['method', ...pairs.map((p) => p.name)], speedRows),
    '',
    `Time ratios (Lithe 1 thread / OpenCV 1 thread; Lithe ${threads} threads / OpenCV 1 thread), below 1 = Lithe faster:`,
    '',
    markdownTable(['pair of runs', ...pairs.map((p) => p.name)], ratios),
  ].join('\n');
  record('stereo', `npm run bench -- stereo --repeats ${repeats}`, table,
    `${cvNote}Lithe: wasm SIMD kernels, default options per cost (DEFAULT_STEREO_OPTIONS; census 9x7, P1 6 / P2 48; rank costs 7x7 with 5x5 box aggregation), LR check 1 px, background fill, 3x3 median. OpenCV: blockSize 3, P1 72, P2 288, uniqueness 10, speckle 100/32, disp12MaxDiff 1. Masks recomputed from the left ground truth as OpenCV's stereo test does (no border).`);
}
