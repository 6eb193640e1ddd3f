"""Data-parallel KO training under torchrun (gloo on CPU): replicas stay equal, checkpoints resume, and the
`kolit train` command works when launched by torchrun."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

WORKER = textwrap.dedent('''
    import json, os, sys, torch, torch.distributed as dist
    torch.set_num_threads(1)
    from kolit.ko import KOCode, tiny, KODecoderConfig
    from kolit.ko_train import Trainer, profile
    from kolit.plotkin import rm_tree
    dist.init_process_group("gloo")
    torch.manual_seed(dist.get_rank())  # different initial weights: the Trainer must broadcast rank 0's
    tr = Trainer(KOCode(rm_tree(4, 1), tiny(), tiny(KODecoderConfig())),
                 profile("cpu", batch=64, epochs=2, dec_steps=3, enc_steps=2), seed=5)
    tr.run(4, progress=False)
    tr.save(sys.argv[1])
    tr.run(progress=False)
    flat = torch.cat([p.detach().flatten() for p in tr.code.parameters()])
    got = [None] * dist.get_world_size()
    dist.all_gather_object(got, flat.tolist())
    if dist.get_rank() == 0:
        json.dump(dict(equal=all(g == got[0] for g in got), params=got[0]), open(sys.argv[2], "w"))
    dist.destroy_process_group()
''')


def torchrun(args, cwd, timeout=240):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r


def test_replicas_equal_and_resume(tmp_path):
    w = tmp_path / "worker.py"
    w.write_text(WORKER)
    ckpt, res = tmp_path / "ckpt.pt", tmp_path / "res.json"
    torchrun([str(w), str(ckpt), str(res)], tmp_path)
    out = json.loads(res.read_text())
    assert out["equal"], "replicas diverged"
    state = torch.load(ckpt, weights_only=True)
    assert len(state["generators"]) == 2 and state["step"] == 4
    assert not torch.equal(state["generators"][0], state["generators"][1])  # each rank draws its own data
    # resuming the checkpoint with two processes continues to the same weights
    w2 = tmp_path / "worker2.py"
    resumed = WORKER.replace("tr.run(4, progress=False)\ntr.save(sys.argv[1])", "tr.load(sys.argv[1])")
    assert resumed != WORKER
    w2.write_text(resumed)
    res2 = tmp_path / "res2.json"
    torchrun([str(w2), str(ckpt), str(res2)], tmp_path)
    assert json.loads(res2.read_text())["params"] == out["params"]


def test_kolit_train_under_torchrun(tmp_path):
    kolit = os.path.join(os.path.dirname(sys.executable), "kolit")
    out = tmp_path / "run"
    r = torchrun(["--no-python", kolit, "train", "--tree", "rm:4:1", "--hidden", "4", "--depth", "1",
                  "--set", "batch=32", "epochs=1", "dec_steps=3", "enc_steps=1", "--out", str(out),
                  "--json", "--no-progress"], tmp_path)
    summary = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    assert summary and summary[0]["world_size"] == 2 and summary[0]["step"] == 4
    from kolit.ko import load
    assert load(str(out)).k == 5
