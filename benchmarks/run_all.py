"""Run every benchmark script in benchmarks/ (bench_*.py) one after the other; print their reports."""
import glob
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
status = 0
for script in sorted(glob.glob(os.path.join(here, "bench_*.py"))):
    print(f"\n### {os.path.basename(script)}", flush=True)
    status |= subprocess.call([sys.executable, script])
sys.exit(status)
