"""EM on the gate (kolit.em) and its dashboard (kolit.em_dashboard): properties, baselines, contracts, timing."""
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from kolit.em import (EM_STEP, EXPERIMENTS, LAMBDA_GATE, MU_GATE, diabetes_split, em_gating, fit_moe, gate_curvature,
                      gating_q, gating_q_grad, joint_em, m_step_experts, m_step_gating, moe_command, project_gating,
                      run_trial, Setting, track)
from kolit.moe import MoE, moe_error, random_moe, sample_moe

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent


def _kkt_residual(V, P, x, R):
    "Norm of the gradient map at V (zero exactly at the constrained maximiser)."
    G, _ = gating_q_grad(V, P, x)
    L = 0.5 * torch.linalg.eigvalsh(x.T @ x / x.shape[0])[-1]
    return (L * (V - project_gating(V + G / L, R)).norm()).item()


@settings(max_examples=25, deadline=None)
@given(k=st.integers(2, 4), d=st.integers(1, 5), R=st.sampled_from([0.3, 1.0, 3.0, math.inf]), seed=st.integers(0, 10_000))
def test_m_step_is_the_constrained_maximiser(k, d, R, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(400, d, generator=g, dtype=torch.float64)
    P = torch.softmax(2 * torch.randn(400, k, generator=g, dtype=torch.float64), 1)
    V, info = m_step_gating(P, x, R=R)
    assert torch.all(V.norm(dim=1) <= R + 1e-12)
    assert _kkt_residual(V, P, x, R) < 1e-6
    # no random feasible point does better
    U = project_gating(V + 0.3 * torch.randn(V.shape, generator=g, dtype=torch.float64), R)
    assert gating_q(V, P, x) >= gating_q(U, P, x) - 1e-12


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000), method=st.sampled_from(["em", "gradient"]))
def test_em_is_monotone_and_stays_in_omega(seed, method):
    truth = random_moe(3, 6, sigma=0.4, orthogonal=False, seed=seed)
    data = sample_moe(truth, 1500, seed=seed + 1)
    r = em_gating(data.x, data.y, truth.A, sigma=0.4, R=1.5, method=method, max_iter=30, seed=seed + 2)
    assert np.all(np.diff(r.column("loglik")) > -1e-9)
    assert torch.all(r.W.norm(dim=1) <= 1.5 + 1e-12) and torch.all(r.W[-1] == 0)


def test_em_and_gradient_em_reach_the_same_fixed_point_from_any_start():
    truth = random_moe(3, 10, sigma=0.2, seed=3)
    data = sample_moe(truth, 4000, seed=4)
    ends = [em_gating(data.x, data.y, truth.A, sigma=0.2, method=m, seed=s, eps=1e-9, max_iter=300).W
            for m in ("em", "gradient") for s in range(3)]
    for W in ends[1:]: torch.testing.assert_close(W, ends[0], atol=1e-5, rtol=0)
    assert moe_error(MoE(truth.A, ends[0], "linear", 0.2), truth) < 0.5


def test_truth_is_a_fixed_point_in_the_large_sample_limit():
    "Self-consistency (App. A.1.1, Remark 2): M(W*) ≈ W* up to O(n^-1/2)."
    truth = random_moe(2, 5, sigma=0.3, seed=5)
    data = sample_moe(truth, 200_000, seed=6)
    r = em_gating(data.x, data.y, truth.A, sigma=0.3, R=math.inf, W0=truth.W, max_iter=1)
    assert (r.W - truth.W).norm() < 0.03


def test_proof_constants():
    c = gate_curvature()
    assert abs(c["lam"] - 0.1442) < 5e-5 and abs(c["mu"] - 0.25) < 1e-12
    assert abs(LAMBDA_GATE - c["lam"]) < 1e-8 and abs(EM_STEP - 2 / (MU_GATE + LAMBDA_GATE)) < 1e-12


@pytest.mark.parametrize("g", ["sigmoid", "relu", torch.tanh])
def test_expert_m_step_decreases_the_weighted_loss(g):
    truth = random_moe(2, 4, sigma=0.3, g=g, seed=7)
    data = sample_moe(truth, 2000, seed=8)
    P = torch.softmax(torch.randn(2000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64), 1)
    A0 = torch.randn(2, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    gf = truth.g_fn
    loss = lambda A: (P * (data.y[:, None] - gf(data.x @ A.T)) ** 2).mean(0)
    A1 = m_step_experts(P, data.x, data.y, A0, g, a_steps=5)
    assert torch.all(loss(A1) <= loss(A0) + 1e-12) and loss(A1).sum() < loss(A0).sum()


def test_linear_expert_m_step_is_weighted_least_squares():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(300, 3, generator=g, dtype=torch.float64), torch.randn(300, generator=g, dtype=torch.float64)
    P = torch.softmax(torch.randn(300, 2, generator=g, dtype=torch.float64), 1)
    A = m_step_experts(P, x, y, torch.zeros(2, 3, dtype=torch.float64), "linear", ridge=0.0)
    for i in range(2):
        w = P[:, i].sqrt()
        ref = torch.linalg.lstsq(w[:, None] * x, (w * y)[:, None]).solution[:, 0]
        torch.testing.assert_close(A[i], ref)


def test_joint_em_from_the_truth_stays_near_it_and_is_monotone():
    truth = random_moe(3, 8, sigma=0.3, orthogonal=False, seed=9)
    data = sample_moe(truth, 6000, seed=10)
    r = joint_em(data.x, data.y, 3, sigma=0.3, A0=truth.A, W0=truth.W, max_iter=50)
    assert np.all(np.diff(r.column("loglik")) > -1e-9)
    assert moe_error(MoE(r.A, r.W, "linear", 0.3), truth) < 0.4


def test_ours_recovers_the_moe_of_section_2_5_2():
    rows = run_trial(Setting(k=2, d=10, n=2000, sigma=0.1), ("em", "spectral"), trial=0)
    em = rows[0]
    assert em["regressor_fit"] > 0.9 and em["gating_fit"] > 0.9 and em["iters"] < 30
    assert math.isnan(rows[1]["gating_fit"]) and rows[1]["regressor_fit"] == em["regressor_fit"]


def test_moe_command_contract_and_seed():
    a = moe_command("em", k=2, d=6, n=1500, sigma=0.2, trials=2, seed=3)
    assert set(a) == {"regressor_fit", "gating_fit", "error"} and all(set(v) == {"mean", "std"} for v in a.values())
    assert a == moe_command("em", k=2, d=6, n=1500, sigma=0.2, trials=2, seed=3)
    j = moe_command("joint-em", k=2, d=6, n=1500, sigma=0.2, trials=1)
    assert 0 <= j["gating_fit"]["mean"] <= 1
    s = moe_command("spectral", k=2, d=6, n=1500, sigma=0.2, trials=1)
    assert s["gating_fit"] == {"mean": None, "std": None}
    json.dumps(s)


@pytest.mark.parametrize("kw,msg", [(dict(method="ours"), "method must be one of"), (dict(k=0), "k must be a positive"),
                                    (dict(k=11, d=10), "k must be <= d"), (dict(n=-5), "n must be a positive"),
                                    (dict(sigma=-1.0), "sigma must be a positive"), (dict(g="tanh"), "g must be one of"),
                                    (dict(trials=0), "trials must be a positive"), (dict(seed=-1), "seed must be")])
def test_moe_command_errors_name_the_argument(kw, msg):
    kw = {"method": "em", **kw}
    with pytest.raises(ValueError, match=msg): moe_command(**kw)


def test_bad_input_raises_value_errors():
    truth = random_moe(2, 4, seed=0)
    data = sample_moe(truth, 100, seed=1)
    with pytest.raises(ValueError, match="sigma must be"): em_gating(data.x, data.y, truth.A, sigma=0.0)
    with pytest.raises(ValueError, match="A must be"): em_gating(data.x, data.y, truth.A[:, :3])
    with pytest.raises(ValueError, match="R must be"): m_step_gating(torch.full((100, 2), 0.5, dtype=torch.float64), data.x, R=-1)
    with pytest.raises(ValueError, match="method must be one of"): fit_moe(data.x, data.y, 2, method="adam")
    with pytest.raises(ValueError, match="metrics must be among"): track(truth, ("loss",))


def test_diabetes_preprocessing():
    xtr, ytr, xte, yte = diabetes_split(0)
    assert xtr.shape == (332, 10) and xte.shape == (110, 10)
    torch.testing.assert_close(xtr.mean(0), torch.zeros(10, dtype=torch.float64), atol=1e-10, rtol=0)
    torch.testing.assert_close(torch.cov(xtr.T), torch.eye(10, dtype=torch.float64), atol=1e-10, rtol=0)
    assert ytr.min() == -1 and ytr.max() == 1


def test_script_writes_json(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "em_experiments.py"), "table-2-1", "--trials", "1", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    res = json.loads((tmp_path / "table-2-1.json").read_text())
    assert res["command"].startswith("python scripts/em_experiments.py table-2-1") and len(res["settings"]) == 5


def test_committed_results_match_the_thesis_tables():
    from kolit.em import TABLE_2_1, TABLE_2_2, load_experiment
    for name, table in (("table-2-1", TABLE_2_1), ("table-2-2", TABLE_2_2)):
        res = load_experiment(name, ROOT / "reports" / "data" / "em")
        if res is None: pytest.skip(f"{name}.json not committed")
        assert res["trials"] >= 10 and set(res["settings"][0]["summary"]) >= set(EXPERIMENTS[name]["methods"])
        for s, (rf, gf) in zip(res["settings"], table.values()):
            assert s["summary"]["em"]["regressor_fit"]["mean"] >= rf[0] - rf[1]
            assert s["summary"]["em"]["gating_fit"]["mean"] >= gf[0] - gf[1]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_em_runs_on_cuda_like_on_cpu():
    truth = random_moe(3, 6, sigma=0.3, seed=0)
    data = sample_moe(truth, 2000, seed=1)
    cpu = em_gating(data.x, data.y, truth.A, sigma=0.3, W0=truth.W, max_iter=5)
    gpu = em_gating(data.x.cuda(), data.y.cuda(), truth.A.cuda(), sigma=0.3, W0=truth.W.cuda(), max_iter=5)
    torch.testing.assert_close(gpu.W.cpu(), cpu.W, atol=1e-8, rtol=0)
    jg = joint_em(data.x.cuda(), data.y.cuda(), 3, sigma=0.3, max_iter=3, seed=2)
    assert jg.A.is_cuda and torch.isfinite(jg.A).all()


# ---------------------------------------------------------------- the dashboard
def test_dashboard_driven_by_its_widgets():
    from kolit.em_dashboard import EMDashboard
    dash = EMDashboard(sigma=0.5, w_norm=1.0, n=3000, k=3)
    first = dash.state
    assert (first.sigma, first.n, first.k) == (0.5, 3000, 3)
    dash.sliders["k"].value = 2
    dash.sliders["sigma"].value = 0.1
    dash.sliders["n"].value = 4000
    dash.sliders["w_norm"].value = 2.0
    s = dash.state
    assert (s.k, s.n, s.sigma, s.w_norm) == (2, 4000, 0.1, 2.0)
    assert s.oracle["gating_fit"] > 0.97 and s.ours["regressor_fit"] > 0.9 and s.ours["gating_fit"] > 0.9
    assert len(s.oracle["curve_gating_fit"]) == s.oracle["iters"] + 1
    assert "GatingFit" in dash.status.value
    fig = dash.figure()
    assert len(fig.data) == 4 and list(fig.data[0].y) == s.oracle["curve_gating_fit"]


def test_dashboard_recomputes_within_two_seconds():
    from kolit.em_dashboard import EMDashboard
    dash = EMDashboard(n=1000, k=2)
    worst = 0.0
    for name, value in (("n", 10_000), ("k", 5), ("sigma", 1.5), ("w_norm", 4.0)):  # the heaviest corner
        t0 = time.time()
        dash.sliders[name].value = value
        worst = max(worst, time.time() - t0)
    assert worst < 2.0, f"slowest update {worst:.2f} s"


def test_reproductions_quick_mode():
    import kolit.em  # noqa: F401  (registers the em-* reproductions)
    from kolit.reproduce import REPRODUCTIONS
    keys = [k for k in REPRODUCTIONS if k.startswith("em-")]
    assert set(keys) == {"em-table-2-1", "em-table-2-2", "em-fig-2-3", "em-fig-a1", "em-fig-a2", "em-stuck", "em-constants", "em-real-data"}
    t0 = time.time()
    for k in keys:
        res = REPRODUCTIONS[k].run(quick=True, seed=0, progress=False)
        assert res.rows and all(set(r) == {"quantity", "snr_db", "thesis", "kolit", "check"} for r in res.rows)
    assert time.time() - t0 < 45
