"""BER/BLER curves of the shipped KO codes beside their classical codes; writes kolit/data/NAME.curves.json.

    python scripts/ko_curves.py [NAME ...] [--max-codewords N] [--target-block-errors E] [--out kolit/data]

For each shipped code (default: all four): the KO code with its KO decoder, the KO codebook with exact MAP
decoding (k <= 16), and the classical code of the same tree with Dumer's (SC) decoder and, for k <= 16,
MAP. SNR is Es/N0 (dB). Every point carries its Clopper-Pearson 95% intervals (kolit.core.simulate_ber).
The JSON records this command, the weights' training budget (their metadata) and the wall time.
"""
import argparse
import json
import os
import sys
import time

import torch

from kolit.core import keep_freed_memory_by_default, simulate_ber
from kolit.ko import load
from kolit.ko_train import MAX_MAP_TRAIN_K, map_transceiver
from kolit.ko_weights import SHIPPED
from kolit.plotkin import decoder_transceiver

CLASSICAL = {"ko-polar-64-7": ("Polar(64,7)", "polar:64:7"), "ko-6-1": ("RM(6,1)", "rm:6:1"),
             "ko-8-2": ("RM(8,2)", "rm:8:2"), "tinyko-8-2": ("RM(8,2)", "rm:8:2")}
LABEL = {"ko-polar-64-7": "KO-Polar(64,7)", "ko-6-1": "KO(6,1)", "ko-8-2": "KO(8,2)", "tinyko-8-2": "TinyKO(8,2)"}
SNRS = {"ko-polar-64-7": [-8.0, -7.0, -6.0, -5.0, -4.5, -4.0, -3.5, -3.0, -2.5, -2.0],  # half steps around BER 1e-4
        "ko-6-1": [-8.0, -7.0, -6.0, -5.0, -4.0, -3.0],
        "ko-8-2": [-8.0, -7.0, -6.0, -5.0, -4.0, -3.0], "tinyko-8-2": [-8.0, -7.0, -6.0, -5.0, -4.0, -3.0]}


def curves(name, max_codewords, target, seed=0, progress=True):
    code = load(name)
    cname, spec = CLASSICAL[name]
    runs = {f"{LABEL[name]} KO decoder": code.transceiver("awgn")}
    if code.k <= MAX_MAP_TRAIN_K: runs[f"{LABEL[name]} MAP"] = map_transceiver(code)
    runs[f"{cname} Dumer/SC"] = decoder_transceiver(code.tree, "dumer")
    if code.k <= MAX_MAP_TRAIN_K: runs[f"{cname} MAP"] = decoder_transceiver(code.tree, "map")
    out = {}
    for label, trx in runs.items():
        t0 = time.time()
        tab = simulate_ber(trx, SNRS[name], max_codewords=max_codewords, target_block_errors=target,
                           batch_size=10_000, seed=seed, progress=progress)
        out[label] = tab.to_records()
        print(f"{label}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return out, code.info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", default=list(SHIPPED))
    p.add_argument("--max-codewords", type=int, default=1_000_000)
    p.add_argument("--target-block-errors", type=int, default=300)
    p.add_argument("--out", default="kolit/data")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    keep_freed_memory_by_default()  # kolit.core: batches reuse mapped pages (KOLIT_KEEP_FREED_MEMORY=0 opts out)
    os.makedirs(a.out, exist_ok=True)
    for name in a.names:
        t0 = time.time()
        data, info = curves(name, a.max_codewords, a.target_block_errors, progress=not a.no_progress)
        rec = dict(name=name, command=f"python scripts/ko_curves.py {name} --max-codewords {a.max_codewords} "
                                      f"--target-block-errors {a.target_block_errors}",
                   snr="Es/N0 dB", weights=info, wall_s=round(time.time() - t0), curves=data)
        with open(os.path.join(a.out, f"{name}.curves.json"), "w") as f: json.dump(rec, f, indent=1)
        print("wrote", os.path.join(a.out, f"{name}.curves.json"), flush=True)


if __name__ == "__main__":
    main()
