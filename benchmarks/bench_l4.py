"""L4 (Eq. 3.2): SGD epochs per second with the pair sum in closed form (`l4_loss`) against the per-pair loop (`l4_loss_pairs`).

    .venv/bin/python benchmarks/bench_l4.py [--k 3 10] [--batch 1024] [--epochs 200] [--repeats 3] [--device cpu] [--json]

One epoch is what §3.3's SGD does per step: draw a fresh batch of the thesis's MoE (a_i = e_i, w_i = e_(k+i),
σ = 0.05), evaluate L4, back-propagate and take an Adam step. Both losses run in one process on the same batches,
in turns (vectorised, loop, vectorised, ...), after a warm-up; the best of `--repeats` timings is kept. The loss
and gradient alone are timed too. Checks first that both give the same value and gradient. Not part of the test path.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

from kolit.cqt import quartic_coefficients
from kolit.l4 import L4Reg, l4_loss, l4_loss_pairs, thesis_moe
from kolit.moe import random_sphere, sample_moe
from kolit.core import make_generator


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_times  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, nargs="+", default=[3, 10], help="numbers of experts (default 3 10; d = max(10, 2k))")
    p.add_argument("--batch", type=int, default=1024, help="samples per epoch (default 1024)")
    p.add_argument("--epochs", type=int, default=200, help="epochs per timing (default 200)")
    p.add_argument("--repeats", type=int, default=3, help="timings of each loss (default 3)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, ... (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    for name in ("batch", "epochs", "repeats"):
        if getattr(a, name) < 1: p.error(f"--{name} must be a positive integer, got {getattr(a, name)}")
    if any(k < 2 for k in a.k): p.error(f"--k must be integers >= 2, got {a.k}")
    if a.device.startswith("cuda") and not torch.cuda.is_available(): p.error(f"--device {a.device}: CUDA is not available")
    if a.threads: torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    out = dict(batch=a.batch, epochs=a.epochs, repeats=a.repeats, device=str(device), threads=torch.get_num_threads(),
               torch=torch.__version__, results={})
    reg = L4Reg()
    for k in a.k:
        d = max(10, 2 * k)
        truth = thesis_moe(k, d, 0.05, device=device)
        qt = quartic_coefficients("linear", 0.05)
        data = sample_moe(truth, a.batch, seed=1)
        A = random_sphere(k, d, make_generator(2)).to(device).requires_grad_(True)
        fast, loop = l4_loss(A, data.x, data.y, qt, reg), l4_loss_pairs(A, data.x, data.y, qt, reg)
        (gf,), (gl,) = torch.autograd.grad(fast, A), torch.autograd.grad(loop, A)
        err = max(abs(fast.item() - loop.item()) / (1 + abs(loop.item())), (gf - gl).abs().max().item() / (1 + gl.abs().max().item()))
        if not err < 1e-9:
            print(f"error: l4_loss and l4_loss_pairs disagree by {err:.2e} (k={k})", file=sys.stderr)
            return 1

        def grad_only(loss_fn):
            def f():
                (g,) = torch.autograd.grad(loss_fn(A, data.x, data.y, qt, reg), A)
            return f

        def epochs(loss_fn):
            def f():
                B = A.detach().clone().requires_grad_(True)
                opt, gen = torch.optim.Adam([B], lr=1e-3), make_generator(3, device)
                for _ in range(a.epochs):
                    batch = sample_moe(truth, a.batch, seed=gen)
                    opt.zero_grad()
                    loss_fn(B, batch.x, batch.y, qt, reg).backward()
                    opt.step()
            return f

        g_fast, g_loop = best_times([grad_only(l4_loss), grad_only(l4_loss_pairs)], a.repeats * 20, sync)
        e_fast, e_loop = best_times([epochs(l4_loss), epochs(l4_loss_pairs)], a.repeats, sync)
        out["results"][f"k={k}"] = dict(k=k, d=d, pairs=k * (k - 1), max_rel_diff=err,
                                        loss_grad_us=dict(vectorised=1e6 * g_fast, loop=1e6 * g_loop, ratio=g_loop / g_fast),
                                        epochs_per_s=dict(vectorised=a.epochs / e_fast, loop=a.epochs / e_loop, ratio=e_loop / e_fast))
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"L4 SGD epochs (fresh batch {a.batch} + loss + backward + Adam step), {a.epochs} epochs, best of {a.repeats}, "
          f"{out['device']}, {out['threads']} thread(s), torch {out['torch']}")
    for key, r in out["results"].items():
        e, g = r["epochs_per_s"], r["loss_grad_us"]
        print(f"  {key:5s} d={r['d']:3d} ({r['pairs']:3d} pairs)  vectorised {e['vectorised']:8.0f} epochs/s   "
              f"per-pair loop {e['loop']:8.0f} epochs/s   speed-up {e['ratio']:5.1f}x   "
              f"(loss+grad alone: {g['vectorised']:7.0f} µs vs {g['loop']:7.0f} µs, {g['ratio']:5.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
