// Entry point of the Lithe WebAssembly kernel module. Every export is a pure function over raw pointers into
// the shared linear memory; the last two parameters of each kernel are (thread id, thread count) and each
// kernel computes its own slice. Pointers and sizes are in bytes/elements as documented per kernel.
export { sgemm, sgemm_scratch_bytes, gemv } from './gemm';
export { rmsnorm, softmax, logsumexp } from './rowwise';
export { add_inplace, silu_mul, bf16_to_f32, f16_to_f32, embed, exp_f32, round_to } from './elementwise';
export { rope } from './rope';
export { attention, attention_scratch_bytes } from './attention';
export { census_transform, census_cost, rank_transform, rank_sad_cost, bt_cost, box_sum_h, box_sum_v, truncated_sum,
  sgm, sgm_scratch_bytes, wta, median3x3_f32 } from './stereo';
export { kv_attention } from './kv-attention';
export { gemv_q, dequant_q } from './qgemv';
export { hadamard_rows } from './hadamard';
export { fake_quant_rows } from './fake-quant';
export { flash_attention, block_mass, pack_k_panels, flash_scratch_floats } from './flash-attention';
export { sparse_gemv, sparse_gemm, sparse_scratch_bytes } from './sparse';
