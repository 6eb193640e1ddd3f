"""The `kolit` console script as a user runs it: JSON contract, seeds, one-line errors."""
import json
import os
import subprocess
import sys

import pytest

from kolit.core import BER_COLUMNS

KOLIT = [os.path.join(os.path.dirname(sys.executable), "kolit")]


def run(*args, check=True):
    p = subprocess.run(KOLIT + list(args), capture_output=True, text=True, timeout=300)
    if check: assert p.returncode == 0, p.stderr
    return p


def test_ber_json_contract_and_seed():
    args = ["ber", "--code", "rm:6:1", "--decoder", "dumer", "--snr", "-6", "-5", "--max-codewords", "3000",
            "--target-block-errors", "50", "--seed", "1", "--channel", "awgn", "--json", "--no-progress"]
    rows = json.loads(run(*args).stdout)
    assert [list(r) for r in rows] == [list(BER_COLUMNS)] * 2
    assert [r["snr_db"] for r in rows] == [-6.0, -5.0]
    for r in rows:
        assert 0 <= r["ber_ci_low"] <= r["ber"] <= r["ber_ci_high"] <= 1
        assert 0 <= r["bler_ci_low"] <= r["bler"] <= r["bler_ci_high"] <= 1
        assert r["block_errors"] <= r["codewords"] <= 3000
    assert json.loads(run(*args).stdout) == rows  # equal seeds, equal tables


@pytest.mark.parametrize("decoder", ["dumer-minsum", "scl:4", "map", "smap"])
def test_ber_decoders_polar(decoder):
    rows = json.loads(run("ber", "--code", "polar:64:7", "--decoder", decoder, "--snr", "-4",
                          "--max-codewords", "2000", "--json", "--no-progress").stdout)
    assert rows[0]["codewords"] > 0 and rows[0]["ber"] < 0.1


@pytest.mark.parametrize("args,argument", [
    (["--code", "rm:8:9"], "--code"),                 # r > m
    (["--code", "hamming:7:4"], "--code"),            # unknown code
    (["--code", "polar:64:65"], "--code"),            # k > n
    (["--code", "rm:6:1", "--snr", "x"], "--snr"),    # not a number
    (["--code", "rm:6:1", "--max-codewords", "-1"], "--max-codewords"),
    (["--code", "rm:6:1", "--target-block-errors", "0"], "--target-block-errors"),
    (["--code", "rm:6:1", "--decoder", "bp"], "--decoder"),
    (["--code", "rm:6:1", "--decoder", "scl:0"], "--decoder"),
    (["--code", "rm:8:2", "--decoder", "smap"], "--decoder"),  # k = 37: 2^k codewords cannot be enumerated
    (["--code", "rm:6:1", "--channel", "bsc"], "--channel"),
])
def test_bad_input_one_line(args, argument):
    p = run("ber", *args, "--no-progress", check=False)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and f"argument {argument}" in lines[0], p.stderr
    assert p.stdout == ""


def test_reproduce_quick(tmp_path):
    p = run("reproduce", "--only", "rm-6-1", "--quick", "--out", str(tmp_path), "--json", "--no-progress")
    rows = json.loads(p.stdout)
    assert {r["key"] for r in rows} == {"rm-6-1"}
    assert all(r["check"] == "ok" for r in rows if r["quantity"].startswith("BER")), rows
    assert (tmp_path / "REPORT.md").exists() and (tmp_path / "plotly.min.js").exists()
    bad = run("reproduce", "--only", "nope", check=False)
    assert bad.returncode == 2 and "argument --only" in bad.stderr


def test_cqt_json_contract():
    coef = json.loads(run("cqt", "--g", "sigmoid", "--sigma", "0.1", "--json").stdout)
    assert list(coef) == ["alpha", "beta", "gamma"]
    coef4 = json.loads(run("cqt", "--g", "linear", "--sigma", "0.5", "--order", "4", "--json").stdout)
    assert list(coef4) == ["alpha", "beta", "gamma", "delta"]
    bad = run("cqt", "--g", "tanh", "--sigma", "0.1", check=False)
    assert bad.returncode == 2 and "argument --g" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    bad = run("cqt", "--g", "relu", "--sigma", "-1", check=False)
    assert bad.returncode == 2 and "argument --sigma" in bad.stderr


def test_moe_json_contract():
    res = json.loads(run("moe", "spectral", "--k", "3", "--d", "10", "--n", "4000", "--sigma", "0.5",
                         "--g", "linear", "--trials", "2", "--seed", "0", "--json").stdout)
    assert set(res) >= {"regressor_fit", "gating_fit", "error"}
    assert set(res["regressor_fit"]) == {"mean", "std"} and 0 < res["regressor_fit"]["mean"] <= 1
    bad = run("moe", "em", "--k", "12", "--d", "10", "--trials", "1", check=False)
    assert bad.returncode == 2 and "argument --k" in bad.stderr, bad.stderr
    bad = run("moe", "em", "--sigma", "-0.5", "--trials", "1", check=False)
    assert bad.returncode == 2 and "argument --sigma" in bad.stderr, bad.stderr


def test_moe_gd_json_contract():
    res = json.loads(run("moe", "l4", "--k", "3", "--d", "10", "--sigma", "0.05", "--epochs", "50", "--batch", "256",
                         "--trials", "2", "--seed", "0", "--json").stdout)
    assert set(res) == {"regressor_error", "gating_error"}
    assert set(res["regressor_error"]) == {"mean", "std"}
    bad = run("moe", "l2", "--epochs", "0", check=False)
    assert bad.returncode == 2 and "argument --epochs" in bad.stderr
