# The native side of `npm run bench -- webgpu` on the device machine: PyTorch matrix products (f32 without TF32,
# bf16) and SDPA at the CogVideoX-5B shape (17,776 tokens, 48 heads, d 64; bf16 and f32), timed with CUDA
# events (median of 10 after 3 warm-ups) on random data. Writes one JSON object to the path given.
import json, sys, statistics
import torch

def med(fn, reps=10, warm=3):
    for _ in range(warm): fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize(); ts.append(a.elapsed_time(b))
    return statistics.median(ts)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
out = {"torch": torch.__version__, "device": torch.cuda.get_device_name(0)}
for n in (1024, 4096, 8192):
    for name, dt in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(n, n, device="cuda", dtype=dt); b = torch.randn(n, n, device="cuda", dtype=dt)
        out[f"mm_{name}_{n}_ms"] = med(lambda: a @ b.T)
N, H, D = 17776, 48, 64
for name, dt in (("bf16", torch.bfloat16), ("f32", torch.float32)):
    q, k, v = (torch.randn(1, H, N, D, device="cuda", dtype=dt) for _ in range(3))
    try:
        out[f"sdpa_{name}_ms"] = med(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), reps=5)
    except RuntimeError as e:  # f32 may have no fused kernel at this size
        out[f"sdpa_{name}_error"] = str(e).splitlines()[0]
    del q, k, v
    torch.cuda.empty_cache()
json.dump(out, open(sys.argv[1], "w"))
print(json.dumps(out))
