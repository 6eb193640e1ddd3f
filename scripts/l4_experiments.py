"""Full-size runs of thesis Chapter 3 (kolit.landscape): Figures 3.1, 3.2, B.1 and the census of minima.

    nice .venv/bin/python scripts/l4_experiments.py --all          # everything (about 20-40 min on one core)
    nice .venv/bin/python scripts/l4_experiments.py fig-3-1 census  # some of them

Each experiment is written to reports/data/l4/NAME.json as soon as it finishes (a checkpoint: an interrupted run
keeps the experiments already done; rerun only the missing names). Every file records the command, the date, the
seed, the versions and the wall time. The notebooks nbs/04a_l4_losses.ipynb and nbs/04b_l4_landscape.ipynb and the
`l4-*` reproductions read these files.
"""
import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from kolit.landscape import EXPERIMENTS, experiment_dir

FULL = {  # name -> keyword arguments of the runner at full size (defaults of the runner otherwise)
    "fig-b-1": dict(trials=5, epochs=16000, batch=128, lr=1e-3),
    "fig-3-1": dict(trials=10, epochs=4000, batch=1024, l4_lr=1e-3, em_n=102_400, em_iters=100),
    "fig-3-2": dict(trials=5, epochs=4000, batch=1024, l4_lr=1e-3, mix_epochs=8000),
    "census": dict(),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help=f"experiments to run, among {list(FULL)}")
    p.add_argument("--all", action="store_true", help="run every experiment")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0; the reproductions expect 0)")
    p.add_argument("--out", default=None, help="output folder (default reports/data/l4)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--progress", action="store_true", help="tqdm bars")
    a = p.parse_args(argv)
    names = list(FULL) if a.all else a.names
    unknown = [n for n in names if n not in FULL]
    if not names or unknown: p.error(f"give --all or names among {list(FULL)}" + (f"; unknown: {unknown}" if unknown else ""))
    torch.set_num_threads(a.threads)
    out = Path(a.out) if a.out else experiment_dir()
    out.mkdir(parents=True, exist_ok=True)
    command = "nice .venv/bin/python scripts/l4_experiments.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for name in names:
        t0 = time.time()
        print(f"[{datetime.datetime.now():%H:%M:%S}] {name} ...", flush=True)
        fn, _ = EXPERIMENTS[name]
        res = fn(seed=a.seed, progress=a.progress, **FULL[name])
        res["provenance"] = dict(command=command, date=datetime.datetime.now().isoformat(timespec="seconds"),
                                 seconds=round(time.time() - t0, 1), torch=torch.__version__, numpy=np.__version__,
                                 python=platform.python_version(), threads=torch.get_num_threads(), kwargs=FULL[name])
        path = out / f"{name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(res, separators=(",", ":")))
        os.replace(tmp, path)  # atomic: a reader never sees half a file
        print(f"[{datetime.datetime.now():%H:%M:%S}] {name}: {time.time() - t0:.0f} s -> {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
