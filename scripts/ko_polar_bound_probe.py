"""Probe: how much better than Polar(64,7) can a KO encoder on its Plotkin tree be, and does the KO decoder follow?

The KO encoder is coordinate-wise: codeword coordinate j is a function of the message bits that reach it through
the tree (the support of column j of the generator matrix), nothing else. Three searches for a better codebook,
each minimising the union bound on the MAP bit-error rate at Es/N0 = SNR_UB,
    UB = 1/2^k sum_i sum_{i' != i} d_H(m_i, m_i')/k · Q(‖x_i − x_i'‖ / 2σ),
over all 2^7 = 128 codewords (deterministic, no sampling):
  relaxed   every coordinate a free table over its dependency bits (the copies made by Polar(64,7)'s frozen root
            tied): an upper bound on what any coordinate-wise encoder on this tree can reach;
  pruned    the KO encoder on kolit's pruned polar tree (RM(2,2) a full leaf: 3 networks, what ko-polar-64-7
            shipped before 2026-11-29 evening);
  split     the KO encoder on the tree with the RM(2,2) leaf unfolded (`split_full_leaves`: 6 networks, thesis
            Figure C.1), from the thesis's initialisation N(0, 0.02²) and from N(0, 0.1²).
Each KO search: Adam, lr 1e-3 with cosine decay to lr/20, STEPS steps, the best state kept. Then MAP BER of the
codebook, and BER of the KO decoder with zero networks (Dumer's recursions) on it, at -5, -4, -3 dB; and for the
best split encoder, the KO decoder trained alone (encoder fixed) for DEC_STEPS steps (B = 2000, -5 dB, lr 1e-3).

    python scripts/ko_polar_bound_probe.py [--steps 12000] [--dec-steps 2500] [--relaxed-steps 3000] [--codewords 200000]

writes reports/data/ko_probe/polar_bound_probe.json (about 25 min on one core).
"""
import argparse
import copy
import json
import os
import time

import torch

from kolit.core import bpsk, simulate_ber
from kolit.ko import KOCode, KOConfig, KODecoderConfig
from kolit.ko_train import Trainer, all_messages, map_transceiver, profile, union_bound
from kolit.plotkin import decoder_transceiver, encode, generator_matrix, parse_code, split_full_leaves

SNRS, SNR_UB = [-5.0, -4.0, -3.0], -3.0


def ber(trx, n):
    return [p.ber for p in simulate_ber(trx, SNRS, max_codewords=n, target_block_errors=10**9, batch_size=20_000,
                                        seed=11, progress=False)]


class Codebook(torch.nn.Module):
    "A fixed codebook as a 'code' for map_transceiver."
    def __init__(self, x, msgs):
        super().__init__()
        self.x, self.k = x, msgs.shape[1]

    def encode(self, bits):
        i = (bits * 2 ** torch.arange(self.k, dtype=bits.dtype)).sum(-1).long()  # all_messages: row i = bits of i
        return self.x[i]


def relaxed_search(tree, msgs, starts, steps, lr=0.03):
    "Free tables per coordinate over its dependency bits; the best of `starts` random starts."
    G = generator_matrix(tree).bool()  # (k, n)
    deps = [tuple(torch.nonzero(G[:, j]).flatten().tolist()) for j in range(tree.n)]
    keys = sorted(set(deps))
    col = torch.tensor([keys.index(d) for d in deps])
    idx = [(msgs[:, list(d)] * 2 ** torch.arange(len(d))).sum(-1).long() for d in keys]
    best = None
    for s in range(starts):
        g = torch.Generator().manual_seed(s)
        tables = [torch.randn(2 ** len(d), generator=g).requires_grad_() for d in keys]
        opt = torch.optim.Adam(tables, lr=lr)

        def book():
            c = torch.stack([t[i] for t, i in zip(tables, idx)], -1)[:, col]
            return c / c.pow(2).mean(-1, keepdim=True).sqrt()
        for _ in range(steps):
            loss = union_bound(book(), msgs, SNR_UB)
            opt.zero_grad(); loss.backward(); opt.step()
        with torch.no_grad(): x, u = book(), union_bound(book(), msgs, SNR_UB).item()
        if best is None or u < best[0]: best = (u, x)
    return best, len(keys)


def ko_search(tree, msgs, std, steps, lr=1e-3, seed=0):
    torch.manual_seed(seed)
    code = KOCode(tree, KOConfig(hidden=64, neural_root=False, init_std=std),
                  KODecoderConfig(hidden=64, neural_root=False, init_std=0.0))
    opt = torch.optim.Adam(code.encoder.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr / 20)
    best = (union_bound(code.encode(msgs), msgs, SNR_UB).item(), copy.deepcopy(code.encoder.state_dict()))
    start = best[0]
    for _ in range(steps):
        loss = union_bound(code.encode(msgs), msgs, SNR_UB)
        if loss.item() < best[0]: best = (loss.item(), copy.deepcopy(code.encoder.state_dict()))
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    code.encoder.load_state_dict(best[1])
    return code, start, best[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=12000)
    p.add_argument("--dec-steps", type=int, default=2500)
    p.add_argument("--relaxed-steps", type=int, default=3000)
    p.add_argument("--codewords", type=int, default=200_000)
    p.add_argument("--out", default="reports/data/ko_probe/polar_bound_probe.json")
    a = p.parse_args()
    torch.set_num_threads(1)
    t0, polar = time.time(), parse_code("polar:64:7")
    msgs = all_messages(polar.k)
    rec = dict(command=f"python scripts/ko_polar_bound_probe.py --steps {a.steps} --dec-steps {a.dec_steps} "
               f"--relaxed-steps {a.relaxed_steps} --codewords {a.codewords}", snr_db=SNRS, snr_ub=SNR_UB,
               reference={"Polar(64,7) MAP": ber(decoder_transceiver(polar, "map"), a.codewords),
                          "Polar(64,7) SC": ber(decoder_transceiver(polar, "dumer"), a.codewords),
                          "RM(6,1) MAP": ber(decoder_transceiver(parse_code("rm:6:1"), "map"), a.codewords)},
               runs={})
    x_polar = bpsk(encode(polar, msgs))
    rec["polar_union_bound"] = union_bound(x_polar, msgs, SNR_UB).item()
    (u, x), groups = relaxed_search(polar, msgs, starts=8, steps=a.relaxed_steps)
    rec["runs"]["relaxed: free table per coordinate"] = dict(union_bound=u, distinct_coordinates=groups,
                                                             map_ber=ber(map_transceiver(Codebook(x, msgs)), a.codewords))
    print("relaxed", rec["runs"]["relaxed: free table per coordinate"], flush=True)
    split, best = split_full_leaves(polar), None
    for label, tree, std in (("pruned tree (3 networks), init N(0,0.02²)", polar, 0.02),
                             ("split tree (6 networks), init N(0,0.02²)", split, 0.02),
                             ("split tree (6 networks), init N(0,0.1²)", split, 0.1)):
        code, u0, u = ko_search(tree, msgs, std, a.steps)
        with torch.no_grad():
            r = dict(union_bound_start=u0, union_bound=u, map_ber=ber(map_transceiver(code), a.codewords),
                     ko_decoder_zero_networks_ber=ber(code.transceiver(), a.codewords))
        rec["runs"][label] = r
        print(label, r, f"{time.time() - t0:.0f} s", flush=True)
        if tree is split and (best is None or u < best[0]): best = (u, code, label)
    _, zero, label = best
    torch.manual_seed(0)  # the decoder to train: the thesis's initialisation N(0, 0.02²), i.e. Dumer's decoder plus noise
    code = KOCode(split, KOConfig(hidden=64, neural_root=False), KODecoderConfig(hidden=64, neural_root=False))
    code.encoder.load_state_dict(zero.encoder.state_dict())
    tr = Trainer(code, profile("cpu", batch=2000, epochs=a.dec_steps, dec_steps=1, enc_steps=0, snr_dec=-5.0,
                               lr_dec=1e-3), seed=1)
    trace = []
    while tr.step_count < a.dec_steps:
        losses = tr.run(min(500, a.dec_steps - tr.step_count), progress=False)
        with torch.no_grad(): b = ber(code.transceiver(), a.codewords // 2)
        trace.append(dict(step=tr.step_count, loss=sum(losses[-100:]) / len(losses[-100:]), ko_decoder_ber=b))
        print("decoder", trace[-1], flush=True)
    rec["decoder_only"] = dict(encoder=label, trace=trace)
    rec["wall_s"] = round(time.time() - t0)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f: json.dump(rec, f, indent=1)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
