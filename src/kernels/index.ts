/**
 * The op registry: every op Lithe's backends run, one folder each (see op.ts). A new op is its folder plus one line
 * here (and its cases in test/backend-ops.test.ts).
 */
import type { OpDef } from './op.js';
import { LINEAR, LINEAR_F16 } from './linear/index.js';
import { DEQUANTIZE, LINEAR_PACKED } from './packed/index.js';
import { RMS_NORM } from './rmsnorm/index.js';
import { LOGSUMEXP, SOFTMAX } from './softmax/index.js';
import { ROPE } from './rope/index.js';
import { ATTENTION } from './attention/index.js';
import { BLOCK_ATTENTION, BLOCK_MASS } from './block-attention/index.js';
import { KV_ATTENTION } from './kv-attention/index.js';
import { ADD, SILU_MUL } from './elementwise/index.js';
import { ROUND_TO, TO_F32 } from './convert/index.js';
import { EMBED } from './embed/index.js';
import { HADAMARD } from './hadamard/index.js';
import { FAKE_QUANT } from './fake-quant/index.js';
import { LINEAR_SPARSE } from './sparse/index.js';
import { COL_SUM, GEMM } from './gemm/index.js';
import { COPY_COLUMNS, FILL, MUL, SCALE, SUM_SQUARES } from './fill-copy/index.js';
import { GELU, GELU_BACKWARD, LOG_SOFTMAX, LOG_SOFTMAX_BACKWARD, RELU_BACKWARD, SILU_MUL_BACKWARD, SOFTMAX_BACKWARD } from './activation-grad/index.js';
import { CROSS_ENTROPY, CROSS_ENTROPY_BACKWARD, KL_DIV, KL_DIV_BACKWARD, MSE, MSE_BACKWARD } from './losses/index.js';
import { RMS_NORM_BACKWARD } from './rmsnorm-backward/index.js';
import { EMBED_BACKWARD } from './embed-backward/index.js';
import { DROPOUT } from './dropout/index.js';
import { ADAMW_STEP, SGD_STEP } from './optim/index.js';
import { BATCH_NORM, BATCH_NORM_BACKWARD } from './batch-norm/index.js';
import { ATTENTION_BACKWARD } from './attention-backward/index.js';
import { CONV2D_BACKWARD } from './conv-backward/index.js';
import { AVG_POOL2D_BACKWARD, MAX_POOL2D_BACKWARD } from './pool-backward/index.js';
import { LAYER_NORM, LAYER_NORM_BACKWARD } from './layernorm/index.js';
import { CTC_LOSS, CTC_LOSS_BACKWARD } from './ctc/index.js';
import { CONV1D, CONV2D } from './conv/index.js';
import { AVG_POOL2D, MAX_POOL2D } from './pool/index.js';
import { RELU } from './relu/index.js';
import { CHANNEL_AFFINE } from './channel-affine/index.js';
import { UPSAMPLE2D, UPSAMPLE2D_BACKWARD } from './upsample/index.js';
import { SIGMOID, SIGMOID_BACKWARD } from './sigmoid/index.js';

export * from './op.js';
export * from './linear/index.js';
export * from './packed/index.js';
export * from './rmsnorm/index.js';
export * from './softmax/index.js';
export * from './rope/index.js';
export * from './attention/index.js';
export * from './block-attention/index.js';
export * from './kv-attention/index.js';
export * from './elementwise/index.js';
export * from './convert/index.js';
export * from './embed/index.js';
export * from './hadamard/index.js';
export * from './fake-quant/index.js';
export * from './sparse/index.js';

export * from './gemm/index.js';
export * from './fill-copy/index.js';
export * from './activation-grad/index.js';
export * from './losses/index.js';
export * from './rmsnorm-backward/index.js';
export * from './embed-backward/index.js';
export * from './dropout/index.js';
export * from './optim/index.js';
export * from './batch-norm/index.js';
export * from './attention-backward/index.js';
export * from './conv-backward/index.js';
export * from './pool-backward/index.js';
export * from './layernorm/index.js';
export * from './ctc/index.js';
export * from './conv/index.js';
export * from './pool/index.js';
export * from './relu/index.js';
export * from './channel-affine/index.js';
export * from './upsample/index.js';
export * from './sigmoid/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const OPS: readonly OpDef<any>[] = [LINEAR, LINEAR_F16, LINEAR_PACKED, DEQUANTIZE, RMS_NORM, SOFTMAX, LOGSUMEXP, ROPE, ATTENTION, BLOCK_ATTENTION,
  BLOCK_MASS, KV_ATTENTION, ADD, SILU_MUL, TO_F32, ROUND_TO, EMBED, HADAMARD, FAKE_QUANT, LINEAR_SPARSE,
  GEMM, COL_SUM, FILL, SCALE, MUL, COPY_COLUMNS, SUM_SQUARES, RELU_BACKWARD, GELU, GELU_BACKWARD, SILU_MUL_BACKWARD, SOFTMAX_BACKWARD, LOG_SOFTMAX,
  LOG_SOFTMAX_BACKWARD, CROSS_ENTROPY, CROSS_ENTROPY_BACKWARD, MSE, MSE_BACKWARD, KL_DIV, KL_DIV_BACKWARD, RMS_NORM_BACKWARD, EMBED_BACKWARD, DROPOUT,
  ADAMW_STEP, SGD_STEP, BATCH_NORM, BATCH_NORM_BACKWARD, ATTENTION_BACKWARD,
  CONV2D, CONV1D, MAX_POOL2D, AVG_POOL2D, RELU, CHANNEL_AFFINE, CONV2D_BACKWARD, MAX_POOL2D_BACKWARD, AVG_POOL2D_BACKWARD, LAYER_NORM, LAYER_NORM_BACKWARD, CTC_LOSS, CTC_LOSS_BACKWARD,
  UPSAMPLE2D, UPSAMPLE2D_BACKWARD, SIGMOID, SIGMOID_BACKWARD];

