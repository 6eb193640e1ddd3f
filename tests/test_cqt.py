"""kolit.cqt: the label transforms of Chapters 2–3 against their defining conditions, by Monte-Carlo."""
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from kolit.cqt import (CQT, QT, cqt_coefficients, cqt_command, cqt_poly, get_activation, hermite_moments,
                       mc_projections, p2, p3, projections, q2, q4, qt_poly, quartic_coefficients,
                       relu_closed_forms, transform_coefficients)

ACTS = ("linear", "sigmoid", "relu")


# --- the property: kolit's transforms leave no cross term, for any σ (Monte-Carlo, no quadrature) -----------
@settings(max_examples=10, deadline=None, derandomize=True)
@given(sigma=st.floats(0.05, 2.0), g=st.sampled_from(ACTS))
def test_mc_cross_moments_vanish(sigma, g):
    c3, c4 = cqt_coefficients(g, sigma), quartic_coefficients(g, sigma)
    seed = int(sigma * 1e6) % 2**31
    cases = [(cqt_poly(c3), (1, 2), 3, c3.c), ((0.0, c3.gamma, 1.0), (1,), 2, c3.c_prime),
             (qt_poly(c4), (1, 2, 3), 4, c4.c), ((0.0, c4.delta, 1.0), (1,), 2, c4.c_prime)]
    for poly, cross, kept, c in cases:
        mc = mc_projections(g, sigma, poly, cross + (kept,), n=150_000, seed=seed)
        assert np.all(np.abs(mc.z[:-1]) < 5), (g, sigma, poly, mc)  # cross projections: zero
        assert abs(mc.mean[-1] - c) < 5 * mc.se[-1], (g, sigma, poly, mc)  # kept projection: c


@settings(max_examples=10, deadline=None, derandomize=True)
@given(a=st.floats(0.3, 3.0), b=st.floats(-1.0, 1.0), sigma=st.floats(0.05, 1.5))
def test_any_smooth_g_exact_and_sigma_shift(a, b, sigma):
    "For g = tanh(az + b) + z/2: exact cross projections vanish; α and c do not depend on σ, β = β₀ − 3σ²."
    g = lambda z: np.tanh(a * z + b) + z / 2
    r, r0 = cqt_coefficients(g, sigma), cqt_coefficients(g, 1e-6)
    np.testing.assert_allclose(projections(g, sigma, cqt_poly(r), (1, 2)), 0, atol=1e-10)
    np.testing.assert_allclose([r.alpha, r.beta + 3 * sigma**2, r.c], [r0.alpha, r0.beta, r0.c], rtol=1e-7, atol=1e-9)
    q, q0 = quartic_coefficients(g, sigma), quartic_coefficients(g, 1e-6)
    np.testing.assert_allclose(projections(g, sigma, qt_poly(q), (1, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose([q.alpha, q.beta + 6 * sigma**2, q.gamma + 3 * sigma**2 * q.alpha, q.c],
                               [q0.alpha, q0.beta, q0.gamma, q0.c], rtol=1e-6, atol=1e-8)


# --- closed forms -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.01, 0.1, 0.5, 1.0, 3.0])
def test_linear_closed_forms(sigma):
    r = cqt_coefficients("linear", sigma)
    assert r.as_dict() == pytest.approx(dict(alpha=0.0, beta=-3 * (1 + sigma**2), gamma=0.0), abs=1e-10)
    assert (r.c, r.c_prime) == pytest.approx((6.0, 2.0), abs=1e-9)
    q = quartic_coefficients("linear", sigma)
    assert q.as_dict() == pytest.approx(dict(alpha=0.0, beta=-6 * (1 + sigma**2), gamma=0.0, delta=0.0), abs=1e-9)
    assert (q.c, q.c_prime) == pytest.approx((24.0, 2.0), abs=1e-8)
    # the transforms themselves: P3(y) = y³ − 3(1+σ²)y, Q4(y) = y⁴ − 6(1+σ²)y²
    y = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(p3(y, r), y**3 - 3 * (1 + sigma**2) * y, atol=1e-9)
    np.testing.assert_allclose(q4(y, q), y**4 - 6 * (1 + sigma**2) * y**2, atol=1e-8)


@pytest.mark.parametrize("sigma", [0.05, 0.5, 2.0])
def test_relu_closed_forms(sigma):
    cf = relu_closed_forms(sigma)
    r, q = cqt_coefficients("relu", sigma), quartic_coefficients("relu", sigma)
    for k, v in cf["cqt"].items(): assert getattr(r, k) == pytest.approx(v, rel=1e-11, abs=1e-11), k
    for k, v in cf["quartic"].items(): assert getattr(q, k) == pytest.approx(v, rel=1e-10, abs=1e-10), k


def test_sigmoid_exact_structure():
    r = cqt_coefficients("sigmoid", 0.3)
    assert (r.alpha, r.gamma) == pytest.approx((-1.5, -1.0), abs=1e-12)  # g = 1/2 + odd
    assert hermite_moments("sigmoid", 1, 2)[1, 2] == pytest.approx(0.0, abs=1e-15)  # E[g''] = 0, not −0.0001


# --- transforms: numpy and torch, batched --------------------------------------------------------------------
def test_transforms_numpy_torch_devices():
    c3, c4 = cqt_coefficients("relu", 0.2), quartic_coefficients("relu", 0.2)
    y = np.random.default_rng(0).standard_normal((5, 7))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        yt = torch.tensor(y, dtype=torch.float64, device=dev)
        for f, c in ((p3, c3), (p2, c3), (q4, c4), (q2, c4)):
            out = f(yt, c)
            assert out.device.type == dev and out.shape == (5, 7) and out.dtype == torch.float64
            np.testing.assert_allclose(out.cpu().numpy(), f(y, c), rtol=1e-12)
    assert p3(y, c3.as_dict()).shape == (5, 7)  # a dict works too


def test_torch_activation_callables():
    assert get_activation(torch.relu).breakpoints == (0.0,)
    a = cqt_coefficients(torch.sigmoid, 0.4).as_dict()
    assert a == pytest.approx(cqt_coefficients("sigmoid", 0.4).as_dict(), abs=1e-12)


# --- validity --------------------------------------------------------------------------------------------------
def test_even_g_fails_cubic_but_not_quartic():
    sq = lambda z: z**2
    with pytest.raises(ValueError, match=r"is not \(α, β, γ\)-valid.*Condition 1.*is zero"):
        cqt_coefficients(sq, 0.5)
    bad = cqt_coefficients(sq, 0.5, strict=False)
    assert not bad.valid and abs(bad.c) < 1e-9
    assert quartic_coefficients(sq, 0.5).valid


def test_inconsistent_system():
    he23 = lambda z: z**3 + z**2 - 3 * z - 1  # He2 + He3: E[g'] = 0 but E[(g²)'] = 12
    with pytest.raises(ValueError, match="P2 \\(Condition 2\\): no coefficients"):
        cqt_coefficients(he23, 0.3)


def test_kinked_callable_auto_rule_and_warning():
    relu = lambda z: np.maximum(z, 0)  # kink at 0, a panel edge: "auto" switches to panels, exact
    t = transform_coefficients(relu, 0.5, 3)
    assert t.method == "panels" and t.quad_error < 1e-10
    assert t.coeffs[1] == pytest.approx(relu_closed_forms(0.5)["cqt"]["beta"], abs=1e-12)
    shifted = lambda z: np.maximum(z - 0.5, 0)  # kink inside a panel: warns unless declared
    with pytest.warns(RuntimeWarning, match="has not converged"):
        transform_coefficients(shifted, 0.5, 3)
    assert transform_coefficients(shifted, 0.5, 3, breakpoints=(0.5,)).quad_error < 1e-10


# --- bad input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: cqt_coefficients("relu", 0.0), "sigma must be a positive"),
    (lambda: cqt_coefficients("relu", -0.1), "sigma must be a positive"),
    (lambda: cqt_coefficients("relu", float("nan")), "sigma must be a positive"),
    (lambda: cqt_coefficients("relu", True), "sigma must be a positive"),
    (lambda: cqt_coefficients("relu", "0.1"), "sigma must be a positive"),
    (lambda: cqt_coefficients("gelu", 0.1), "g must be one of"),
    (lambda: cqt_coefficients(3.0, 0.1), "g must be one of"),
    (lambda: quartic_coefficients("relu", 0.1, nodes=1000), "nodes must be an integer"),
    (lambda: cqt_coefficients("relu", 0.1, breakpoints=(50.0,)), "breakpoints must be"),
    (lambda: cqt_coefficients("relu", 0.1, method="simpson"), "method must be one of"),
    (lambda: transform_coefficients("relu", 0.1, 5), "degree must be 2, 3 or 4"),
    (lambda: mc_projections("relu", 0.1, (0, 1), n=0), "n must be an integer"),
    (lambda: p3(np.ones(3), quartic_coefficients("relu", 0.1)), "c must be a CQT"),
    (lambda: q4(np.ones(3), {"alpha": 1.0}), "missing"),
    (lambda: cqt_command("swish", 0.1), "g must be one of"),
    (lambda: cqt_command("relu", 0), "sigma must be a positive"),
    (lambda: cqt_command("relu", "abc"), "sigma must be a positive"),
    (lambda: cqt_command("relu", 0.1, order=2), "order must be 3 or 4"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_cqt_command_contract():
    out3, out4 = cqt_command("sigmoid", 0.1), cqt_command("relu", 0.1, order=4)
    assert list(out3) == ["alpha", "beta", "gamma"] and list(out4) == ["alpha", "beta", "gamma", "delta"]
    assert all(type(v) is float for v in {**out3, **out4}.values())
    assert json.loads(json.dumps(out3)) == out3
    assert out3["gamma"] == pytest.approx(-1.0) and out4["delta"] == pytest.approx(-2 * math.sqrt(2 / math.pi))


def test_reproduction_quick():
    from kolit.reproduce import REPRODUCTIONS
    res = REPRODUCTIONS["cqt-examples"].run(quick=True, seed=0, progress=False)
    checks = [r["check"] for r in res.rows]
    assert not any(c in ("DIFFERS", "NONZERO") for c in checks), checks
    assert sum(c.startswith("ERRATUM") for c in checks) >= 4
    assert "cqt-cross-terms" in res.figures
