# PyTorch's dense GEMV (one input row times W^T) on the device machine's GPU, f32 (TF32 off) and bf16, at the shapes
# of `npm run bench -- gpu-sparse`; CUDA events, median of 9 batches of 50 calls after warm-up. Writes one JSON object.
import json, sys, statistics
import torch

torch.backends.cuda.matmul.allow_tf32 = False
out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}
for rows, cols in ((4096, 4096), (11008, 4096), (4096, 11008)):
    for name, dt in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        w = torch.randn(rows, cols, device="cuda", dtype=dt); x = torch.randn(1, cols, device="cuda", dtype=dt)
        for _ in range(20): x @ w.T
        torch.cuda.synchronize()
        ts = []
        for _ in range(9):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(50): x @ w.T
            b.record(); torch.cuda.synchronize(); ts.append(a.elapsed_time(b) / 50)
        out[f"gemv_{name}_{rows}x{cols}_ms"] = statistics.median(ts)
        del w, x
json.dump(out, open(sys.argv[1], "w"), indent=1)
print(json.dumps(out))
