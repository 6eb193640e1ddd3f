"""Probe: can the KO-Polar(64,7) encoder, trained through the EXACT MAP decoder of its own codebook, beat the
polar code? And does a KO(6,1) encoder trained that way stay at RM(6,1) under MAP (thesis Fig. C.6 right)?
(kolit.ko_train with enc_decoder="map"; no KO decoder involved.)

    python scripts/ko_map_probe.py [--steps 2000] [--out reports/data/ko_probe/polar_map_probe.json]

Two starts for KO-Polar(64,7): the thesis's initialisation (weights N(0, 0.02^2): the encoder starts as the
polar code) and a random one (N(0, 0.3^2)); and KO(6,1) from the thesis's initialisation. Every 500 steps the MAP BER of the current codebook is measured at -5, -4, -3 dB
(Es/N0) on 200,000 codewords, beside Polar(64,7) MAP and RM(6,1) MAP on the same noise. Writes JSON.
"""
import argparse
import json
import os
import time

import torch

from kolit.core import simulate_ber
from kolit.ko import KOCode, KOConfig, KODecoderConfig
from kolit.ko_train import Trainer, map_transceiver, profile
from kolit.plotkin import decoder_transceiver, parse_code

SNRS = [-5.0, -4.0, -3.0]


def map_ber(trx, n):
    return [p.ber for p in simulate_ber(trx, SNRS, max_codewords=n, target_block_errors=10**9, batch_size=20_000,
                                        seed=11, progress=False)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--codewords", type=int, default=200_000)
    p.add_argument("--out", default="reports/data/ko_probe/polar_map_probe.json")
    p.add_argument("--only", default=None, help="run only the starts whose label contains this text (e.g. random)")
    a = p.parse_args()
    torch.set_num_threads(1)
    tree = parse_code("polar:64:7")
    extra = "".join(f" --{k} {v!r}" if k == "only" else f" --{k} {v}" for k, v in (("only", a.only), ("out", a.out))
                    if v is not None and not (k == "out" and v == p.get_default("out")))
    rec = dict(command=f"python scripts/ko_map_probe.py --steps {a.steps} --codewords {a.codewords}{extra}", snr_db=SNRS,
               reference={"Polar(64,7) MAP": map_ber(decoder_transceiver(tree, "map"), a.codewords),
                          "RM(6,1) MAP": map_ber(decoder_transceiver(parse_code("rm:6:1"), "map"), a.codewords)},
               runs={})
    runs = (("KO-Polar(64,7), thesis init N(0,0.02²)", "polar:64:7", 0.02, False),
            ("KO-Polar(64,7), random init N(0,0.3²)", "polar:64:7", 0.3, False),
            ("KO(6,1), thesis init N(0,0.02²)", "rm:6:1", 0.02, True))
    for label, spec, std, root in runs:
        if a.only is not None and a.only not in label: continue
        torch.manual_seed(0)
        code = KOCode(parse_code(spec), KOConfig(hidden=64, neural_root=root, init_std=std), KODecoderConfig(hidden=64))
        cfg = profile("cpu", batch=2048, epochs=a.steps, dec_steps=0, enc_steps=1, snr_enc=-6.0, lr_enc=3e-3,
                      enc_decoder="map")
        tr, t0, trace = Trainer(code, cfg, seed=1), time.time(), []
        trace.append(dict(step=0, ber=map_ber(map_transceiver(code), a.codewords), wall_s=0.0))
        while tr.step_count < a.steps:
            losses = tr.run(500, progress=False)
            trace.append(dict(step=tr.step_count, loss=sum(losses[-100:]) / 100,
                              ber=map_ber(map_transceiver(code), a.codewords), wall_s=round(time.time() - t0)))
            print(label, trace[-1], flush=True)
        rec["runs"][label] = dict(code=spec, init_std=std, config=cfg.__dict__, trace=trace)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f: json.dump(rec, f, indent=1)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
