"""Probe: can the KO decoder alone learn more than Dumer's decoder, and do exact-posterior targets help it?

Decoder-only KO training on RM(6,1) (hidden width 64, the thesis's KO(6,1) networks) with the encoder fixed at the
classical code, Adam at lr, B messages per step at one training SNR (Es/N0), for `steps` steps, with either
  bits: BCE against the sent message bits (Algorithm 3), or
  post: BCE against the exact posterior P(m_j = 0 | y) of the RM(6,1) codebook (kolit.ko_train.codebook_llr).
The second is the Rao-Blackwellised form of the same objective: E[1{m_j = 0} | y] = P(m_j = 0 | y), so its gradient
has the same expectation and less variance. --reencode chooses how the decoder re-encodes decoded leaves while it
trains (kolit.ko.REENCODINGS: soft, the thesis, by default; hard; st, straight-through). Then BER of the trained KO
decoder (its own re-encoding, and soft and hard), of Dumer's decoder and of MAP, at -9..-5 dB (200,000 codewords
each, one seed for all).

    python scripts/ko_decoder_probe.py TARGET LR STEPS B SNR_TRAIN [OUT_DIR] [--reencode soft|hard|st]
    python scripts/ko_decoder_probe.py bits 1e-3 3000 2000 -6
    python scripts/ko_decoder_probe.py post 1e-3 3000 2000 -6
    python scripts/ko_decoder_probe.py bits 1e-3 3000 2000 -6 --reencode st

writes OUT_DIR/res_TARGET_LR_STEPS_B_SNR[_REENCODE].json (default OUT_DIR reports/data/ko_probe; no suffix for
soft); ~15 min each on one core. The files reports/data/ko_probe/res_*.json were made by these commands on
2026-11-29 (one core each).
"""
import json
import os
import sys
import time

import torch, torch.nn.functional as F
from kolit.core import make_generator, random_bits, snr_to_sigma, get_channel
from kolit.ko import REENCODINGS, KOCode, KOConfig, KODecoderConfig
from kolit.ko_train import all_messages, codebook_llr
from kolit.plotkin import rm_tree

torch.set_num_threads(1)
reencode = "soft"
if "--reencode" in sys.argv:
    i = sys.argv.index("--reencode")
    if i + 1 >= len(sys.argv) or sys.argv[i + 1] not in REENCODINGS: sys.exit(f"--reencode must be one of {REENCODINGS}")
    reencode = sys.argv[i + 1]
    sys.argv = sys.argv[:i] + sys.argv[i + 2:]
if len(sys.argv) not in (6, 7) or sys.argv[1] not in ("bits", "post"): sys.exit(__doc__)
target, lr, steps, B, snr_tr = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
out_dir = sys.argv[6] if len(sys.argv) == 7 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports", "data", "ko_probe")
torch.manual_seed(0)
code = KOCode(rm_tree(6, 1), KOConfig(hidden=64, init_std=0.0), KODecoderConfig(hidden=64, reencode=reencode))
for p in code.encoder.parameters(): p.requires_grad_(False)
opt = torch.optim.Adam(code.decoder.parameters(), lr=lr)
g = make_generator(1, "cpu"); ch = get_channel("awgn")
msgs = all_messages(code.k); book = code.encode(msgs)
t0 = time.time()
for s in range(steps):
    bits = random_bits(B, code.k, g)
    y = ch(code.encode(bits), snr_tr, g)
    L = code.decoder(y, snr_tr)
    if target == "bits": tgt = 1 - bits
    else: tgt = torch.sigmoid(codebook_llr(y, book, msgs, snr_to_sigma(snr_tr)))
    loss = F.binary_cross_entropy_with_logits(L, tgt)
    opt.zero_grad(); loss.backward(); opt.step()
    if s % 500 == 0: print(s, round(loss.item(), 5), round(time.time() - t0), flush=True)

def ber(dec, snr, n=200_000, seed=5):
    gg = make_generator(seed, "cpu"); errs = 0
    with torch.no_grad():
        for _ in range(n // 20000):
            bits = random_bits(20000, code.k, gg); y = ch(code.encode(bits), snr, gg)
            errs += (dec(y, snr) != bits).sum().item()
    return errs / (n * code.k)
zero = KOCode(rm_tree(6, 1), KOConfig(hidden=64, init_std=0.0), KODecoderConfig(hidden=64, init_std=0.0))
snrs = [-9, -8, -7, -6, -5]
res = dict(target=target, lr=lr, steps=steps, B=B, snr_train=snr_tr, reencode=reencode, time=time.time() - t0,
           ko=[ber(lambda y, s: code.decoder.decide(y, s), s) for s in snrs],  # its own re-encoding (st decides hard)
           ko_soft=[ber(lambda y, s: code.decoder.decide(y, s, hard=False), s) for s in snrs],
           ko_hard=[ber(lambda y, s: code.decoder.decide(y, s, hard=True), s) for s in snrs],
           dumer=[ber(lambda y, s: zero.decoder.decide(y, s, hard=True), s) for s in snrs],
           map=[ber(lambda y, s: (codebook_llr(y, book, msgs, snr_to_sigma(s)) < 0).float(), s) for s in snrs], snrs=snrs)
print(json.dumps(res))
res["command"] = "python scripts/ko_decoder_probe.py " + " ".join(sys.argv[1:6]) + (f" --reencode {reencode}" if reencode != "soft" else "")
os.makedirs(out_dir, exist_ok=True)
suffix = "" if reencode == "soft" else f"_{reencode}"
json.dump(res, open(os.path.join(out_dir, f"res_{target}_{lr}_{steps}_{B}_{snr_tr}{suffix}.json"), "w"))
