"""Shared timing helper of the benchmark scripts: ratios are measured in one process, in turns."""
import math
import time


def best_times(fns, repeats: int, sync=lambda: None) -> list:
    "Best wall time of each function, measured in turns after one warm-up call each."
    for f in fns: f(); sync()
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for i, f in enumerate(fns):
            t0 = time.perf_counter(); f(); sync()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best
