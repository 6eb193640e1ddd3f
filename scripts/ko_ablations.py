"""The ablations of thesis Fig. 4.9 on a CPU budget: train KO-b(8,2) (binarised codewords), KO-linear(8,2) (affine
encoder networks) and, as the fair reference, a plain KO(8,2) with the same budget; evaluate BER/BLER at -6...-3 dB
beside RM(8,2) with Dumer's decoder and the shipped ko-8-2; write reports/data/ko_analysis/ablations.json.

    OMP_NUM_THREADS=1 nice python scripts/ko_ablations.py --minutes 5

Training uses kolit.ko_train.train_folder with the CPU recipe of ko-8-2 in scripts/train_ko.py (RECIPES["ko-8-2"]),
the encoder config changed per variant, for --minutes of wall time per variant (one torch thread). The folders in
--work hold resumable checkpoints; the trained codes are also written next to the JSON (NAME.safetensors, small), so
that the notebook 07e_ko_decoding can check them live. The thesis trained for GPU-days (App. C.7.1); this is minutes of
one CPU core, and the JSON records exactly how many steps and samples each variant saw.
"""
import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_ko import RECIPES  # noqa: E402  the ko-8-2 recipe, kept in one place

from kolit.core import bpsk, make_generator, random_bits, simulate_ber  # noqa: E402
from kolit.ko import KOConfig  # noqa: E402
from kolit.ko_analysis import papr, shipped_code  # noqa: E402
from kolit.ko_train import profile, train_folder  # noqa: E402
from kolit.ko_weights import save_code  # noqa: E402
from kolit.plotkin import decoder_transceiver, encode, parse_code  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = {"ko-b": dict(binarize=True), "ko-linear": dict(activation="linear"), "ko": dict()}  # KOConfig changes
LABELS = {"ko-b": "KO-b(8,2)", "ko-linear": "KO-linear(8,2)", "ko": "KO(8,2) same budget"}


def train_variant(name, minutes, work, seed, chunk):
    "Train one variant until its wall-time budget is spent (at chunk boundaries); return (code, budget)."
    code_name, enc, dec, over = RECIPES["ko-8-2"]
    enc = replace(enc, **VARIANTS[name])
    config = profile("cpu", **over)
    out = os.path.join(work, name)
    t0, deadline = time.time(), time.time() + 60 * minutes
    while True:
        trainer = train_folder(code_name, out, config, enc, dec, steps=chunk, resume=True, seed=seed,
                               checkpoint_every=chunk, progress=False, command=f"scripts/ko_ablations.py {name}")
        print(f"{name}: step {trainer.step_count}, {time.time() - t0:.0f} s", flush=True)
        if time.time() > deadline or trainer.step_count >= config.total_steps: break
    steps = trainer.step_count
    n_enc = sum(trainer.phase(s) == "enc" for s in range(steps))
    budget = dict(wall_s_this_sitting=round(time.time() - t0), steps=steps, schedule_steps=config.total_steps,
                  decoder_samples=(steps - n_enc) * config.batch, encoder_samples=n_enc * config.batch,
                  train=asdict(config), enc_config=asdict(enc))
    return trainer.code.cpu().eval(), budget


def moved_from_rm(code, seed=0, size=2000):
    "How far the encoder moved from RM(8,2): mean |x − x_RM| per symbol on random messages."
    bits = random_bits(size, code.k, make_generator(seed))
    with torch.no_grad(): x = code.encode(bits)
    return float((x - bpsk(encode(code.tree, bits))).abs().mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0, help="training wall time per variant")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--work", default=os.path.join(ROOT, "weights-work", "ablations"), help="checkpoint folders")
    p.add_argument("--out", default=os.path.join(ROOT, "reports", "data", "ko_analysis"))
    p.add_argument("--snrs", type=float, nargs="+", default=[-6.0, -5.0, -4.0, -3.0])
    p.add_argument("--max-codewords", type=int, default=100_000)
    p.add_argument("--target-block-errors", type=int, default=100)
    p.add_argument("--chunk", type=int, default=20, help="training steps between budget checks")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    command = "OMP_NUM_THREADS=1 nice python scripts/ko_ablations.py " + " ".join(argv if argv is not None else sys.argv[1:])
    t_start = time.time()
    codes, budget = {}, {}
    for name in a.variants:
        code, b = train_variant(name, a.minutes, a.work, a.seed, a.chunk)
        b["moved_from_rm"] = moved_from_rm(code)
        b["papr_peak_excess_percent"] = papr(code, 20_000).peak_excess_percent
        codes[LABELS[name]], budget[LABELS[name]] = code, b
        save_code(code, os.path.join(a.out, f"{name}-8-2-ablation.safetensors"), command=command, **{k: v for k, v in b.items()})
    kw = dict(max_codewords=a.max_codewords, target_block_errors=a.target_block_errors, batch_size=10_000,
              seed=a.seed, progress=False)
    curves = {"RM(8,2) Dumer": simulate_ber(decoder_transceiver(parse_code("rm:8:2"), "dumer"), a.snrs, **kw)}
    shipped = shipped_code("ko-8-2")
    if shipped is not None:
        codes["ko-8-2 shipped"] = shipped
        budget["ko-8-2 shipped"] = {k: shipped.info.get(k) for k in ("steps", "decoder_samples", "encoder_samples", "wall_s")}
        budget["ko-8-2 shipped"]["moved_from_rm"] = moved_from_rm(shipped)
    for label, code in codes.items():
        t0 = time.time()
        curves[label] = simulate_ber(code.transceiver(), a.snrs, **kw)
        print(label, [f"{q.ber:.3g}" for q in curves[label]], f"{time.time() - t0:.0f} s", flush=True)
    data = dict(command=command, created=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                budget=dict(minutes_per_variant=a.minutes, torch_threads=1, device="cpu", per_code=budget,
                            thesis="GPU training, App. C.7.1: B=50000, T=2000 epochs of 550 steps"),
                evaluation=dict(snrs_db=a.snrs, **{k: v for k, v in kw.items() if k != "progress"}),
                curves={label: t.to_records() for label, t in curves.items()},
                total_wall_s=round(time.time() - t_start))
    path = os.path.join(a.out, "ablations.json")
    with open(path + ".tmp", "w") as f: json.dump(data, f, indent=1)
    os.replace(path + ".tmp", path)
    print("wrote", path)


if __name__ == "__main__":
    main()
