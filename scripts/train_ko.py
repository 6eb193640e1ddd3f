"""Train the KO codes that ship with kolit and write kolit/weights/NAME.safetensors.

    python scripts/train_ko.py NAME [--minutes M] [--work weights-work] [--device cpu|cuda] [--profile cpu|paper]

NAME is one of ko-polar-64-7, ko-6-1, ko-8-2, tinyko-8-2. Training runs in --work/NAME (checkpoint.pt,
losses.jsonl, run.json) and resumes from there when the command is repeated, so a budget can be spent in
several sittings; --minutes bounds this sitting's wall time (the schedule's step count bounds the whole run).
--epochs E lengthens the recipe's schedule: a run that finished its schedule continues, exactly as if the
longer schedule had been asked from the start (kolit.ko_train.Trainer lets a checkpoint change only `epochs`
and, for steps it has not taken, the learning-rate drop: --lr-drop-step S --lr-drop F multiplies both rates by F
from step S on).
At the end the weights, the command, the steps taken, the samples seen and the wall time are written to
kolit/weights/NAME.safetensors (metadata) and summarised in kolit/weights/README.md.

The recipes are the `cpu` profile adapted per code (smaller batches and larger learning rates than the
thesis's App. C.7.1, which is the `paper` profile); `--profile paper` trains with the thesis's
hyper-parameters instead (GPU work). tinyko-8-2 starts from ko-8-2 distilled into its small networks
(kolit.ko_train.distil, TEACHERS) and is then fine-tuned by Algorithm 3. ko-polar-64-7 trains on the Polar(64,7) tree with its RM(2,2) leaf unfolded
(kolit.plotkin.split_full_leaves): six networks, as the thesis's Figure C.1 (the pruned tree has room for three);
its decoder passes 4 features per coordinate (KODecoderConfig.message_dim) and its encoder steps add the
union-bound regulariser (TrainConfig.ub_weight), kolit's remedy for a codebook the KO decoder cannot follow (07b).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

from kolit.core import keep_freed_memory_by_default
from kolit.ko import KOConfig, KODecoderConfig, tiny
from kolit.ko_train import profile, train_folder
from kolit.ko_weights import SHIPPED, WEIGHTS_DIR, save_code
from kolit.plotkin import parse_code, split_full_leaves

# name -> (code, encoder config, decoder config, training overrides of the cpu profile)
RECIPES = {
    "ko-6-1": ("rm:6:1", KOConfig(hidden=64), KODecoderConfig(hidden=64),  # encoder and decoder steps balanced, both lr 1e-3
               dict(batch=2000, epochs=90, dec_steps=50, enc_steps=50, snr_dec=-6.0, snr_enc=-5.0,
                    lr_dec=1e-3, lr_enc=1e-3)),
    # 4-feature decoder messages, and encoder steps that add 0.01·log UB(-3 dB) to the BCE through the KO decoder (07b)
    "ko-polar-64-7": ("polar:64:7", KOConfig(hidden=64, neural_root=False),
                      KODecoderConfig(hidden=64, neural_root=False, message_dim=4),
                      dict(batch=2000, epochs=300, dec_steps=50, enc_steps=10, snr_dec=-5.0, snr_enc=-4.0,
                           lr_dec=1e-3, lr_enc=1e-3, ub_weight=0.01, ub_snr=-3.0)),
    "tinyko-8-2": ("rm:8:2", tiny(), tiny(KODecoderConfig()),  # distilled from ko-8-2 (TEACHERS), then fine-tuned
                   dict(batch=2000, epochs=100, dec_steps=100, enc_steps=10, lr_dec=1e-3, lr_enc=1e-4)),
    "ko-8-2": ("rm:8:2", KOConfig(), KODecoderConfig(),  # balanced as ko-6-1; the thesis's SNRs (dec -5, enc -3 dB)
               dict(batch=2000, epochs=100, dec_steps=50, enc_steps=50, lr_dec=1e-3, lr_enc=1e-3)),
}
TREES = {"ko-polar-64-7": split_full_leaves}  # name -> how the recipe's tree is built from parse_code(code)
TEACHERS = {"tinyko-8-2": "ko-8-2"}  # name -> the shipped code it is distilled from before step 0 (kolit.ko_train.distil)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=SHIPPED)
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget of this sitting")
    p.add_argument("--until-step", type=int, default=None, help="stop at this global step (default: the schedule's end)")
    p.add_argument("--work", default="weights-work", help="folder for checkpoints (resumed when present)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--profile", choices=["cpu", "paper"], default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 was fastest per process here)")
    p.add_argument("--epochs", type=int, default=None, help="schedule length T (default: the recipe's); lengthens a finished run")
    p.add_argument("--lr-drop-step", type=int, default=None,
                   help="from this global step on, multiply both learning rates by --lr-drop (may be set on a resumed run "
                        "for steps it has not taken)")
    p.add_argument("--lr-drop", type=float, default=0.1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    keep_freed_memory_by_default()  # kolit.core: batches reuse mapped pages (KOLIT_KEEP_FREED_MEMORY=0 opts out)
    code, enc, dec, over = RECIPES[a.name]
    schedule = {} if a.epochs is None else dict(epochs=a.epochs)  # the fields a resumed run may change
    if a.lr_drop_step is not None: schedule.update(lr_drop_step=a.lr_drop_step, lr_drop=a.lr_drop)
    config = profile("cpu", **{**over, **schedule}) if a.profile == "cpu" else profile("paper", **schedule)
    out = os.path.join(a.work, a.name)
    command = "python scripts/train_ko.py " + " ".join(argv if argv is not None else sys.argv[1:])
    t0, steps_total, commit = time.time(), config.total_steps, _commit()  # the code as it is when training starts
    target = steps_total if a.until_step is None else min(a.until_step, steps_total)
    deadline = None if a.minutes is None else t0 + 60 * a.minutes
    tree = TREES.get(a.name, lambda t: t)(parse_code(code))
    teacher = TEACHERS.get(a.name)
    run = lambda steps: train_folder(tree, out, config, enc, dec, steps=steps, resume=True, seed=a.seed,
                                     device=a.device, checkpoint_every=100, progress=False, command=command,
                                     teacher=teacher)
    trainer = run(0)  # load the checkpoint (or start)
    start = trainer.step_count
    # train in chunks of 100 steps so that the wall-time budget is honoured at checkpoint boundaries
    while trainer.step_count < target and (deadline is None or time.time() < deadline):
        trainer = run(min(100, target - trainer.step_count))
        print(f"{a.name}: step {trainer.step_count}/{target}, {time.time() - t0:.0f} s", flush=True)
    done = trainer.step_count
    spent = json.load(open(os.path.join(out, "budget.json"))) if os.path.exists(os.path.join(out, "budget.json")) else {}
    trained = done > start
    spent = dict(wall_s=spent.get("wall_s", 0) + (time.time() - t0) * trained, sittings=spent.get("sittings", 0) + trained)
    json.dump(spent, open(os.path.join(out, "budget.json"), "w"))
    c = trainer.config
    n_enc = sum(trainer.phase(s) == "enc" for s in range(done))
    info = dict(name=a.name, code_name=code, command=f"python scripts/train_ko.py {a.name} --profile {a.profile}"
                f"{f' --epochs {a.epochs}' if a.epochs is not None else ''}"
                f"{f' --lr-drop-step {a.lr_drop_step} --lr-drop {a.lr_drop}' if a.lr_drop_step is not None else ''} "
                f"--until-step {done}",  # regenerates these weights (bit for bit at the same kolit commit)
                profile=a.profile, train=c.__dict__, steps=done, schedule_steps=steps_total,
                decoder_samples=(done - n_enc) * c.batch, encoder_samples=n_enc * c.batch,
                wall_s=round(spent["wall_s"]), sittings=spent["sittings"], torch_threads=a.threads,
                device=a.device, seed=a.seed, kolit_commit=commit,
                **({"teacher": json.load(open(os.path.join(out, "run.json")))["teacher"]} if teacher else {}))
    os.makedirs(WEIGHTS_DIR, exist_ok=True)
    path = save_code(trainer.code.cpu(), os.path.join(WEIGHTS_DIR, f"{a.name}.safetensors"), **info)
    print(json.dumps(info, indent=1))
    print("wrote", path)
    write_readme()


def _commit():
    "The git commit of this checkout, flagged when kolit/ or scripts/ differ from it (None outside a git checkout)."
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=here)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "kolit/*.py", "scripts"],
                               capture_output=True, text=True, check=True, cwd=os.path.dirname(here)).stdout.strip()
        return (out.stdout.strip() + ("+uncommitted changes" if dirty else "")) or None
    except (OSError, subprocess.CalledProcessError): return None


def write_readme():
    "kolit/weights/README.md: one section per weight file, from its metadata."
    from kolit.ko_weights import installed, read_metadata, weight_path
    lines = ["# Shipped KO codes", "",
             "Written by `scripts/train_ko.py` (do not edit: it is regenerated from the files' metadata).",
             "Load one with `kolit.ko.load(NAME)`; simulate it with `kolit ber --code ko:NAME`.",
             "Training ran on one CPU core of a shared 2-core machine (no GPU was available); the thesis trained for",
             "days on GPUs. Measured curves: `kolit/data/NAME.curves.json` (`python scripts/ko_curves.py NAME`).",
             "A command regenerates its weights bit for bit at the kolit commit that trained them (checkpoints resume",
             "bit for bit). Weights without a recorded commit were trained before 2026-11-29 13:30 UTC, when the KO",
             "encoder started to evaluate its networks on tables of (u, v) pairs (`method=\"alphabet\"`, 07a): the same",
             "function to float rounding, so a rerun today agrees with them to rounding, not bit for bit.", ""]
    metas = {name: read_metadata(weight_path(name)) for name in installed()}
    for name, meta in metas.items():
        info = meta["info"]
        t = info.get("train", {})
        lines += [f"## {name}", "", f"- code: `{info.get('code_name')}`; command: `{info.get('command')}`",
                  f"- steps: {info.get('steps')} of a {info.get('schedule_steps')}-step schedule; samples seen: "
                  f"decoder {info.get('decoder_samples'):,}, encoder {info.get('encoder_samples'):,}",
                  f"- wall time: {info.get('wall_s', 0) / 60:.1f} min in {info.get('sittings')} sitting(s), "
                  f"{info.get('torch_threads')} torch thread(s), device {info.get('device')}",
                  f"- schedule: batch {t.get('batch')}, T_dec {t.get('dec_steps')} at {t.get('snr_dec')} dB "
                  f"(lr {t.get('lr_dec')}), T_enc {t.get('enc_steps')} at {t.get('snr_enc')} dB (lr {t.get('lr_enc')}), "
                  f"encoder trained through: {t.get('enc_decoder', 'ko')}"
                  + (f"; both rates ×{t['lr_drop']} from step {t['lr_drop_step']}" if t.get("lr_drop_step") is not None else "")
                  + (f"; encoder loss + {t['ub_weight']}·log UB at {t['ub_snr']} dB" if t.get("ub_weight") else "")]
        if meta["dec_config"].get("message_dim", 1) > 1:
            lines += [f"- decoder: {meta['dec_config']['message_dim']} features per coordinate (`message_dim`, 07a)"]
        if info.get("teacher"):
            d = info["teacher"]
            lines += [f"- step 0: distilled from `{d['name']}` (its weights' digest `{d['digest'][:12]}…`; "
                      f"{d['enc_steps']} encoder + {d['dec_steps']} decoder steps of `kolit.ko_train.distil`)"]
            if d["name"] in metas and metas[d["name"]]["sha256"] != d["digest"]:
                lines += [f"- its teacher has been trained further since: the shipped `{d['name']}` is no longer the one "
                          f"with that digest, so to regenerate these weights first restore that file "
                          f"(`git log -- kolit/weights/{d['name']}.safetensors` lists its versions)"]
        if info.get("kolit_commit"): lines += [f"- kolit commit: `{info['kolit_commit']}`"]
        lines += [""]
    with open(os.path.join(WEIGHTS_DIR, "README.md"), "w") as f: f.write("\n".join(lines))


if __name__ == "__main__":
    main()
