"""The shipped KO codes: they load by name and by CLI, damaged copies are refused, and the SNR dashboard is
driven the way a user drives it (set widget values, read what it shows)."""
import json
import os
import shutil
import subprocess
import sys

import plotly.graph_objects as go
import pytest
import torch

from kolit.ko import KOCode, load
from kolit.ko_weights import SHIPPED, installed, read_metadata, weight_path

INSTALLED = installed()
KOLIT = os.path.join(os.path.dirname(sys.executable), "kolit")


def test_all_four_codes_ship():
    assert INSTALLED == list(SHIPPED), f"missing weight files: {set(SHIPPED) - set(INSTALLED)}"


@pytest.mark.parametrize("name", INSTALLED)
def test_shipped_code_loads_with_its_provenance(name):
    code = load(name)
    assert isinstance(code, KOCode) and not code.training
    info = read_metadata(weight_path(name))["info"]
    assert info["command"].startswith(f"python scripts/train_ko.py {name}")
    assert info["steps"] > 0 and info["decoder_samples"] > 0
    expected = {"ko-polar-64-7": (64, 7), "ko-6-1": (64, 7), "ko-8-2": (256, 37), "tinyko-8-2": (256, 37)}[name]
    assert (code.n, code.k) == expected
    bits = torch.randint(0, 2, (100, code.k), generator=torch.Generator().manual_seed(0)).float()
    with torch.no_grad():
        x = code.encode(bits)
        assert torch.allclose(x.pow(2).mean(-1), torch.ones(100), atol=1e-5)  # ‖x‖² = n
        assert torch.equal(code.decode(x * 10, 10.0), bits)  # noiseless (scaled) codewords decode exactly


def test_damaged_copy_is_refused_and_leaves_nothing_half_loaded(tmp_path):
    name = INSTALLED[0]
    bad = tmp_path / "copy.safetensors"
    shutil.copy(weight_path(name), bad)
    raw = bytearray(bad.read_bytes()); raw[len(raw) // 2] ^= 0x01; bad.write_bytes(raw)
    with pytest.raises(ValueError, match="checksum mismatch|not a readable|damaged metadata"):
        load(str(bad))
    bad.write_bytes(bytes(raw[: len(raw) // 3]))  # truncated
    with pytest.raises(ValueError, match="not a readable safetensors file|cannot be read"):
        load(str(bad))


def test_kolit_ber_on_a_shipped_code_json_contract():
    name = INSTALLED[0]
    r = subprocess.run([KOLIT, "ber", "--code", f"ko:{name}", "--snr", "-5", "--max-codewords", "2000", "--json",
                        "--no-progress"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert rows[0]["codewords"] == 2000 and 0 <= rows[0]["ber"] <= rows[0]["bler"] <= 1
    r = subprocess.run([KOLIT, "ber", "--code", "ko:ko-9-9"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "argument --code" in r.stderr


def test_dashboard_follows_its_widgets():
    from kolit.ko_results import KODashboard, KOView
    dash = KODashboard(INSTALLED[0], snr_db=-6.0, codewords=500)
    v = dash.view
    assert isinstance(v, KOView) and v.name == INSTALLED[0] and v.snr_db == -6.0
    assert isinstance(v.curves_fig, go.Figure) and isinstance(v.llr_fig, go.Figure) and isinstance(v.leaf_fig, go.Figure)
    assert set(v.live) == {"KO decoder (live)", "classical Dumer (live)"}
    assert all(p.codewords == 500 and p.snr_db == -6.0 for p in v.live.values())
    dash.snr.value = -3.0  # higher SNR: fewer errors
    assert dash.view.snr_db == -3.0
    assert dash.view.live["KO decoder (live)"].ber <= v.live["KO decoder (live)"].ber
    dash.metric.value = "bler"
    assert dash.view.curves_fig.layout.yaxis.title.text == "BLER"
    if len(INSTALLED) > 1:
        dash.name.value = INSTALLED[-1]
        assert dash.view.name == INSTALLED[-1] and f"<b>{INSTALLED[-1]}</b>" in dash.summary.value
    # the per-leaf terms of Eq. 4.4 add up to the BLER they were counted on
    leaf = dash.view.leaf["KO"]
    assert leaf.first_errors.sum() == leaf.block_errors.sum()


def test_dashboard_bad_input():
    from kolit.ko_results import KODashboard
    with pytest.raises(ValueError, match="name must be one of the installed codes"):
        KODashboard("ko-9-9")
    with pytest.raises(ValueError, match="snr_db must be a number in \\[-8, -2\\]"):
        KODashboard(snr_db=5.0)
    with pytest.raises(ValueError, match="metric must be 'ber' or 'bler'"):
        KODashboard(metric="fer")
