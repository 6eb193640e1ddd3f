"""Probe: does the shipped ko-polar-64-7 gain from more ENCODER training (Algorithm 3 with as many encoder steps as
decoder steps), now that its decoder has converged?

The shipped KO-Polar(64,7) took only 3,000 encoder steps (10 per 60-step epoch; 6·10⁶ samples) against 15,000
decoder steps, and its decoder alone does not improve (scripts/ko_polar_decoder_probe.py); successive MAP equals MAP
on its codebook (scripts/ko_sc_order_probe.py), so what is left is a codebook the KO decoder's coordinate-wise
messages can follow. This probe resumes Algorithm 3 from the shipped weights (fresh Adam states) with ENC encoder
and DEC decoder steps per epoch, at learning rates LR_ENC / LR_DEC, B = 2000, the shipped SNRs (dec −5, enc −4 dB)
and union-bound term (UB·log UB(−3 dB), UB = 0.01 as shipped), and every EVAL steps measures, on the same 200,000 noisy codewords
each time, the BER of the KO decoder and of MAP decoding of the current codebook at −4 and −3.5 dB.

    python scripts/ko_polar_joint_probe.py ENC DEC LR_ENC LR_DEC STEPS [EVAL [UB [OUT_DIR]]]
    python scripts/ko_polar_joint_probe.py 50 50 3e-4 3e-4 18000 1500
    python scripts/ko_polar_joint_probe.py 50 50 1e-3 3e-4 12000 1500 0

UB is the weight of the union-bound term (default 0.01, as shipped; 0 is plain Algorithm 3). Writes
OUT_DIR/polar_joint_ENC_DEC_LRENC_LRDEC_STEPS[_ubUB].json (default OUT_DIR reports/data/ko_probe; _ubUB when UB is
not 0.01) after every evaluation.
"""
import json
import os
import sys
import time

import torch

from kolit.core import get_channel, keep_freed_memory_by_default, make_generator, random_bits, snr_to_sigma
from kolit.ko import load
from kolit.ko_train import Trainer, all_messages, codebook_llr, profile

if len(sys.argv) not in (6, 7, 8, 9): sys.exit(__doc__)
enc, dec, lr_enc, lr_dec, steps = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
every = int(sys.argv[6]) if len(sys.argv) > 6 else 1500
ub = float(sys.argv[7]) if len(sys.argv) > 7 else 0.01
out_dir = sys.argv[8] if len(sys.argv) > 8 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports", "data", "ko_probe")
torch.set_num_threads(1)
keep_freed_memory_by_default()
code = load("ko-polar-64-7")
config = profile("cpu", batch=2000, epochs=-(-steps // (enc + dec)), dec_steps=dec, enc_steps=enc, snr_dec=-5.0,
                 snr_enc=-4.0, lr_dec=lr_dec, lr_enc=lr_enc, ub_weight=ub, ub_snr=-3.0)
trainer = Trainer(code, config, seed=3)
ch, msgs = get_channel("awgn"), all_messages(code.k)
SNRS = (-4.0, -3.5)


def ber(n=200_000, seed=7, chunk=20_000):
    "BER of the KO decoder and of MAP of the current codebook at each of SNRS, on the same noise every call."
    out = {"ko": [], "map": []}
    with torch.no_grad():
        book = code.encode(msgs)
        for s in SNRS:
            g, e_ko, e_map = make_generator(seed, "cpu"), 0, 0
            for _ in range(n // chunk):
                b = random_bits(chunk, code.k, g)
                y = ch(code.encode(b), s, g)
                e_ko += ((code.decoder(y, s) < 0).float() != b).sum().item()
                e_map += ((codebook_llr(y, book, msgs, snr_to_sigma(s)) < 0).float() != b).sum().item()
            out["ko"].append(e_ko / (n * code.k)); out["map"].append(e_map / (n * code.k))
    return out


t0 = time.time()
trace = [dict(step=0, **ber(), t=0)]
print(trace[-1], flush=True)
path = os.path.join(out_dir, f"polar_joint_{enc}_{dec}_{lr_enc:g}_{lr_dec:g}_{steps}" + ("" if ub == 0.01 else f"_ub{ub:g}") + ".json")
os.makedirs(out_dir, exist_ok=True)
while trainer.step_count < steps:
    losses = trainer.run(min(every, steps - trainer.step_count), progress=False)
    trace.append(dict(step=trainer.step_count, **ber(), loss=sum(losses) / len(losses), t=round(time.time() - t0)))
    print(trace[-1], flush=True)
    json.dump(dict(command="python scripts/ko_polar_joint_probe.py " + " ".join(sys.argv[1:]), snr_db=list(SNRS),
                   trace=trace), open(path, "w"), indent=1)
