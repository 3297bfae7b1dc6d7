/**
 * The `lithe` command line: thin wrappers over the library. Contract: `--json` makes the last stdout line one
 * JSON object; exit codes 0 ok, 1 internal error, 2 bad input, 130 cancelled (Ctrl-C).
 */
import { Command, CommanderError, Option } from 'commander';
import { attentionBenchCommand, attentionSearchCommand } from './commands/attention.js';
import { benchCommand } from './commands/bench.js';
import { serveCommand } from './commands/serve.js';
import type { Context } from './commands/common.js';
import { demoCommand } from './commands/demo.js';
import { evalPplCommand } from './commands/eval-ppl.js';
import { evalClassifyCommand } from './commands/eval-classify.js';
import { generateCommand } from './commands/generate.js';
import { infoCommand } from './commands/info.js';
import { kvEvalCommand, kvProfileCommand, kvSearchCommand } from './commands/kv.js';
import { pruneCommand } from './commands/prune.js';
import { packCommand } from './commands/pack.js';
import { quantizeCommand } from './commands/quantize.js';
import { reportCommand } from './commands/report.js';
import { stereoCommand, stereoEvalCommand } from './commands/stereo.js';
import { trainCommand } from './commands/train.js';
import { floatOption, intOption, threadsOption } from './options.js';
import { Output } from './output.js';
import { addMethodFlags } from './method-flags.js';
import { CancelledError, LitheError, METHODS, OptionError, PRUNE_METHODS } from '../index.js';
import { packageVersion } from './version.js';

const abort = new AbortController();
process.on('SIGINT', () => {
  if (abort.signal.aborted) process.exit(130);
  process.stderr.write('\ncancelling (Ctrl-C again to exit now)\n');
  abort.abort();
});
// kill / a parent report stopping its runs: exit at once, through the exit hooks that remove our temporaries and locks
process.on('SIGTERM', () => process.exit(143));

function context(flags: { json?: boolean }): Context {
  return { out: new Output(!!flags.json), signal: abort.signal };
}

const threads = () => new Option('--threads <n>', 'worker threads (default: all cores)').argParser(threadsOption);
const backendOption = () => new Option('--backend <b>', 'cpu (WebAssembly SIMD) | webgpu | auto (webgpu when a hardware adapter exists)').choices(['cpu', 'webgpu', 'auto']).default('cpu');
const force = () => new Option('--force', 'replace existing output files (never an input)');
const json = () => new Option('--json', 'print one JSON object with the results as the last line of stdout');
const actDType = () => new Option('--act-dtype <t>', 'round every op\'s output to f16 | bf16, as a model run in that type computes (the reference code runs in f16); default f32: no rounding')
  .choices(['f32', 'f16', 'bf16']).default('f32');
/** Calibration, evaluation and output options shared by prune and quantize. */
function compressionOptions(verb: string, c: Command): Command {
  return c
    .option('--calib <file>', 'calibration text: .jsonl[.gz] documents or a plain text file (default: bundled C4 validation sample)')
    .option('--calib-windows <file>', 'exact calibration windows {seqlen, picks: [{doc_index, start}]} over --calib documents')
    .option('--nsamples <n>', 'calibration windows', intOption('--nsamples', 1), 128)
    .option('--seqlen <n>', 'calibration window length (default: min(2048, context))', intOption('--seqlen', 2))
    .option('--seed <n>', 'calibration sampling seed (CPython random, as the reference)', intOption('--seed', 0), 0)
    .option('--eval <files>', `after ${verb}, perplexity on these texts (comma-separated; windows protocol)`)
    .option('--eval-seqlen <n>', 'evaluation window length (default: min(2048, context))', intOption('--eval-seqlen', 2))
    .option('--max-windows <k>', 'evaluate at most k windows', intOption('--max-windows', 1))
    .option('--out <dir>', 'output folder (must not exist or be empty)');
}

/** Activation / KV fake quantization at QuaRot's points (quant/rotation/online.ts). */
function actQuantOptions(c: Command): Command {
  return c
    .option('--a-bits <b>', 'activation bits of every linear input (per token; o_proj per head); 16 = float', intOption('--a-bits', 2, 16))
    .option('--a-clip <r>', 'activation clip ratio (min/max multiplier)', floatOption('--a-clip', 0.01, 1))
    .option('--a-group <n>', 'activation columns per group (default: the whole row; o_proj: one head)', intOption('--a-group', 1))
    .option('--a-sym', 'symmetric activation grid (default asymmetric, as the reference scripts)')
    .option('--kv-bits <b>', 'key and value bits (K after R3, V at the v_proj output; one group per head); 16 = float', intOption('--kv-bits', 2, 16))
    .option('--k-bits <b>', 'key bits (overrides --kv-bits)', intOption('--k-bits', 2, 16))
    .option('--v-bits <b>', 'value bits (overrides --kv-bits)', intOption('--v-bits', 2, 16))
    .option('--kv-clip <r>', 'key/value clip ratio', floatOption('--kv-clip', 0.01, 1));
}

const tokenizer = () => new Option('--tokenizer <file>', 'tokenizer file (llama2.c tokenizer.bin or tokenizer.json)');

const program = new Command('lithe')
  .description('Make neural networks small and fast enough for devices, and measure it.')
  .version(packageVersion(), '-V, --version', 'print the version (from package.json)')
  .showHelpAfterError()
  .enablePositionalOptions()
  .exitOverride();

program.command('info').description('describe a model (format, architecture, sizes, tokenizer)')
  .argument('<model>', 'Hugging Face folder, .safetensors, .gguf or llama2.c .bin')
  .addOption(tokenizer()).addOption(json())
  .action((model, flags) => infoCommand(model, flags, context(flags)));

program.command('generate').description('generate text with a KV cache')
  .argument('<model>')
  .option('--prompt <text>', 'prompt text (default: start from BOS)', '')
  .option('--max-tokens <n>', 'tokens to generate', intOption('--max-tokens', 1), 256)
  .option('--greedy', 'argmax decoding (same as --temperature 0)')
  .option('--temperature <t>', 'sampling temperature', floatOption('--temperature', 0, 100), 0.8)
  .option('--top-p <p>', 'nucleus sampling mass', floatOption('--top-p', 0, 1), 0.9)
  .option('--seed <n>', 'random seed', intOption('--seed', 0), 0)
  .option('--no-bos', 'do not prepend BOS to the prompt')
  .option('--kv-config <file>', 'quantized KV cache: a preset from `lithe kv search` (or a KVTuner per_layer_config YAML)')
  .option('--kv-pair <pair>', 'quantized KV cache, the same pair on every layer: KV8, K8V4, KV4, K4V2, KV2 (as `kv eval --bits`)')
  .addOption(new Option('--kv-bits <b>').hideHelp().argParser(() => {
    throw new OptionError('--kv-bits', 'generate takes --kv-pair K8V4 (packed KV cache); --kv-bits B is the fake-quantized KV of eval ppl and quantize');
  }))
  .option('--force-quant', 'the prompt prefill also attends through the quantized cache (KVTuner force_quant)')
  .addOption(tokenizer()).addOption(threads()).addOption(backendOption()).addOption(json());
kvSchemeOptions(program.commands.find((c) => c.name() === 'generate')!)
  .action((model, flags) => generateCommand(model, flags, context(flags)));

const evalCmd = program.command('eval').description('evaluate a model');
actQuantOptions(evalCmd.command('ppl').description('perplexity on a text file (reference protocol: non-overlapping windows)')
  .argument('<model>')
  .requiredOption('--data <file>', 'text file, or .jsonl with a "text" field (documents joined by blank lines)')
  .option('--seqlen <n>', 'window length in tokens (default: min(2048, context))', intOption('--seqlen', 2))
  .option('--max-windows <k>', 'evaluate at most k windows (--protocol documents: at most k documents)', intOption('--max-windows', 1))
  .option('--bos-per-window', 'start every window with BOS (default: one BOS at the start of the stream)')
  .option('--protocol <p>', 'windows (GPTQ/Wanda protocol) or documents (llama2.c: each blank-line block with BOS, loss over all tokens)', 'windows')
  .option('--field <name>', 'JSONL field holding the text', 'text')
  .option('--max-docs <n>', 'JSONL: first n documents only', intOption('--max-docs', 1))
  .addOption(actDType()).addOption(tokenizer()).addOption(threads()).addOption(backendOption()).addOption(json()))
  .action((model, flags) => evalPplCommand(model, flags, context(flags)));
evalCmd.command('classify').description('top-1 accuracy of an image classifier (ONNX, or a lithe_net .safetensors) on the MNIST test images')
  .argument('<model>')
  .requiredOption('--mnist <dir>', 'folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz')
  .option('--limit <n>', 'the first n images only', intOption('--limit', 1))
  .option('--batch <n>', 'images per forward pass (default 256)', intOption('--batch', 1))
  .addOption(threads()).addOption(backendOption()).addOption(json())
  .action((model, flags) => evalClassifyCommand(model, flags, context(flags)));

addMethodFlags(compressionOptions('pruning', program.command('prune').description('prune the linear layers (magnitude, Wanda, SparseGPT, DSnoT; OWL ratios; N:M) and write a Hugging Face folder')
  .argument('<model>')
  .requiredOption('--method <m>', PRUNE_METHODS.map((m) => `${m.name} (${m.summary})`).join(' | '))
  .option('--sparsity <s>', 'unstructured sparsity in (0, 1)', floatOption('--sparsity', 0, 1))
  .option('--nm <N:M>', 'semi-structured: prune N of every M input columns (2:4, 4:8)')
  .option('--owl', 'OWL outlier-weighed layer-wise sparsity (unstructured)')
  .option('--owl-m <m>', 'OWL outlier threshold M', floatOption('--owl-m', 0, 1e6), 5)
  .option('--owl-lambda <l>', 'OWL sparsity range lambda', floatOption('--owl-lambda', 0, 1), 0.08)
  .option('--storage <s>', 'dense (zeros in the weights) | sparse (kept values + bitmask or N:M indices); default: sparse when the linears get smaller')
  .option('--dtype <t>', 'hold, round and save the weights as f32 | f16 | bf16 (default: the source storage type; the reference code holds models in f16)')
  .addOption(actDType()).addOption(tokenizer()).addOption(threads()).addOption(backendOption()).addOption(json())), PRUNE_METHODS)
  .action((model, flags) => pruneCommand(model, flags, context(flags)));

actQuantOptions(compressionOptions('quantizing', program.command('quantize').description('weight quantization of the linear layers (RTN, GPTQ, QuaRot rotations + GPTQ/RTN), activation/KV fake quantization for --eval; writes a Hugging Face folder of dequantized weights')
  .argument('<model>')
  .requiredOption('--method <m>', 'rtn | gptq | quarot (random Hadamard rotations) | dartquant (calibrated rotations); rotations are followed by --w-method')
  .option('--w-method <m>', 'quarot/dartquant: weight quantizer of the rotated model, gptq (default) | rtn')
  .option('--rotation-seed <n>', 'quarot/dartquant: seed of the random Hadamard R1 / the initial rotations (default: --seed)', intOption('--rotation-seed', 0))
  .option('--dart-epochs <n>', 'dartquant: epochs of R1 and R2 training (reference: 10)', intOption('--dart-epochs', 0, 10000))
  .option('--dart-tokens <n>', 'dartquant: token positions kept per calibration window (0 = all; default 128)', intOption('--dart-tokens', 0))
  .option('--dart-r1-lr <lr>', 'dartquant: R1 SGD learning rate (reference: 1.5e-3)', floatOption('--dart-r1-lr', 0, 10))
  .option('--dart-r2-lr <lr>', 'dartquant: R2 SGD learning rate (reference: 1e-3)', floatOption('--dart-r2-lr', 0, 10))
  .option('--dart-fixed-subset', 'dartquant: the reference behaviour, the same first 10% of the sorted R1 items every epoch (default: a fresh random 10%)')
  .option('--w-bits <b>', 'weight bits (2-8; 16 = keep float weights)', intOption('--w-bits', 1, 64), 4)
  .option('--w-group <g>', 'input columns per quantization group; -1 = per output channel', (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new OptionError('--w-group', `expected an integer, got "${v}"`);
    return n;
  }, -1)
  .option('--sym', 'symmetric grid (default: asymmetric, range widened to include 0, as GPTQ)')
  .option('--w-clip', 'MSE clip search of the range (norm 2.4, grid 100, max shrink 0.8)')
  .option('--act-order', 'GPTQ: quantize columns by decreasing Hessian diagonal')
  .option('--percdamp <p>', 'GPTQ: damping as a fraction of mean(diag H)', floatOption('--percdamp', 0, 10), 0.01)
  .option('--f32-updates', 'GPTQ: round the inverse-Hessian factor and every update to float32, as the reference runs on a GPU (default: float64)')
  .option('--no-true-sequential', 'GPTQ: one statistics pass per block instead of [q,k,v] -> [o] -> [gate,up] -> [down]')
  .option('--storage <s>', 'packed (default where the grid allows: int4/int8 codes + f32 scales/zeros) | dequantized (floats)')
  .option('--dtype <t>', 'type of the float tensors written: f32 (default; exact) | f16 | bf16')
  .addOption(actDType()).addOption(tokenizer()).addOption(threads()).addOption(backendOption()).addOption(json())))
  .action((model, flags) => quantizeCommand(model, flags, context(flags)));

program.command('pack').description('rewrite a pruned checkpoint with its linears stored sparse (kept values + bitmask or N:M indices; float32, int8 or int4 codes)')
  .argument('<model>', 'a pruned Hugging Face folder (zeros in its weights)')
  .option('--sparse', 'store the linears sparse')
  .option('--layout <l>', 'bitmask (per row) | nm (2:4 or 4:8, when every linear follows it) | block8 (1x8 blocks); default: nm when it fits, else bitmask')
  .option('--w-bits <b>', '8 or 4: int8/int4 codes on an asymmetric grid per row and --w-group columns (default: float32 values)', intOption('--w-bits', 1, 32))
  .option('--w-group <g>', 'int8/int4: columns per scale/zero group (a multiple of 8 dividing every width; default 128; a packed input keeps its own)', intOption('--w-group', 8, 1 << 20))
  .option('--dtype <t>', 'type of the tensors that stay dense (embeddings, norms): f32 | f16 | bf16 (default: as in the source)')
  .option('--out <dir>', 'output folder (must not exist or be empty)')
  .addOption(tokenizer()).addOption(threads()).addOption(json())
  .action((model, flags) => packCommand(model, flags, context(flags)));

program.command('report').description('comparison tables; prune: dense vs methods x sparsities, each pruned and evaluated in its own process')
  .argument('<kind>', 'prune').argument('<model>')
  .option('--methods <list>', `registered methods (${PRUNE_METHODS.map((m) => m.name).join(', ')})`, 'magnitude,wanda,sparsegpt,dsnot')
  .option('--inits <list>', 'DSnoT initial masks', 'wanda,magnitude,sparsegpt')
  .option('--sparsities <list>', 'unstructured sparsities', '0.5,0.6,0.7')
  .option('--nm <list>', 'N:M patterns', '2:4,4:8')
  .option('--owl', 'add OWL variants at the unstructured sparsities')
  .option('--dsnot-variants <list>', 'reference | width | guard | width+guard', 'reference')
  .option('--cycles-per-column <f>', 'swap budget of the width-aware DSnoT variant', floatOption('--cycles-per-column', 0, 1), 50 / 4096)
  .requiredOption('--eval <files>', 'evaluation texts, comma-separated')
  .option('--eval-seqlen <n>', 'evaluation window length', intOption('--eval-seqlen', 2))
  .option('--max-windows <k>', 'evaluate the first k windows only', intOption('--max-windows', 1))
  .option('--calib <file>', 'calibration text').option('--calib-windows <file>', 'exact calibration windows')
  .option('--nsamples <n>', 'calibration windows', intOption('--nsamples', 1))
  .option('--seqlen <n>', 'calibration window length', intOption('--seqlen', 2))
  .option('--seed <n>', 'calibration seed', intOption('--seed', 0))
  .option('--jobs <n>', 'runs in parallel', intOption('--jobs', 1, 256), 1)
  .requiredOption('--out <prefix>', 'writes PREFIX.md and PREFIX.json')
  .addOption(force()).addOption(threads()).addOption(backendOption()).addOption(json())
  .action((kind, model, flags) => reportCommand(kind, model, flags, context(flags)));

/** KV-cache quantization scheme options (KVTuner's defaults per scheme). */
function kvSchemeOptions(c: Command): Command {
  return c
    .option('--scheme <s>', 'kivi (keys per channel, values per token) | per-token', 'kivi')
    .option('--group <n>', 'group size: tokens per key group (kivi) / channels per group; 0 = whole head (default: 32 kivi, 0 per-token)', intOption('--group', 0))
    .option('--residual <n>', 'full-precision residual window R (default: 32 kivi, 0 per-token)', intOption('--residual', 0))
    .option('--zero-point <z>', 'float (KIVI: offset = min) | rounded (KVTuner vanilla: integer zero point)', 'float');
}

function kvCalibOptions(c: Command): Command {
  return kvSchemeOptions(c)
    .option('--calib <file>', 'calibration text: .jsonl[.gz] documents or a text file (default: bundled C4 validation sample)')
    .option('--nsamples <n>', 'calibration windows', intOption('--nsamples', 1), 4)
    .option('--seqlen <n>', 'window length (default: min(256, context))', intOption('--seqlen', 2))
    .option('--seed <n>', 'sampling and search seed', intOption('--seed', 0), 0)
    .addOption(tokenizer()).addOption(threads()).addOption(backendOption()).addOption(json());
}

const kv = program.command('kv').description('KV-cache quantization: sensitivity profiles, KVTuner search, quality of a configuration');
kvCalibOptions(kv.command('profile').description('per-layer sensitivity of every (key bits, value bits) pair, the others at 16 bits; Pareto pruning and layer groups')
  .argument('<model>')
  .option('--out <file>', 'also write the profile as JSON').addOption(force()))
  .action((model, flags) => kvProfileCommand(model, flags, context(flags)));
kvCalibOptions(kv.command('search').description('KVTuner: Pareto-pruned pairs, clustered layers, NSGA-II under a mean-bits budget; writes a preset')
  .argument('<model>')
  .requiredOption('--budget <bits>', 'mean equivalent bits allowed, e.g. 3.25 or 4', floatOption('--budget', 2, 16))
  .option('--trials <n>', 'configurations to evaluate', intOption('--trials', 1), 100)
  .option('--population <n>', 'NSGA-II population size', intOption('--population', 2), 50)
  .option('--groups <n>', 'layer groups (default: round(sqrt(layers)) + 1)', intOption('--groups', 1))
  .option('--vanilla', "the reference's vanilla search: one variable per layer over [KV8, K8V4, KV4, K4V2, KV2], no profiling")
  .option('--objective <o>', 'quality loss on the calibration windows: kl (vs the float cache) | ppl (teacher-forced NLL)', 'kl')
  .requiredOption('--out <file>', 'preset to write (.json, or .yaml)').addOption(force()))
  .action((model, flags) => kvSearchCommand(model, flags, context(flags)));
kvSchemeOptions(kv.command('eval').description('quality of a quantized KV cache vs the float cache: perplexity, KL, top-1 and greedy agreement, bytes per token')
  .argument('<model>')
  .option('--config <file>', 'per-layer preset (from `lithe kv search`, or KVTuner YAML)')
  .option('--bits <pair>', 'one pair for every layer: KV8, K8V4, KV4, K4V2, KV2, K16V4, ...')
  .option('--data <file>', 'evaluation text (default: bundled TinyStories validation sample)')
  .option('--seqlen <n>', 'window length (default: min(256, context))', intOption('--seqlen', 2))
  .option('--max-windows <k>', 'windows to evaluate', intOption('--max-windows', 1), 8)
  .option('--prefill <n>', 'the first n tokens of each window are a float prefill; later ones decode through the cache', intOption('--prefill', 0), 0)
  .option('--force-quant', 'prefill rows also attend through the quantized store (KVTuner force_quant)')
  .option('--continuations <n>', 'greedy continuations compared with the float cache', intOption('--continuations', 0), 4)
  .option('--prompt-tokens <n>', 'prompt length of each continuation', intOption('--prompt-tokens', 1), 32)
  .option('--gen-tokens <n>', 'tokens generated per continuation', intOption('--gen-tokens', 1), 64)
  .addOption(tokenizer()).addOption(threads()).addOption(backendOption()).addOption(json()))
  .action((model, flags) => kvEvalCommand(model, flags, context(flags)));

/** Flags shared by `stereo` and `stereo eval`. */
function stereoFlags(c: Command, costHelp: string): Command {
  return c
    .option('--max-disp <d>', 'disparities 0..d-1, a multiple of 8', intOption('--max-disp', 8, 1024))
    .option('--cost <c>', costHelp, 'census')
    .option('--paths <n>', 'SGM directions: 4 (single-pass causal), 8 or 16', intOption('--paths', 4, 16), 8)
    .option('--p1 <n>', 'penalty for +-1 disparity steps (default per cost, scaled by the aggregation area)', intOption('--p1', 0, 65535))
    .option('--p2 <n>', 'penalty for larger jumps (default per cost)', intOption('--p2', 0, 65535))
    .option('--adaptive-p2', 'P2 / (|I(p) - I(p-r)| + 1) along each path')
    .option('--uniqueness <pct>', 'reject a minimum that is not this many percent below the next-but-one (0 = off)', floatOption('--uniqueness', 0, 99), 0)
    .option('--subpixel <fit>', 'subpixel fit of the minimum: parabola | equiangular | none', 'parabola')
    .option('--no-lr-check', 'skip the left-right consistency check')
    .option('--lr-max-diff <px>', 'left-right check tolerance', floatOption('--lr-max-diff', 0, 1024), 1)
    .option('--speckle-size <n>', 'invalidate regions of at most n pixels (0 = off)', intOption('--speckle-size', 0), 0)
    .option('--speckle-range <px>', 'disparity step inside a speckle region', floatOption('--speckle-range', 0, 1024), 2)
    .option('--no-fill', 'leave invalid pixels invalid (0 in the PNG) instead of filling with the background disparity')
    .option('--no-median', 'skip the 3x3 median')
    .option('--census-window <WxH>', 'census window (at most 64 bits)', '9x7')
    .option('--census-symmetric', 'center-symmetric census (mirrored pixel pairs, half the bits)')
    .option('--rank-window <WxH>', 'rank transform window', '7x7')
    .option('--rank-regions <r>', 'Rank SAD sub-regions: quadrants | octants', 'quadrants')
    .option('--aggregate <r>', 'box aggregation radius of the pixelwise cost (default: census 0, rank costs 2, bt 1)', intOption('--aggregate', 0, 7))
    .option('--sad-aggregate <r>', 'unified: aggregation radius of the Rank SAD term (default: --aggregate)', intOption('--sad-aggregate', 0, 7))
    .option('--t1 <n>', 'unified: truncation of the rank/AD term', intOption('--t1', 0, 65535))
    .option('--t2 <n>', 'unified: truncation of the Rank SAD term', intOption('--t2', 0, 65535))
    .option('--lambda <w>', 'unified: weight of the Rank SAD term', floatOption('--lambda', 0, 16), 1)
    .addOption(threads()).addOption(backendOption()).addOption(json());
}

const stereoCmd = stereoFlags(program.command('stereo')
  .description('semi-global stereo matching: LEFT RIGHT -> disparity PNG (x16, 16-bit); `stereo eval` scores Middlebury pairs')
  .argument('<left>', 'left (reference) image: PNG, PGM or PPM').argument('<right>', 'right image, same size')
  .option('--out <file>', 'disparity map (required): 16-bit PNG, disparity x 16, 0 = invalid')
  .option('--preview <file>', 'colour-mapped PNG preview')
  .addOption(force())
  .option('--gt <file>', 'ground-truth disparity image: also report bad-pixel rates')
  .option('--gt-scale <s>', 'ground-truth disparity = value / s (default: from a dataset.json next to the file or its Middlebury folder, else required)', floatOption('--gt-scale', 1e-6, 1e6)), 'census | rank-ad | rank-sad | unified | bt')
  .action((left, right, flags) => stereoCommand(left, right, flags, context(flags)))
  .enablePositionalOptions(); // flags after `eval` belong to eval

stereoFlags(stereoCmd.command('eval')
  .description('bad-pixel rates (nonocc / all / disc) on Middlebury-style pairs (default: the bundled tsukuba, venus, teddy, cones)')
  .argument('[dir]', 'dataset folder: dataset.json or tsukuba/venus/teddy/cones subfolders')
  .option('--threshold <px>', 'bad-pixel threshold for the table (JSON has 0.5, 1 and 2 as well)', floatOption('--threshold', 0, 1024), 1)
  .option('--border <px>', 'ignore this many pixels at the image border (OpenCV test: 10)', intOption('--border', 0), 0)
  .option('--out-dir <dir>', 'also write each disparity map as PAIR-COST.png')
  .addOption(force()), 'cost, or a comma-separated list for an ablation table')
  .action((dir, flags) => stereoEvalCommand(dir, flags, context(flags)));

/** Inputs of the attention commands: generated video-like heads or a dumped trace. */
function attentionInputs(c: Command): Command {
  return c
    .option('--shape <T,H,W>', 'latent grid of the generated inputs: frames, height, width', '13,16,24')
    .option('--text <n>', 'text tokens after the video tokens', intOption('--text', 0, 1 << 20), 0)
    .option('--heads <n>', 'attention heads', intOption('--heads', 1, 1024), 8)
    .option('--dim <d>', 'head dim (a multiple of 8)', intOption('--dim', 16, 512), 64)
    .option('--seed <n>', 'generator seed (head parameters; steps change only the noise)', intOption('--seed', 0), 0)
    .option('--image <file>', 'PNG whose content moves across the generated frames (default: a bundled Middlebury image)')
    .option('--trace <files>', 'evaluate dumped Q/K/V instead (.safetensors: q, k, v [heads, tokens, head_dim], metadata grid "T,H,W" and text); more files, comma-separated, are the calibration inputs')
    .option('--block <n>', 'attention block (query and key) in tokens', intOption('--block', 8, 1024), 64)
    .option('--calib-steps <n>', 'compact search: generated calibration inputs (steps 1..n of the generator)', intOption('--calib-steps', 1, 64), 2)
    .addOption(threads()).addOption(backendOption()).addOption(json());
}

const attentionCmd = program.command('attention').description('sparse attention for video diffusion transformers: RainFusion, RainFusion2.0, Compact Attention vs dense flash attention');
attentionInputs(attentionCmd.command('bench').description('methods vs dense flash attention in one run: error, recall, density, mask/permute/attention times, speedup'))
  .option('--method <list>', `comma-separated: ${METHODS.join(', ')}`, METHODS.join(','))
  .option('--sparsity <s>', 'target sparsity (fraction of blocks skipped) for every method', floatOption('--sparsity', 0, 0.99), 0.7)
  .option('--repeat <n>', 'timed calls per kernel (median; dense and sparse alternate)', intOption('--repeat', 1, 100), 3)
  .option('--rf-variant <v>', 'RainFusion heads: three (spatial, temporal, textural) | deployed (the code\'s two)', 'three')
  .option('--rf-band-rounding <r>', 'RainFusion band width in blocks: nearest | floor (the code; no band when b*H*W < block)', 'nearest')
  .option('--rf2-tile <t,h,w>', 'RainFusion2.0 permutation tile: 1,8,8 (rf_v2) or 2,8,8 (3-D window)', '1,8,8')
  .option('--rf2-first-frame <p>', 'RainFusion2.0 first-frame sink: keep (at the front, rf_v2) | end (next to the text, the paper)', 'keep')
  .option('--compact-config <file>', 'Compact Attention configuration from `lithe attention search` (default: search on --calib-steps inputs for --sparsity)')
  .option('--steps <n>', 'run a denoising loop of n steps (new noise each step) instead of one call; per-step table', intOption('--steps', 1, 1000), 1)
  .option('--warmup <k>', 'with --steps: the first k steps dense (RainFusion skip_timesteps / start_step)', intOption('--warmup', 0), 0)
  .option('--mask-refresh <r>', 'with --steps: predict masks every r sparse steps, reuse them in between (rf_v3 mask cache)', intOption('--mask-refresh', 1), 1)
  .action((flags) => attentionBenchCommand(flags, context(flags)));
attentionInputs(attentionCmd.command('search').description('Compact Attention: offline per-head shrink search of window configurations on calibration inputs; writes a JSON configuration'))
  .option('--recall <tau>', 'recall threshold of the shrink search (default 0.95)', floatOption('--recall', 0.01, 1))
  .option('--sparsity <s>', 'instead of --recall: the threshold whose search reaches this mean sparsity', floatOption('--sparsity', 0, 0.99))
  .option('--lambda <x>', 'stop when a shrink round lowers the density by less than this', floatOption('--lambda', 0, 1), 0)
  .option('--tile <t,h,w>', 'tile = one block: 1,8,8 for block 64, 2,8,8 for 128 (default)')
  .option('--out <file>', 'configuration file to write')
  .addOption(force())
  .action((flags) => attentionSearchCommand(flags, context(flags)));

program.command('train').description('train an MLP or LeNet-5 on MNIST IDX files or an image folder (a subfolder per class): seeded held-out split, progress with loss / accuracy / ETA, checkpoints each epoch and on Ctrl-C, --resume')
  .option('--arch <a>', 'mlp (784-1024-1024-classes for 28x28) | lenet (LeNet-5: conv 5x5 6/16, max pooling, 120-84-classes)', 'lenet')
  .option('--mnist <dir>', 'MNIST folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz')
  .option('--images <dir>', 'image folder: one subfolder of PNG/PGM/PPM images per class')
  .option('--epochs <n>', 'passes over the training images', intOption('--epochs', 1), 1)
  .option('--batch <n>', 'images per step', intOption('--batch', 1), 64)
  .option('--lr <x>', 'learning rate (default: adamw 1e-3, sgd 0.05)', floatOption('--lr', 1e-9, 100))
  .option('--optimizer <o>', 'adamw | sgd (with momentum)', 'adamw')
  .option('--momentum <m>', 'sgd momentum (default 0.9)', floatOption('--momentum', 0, 1))
  .option('--weight-decay <w>', 'decoupled (adamw, default 0.01) or L2 (sgd, default 0)', floatOption('--weight-decay', 0, 1))
  .option('--schedule <s>', 'learning-rate schedule after warmup: constant | cosine | linear', 'constant')
  .option('--warmup <k>', 'linear warmup steps', intOption('--warmup', 0), 0)
  .option('--clip <norm>', 'clip gradients to this global L2 norm', floatOption('--clip', 1e-9, 1e9))
  .option('--augment-shift <px>', 'move each training image by up to this many pixels in y and x (uniform, zero fill; seeded per step)', intOption('--augment-shift', 0), 0)
  .option('--held-out <f>', 'fraction of the images held out for accuracy', floatOption('--held-out', 0.001, 0.999), 0.2)
  .option('--seed <n>', 'seed of the split, the initialization and the shuffles', intOption('--seed', 0), 0)
  .option('--out <dir>', 'checkpoint folder (written after every epoch and on Ctrl-C) and the trained net.safetensors')
  .option('--resume <dir>', 'continue from a checkpoint folder (same architecture, data and optimizer)')
  .option('--max-steps <n>', 'stop (and checkpoint) after this many steps in all', intOption('--max-steps', 1))
  .addOption(threads()).addOption(backendOption()).addOption(json())
  .action((flags) => trainCommand(flags, context(flags)));

program.command('bench').description('kernel benchmarks (gemm: sgemm 1024^3 and GEMV 1x4096x4096 at 1 and all threads)')
  .argument('<name>', 'benchmark name: gemm')
  .addOption(threads()).addOption(backendOption()).addOption(json())
  .action((name, flags) => benchCommand(name, flags, context(flags)));

program.command('serve').description('the browser page: load a model folder, generate and score text on WebGPU or the WebAssembly kernels, with tokens/s')
  .option('--port <n>', 'port (0: any free one)', intOption('--port', 0, 65535), 8080)
  .option('--host <h>', 'address to listen on', '127.0.0.1')
  .addOption(json())
  .action((flags) => serveCommand(flags, context(flags)));

program.command('demo').description('run the embedded stories260K model: a story and its perplexity')
  .option('--max-tokens <n>', 'story length in tokens', intOption('--max-tokens', 1, 511), 200)
  .addOption(threads()).addOption(backendOption()).addOption(json())
  .action((flags) => demoCommand(flags, context(flags)));

/** After a usage error: the one error line and where the help is, not the whole help text. */
function helpHint(c: Command, name: string): void {
  c.showHelpAfterError(`(see \`${name} --help\`)`);
  for (const sub of c.commands) helpHint(sub, `${name} ${sub.name()}`);
}
helpHint(program, 'lithe');

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  if (e instanceof CancelledError) {
    process.stderr.write('lithe: cancelled\n');
    process.exit(130);
  }
  if (e instanceof LitheError) {
    process.stderr.write(`lithe: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(`lithe: internal error: ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
}
