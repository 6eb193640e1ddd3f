"""Full-size EM experiments of thesis Chapter 2 (§2.5, App. A.12): writes reports/data/em/NAME.json.

Regenerate everything (about 30 minutes on one core):

    nice .venv/bin/python scripts/em_experiments.py --all

or some of it:

    .venv/bin/python scripts/em_experiments.py table-2-1 table-2-2 fig-2-3bc
    .venv/bin/python scripts/em_experiments.py real-data

Each JSON file holds the settings, every trial's row (RegressorFit, GatingFit, E(A, W), iterations, per-iteration
curves), the mean ± std summaries, and the command that made it. `kolit.em.load_experiment(NAME)` reads it.
"""
import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from kolit import __version__
from kolit.em import EXPERIMENTS, real_data_experiment, run_experiment

NAMES = tuple(EXPERIMENTS) + ("real-data",)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help=f"experiments to run, among {', '.join(NAMES)}")
    p.add_argument("--all", action="store_true", help="run every experiment")
    p.add_argument("--trials", type=int, default=None, help="override the trial count (default: each experiment's)")
    p.add_argument("--seed", type=int, default=0, help="base seed")
    p.add_argument("--max-iter", type=int, default=100, help="EM iterations at most")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "reports" / "data" / "em"))
    p.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    args = p.parse_args(argv)
    names = list(NAMES) if args.all else args.names
    bad = [n for n in names if n not in NAMES]
    if not names or bad: p.error(f"names must be among {NAMES} (or --all), got {bad or 'none'}")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python scripts/em_experiments.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for name in names:
        t0 = time.time()
        if name == "real-data":
            res = real_data_experiment(trials=args.trials or 10, seed=args.seed, progress=True)
        else:
            res = run_experiment(name, trials=args.trials, max_iter=args.max_iter, seed=args.seed, progress=True)
        res.update(command=command, seconds=round(time.time() - t0, 1), kolit_version=__version__,
                   torch_version=torch.__version__, python=platform.python_version(),
                   date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
        path = out / f"{name}.json"
        path.write_text(json.dumps(res, indent=1, default=float))
        print(f"{name}: {res['seconds']:.0f} s -> {path}", flush=True)


if __name__ == "__main__":
    main()
