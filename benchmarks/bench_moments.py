"""Speed and memory of the cross-moment tensor T3 = (1/n) Σ_j f_j S3(x_j) (kolit.moments, Algorithm 1).

Two checks of issue 3 ("Speed and limits"), measured in this process (machines here are shared and
noisy: only ratios measured in one run mean anything):

1. Forming T3 for n = 10^5, d = 50: kolit's chunked GEMM (`score_moment`, symmetric pairs j ≤ k) against
   a naive einsum, `np.einsum('n,ni,nj,nk->ijk', f, x, x, x)` (NumPy's default, optimize=False: one
   C loop over n·d³ terms), plus the same Hermite correction. The naive baseline is timed on a subsample
   of `--subsample` rows and scaled linearly in n (its cost is exactly linear in n); both results are
   compared on that subsample. Goal: ≥ 20× at equal thread count (the naive loop is single-threaded, so
   the ratio that counts is kolit on 1 thread; the ratio with `--threads` threads is printed too).
2. n = 10^6, d = 100 within 2 GB: samples of a k = 5 MoE are drawn in chunks of `--chunk` rows
   (`iter_moe_samples`) and folded into the accumulator, so x (800 MB in float64) is never held whole.
   Peak resident memory of the whole process (torch included) is read from resource.getrusage.

    .venv/bin/python benchmarks/bench_moments.py [--threads 2] [--quick] [--device cpu]

`--quick` runs part 2 with n = 10^5 (seconds instead of minutes).
"""
import argparse
import resource
import sys
import time

import numpy as np
import torch

from kolit.moe import iter_moe_samples, random_moe
from kolit.moments import ScoreMoment, linear_coefficients, score_moment, transform_p2, transform_p3


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def naive_t3(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    "The textbook estimator: einsum of the weighted third powers, then the Hermite correction."
    n, d = x.shape
    T = np.einsum("n,ni,nj,nk->ijk", f, x, x, x)
    s1, I = f @ x, np.eye(d)
    corr = np.einsum("ab,c->abc", I, s1)
    return (T - corr - corr.transpose(0, 2, 1) - corr.transpose(2, 1, 0)) / n


def timed(fn):
    t0 = time.perf_counter(); out = fn(); return time.perf_counter() - t0, out


def part1(args) -> bool:
    n, d = 100_000, 50
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, dtype=torch.float64, generator=g)
    f = torch.randn(n, dtype=torch.float64, generator=g)
    m = args.subsample
    t_naive_sub, T_naive = timed(lambda: naive_t3(x[:m].numpy(), f[:m].numpy()))
    t_naive = t_naive_sub * n / m
    err = float(np.abs(score_moment(x[:m], f[:m], 3).numpy() - T_naive).max())
    dev = torch.device(args.device)
    xd, fd = x.to(dev), f.to(dev)
    res = {}
    for threads in sorted({1, args.threads}):
        torch.set_num_threads(threads)
        score_moment(xd[:1000], fd[:1000], 3)  # warm-up
        times = []
        for _ in range(args.repeats):
            t, _ = timed(lambda: score_moment(xd, fd, 3))
            if dev.type == "cuda": torch.cuda.synchronize()
            times.append(t)
        res[threads] = min(times)
    torch.set_num_threads(args.threads)
    print(f"[1] T3 for n = {n:,}, d = {d} (float64, {args.device})")
    print(f"    naive np.einsum (1 thread): {t_naive_sub:.3f} s on {m} rows -> {t_naive:.1f} s scaled to n = {n:,}")
    for threads, t in res.items():
        print(f"    kolit score_moment, {threads} thread(s): {t:.3f} s   ratio {t_naive / t:.1f}x")
    print(f"    max |kolit - naive| on the subsample: {err:.2e}")
    ok = t_naive / res[1] >= 20
    print(f"    goal >= 20x at 1 thread: {'MET' if ok else 'NOT MET'} ({t_naive / res[1]:.1f}x)")
    return ok


def part2(args) -> bool:
    n, d, k, sigma = (100_000 if args.quick else 1_000_000), 100, 5, 0.5
    truth = random_moe(k, d, sigma=sigma, seed=0, device=args.device)
    alpha, beta, gamma = linear_coefficients(sigma)
    acc3 = ScoreMoment(3, d, device=args.device)
    acc2 = ScoreMoment(2, d, device=args.device)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    for chunk in iter_moe_samples(truth, n, chunk=args.chunk, seed=1):
        acc3.add(chunk.x, transform_p3(chunk.y, alpha, beta))
        acc2.add(chunk.x, transform_p2(chunk.y, gamma))
    T3, T2 = acc3.value(), acc2.value()
    if torch.device(args.device).type == "cuda": torch.cuda.synchronize()
    t = time.perf_counter() - t0
    rss = peak_rss_mb()
    # sanity: T3(a_i, a_i, a_i) ≈ 6 E[P_i|x] for orthogonal gating (Theorem 1); E[P_i|x] by Monte-Carlo
    A = truth.A
    diag = torch.einsum("abc,ia,ib,ic->i", T3, A, A, A).cpu().numpy()
    print(f"[2] T2 and T3 for n = {n:,}, d = {d} streamed in chunks of {args.chunk:,} ({args.device}, {args.threads} threads)")
    print(f"    time {t:.1f} s; peak RSS {rss:.0f} MB (before the loop {rss0:.0f} MB: imports and torch);"
          f" x itself would be {n * d * 8 / 2**20:.0f} MB")
    print(f"    T3(a_i, a_i, a_i) / 6 = {np.round(diag / 6, 3).tolist()} (≈ E[P_i|x], sum {diag.sum() / 6:.3f} ≈ 1)")
    ok = rss < 2048
    print(f"    goal < 2 GB: {'MET' if ok else 'NOT MET'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--subsample", type=int, default=2000, help="rows for the naive einsum baseline")
    ap.add_argument("--chunk", type=int, default=50_000, help="samples drawn at a time in part 2")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="part 2 with n = 1e5")
    ap.add_argument("--only", choices=["1", "2"], help="run one part")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ok = True
    if args.only in (None, "1"): ok &= part1(args)
    if args.only in (None, "2"): ok &= part2(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
