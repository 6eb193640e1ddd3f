"""Speed of Dumer's decoder for RM(8,2) (exact log-sum-exp): kolit vs a plain NumPy recursion.

Both decoders run in this process on the same LLRs (machines here are noisy: only ratios measured
in one run mean anything). The baselines are in benchmarks/numpy_dumer.py:

* "numpy per-codeword": the textbook recursion applied to one codeword at a time (what a plain
  NumPy implementation of §4.2.2 does); timed on a subsample and scaled linearly;
* "numpy batched": the same recursion on (batch, n) arrays, MAP leaves by codebook correlation.

The goal (issue 2): kolit ≥ 10× the plain NumPy recursion at batch 10^4 on 2 CPU cores.

    .venv/bin/python benchmarks/bench_dumer.py [--batch 10000] [--repeats 5] [--threads 2] [--device cpu]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from numpy_dumer import decode_rm  # noqa: E402
from timing import best_times  # noqa: E402

from kolit.core import bpsk, make_generator, random_bits, snr_to_sigma  # noqa: E402
from kolit.plotkin import dumer_decode, encode, rm_tree  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 was fastest on a loaded 2-core machine)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--m", type=int, default=8)
    ap.add_argument("--r", type=int, default=2)
    ap.add_argument("--snr", type=float, default=-4.0)
    ap.add_argument("--subsample", type=int, default=200, help="codewords for the per-codeword baseline")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    tree = rm_tree(args.m, args.r)
    g = make_generator(0, args.device)
    bits = random_bits(args.batch, tree.k, g)
    sigma = snr_to_sigma(args.snr)
    y = bpsk(encode(tree, bits)) + sigma * torch.randn(bits.shape[0], tree.n, generator=g, device=args.device)
    llr = 2 * y / sigma**2
    llr_np = llr.double().cpu().numpy()

    # the same decisions first: kolit and the NumPy recursion must agree codeword for codeword
    msg = dumer_decode(tree, llr)
    cw_kolit = encode(tree, msg).cpu().numpy()
    cw_np = decode_rm(llr_np, args.m, args.r, batched=True)
    agree = float((cw_kolit == cw_np).all(1).mean())

    sync = (lambda: torch.cuda.synchronize()) if args.device.startswith("cuda") else (lambda: None)
    def run_kolit():
        dumer_decode(tree, llr); sync()
    t_kolit, t_batched = best_times([run_kolit, lambda: decode_rm(llr_np, args.m, args.r, batched=True)], args.repeats)
    sub = llr_np[: args.subsample]
    t_percw = best_times([lambda: decode_rm(sub, args.m, args.r, batched=False)], 1)[0] * args.batch / len(sub)

    print(f"RM({args.m},{args.r}) Dumer exact-LSE, batch {args.batch}, {args.threads} torch thread(s), device {args.device}")
    print(f"agreement with the NumPy recursion (same codewords): {agree:.4f}")
    print(f"kolit                 {t_kolit*1e3:9.1f} ms   {args.batch/t_kolit:12,.0f} codewords/s")
    print(f"numpy batched         {t_batched*1e3:9.1f} ms   {args.batch/t_batched:12,.0f} codewords/s   ratio {t_batched/t_kolit:6.1f}x")
    print(f"numpy per-codeword    {t_percw*1e3:9.1f} ms   {args.batch/t_percw:12,.0f} codewords/s   ratio {t_percw/t_kolit:6.1f}x  (timed on {len(sub)}, scaled)")
    goal = t_percw / t_kolit >= 10
    print(f"goal (>= 10x the plain NumPy recursion): {'met' if goal else 'NOT met'}")
    return 0 if agree == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
