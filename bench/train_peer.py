"""PyTorch peer of `npm run bench -- train`: AdamW training steps/s of the same workloads, on the CPU.

Usage: python3 bench/train_peer.py THREADS [mlp,lenet,llama] [STEPS] [cpu|cuda]  (prints one JSON line: {workload: steps_per_second}).
Median of STEPS (default 20; the LLaMA block: max(5, STEPS / 4)) timed steps after 3 warm-ups, as the Lithe side measures. Run with OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS set to THREADS and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (see peers.md)."""
import json, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as Fn

threads = int(sys.argv[1])
which = sys.argv[2].split(',') if len(sys.argv) > 2 else ['mlp', 'lenet', 'llama']
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
dev = torch.device(sys.argv[4] if len(sys.argv) > 4 else 'cpu')
if dev.type == 'cuda':
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
torch.set_num_threads(threads)
torch.manual_seed(0)


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return self.w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)


def rope(x, cos, sin):  # x [T, H, d], rotate-half (neox) layout
    d = x.shape[-1] // 2
    x1, x2 = x[..., :d], x[..., d:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


class Block(nn.Module):
    def __init__(self, h=384, heads=6, kv=2, mlp=1152):
        super().__init__()
        self.heads, self.kv, self.hd = heads, kv, h // heads
        self.n1, self.n2 = RMSNorm(h), RMSNorm(h)
        self.q, self.k, self.v, self.o = nn.Linear(h, h, bias=False), nn.Linear(h, kv * self.hd, bias=False), nn.Linear(h, kv * self.hd, bias=False), nn.Linear(h, h, bias=False)
        self.g, self.u, self.d = nn.Linear(h, mlp, bias=False), nn.Linear(h, mlp, bias=False), nn.Linear(mlp, h, bias=False)

    def forward(self, x, cos, sin):
        T = x.shape[0]
        a = self.n1(x)
        q = rope(self.q(a).view(T, self.heads, self.hd), cos, sin).transpose(0, 1)
        k = rope(self.k(a).view(T, self.kv, self.hd), cos, sin).transpose(0, 1).repeat_interleave(self.heads // self.kv, 0)
        v = self.v(a).view(T, self.kv, self.hd).transpose(0, 1).repeat_interleave(self.heads // self.kv, 0)
        att = torch.softmax((q @ k.transpose(1, 2)) / self.hd ** 0.5 + torch.full((T, T), float('-inf'), device=x.device).triu(1), -1) @ v
        x = x + self.o(att.transpose(0, 1).reshape(T, -1))
        b = self.n2(x)
        return x + self.d(Fn.silu(self.g(b)) * self.u(b))


def bench(model, make_batch, loss_fn, n):
    model = model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = (t.to(dev) for t in make_batch())
    times = []
    for i in range(n + 3):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model, x, y)
        loss.backward()
        opt.step()
        if dev.type == 'cuda':
            torch.cuda.synchronize()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return 1 / statistics.median(times)


out = {}
if 'mlp' in which:
    mlp = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    out['mlp'] = bench(mlp, lambda: (torch.randn(256, 784), torch.randint(0, 10, (256,))), lambda m, x, y: Fn.cross_entropy(m(x), y), steps)
if 'lenet' in which:
    out['lenet'] = bench(lenet(), lambda: (torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))), lambda m, x, y: Fn.cross_entropy(m(x), y), steps)
if 'llama' in which:
    T, hd = 512, 64
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.arange(T).float()[:, None] * inv[None]
    cos, sin = ang.cos()[:, None, :].to(dev), ang.sin()[:, None, :].to(dev)
    blk = Block()
    out['llama'] = bench(blk, lambda: (torch.randn(T, 384), torch.randn(T, 384)), lambda m, x, y: Fn.mse_loss(m(x, cos, sin), y), max(5, steps // 4))
print(json.dumps(out))
