"""Probe: is the KO decoder's gap to MAP (KO-Polar(64,7), KO(6,1)) the cost of deciding bits in SC order, or the
cost of its coordinate-wise messages?

Every decoder on a Plotkin tree decides the message bits leaf by leaf, in decoding order, each decision final. The
best any such decoder can do is SUCCESSIVE MAP: at leaf j, pick the leaf's bits a maximising
    P(m_leaf = a | y, m_<j = decided) = Σ_{codewords c with those bits and the earlier decisions} exp(⟨y, c⟩/σ²) / Z,
i.e. exact marginalisation over every later bit, conditioned on the earlier decisions (errors propagate as in SC).
With 2^7 = 128 codewords it is exact and cheap (kolit.ko_decoding.successive_map_decoder, 07e §8). Set beside, on the same noise:
  sc      the code's own SC decoder (the KO decoder for a KO code, Dumer's for a classical one);
  smap    successive MAP on the code's codebook, leaves in decoding order;
  map     bitwise MAP (exact bit posteriors of the whole codebook: what 07f calls "MAP of the codebook").
For each decoder it also counts the codewords whose first wrong leaf is each leaf (the terms of Eq. 4.4, 07d).
If smap sits at map, deciding in SC order costs nothing and the whole gap is in the KO decoder's messages; if smap
sits at sc, the gap is the order itself and only a different encoder (one whose early leaves are more reliable) can
close it.

    python scripts/ko_sc_order_probe.py [--codewords 1000000] [--out reports/data/ko_probe/sc_order_probe.json]

about 35 minutes on one core (the two KO decoders dominate).
"""
import argparse
import json
import os
import time
from dataclasses import asdict

import torch

from kolit.core import ber_point, bpsk, keep_freed_memory_by_default, make_generator, random_bits, snr_to_sigma
from kolit.ko import load
from kolit.ko_decoding import successive_map_decoder
from kolit.ko_train import all_messages, codebook_llr
from kolit.ko_analysis import first_wrong_leaves, leaf_spans
from kolit.plotkin import encode, make_decoder, parse_code

SNRS = [-5.0, -4.5, -4.0, -3.5, -3.0]
CODES = ["ko-polar-64-7", "polar:64:7", "ko-6-1", "rm:6:1"]


def get_code(name):
    "(code, encode(bits) -> ±1 codewords, sc(y, snr_db) -> bits) of a shipped KO code or a classical code (its tree)."
    if ":" not in name:
        code = load(name)
        return code, code.encode, lambda y, s: code.decode(y, s)
    tree = parse_code(name)
    dumer = make_decoder(tree, "dumer")
    return tree, lambda b: bpsk(encode(tree, b)), lambda y, s: dumer(2 * y / snr_to_sigma(s) ** 2)


def run(name, n_cw, chunk=20_000, seed=5):
    code, enc, sc = get_code(name)
    tree, smap, msgs = getattr(code, "tree", code), successive_map_decoder(code), all_messages(code.k)
    with torch.no_grad(): book = enc(msgs).to(torch.get_default_dtype())
    spans = leaf_spans(tree)
    out = {d: dict(points=[], first_wrong_leaf=[]) for d in ("sc", "smap", "map")}
    t0 = time.time()
    for s in SNRS:
        sigma, g = snr_to_sigma(s), make_generator(seed, "cpu")
        errs = {d: [0, 0.0, 0, 0] for d in out}  # bits, Σ bits², blocks, first wrong leaves (Eq. 4.4)
        with torch.no_grad():
            for _ in range(n_cw // chunk):
                b = random_bits(chunk, tree.k, g)
                y = enc(b) + sigma * torch.randn(chunk, tree.n, generator=g)
                for d, bh in (("sc", sc(y, s)), ("smap", smap(y, s)),
                              ("map", (codebook_llr(y, book, msgs, sigma) < 0).to(y.dtype))):
                    wrong = bh != b
                    per_cw = wrong.sum(-1).double()
                    errs[d][0] += int(per_cw.sum()); errs[d][1] += float((per_cw**2).sum()); errs[d][2] += int((per_cw > 0).sum())
                    errs[d][3] += first_wrong_leaves(wrong, spans)
        for d in out:
            out[d]["points"].append(asdict(ber_point(s, *errs[d][:3], n_cw, tree.k)))
            out[d]["first_wrong_leaf"].append(errs[d][3].tolist())  # codewords whose first wrong leaf is each leaf
        print(name, s, {d: (f"{out[d]['points'][-1]['ber']:.3g}", f"{out[d]['points'][-1]['bler']:.3g}") for d in out},
              f"{time.time() - t0:.0f}s", flush=True)
    return dict(leaves=[(a, e - a) for a, e in spans], codewords=n_cw, wall_s=round(time.time() - t0), **out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codewords", type=int, default=1_000_000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports", "data",
                                                  "ko_probe", "sc_order_probe.json"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    keep_freed_memory_by_default()
    res = dict(command="python scripts/ko_sc_order_probe.py" + ("" if a.codewords == 1_000_000 else f" --codewords {a.codewords}"),
               snr_db=SNRS, codes={c: run(c, a.codewords) for c in CODES})
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    json.dump(res, open(a.out, "w"), indent=1)
