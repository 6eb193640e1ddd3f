"""Soft-MAP of RM(m, 1): the FHT decoder (`rm1_soft_map`) against brute force over the codebook (`soft_map`).

    .venv/bin/python benchmarks/bench_softmap.py [--batch 4096] [--repeats 5] [--m 8] [--device cpu]

Both decoders run in one process on the same LLRs, in turns (FHT, brute force, FHT, ...), after a warm-up;
the best time of each is kept. Prints, per method, the times, the throughput (codewords per second) and
the speed-up brute/FHT; with --json, one JSON object instead. Checks first that both decoders agree.
Not part of the test path.
"""
import argparse
import json
import math
import os
import sys
import time

import torch

from kolit.softmap import METHODS, rm1_soft_map, soft_map


def rm1_generator(m: int) -> torch.Tensor:
    "RM(m, 1) generator: the rows of F^{⊗m} with popcount >= m - 1 (the kernel of kolit.plotkin)."
    F = torch.tensor([[0., 1.], [1., 1.]])
    G = torch.ones(1, 1)
    for _ in range(m): G = torch.kron(G, F)
    return G[[i for i in range(2**m) if bin(i).count("1") >= m - 1]]


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_times  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=4096, help="codewords per call (default 4096)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls of each decoder (default 5)")
    p.add_argument("--m", type=int, default=8, help="RM(m, 1), n = 2^m (default 8)")
    p.add_argument("--method", choices=METHODS + ("both",), default="both", help="Soft-MAP method (default both)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ... (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random LLRs")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    for name in ("batch", "repeats", "m"):
        if getattr(a, name) < 1: p.error(f"--{name} must be a positive integer, got {getattr(a, name)}")
    if a.device.startswith("cuda") and not torch.cuda.is_available(): p.error(f"--device {a.device}: CUDA is not available")
    if a.threads: torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)

    g = torch.Generator(device=device).manual_seed(a.seed)
    llr = 2.0 * torch.randn(a.batch, 2**a.m, generator=g, device=device)  # (batch, n)
    G = rm1_generator(a.m).to(device)
    methods = METHODS if a.method == "both" else (a.method,)
    out = dict(code=f"RM({a.m},1)", n=2**a.m, k=a.m + 1, batch=a.batch, repeats=a.repeats, device=str(device),
               threads=torch.get_num_threads(), torch=torch.__version__, results={})
    with torch.no_grad():
        for method in methods:
            fast, brute = rm1_soft_map(llr, method), soft_map(llr, G, method)
            err = (fast - brute).abs().max().item()
            if not err <= 1e-3 * (1 + brute.abs().max().item()):
                print(f"error: FHT and brute force disagree by {err} ({method})", file=sys.stderr)
                return 1
            t_fht, t_brute = best_times([lambda: rm1_soft_map(llr, method), lambda: soft_map(llr, G, method)],
                                        a.repeats, sync)
            out["results"][method] = dict(fht_s=t_fht, brute_s=t_brute, ratio=t_brute / t_fht,
                                          fht_codewords_per_s=a.batch / t_fht, brute_codewords_per_s=a.batch / t_brute,
                                          max_abs_diff=err)
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"Soft-MAP of {out['code']} (n={out['n']}, k={out['k']}), batch {a.batch}, best of {a.repeats}, "
          f"{out['device']}, {out['threads']} thread(s), torch {out['torch']}")
    for method, r in out["results"].items():
        print(f"  {method:6s}  FHT {1e3 * r['fht_s']:9.2f} ms ({r['fht_codewords_per_s']:12,.0f} codewords/s)   "
              f"brute force {1e3 * r['brute_s']:9.2f} ms ({r['brute_codewords_per_s']:12,.0f} codewords/s)   "
              f"speed-up {r['ratio']:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
