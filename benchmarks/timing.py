"""Shared timing helpers of the benchmark scripts: ratios are measured in one process, in turns."""
import math
import resource
import time


def best_times(fns, repeats: int, sync=lambda: None) -> list:
    "Best wall time of each function, measured in turns after one warm-up call each."
    return [r["wall"] for r in best_runs(fns, repeats, sync)]


def best_runs(fns, repeats: int, sync=lambda: None) -> list:
    "Each function's fastest call (measured in turns after one warm-up call each): wall, user and system CPU seconds,\n"\
    "and minor page faults of this process during that call (CPU time sums over threads; worker processes not included)."
    for f in fns: f(); sync()
    best = [dict(wall=math.inf)] * len(fns)
    for _ in range(repeats):
        for i, f in enumerate(fns):
            r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            f(); sync()
            t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            if t1 - t0 < best[i]["wall"]:
                best[i] = dict(wall=t1 - t0, user=r1.ru_utime - r0.ru_utime, sys=r1.ru_stime - r0.ru_stime,
                               faults=r1.ru_minflt - r0.ru_minflt)
    return best
