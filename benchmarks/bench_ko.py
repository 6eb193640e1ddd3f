"""Speed of KO(8,2) training steps and KO/TinyKO decoding: kolit vs a straightforward per-node PyTorch implementation.

Everything is measured in this process, in turns (machines here are noisy: only ratios measured in one run
mean anything), with the SAME weights loaded into both implementations; the script first checks that they
compute the same loss.

* "kolit": `kolit.ko_train.Trainer.step` on a `kolit.ko.KOCode(rm_tree(8, 2))` (decoder step at −5 dB, encoder
  step at −3 dB, B messages, forward, backward and Adam; the fixed half has requires_grad False);
* "per-node baseline" (below, `PerNodeKO`): the same math written the way a researcher first writes it: one
  `nn.Sequential` of `nn.Linear` + SELU per node network, the Plotkin / Dumer recursion in Python, per-node
  inputs built with torch.stack / torch.cat, brute-force max-log Soft-MAP at the leaves, soft re-encoding,
  float32; the same step (fresh messages and noise, BCE, backward, Adam).

The goal (issue 5, Speed): a kolit training step >= 5x the per-node baseline at B = 10^4; KO(8,2) and TinyKO(8,2)
decoding throughput against Dumer's decoder on the same batch (thesis §4.6: TinyKO within 4x of SC).

    .venv/bin/python benchmarks/bench_ko.py [--batch 10000] [--repeats 2] [--threads 1,2] [--skip-baseline] [--no-ddp]
                                            [--keep-freed-memory]

Each training step's row also gives the CPU time of its fastest call, user and system (the kernel's share: mostly
page faults, counted in the last column), because on Linux a step that allocates fresh large tensors pays a page
fault per 4 kB page, and on this project's virtual machines that was half the baseline's step. --keep-freed-memory
runs both implementations with glibc keeping freed memory (kolit.core.keep_freed_memory): the baseline then pays
(almost) no page faults, and the ratio measures the arithmetic alone.

With 2 cores it also relaunches itself under torchrun (2 processes x 1 thread, B/2 messages each, gradients
all-reduced over gloo: kolit's recommended way to use several cores) and compares that with the baseline's steps.
"""
import argparse
import copy
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from timing import best_runs, best_times  # noqa: E402

from kolit.core import get_channel, keep_freed_memory, make_generator, random_bits, snr_to_sigma  # noqa: E402
from kolit.ko import KOCode, KODecoderConfig, tiny  # noqa: E402
from kolit.ko_train import TrainConfig, Trainer  # noqa: E402
from kolit.plotkin import dumer_decode, generator_matrix, rm_tree  # noqa: E402

SNR_DEC, SNR_ENC = -5.0, -3.0  # the thesis's training SNRs for KO(8,2), Es/N0


# ---------------------------------------------------------------------------------------------------------------
# The baseline: a plain per-node implementation of the same math
# ---------------------------------------------------------------------------------------------------------------
def mlp(d_in, hidden, depth):
    layers, d = [], d_in
    for _ in range(depth): layers += [nn.Linear(d, hidden), nn.SELU()]; d = hidden
    return nn.Sequential(*layers, nn.Linear(d, 1))


def box_plus(a, b):
    "LLR of a XOR: sign(a) sign(b) min(|a|, |b|) + log(1 + e^-|a+b|) - log(1 + e^-|a-b|)."
    return (torch.sign(a) * torch.sign(b) * torch.minimum(a.abs(), b.abs())
            + torch.log1p(torch.exp(-(a + b).abs())) - torch.log1p(torch.exp(-(a - b).abs())))


class Leaf:
    "Brute-force max-log Soft-MAP of a small leaf code and its soft (expected ±1) re-encoding."

    def __init__(self, t, scale):
        G = generator_matrix(t).to(torch.get_default_dtype())  # (k, n)
        k = G.shape[0]
        msgs = ((torch.arange(2**k)[:, None] >> torch.arange(k - 1, -1, -1)) & 1).to(G.dtype)  # (2^k, k)
        self.G, self.scale = G, scale
        self.words = 1 - 2 * ((msgs @ G) % 2)  # (2^k, n) ±1 codewords
        self.zero = [(msgs[:, i] == 0) for i in range(k)]

    def __call__(self, Y):
        score = self.scale * Y @ self.words.T  # (B, 2^k)
        L = torch.stack([score[:, z].max(1).values - score[:, ~z].max(1).values for z in self.zero], 1)  # (B, k)
        t = torch.tanh(L / 2)  # E[(-1)^bit]
        c = torch.where(self.G.bool()[None], t[:, :, None], torch.ones_like(t)[:, :, None]).prod(1)  # (B, n)
        return L, c


class PerNodeKO(nn.Module):
    "KO encoder and decoder, one nn.Sequential per node network, recursions in Python."

    def __init__(self, code: KOCode):
        super().__init__()
        e, d = code.encoder, code.decoder
        ce, cd = e.config, d.config
        self.tree, self.k, self.cfg = code.tree, code.k, cd
        self.g, self.f_left, self.f_right = nn.ModuleDict(), nn.ModuleDict(), nn.ModuleDict()
        self.leaf = {}
        with torch.no_grad():
            for paths, idx in e._levels:
                if idx is None: continue
                for p, i in zip(paths, idx): self.g["n" + p] = self._copy(mlp(2, ce.hidden, ce.depth), e.g, i)
            for p, i in d._left.items(): self.f_left["n" + p] = self._copy(mlp(2, cd.hidden, cd.depth), d.f_left, i)
            for p, i in d._right.items(): self.f_right["n" + p] = self._copy(mlp(4, cd.hidden, cd.depth), d.f_right, i)

    @staticmethod
    def _copy(seq, nets, i):  # kolit stores W as (N, d_in, d_out), nn.Linear as (d_out, d_in)
        lin = [m for m in seq if isinstance(m, nn.Linear)]
        for m, W, b in zip(lin, nets.weights, nets.biases):
            m.weight.copy_(W[i].T); m.bias.copy_(b[i, 0])
        return seq

    def _leaf(self, t):
        if t not in self.leaf: self.leaf[t] = Leaf(t, self.cfg.leaf_scale)
        return self.leaf[t]

    def encode_tree(self, t, path, bits):
        if t.is_leaf: return 1 - 2 * ((bits @ self._leaf(t).G) % 2)
        v = self.encode_tree(t.left, path + "L", bits[:, :t.left.k])
        u = self.encode_tree(t.right, path + "R", bits[:, t.left.k:])
        right = u * v
        if "n" + path in self.g: right = right + self.g["n" + path](torch.stack([u, v], -1)).squeeze(-1)
        return torch.cat([u, right], -1)

    def encode(self, bits):
        c = self.encode_tree(self.tree, "", bits)
        return c / c.pow(2).mean(-1, keepdim=True).sqrt()

    def decode_tree(self, t, path, Y):
        if t.is_leaf: return self._leaf(t)(Y)
        h = t.n // 2
        y1, y2 = Y[:, :h], Y[:, h:]
        yv = box_plus(y1, y2)
        if "n" + path in self.f_left: yv = yv + self.f_left["n" + path](torch.stack([y1, y2], -1)).squeeze(-1)
        Lv, cv = self.decode_tree(t.left, path + "L", yv)
        yu = y1 + cv * y2
        if "n" + path in self.f_right:
            yu = yu + self.f_right["n" + path](torch.stack([y1, y2, yv, cv], -1)).squeeze(-1)
        Lu, cu = self.decode_tree(t.right, path + "R", yu)
        return torch.cat([Lv, Lu], -1), torch.cat([cu, cu * cv], -1)

    def decode(self, y, snr_db):
        return self.decode_tree(self.tree, "", y * (2 / snr_to_sigma(snr_db) ** 2))[0]


class BaselineTrainer:
    "The same training step as kolit's Trainer, on the per-node model."

    def __init__(self, model: PerNodeKO, batch, seed=0):
        self.model, self.batch = model, batch
        self.opt_enc = torch.optim.Adam(model.g.parameters(), lr=1e-5)
        self.opt_dec = torch.optim.Adam(list(model.f_left.parameters()) + list(model.f_right.parameters()), lr=1e-4)
        self.gen, self.channel = make_generator(seed, "cpu"), get_channel("awgn")

    def loss(self, bits, noise, snr_db, enc):
        with torch.set_grad_enabled(enc): x = self.model.encode(bits)
        L = self.model.decode(x + snr_to_sigma(snr_db) * noise, snr_db)
        return F.binary_cross_entropy_with_logits(L, 1 - bits)

    def step(self, enc):
        m = self.model
        opt = self.opt_enc if enc else self.opt_dec
        self.opt_enc.zero_grad(set_to_none=True); self.opt_dec.zero_grad(set_to_none=True)
        fixed = list(m.f_left.parameters()) + list(m.f_right.parameters()) if enc else list(m.g.parameters())
        for p in fixed: p.requires_grad_(False)
        bits = random_bits(self.batch, m.k, self.gen)
        noise = torch.randn(self.batch, m.tree.n, generator=self.gen)
        loss = self.loss(bits, noise, SNR_ENC if enc else SNR_DEC, enc)
        loss.backward()
        for p in fixed: p.requires_grad_(True)
        opt.step()
        return loss.item()


def kolit_trainer(code, batch, seed=0):
    "kolit's Trainer with one decoder step and one encoder step per epoch (step_count even: decoder, odd: encoder)."
    cfg = TrainConfig(batch=batch, epochs=10**6, enc_steps=1, dec_steps=1, snr_enc=SNR_ENC, snr_dec=SNR_DEC)
    return Trainer(code, cfg, seed=seed, device="cpu")


def kolit_step(tr, enc):
    tr.step_count = int(enc)
    return tr.step()


def same_loss(code, base, batch):
    "Loss of kolit and of the baseline on the same messages and noise, and the largest relative gap of their gradients."
    g = torch.Generator().manual_seed(123)
    out = []
    for snr in (SNR_DEC, -10.0):  # the training SNR, and a noisier one where every network's gradient is sizeable
        bits = random_bits(batch, code.k, g)
        noise = torch.randn(batch, code.n, generator=g)
        losses = []
        code.zero_grad(); base.zero_grad()
        for enc, dec in ((code.encode, code.decoder), (base.encode, lambda y, s: base.decode(y, s))):
            loss = F.binary_cross_entropy_with_logits(dec(enc(bits) + snr_to_sigma(snr) * noise, snr), 1 - bits)
            loss.backward(); losses.append(loss.item())
        grads = [(code.decoder.f_right.weights[0].grad[i].T, base.f_right["n" + p][0].weight.grad)
                 for p, i in code.decoder._right.items()]
        grads += [(code.encoder.g.weights[1].grad[0].T, base.g["n"][2].weight.grad)]
        gap = max(((a - b).abs().max() / a.abs().max()).item() for a, b in grads)
        out.append((snr, *losses, gap))
    code.zero_grad(); base.zero_grad()
    return out


def ddp_worker(batch, repeats):
    "Run under torchrun: one process per core, 1 torch thread each, B / world messages per rank (gloo all-reduce)."
    import json
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    torch.manual_seed(0)
    world = dist.get_world_size()
    tr = kolit_trainer(KOCode(rm_tree(8, 2)), batch // world)  # Trainer reads the process group: gradients all-reduced
    times = {False: [], True: []}
    for _ in range(repeats + 1):  # the first round warms up
        for enc in (False, True):
            dist.barrier()
            t0 = time.perf_counter(); kolit_step(tr, enc); dist.barrier()
            times[enc].append(time.perf_counter() - t0)
    if dist.get_rank() == 0:
        print("DDP " + json.dumps(dict(world=world, dec=min(times[False][1:]), enc=min(times[True][1:]))), flush=True)
    dist.destroy_process_group()
    return 0


def ddp_times(batch, repeats, keep=False, procs=2):
    "Step times of kolit data-parallel over `procs` processes (this script relaunched under torchrun), or None."
    import json
    import subprocess
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs), os.path.abspath(__file__),
           "--ddp-worker", "--batch", str(batch), "--repeats", str(repeats), *(["--keep-freed-memory"] if keep else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    for line in out.stdout.splitlines():
        if line.startswith("DDP "): return json.loads(line[4:])
    print("torchrun run failed:", out.stderr[-2000:])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000, help="messages per training step and codewords per decoding batch")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", default="1,2", help="comma-separated torch thread counts to measure")
    ap.add_argument("--skip-baseline", action="store_true", help="time kolit only (development)")
    ap.add_argument("--weights", default=None, help="a shipped KO(8,2) name or weight file to load (default: seeded init)")
    ap.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)  # internal: one torchrun rank
    ap.add_argument("--no-ddp", action="store_true", help="skip the 2-process data-parallel measurement")
    ap.add_argument("--keep-freed-memory", action="store_true",
                    help="glibc keeps freed memory for both implementations (kolit.core.keep_freed_memory): no page faults")
    args = ap.parse_args()
    kept = keep_freed_memory() if args.keep_freed_memory else False
    if args.keep_freed_memory and not kept: print("note: --keep-freed-memory has no effect here (the C library is not glibc)")
    if args.ddp_worker: return ddp_worker(args.batch, args.repeats)  # torchrun passes --keep-freed-memory on
    threads = [int(t) for t in args.threads.split(",")]
    B = args.batch

    tree = rm_tree(8, 2)
    torch.manual_seed(0)  # the networks' initialisation (kolit's modules draw from the global generator)
    if args.weights:
        from kolit.ko import load
        code = load(args.weights)
    else:
        code = KOCode(tree)
    tiny_code = KOCode(tree, tiny(), tiny(KODecoderConfig()))
    load1 = os.getloadavg()[0]
    print(f"KO(8,2) (rm_tree(8, 2), {code.parameter_counts()}), batch {B}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs ({torch.backends.cpu.get_cpu_capability()}), load average {load1:.2f} at start, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; allocator: {'glibc keeps freed memory' if kept else 'default'}")
    if load1 > 0.5:
        print(f"note: the machine is loaded (another process uses a core): 2-thread numbers are pessimistic")

    base = None
    if not args.skip_baseline:
        base = PerNodeKO(code)
        torch.set_num_threads(1)
        for snr, a, b, gap in same_loss(code, base, min(B, 2000)):
            print(f"same weights, same batch at {snr:g} dB: loss kolit {a:.7f}, baseline {b:.7f}, |diff| {abs(a - b):.1e}; "
                  f"largest relative gap of the networks' weight gradients {gap:.1e}")
            if abs(a - b) > 1e-5 * max(1.0, abs(a)): print("ERROR: the baseline does not compute the same loss"); return 1
        # float32 gradients of the deepest networks are tiny and differ by rounding (the two write LSE differently);
        # in float64 the two implementations agree to rounding, gradients included
        torch.set_default_dtype(torch.float64)
        try:
            code64 = copy.deepcopy(code).double()
            for snr, a, b, gap in same_loss(code64, PerNodeKO(code64).double(), 500):
                print(f"float64, batch 500, {snr:g} dB: |loss diff| {abs(a - b):.1e}, largest relative gradient gap {gap:.1e}")
                if gap > 1e-9: print("ERROR: the baseline's gradients differ"); return 1
        finally:
            torch.set_default_dtype(torch.float32)

    runs = {}  # (threads, name) -> the fastest call's wall, user, sys and page faults
    for nt in threads:
        torch.set_num_threads(nt)
        tr = kolit_trainer(code, B)
        fns, names = [lambda: kolit_step(tr, False), lambda: kolit_step(tr, True)], ["kolit dec", "kolit enc"]
        if base is not None:
            bt = BaselineTrainer(base, B)
            fns += [lambda: bt.step(False), lambda: bt.step(True)]; names += ["baseline dec", "baseline enc"]
        runs.update(((nt, name), r) for name, r in zip(names, best_runs(fns, args.repeats)))
        print(f"  timed the training steps with {nt} thread(s) ({time.strftime('%H:%M')}, load average {os.getloadavg()[0]:.2f})", flush=True)

    results = {key: r["wall"] for key, r in runs.items()}
    print(f"\nTraining step of KO(8,2), B = {B} (forward, backward, Adam; best of {args.repeats} in turns)")
    print(f"{'threads':>7} {'implementation':<16} {'step':<8} {'s/step':>8} {'steps/s':>8} {'samples/s':>10} {'speed-up':>9}"
          f" {'user s':>7} {'sys s':>6} {'page faults':>12}")
    for nt in threads:
        for who in ["kolit"] + (["baseline"] if base is not None else []):
            for step in ("dec", "enc"):
                t = results[nt, f"{who} {step}"]
                ref = results.get((nt, f"baseline {step}"))
                sp = f"{ref / t:8.1f}x" if ref is not None else ""
                c = runs[nt, f"{who} {step}"]
                print(f"{nt:>7} {who:<16} {step:<8} {t:8.3f} {1 / t:8.3f} {B / t:10,.0f} {sp:>9}"
                      f" {c['user']:7.2f} {c['sys']:6.2f} {c['faults']:12,}")
    ddp = None if args.no_ddp or (os.cpu_count() or 1) < 2 else ddp_times(B, args.repeats, kept)
    if ddp is not None:  # the whole batch B split over 2 processes x 1 thread: the way kolit uses 2 cores
        for step in ("dec", "enc"):
            t = ddp[step]
            refs = "  ".join(f"{results[nt, f'baseline {step}'] / t:.1f}x the {nt}-thread baseline"
                             for nt in threads if (nt, f"baseline {step}") in results)
            print(f"{'2x1':>7} {'kolit torchrun':<16} {step:<8} {t:8.3f} {1 / t:8.3f} {B / t:10,.0f}   {refs}")
    if base is not None:
        for nt in threads:
            for step in ("dec", "enc"):
                r = results[nt, f"baseline {step}"] / results[nt, f"kolit {step}"]
                print(f"goal (kolit {step} step >= 5x the per-node baseline, {nt} thread(s)): {r:.1f}x, {'met' if r >= 5 else 'NOT met'}")
        if ddp is not None and 2 in threads:
            for step in ("dec", "enc"):
                r = results[2, f"baseline {step}"] / ddp[step]
                print(f"goal on 2 cores (kolit {step} step, 2 processes x 1 thread, >= 5x the 2-thread baseline): {r:.1f}x, "
                      f"{'met' if r >= 5 else 'NOT met'}")
    # decoding throughput: inference on one batch of channel outputs at the decoder's training SNR
    g = torch.Generator().manual_seed(1)
    bits = random_bits(B, code.k, g)
    with torch.no_grad():
        y = code.encode(bits) + snr_to_sigma(SNR_DEC) * torch.randn(B, code.n, generator=g)
        llr = 2 * y / snr_to_sigma(SNR_DEC) ** 2
    print(f"\nDecoding throughput, batch {B} at {SNR_DEC} dB (inference, torch.no_grad, soft re-encoding for KO)")
    print(f"{'threads':>7} {'decoder':<22} {'s/batch':>8} {'codewords/s':>12} {'time / Dumer':>13}")
    for nt in threads:
        torch.set_num_threads(nt)
        fns = {"Dumer (kolit.plotkin)": lambda: dumer_decode(tree, llr),
               "KO(8,2)": lambda: code.decoder(y, SNR_DEC),
               "TinyKO(8,2)": lambda: tiny_code.decoder(y, SNR_DEC)}
        if base is not None: fns["KO(8,2) baseline"] = lambda: base.decode(y, SNR_DEC)
        with torch.no_grad(): ts = dict(zip(fns, best_times(list(fns.values()), args.repeats)))
        for name, t in ts.items():
            print(f"{nt:>7} {name:<22} {t:8.3f} {B / t:12,.0f} {t / ts['Dumer (kolit.plotkin)']:12.1f}x")
        r = ts["TinyKO(8,2)"] / ts["Dumer (kolit.plotkin)"]
        print(f"thesis: TinyKO within 4x of SC -> TinyKO / Dumer = {r:.1f}x with {nt} thread(s): {'met' if r <= 4 else 'NOT met'}")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
