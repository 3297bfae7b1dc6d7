// Stereo: every WebAssembly kernel against its TS twin on fresh random images (integer kernels must agree
// exactly, the subpixel output within float rounding), the pipeline on synthetic pairs with known disparity and
// on a real Middlebury pair, the evaluation masks, image I/O and the CLI's error paths.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ReferenceStereoKernels, StereoKernels, WasmStereoKernels } from '../src/vision/stereo/kernels.js';
import { censusPairs, COSTS, rankOffsets } from '../src/vision/stereo/costs.js';
import { sumVolumes } from '../src/kernels/stereo/reference.js';
import { DEFAULT_STEREO_OPTIONS, DIRECTIONS, matchStereo, StereoOptions } from '../src/vision/stereo/match.js';
import { badPixelRates, evaluationMasks, GroundTruth } from '../src/vision/stereo/middlebury.js';
import { fillBackground, leftRightCheck, median3x3, removeSpeckles } from '../src/vision/stereo/refine.js';
import { encodePng, readGray, readImage, toGray } from '../src/io/image.js';
import { readGroundTruth } from '../src/vision/stereo/middlebury.js';
import { maxAbsDiff, repoRoot, rng, seedNote } from './helpers.js';
import { tempDir } from './temp-dir.js';

const r = rng();
const reference = new ReferenceStereoKernels();
const wasm: WasmStereoKernels[] = [];
before(async () => {
  wasm.push(await WasmStereoKernels.create({ threads: 1 }), await WasmStereoKernels.create({ threads: 3 }), await WasmStereoKernels.create({ threads: 2, simd: 'simd128' }));
});
after(async () => { for (const k of wasm) await k.dispose(); });

/** A random texture smoothed a little, so neighbouring pixels correlate like a photograph. */
function texture(W: number, H: number): Uint8Array {
  const raw = new Float64Array(W * H).map(() => r() * 255);
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0, n = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx, yy = y + dy;
        if (xx >= 0 && yy >= 0 && xx < W && yy < H) { s += raw[yy * W + xx]! * (dx === 0 && dy === 0 ? 4 : 1); n += dx === 0 && dy === 0 ? 4 : 1; }
      }
      out[y * W + x] = Math.round(s / n);
    }
  }
  return out;
}

function copyTo<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array>(k: StereoKernels, src: T): T {
  const dst = (src instanceof Uint8Array ? k.u8(src.length) : src instanceof Uint16Array ? k.u16(src.length) : src instanceof Uint32Array ? k.u32(src.length) : k.i32(Array.from(src))) as T;
  dst.set(src as never);
  return dst;
}

function randomVolume(n: number, max: number): Uint16Array {
  return Uint16Array.from({ length: n }, () => Math.floor(r() * max));
}

describe('stereo kernels vs reference', () => {
  const W = 41, H = 29, D = 24; // W*H*D above the threading threshold, odd sizes
  const left = texture(W, H), right = texture(W, H);

  test('census transform (plain and center-symmetric) and Hamming cost', () => {
    for (const sym of [false, true]) {
      for (const [w, h] of [[9, 7], [5, 5], [3, 9]] as const) {
        const pairs = Int32Array.from(censusPairs(w, h, sym));
        const want = new Uint32Array(2 * W * H), wantR = new Uint32Array(2 * W * H), wantC = new Uint16Array(W * H * D);
        reference.censusTransform(left, want, W, H, pairs);
        reference.censusTransform(right, wantR, W, H, pairs);
        reference.censusCost(want, wantR, wantC, W, H, D);
        assert.ok(want.some((v) => v !== 0), 'census bits must not be all zero');
        for (const k of wasm) {
          const cl = k.u32(2 * W * H), cr = k.u32(2 * W * H), c = k.u16(W * H * D);
          k.censusTransform(copyTo(k, left), cl, W, H, copyTo(k, pairs));
          k.censusTransform(copyTo(k, right), cr, W, H, copyTo(k, pairs));
          k.censusCost(cl, cr, c, W, H, D);
          assert.deepEqual(Array.from(cl), Array.from(want), `${k.description} census ${w}x${h} sym=${sym} ${seedNote()}`);
          assert.deepEqual(Array.from(c), Array.from(wantC), `${k.description} census cost ${w}x${h} ${seedNote()}`);
          k.reset();
        }
      }
    }
  });

  test('rank transforms (1, 4, 8 regions), rank SAD cost, BT cost', () => {
    for (const regions of ['single', 'quadrants', 'octants'] as const) {
      const { offsets, K } = rankOffsets(7, 5, regions);
      const table = Int32Array.from(offsets);
      const rl = new Uint8Array(W * H * K), rr = new Uint8Array(W * H * K), want = new Uint16Array(W * H * D);
      reference.rankTransform(left, rl, W, H, K, table);
      reference.rankTransform(right, rr, W, H, K, table);
      reference.rankSadCost(rl, rr, want, W, H, D, K);
      assert.equal(rl.reduce((a, b) => a + b, 0) > 0, true);
      for (const k of wasm) {
        const kl = k.u8(W * H * K), kr = k.u8(W * H * K), c = k.u16(W * H * D);
        k.rankTransform(copyTo(k, left), kl, W, H, K, copyTo(k, table));
        k.rankTransform(copyTo(k, right), kr, W, H, K, copyTo(k, table));
        k.rankSadCost(kl, kr, c, W, H, D, K);
        assert.deepEqual(Array.from(kl), Array.from(rl), `${k.description} rank ${regions} ${seedNote()}`);
        assert.deepEqual(Array.from(c), Array.from(want), `${k.description} rank SAD ${regions} ${seedNote()}`);
        k.reset();
      }
    }
    const want = new Uint16Array(W * H * D);
    reference.btCost(left, right, want, W, H, D);
    for (const k of wasm) {
      const c = k.u16(W * H * D);
      k.btCost(copyTo(k, left), copyTo(k, right), c, W, H, D);
      assert.deepEqual(Array.from(c), Array.from(want), `${k.description} BT ${seedNote()}`);
      k.reset();
    }
  });

  test('box sum and truncated sum', () => {
    const a = randomVolume(W * H * D, 3000), b = randomVolume(W * H * D, 3000);
    for (const [rx, ry] of [[2, 2], [1, 3], [0, 1]] as const) {
      const want = new Uint16Array(W * H * D);
      reference.boxSum(a, want, W, H, D, rx, ry);
      for (const k of wasm) {
        const out = k.u16(W * H * D);
        k.boxSum(copyTo(k, a), out, W, H, D, rx, ry);
        assert.deepEqual(Array.from(out), Array.from(want), `${k.description} box ${rx}x${ry} ${seedNote()}`);
        k.reset();
      }
    }
    const want = new Uint16Array(W * H * D);
    reference.truncatedSum(a, b, want, 1700, 2100, 333);
    for (const k of wasm) {
      const out = k.u16(W * H * D);
      k.truncatedSum(copyTo(k, a), copyTo(k, b), out, 1700, 2100, 333);
      assert.deepEqual(Array.from(out), Array.from(want), `${k.description} truncated sum ${seedNote()}`);
      k.reset();
    }
  });

  test('SGM aggregation over 4, 8 and 16 paths, fixed and adaptive P2', () => {
    const cost = randomVolume(W * H * D, 60);
    for (const paths of [4, 8, 16] as const) {
      for (const adaptiveP2 of [false, true]) {
        const p = { dirs: Int32Array.from(DIRECTIONS[paths]), P1: 7, P2: 90, adaptiveP2 };
        const want = sumVolumes(reference.sgm(cost, left, W, H, D, p));
        for (const k of wasm) {
          const parts = k.sgm(copyTo(k, cost), copyTo(k, left), W, H, D, p);
          assert.equal(parts.length, Math.min(k.threads, paths));
          assert.deepEqual(Array.from(sumVolumes(parts)), Array.from(want), `${k.description} sgm ${paths} paths adaptive=${adaptiveP2} ${seedNote()}`);
          k.reset();
        }
      }
    }
  });

  test('winner-take-all over one or several partial volumes, with uniqueness and subpixel, right-view map', () => {
    const A = randomVolume(W * H * D, 3000), B = randomVolume(W * H * D, 3000);
    for (const [uniq, sub] of [[0, 'parabola'], [10, 'equiangular'], [5, 'none']] as const) {
      for (const volumes of [[A], [A, B]]) {
        const l = new Float32Array(W * H), rr = new Float32Array(W * H);
        reference.wta(volumes, W, H, D, uniq, sub, l, rr);
        for (const k of wasm) {
          const kl = k.f32(W * H), kr = k.f32(W * H);
          k.wta(volumes.map((v) => copyTo(k, v)), W, H, D, uniq, sub, kl, kr);
          assert.ok(maxAbsDiff(kl, l) < 1e-4, `${k.description} wta left uniq=${uniq} volumes=${volumes.length} ${seedNote()}`);
          assert.deepEqual(Array.from(kr), Array.from(rr), `${k.description} wta right ${seedNote()}`);
          k.reset();
        }
      }
    }
  });

  test('3x3 median of the dense interior (SIMD selection network) vs sorting', () => {
    for (const [w, h] of [[41, 29], [13, 5], [6, 3]] as const) {
      const src = Float32Array.from({ length: w * h }, () => r() * 64);
      const want = new Float32Array(w * h);
      reference.median3x3Interior(src, want, w, h);
      for (const k of wasm) {
        const a = k.f32(w * h), b = k.f32(w * h);
        a.set(src);
        b.fill(0);
        k.median3x3Interior(a, b, w, h);
        assert.deepEqual(Array.from(b), Array.from(want), `${k.description} median ${w}x${h} ${seedNote()}`);
        k.reset();
      }
    }
  });

  test('the whole pipeline gives the same map on the reference and the SIMD kernels, for every cost', () => {
    const w = 48, h = 20;
    const l = texture(w, h), rt = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rt[y * w + x] = l[y * w + Math.min(w - 1, x + 3)]!;
    for (const cost of COSTS) {
      const o: StereoOptions = { ...DEFAULT_STEREO_OPTIONS, cost, maxDisp: 16, paths: 8, uniqueness: 5 };
      const want = matchStereo(reference, { width: w, height: h, left: l, right: rt }, o).disparity;
      for (const k of wasm) {
        const got = matchStereo(k, { width: w, height: h, left: l, right: rt }, o).disparity;
        assert.ok(maxAbsDiff(got, want) < 1e-4, `${k.description} ${cost} ${seedNote()}`);
      }
    }
  });
});

describe('stereo matching quality', () => {
  test('synthetic pair with known disparities: background 4 px, a square at 11 px', async () => {
    const W = 120, H = 80;
    const bg = texture(W + 40, H), fg = texture(W, H);
    const gt = new Float32Array(W * H);
    const left = new Uint8Array(W * H), right = new Uint8Array(W * H);
    const inSquare = (x: number, y: number) => x >= 50 && x < 90 && y >= 20 && y < 60;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        gt[y * W + x] = inSquare(x, y) ? 11 : 4;
        left[y * W + x] = inSquare(x, y) ? fg[y * W + x]! : bg[y * (W + 40) + x + 20]!;
      }
      // the right view sees the background shifted by 4 and the square by 11
      for (let x = 0; x < W; x++) {
        const xs = x + 11;
        right[y * W + x] = y >= 20 && y < 60 && xs >= 50 && xs < 90 ? fg[y * W + xs]! : bg[y * (W + 40) + x + 4 + 20]!;
      }
    }
    const truth: GroundTruth = { width: W, height: H, disp: gt };
    const masks = evaluationMasks(truth);
    for (const cost of COSTS) {
      for (const paths of [4, 8] as const) {
        const res = matchStereo(wasm[1]!, { width: W, height: H, left, right }, { ...DEFAULT_STEREO_OPTIONS, cost, paths, maxDisp: 16 });
        const bad = badPixelRates(res.disparity, truth, masks, 1);
        assert.ok(bad.nonocc < 3, `${cost} ${paths} paths: ${bad.nonocc.toFixed(2)}% bad non-occluded pixels ${seedNote()}`);
      }
    }
  });

  test('Tsukuba with census SGM is at least as good as the numpy census-SGM anchor (6.61% nonocc)', () => {
    const dir = path.join(repoRoot, 'assets/stereo/middlebury/tsukuba');
    const l = readGray(path.join(dir, 'im3.png')), rt = readGray(path.join(dir, 'im4.png'));
    const gt = readGroundTruth(path.join(dir, 'disp3.pgm'), 16);
    const res = matchStereo(wasm[1]!, { width: l.width, height: l.height, left: l.data, right: rt.data }, { ...DEFAULT_STEREO_OPTIONS, maxDisp: 16 });
    const bad = badPixelRates(res.disparity, gt, evaluationMasks(gt), 1);
    assert.ok(bad.nonocc <= 6.61, `nonocc ${bad.nonocc}`);
    assert.ok(bad.all < bad.disc && bad.nonocc < bad.all, 'nonocc < all < disc on Tsukuba');
  });
});

describe('evaluation masks and refinement', () => {
  test('a disparity step occludes exactly the background pixels the foreground covers', () => {
    const W = 40, H = 3, s = 20;
    const disp = new Float32Array(W * H).map((_, i) => (i % W >= s ? 6 : 2));
    const m = evaluationMasks({ width: W, height: H, disp });
    for (let x = 0; x < W; x++) {
      const occluded = x < 2 || (x >= s - 4 && x < s) || (x >= s && x < 6);
      assert.equal(m.nonocc[W + x], occluded ? 0 : 1, `x=${x}`);
      assert.equal(m.all[W + x], 1);
      // the step (gap 4 > 2) dilated by 9x9, non-occluded only
      assert.equal(m.disc[W + x], !occluded && Math.abs(x - (s - 0.5)) < 5.5 ? 1 : 0, `disc x=${x}`);
    }
    const unknown = new Float32Array(W * H).fill(3);
    unknown[5] = 0;
    assert.equal(evaluationMasks({ width: W, height: H, disp: unknown }).all[5], 0, 'GT 0 is unknown');
  });

  test('left-right check, speckles, background fill, median', () => {
    const W = 10, H = 1;
    const left = Float32Array.from([0, 0, 0, 0, 3, 3, 3, 0, 0, 0]);
    const right = Float32Array.from([0, 3, 3, 3, 0, 0, 0, 0, 0, 0]);
    // the foreground (d=3) at x=4..6 lands on x=1..3, where the left pixels claim d=0: those three fail
    assert.equal(leftRightCheck(left, right, W, H, 1), 3);
    assert.deepEqual(Array.from(left), [0, -1, -1, -1, 3, 3, 3, 0, 0, 0]);
    fillBackground(left, W, H);
    assert.deepEqual(Array.from(left), [0, 0, 0, 0, 3, 3, 3, 0, 0, 0]);
    const sp = Float32Array.from([3, 3, 3, 9, 3, 3, 3, 3, 3, 3]);
    assert.equal(removeSpeckles(sp, W, H, 1, 1), 1);
    assert.equal(sp[3], -1);
    assert.deepEqual(Array.from(median3x3(Float32Array.from([1, 9, 1, 1, 1, 7, 7, 7, 1, 1]), W, H)), [5, 1, 1, 1, 1, 7, 7, 7, 1, 1]);
    // the 9-value network against sorting, on random dense 2-D maps (interior pixels take the fast path)
    const w = 9, h = 7;
    const m = Float32Array.from({ length: w * h }, () => Math.floor(r() * 20) / 2);
    const got = median3x3(m, w, h);
    for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) {
      const nb = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => m[(y + dy) * w + x + dx]!)).sort((a, b) => a - b);
      assert.equal(got[y * w + x], nb[4], `median at ${x},${y} ${seedNote()}`);
    }
  });
});

describe('image I/O', () => {
  const tmp = tempDir('lithe-img-');

  test('16-bit grey and 8-bit RGB PNG round trips; PGM/PPM binary and ASCII', () => {
    const d16 = Uint16Array.from({ length: 35 }, () => Math.floor(r() * 65536));
    writeFileSync(path.join(tmp, 'a.png'), encodePng(7, 5, 1, d16));
    const a = readImage(path.join(tmp, 'a.png'));
    assert.deepEqual([a.width, a.height, a.channels, a.bitDepth], [7, 5, 1, 16]);
    assert.deepEqual(Array.from(a.data), Array.from(d16));
    const rgb = Uint8Array.from({ length: 7 * 5 * 3 }, () => Math.floor(r() * 256));
    writeFileSync(path.join(tmp, 'b.png'), encodePng(7, 5, 3, rgb));
    const g = toGray(readImage(path.join(tmp, 'b.png')));
    assert.equal(g.data[0], (rgb[0]! * 4899 + rgb[1]! * 9617 + rgb[2]! * 1868 + 8192) >> 14);
    writeFileSync(path.join(tmp, 'c.pgm'), Buffer.concat([Buffer.from('P5\n# comment\n3 2\n255\n'), Buffer.from([1, 2, 3, 4, 5, 6])]));
    assert.deepEqual(Array.from(readImage(path.join(tmp, 'c.pgm')).data), [1, 2, 3, 4, 5, 6]);
    writeFileSync(path.join(tmp, 'd.pgm'), 'P2 2 2 1000\n0 500 1000 7\n');
    const d = readImage(path.join(tmp, 'd.pgm'));
    assert.deepEqual([d.bitDepth, ...Array.from(d.data)], [16, 0, 500, 1000, 7]);
    writeFileSync(path.join(tmp, 'e.ppm'), Buffer.concat([Buffer.from('P6 1 1 255\n'), Buffer.from([10, 20, 30])]));
    assert.deepEqual(Array.from(readImage(path.join(tmp, 'e.ppm')).data), [10, 20, 30]);
  });

  test('bad images: clear errors naming the file', () => {
    writeFileSync(path.join(tmp, 'x.png'), 'not an image');
    assert.throws(() => readImage(path.join(tmp, 'x.png')), /x\.png: not an image/);
    writeFileSync(path.join(tmp, 't.pgm'), Buffer.concat([Buffer.from('P5 4 4 255\n'), Buffer.from([1, 2, 3])]));
    assert.throws(() => readImage(path.join(tmp, 't.pgm')), /t\.pgm: PNM data: expected 16 bytes/);
    writeFileSync(path.join(tmp, 'h.pgm'), 'P5 4 x 255\n');
    assert.throws(() => readImage(path.join(tmp, 'h.pgm')), /h\.pgm: PNM header field height/);
    const png = encodePng(4, 4, 1, new Uint8Array(16).fill(7));
    writeFileSync(path.join(tmp, 'cut.png'), png.subarray(0, png.length - 20));
    assert.throws(() => readImage(path.join(tmp, 'cut.png')), /cut\.png: invalid PNG/);
  });
});

describe('lithe stereo CLI', () => {
  const tmp = tempDir('lithe-stereo-');
  const mb = path.join(repoRoot, 'assets/stereo/middlebury');
  const lithe = (...args: string[]) => {
    const res = spawnSync(process.execPath, [path.join(repoRoot, 'bin/lithe.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  };
  const last = (s: string) => JSON.parse(s.trim().split('\n').pop()!) as Record<string, unknown>;

  test('stereo LEFT RIGHT --out writes a 16-bit x16 disparity PNG and reports bad pixels with --gt', () => {
    const out = path.join(tmp, 'd.png');
    const preview = path.join(tmp, 'p.png');
    const res = lithe('stereo', `${mb}/tsukuba/im3.png`, `${mb}/tsukuba/im4.png`, '--out', out, '--preview', preview, '--max-disp', '16', '--gt', `${mb}/tsukuba/disp3.pgm`, '--gt-scale', '16', '--threads', '2', '--json');
    assert.equal(res.code, 0, res.stderr);
    const j = last(res.stdout);
    const bad = (j['badPixels'] as { threshold: number; nonocc: number }[]).find((b) => b.threshold === 1)!;
    assert.ok(bad.nonocc > 0 && bad.nonocc <= 6.61);
    const img = readImage(out);
    assert.deepEqual([img.width, img.height, img.bitDepth], [384, 288, 16]);
    assert.ok(Math.max(...img.data) <= 16 * 16 && Math.max(...img.data) > 8 * 16);
    const pv = readImage(preview);
    assert.deepEqual([pv.width, pv.height, pv.channels, pv.bitDepth], [384, 288, 3, 8]);
  });

  test('stereo eval over a dataset.json manifest: one JSON object with rows per pair and cost', () => {
    const dir = path.join(tmp, 'ds');
    spawnSync('mkdir', ['-p', dir]);
    writeFileSync(path.join(dir, 'dataset.json'), JSON.stringify({ pairs: [{ name: 'tsu', left: `${mb}/tsukuba/im3.png`, right: `${mb}/tsukuba/im4.png`, gt: `${mb}/tsukuba/disp3.pgm`, gtScale: 16, maxDisp: 16 }] }));
    const res = lithe('stereo', 'eval', dir, '--cost', 'census,rank-sad', '--paths', '4', '--json');
    assert.equal(res.code, 0, res.stderr);
    const rows = last(res.stdout)['rows'] as { pair: string; cost: string }[];
    assert.deepEqual(rows.map((x) => `${x.pair}:${x.cost}`), ['tsu:census', 'tsu:rank-sad']);
    assert.match(res.stderr, /\| census +\| [\d.]+ \/ [\d.]+ \/ [\d.]+/);
  });

  test('bad input: exit 2, one line naming the problem, nothing written', () => {
    const out = path.join(tmp, 'never.png');
    const cases: [string[], RegExp][] = [
      [[`${mb}/tsukuba/im3.png`, `${mb}/venus/im6.png`, '--out', out], /venus\/im6\.png: size 434x383 differs from .*im3\.png \(384x288\)/],
      [[`${mb}/tsukuba/im3.png`, path.join(repoRoot, 'package.json'), '--out', out], /package\.json: not an image/],
      [[`${mb}/tsukuba/im3.png`, `${mb}/tsukuba/im4.png`, '--out', out, '--max-disp', '20'], /--max-disp: expected a multiple of 8/],
      [[`${mb}/tsukuba/im3.png`, `${mb}/tsukuba/im4.png`, '--out', out, '--cost', 'sad'], /--cost: expected one of census/],
      [[`${mb}/tsukuba/im3.png`, `${mb}/tsukuba/im4.png`, '--out', path.join(tmp, 'x.jpg')], /--out: expected a \.png file name/],
      [[`${mb}/tsukuba/im3.png`, `${mb}/tsukuba/im4.png`, '--out', out, '--census-window', '11x7'], /--census-window: at most 64 bits/],
      [[`${mb}/tsukuba/im3.png`, `${mb}/tsukuba/im4.png`, '--out', out, '--cost', 'bt', '--aggregate', '7', '--paths', '16'], /--p2: the 16-path sum/],
      [['eval', path.join(tmp, 'empty')], /no stereo pairs found/],
    ];
    for (const [args, re] of cases) {
      const res = lithe('stereo', ...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr.trim(), re);
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
    }
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('.tmp-')), []);
  });
});
