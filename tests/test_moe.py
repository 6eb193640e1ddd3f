"""Chapter 2's MoE model and moments across modules: tensorly cross-check, CQT coefficients from kolit.cqt,
property-based checks of the metrics and the chunked moments, bad input, devices, reproductions."""
import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from kolit.moe import (MoE, GaussianInputs, MixtureInputs, bottleneck_assignment, gating_fit, moe_error, moe_mean,
                       random_moe, regressor_fit, sample_moe)
from kolit.moments import (algorithm1, orth_als, p2_poly, p3_poly, p_coefficients, population_score_moment,
                           power_method, score, score_moment, spectral_from_moments, spectral_regressors,
                           stein_constants, theorem1_tensor, transform_p2, transform_p3, whitening)


# ---------------------------------------------------------------- tensorly cross-check
def _whitened(truth, n, seed):
    data = sample_moe(truth, n, seed=seed)
    al, be, ga = p_coefficients(truth.g, truth.sigma)
    T2 = score_moment(data.x, transform_p2(data.y, ga), 2)
    Wh, U, lam = whitening(T2, truth.k)
    return score_moment(data.x, transform_p3(data.y, al, be), 3, basis=Wh), data


def _match_abs_cos(U, V):  # rows of U vs rows of V, up to order and sign
    U = U / np.linalg.norm(U, axis=1, keepdims=True); V = V / np.linalg.norm(V, axis=1, keepdims=True)
    return bottleneck_assignment(np.abs(U @ V.T))[0]


def test_tensorly_parafac_agrees_on_whitened_tensor():
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import parafac
    truth = random_moe(3, 10, sigma=0.5, seed=4)
    Tw, _ = _whitened(truth, 50_000, seed=5)
    np.random.seed(0)  # tensorly draws from NumPy's global RNG (init='svd' is deterministic, but be safe)
    cp = parafac(tl.tensor(Tw.numpy()), rank=3, init="svd", n_iter_max=500, tol=1e-12)
    tl_factors = cp.factors[0].T  # (3, k) columns of the first mode
    for method in (orth_als, power_method):
        _, V = method(Tw, 3, seed=1)
        assert _match_abs_cos(tl_factors, V.numpy()) > 0.995


def test_tensorly_parafac_on_exact_population_tensor_recovers_regressors():
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import parafac
    truth = random_moe(3, 8, sigma=0.5, seed=1)
    al, be, _ = p_coefficients("linear", 0.5)
    T3 = theorem1_tensor(truth, stein_constants("linear", 0.5, p3_poly(al, be)))
    cp = parafac(tl.tensor(T3.numpy()), rank=3, init="svd", n_iter_max=2000, tol=1e-14)
    assert _match_abs_cos(cp.factors[0].T, truth.A.numpy()) > 0.999


# ---------------------------------------------------------------- CQT coefficients from kolit.cqt
@pytest.mark.parametrize("g", ["sigmoid", "relu"])
def test_theorem1_population_with_cqt_coefficients(g):
    """kolit.cqt's (α, β, γ) make the population E[P3 S3] and E[P2 S2] cross-term free (orthogonal gating)."""
    pytest.importorskip("kolit.cqt")
    truth = random_moe(2, 6, sigma=0.3, g=g, seed=2)
    al, be, ga = p_coefficients(g, 0.3)
    m3, m2 = stein_constants(g, 0.3, p3_poly(al, be)), stein_constants(g, 0.3, p2_poly(ga), 2)
    assert abs(m3[1]) < 1e-8 and abs(m3[2]) < 1e-8 and abs(m2[1]) < 1e-8  # Conditions 1 and 2
    from kolit.cqt import cqt_coefficients
    c = cqt_coefficients(g, 0.3)
    assert math.isclose(m3[3], c.c, rel_tol=1e-6) and math.isclose(m2[2], c.c_prime, rel_tol=1e-6)
    # k = 2, r = 3: fine Gauss-Hermite grid; the ReLU kink limits the accuracy of the quadrature
    Tp = population_score_moment(truth, p3_poly(al, be), 3, max_points=300_000)
    assert float((Tp - theorem1_tensor(truth, m3)).norm()) < 2e-3 * float(Tp.norm()) + 1e-6


@pytest.mark.parametrize("g", ["sigmoid", "relu"])
def test_spectral_regressors_nonlinear(g):
    truth = random_moe(2, 10, sigma=0.1, g=g, seed=1)
    data = sample_moe(truth, 40_000, seed=2)
    assert regressor_fit(spectral_regressors(data.x, data.y, 2, g, 0.1), truth.A) > 0.97


# ---------------------------------------------------------------- properties of the metrics
@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 6), d=st.integers(7, 12), seed=st.integers(0, 10_000), data=st.data())
def test_metrics_are_permutation_invariant(k, d, seed, data):
    truth = random_moe(k, d, sigma=0.3, seed=seed, orthogonal=False)
    perm = data.draw(st.permutations(list(range(k))))
    est = truth.permute(perm)
    x = torch.randn(50, d, dtype=torch.float64)
    assert torch.allclose(moe_mean(est, x), moe_mean(truth, x))  # the same model
    assert regressor_fit(est.A, truth.A) == pytest.approx(1.0)
    assert gating_fit(est.W, truth.W) == pytest.approx(1.0)
    err, p = moe_error(est, truth, return_perm=True)
    assert err == pytest.approx(0.0, abs=1e-12) and p == list(perm)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_bottleneck_and_hungarian_paths(k, seed):
    rng = np.random.default_rng(seed)
    C = rng.random((k, k))
    brute = max(min(C[p[j], j] for j in range(k)) for p in itertools.permutations(range(k)))
    assert bottleneck_assignment(C)[0] == pytest.approx(brute)
    truth = random_moe(k, 8, seed=seed, orthogonal=False)
    noisy = MoE(truth.A + 0.01 * torch.tensor(rng.standard_normal(truth.A.shape)), truth.W)
    exact = moe_error(noisy, truth)
    assert exact <= moe_error(noisy, truth, exact_max_k=0) + 1e-12  # Hungarian: an upper bound …
    assert moe_error(noisy, truth, exact_max_k=0) == pytest.approx(exact, rel=1e-9)  # … tight for small noise


# ---------------------------------------------------------------- chunked moments = brute force
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), d=st.integers(1, 5), order=st.sampled_from([2, 3, 4]), budget=st.integers(1, 500),
       mixture=st.booleans(), seed=st.integers(0, 1000))
def test_score_moment_matches_full_tensors(n, d, order, budget, mixture, seed):
    g = torch.Generator().manual_seed(seed)
    inputs = MixtureInputs(d, p=0.4, seed=seed) if mixture else GaussianInputs(d)
    x = inputs.sample(n, g)
    f = torch.randn(n, dtype=torch.float64, generator=g)
    full = (f.reshape(-1, *[1] * order) * score(x, order, inputs)).mean(0)
    assert torch.allclose(score_moment(x, f, order, inputs, budget=budget), full, atol=1e-10)


# ---------------------------------------------------------------- bad input names the argument
@pytest.mark.parametrize("call,needle", [
    (lambda x, y: spectral_regressors(x, y, 6, sigma=0.5), "k must be an integer with 1 <= k <= d = 5"),
    (lambda x, y: spectral_regressors(x, y, 0, sigma=0.5), "k must be"),
    (lambda x, y: spectral_regressors(x, y, 2, sigma=-0.1), "sigma must be a positive number"),
    (lambda x, y: spectral_regressors(x, y, 2, g="gelu"), "g must be one of ('linear', 'sigmoid', 'relu')"),
    (lambda x, y: spectral_regressors(x, y[:-1], 2), "y must be a tensor of shape (500,)"),
    (lambda x, y: spectral_regressors(x[:, :3], y, 2, inputs=GaussianInputs(5)), "inputs must have dimension d = 3"),
    (lambda x, y: spectral_regressors(x, y, 2, method="cp"), "method must be one of ('orth-als', 'power')"),
    (lambda x, y: MoE(torch.zeros(2, 5), torch.zeros(3, 5)), "W must have the shape of A"),
    (lambda x, y: MoE(torch.zeros(2, 5), torch.zeros(2, 5), sigma=0), "sigma must be a positive number"),
    (lambda x, y: MoE(torch.zeros(2, 5), torch.ones(2, 5)), "last row w_k = 0"),
    (lambda x, y: random_moe(5, 5), "orthogonal gating needs d > k"),
    (lambda x, y: regressor_fit(torch.zeros(2, 4), torch.zeros(2, 5)), "A_hat must have the shape of A"),
    (lambda x, y: MixtureInputs(5, p=1.5), "p must be in (0, 1)"),
])
def test_bad_input(call, needle):
    truth = random_moe(2, 5, sigma=0.5, seed=0)
    data = sample_moe(truth, 500, seed=0)
    with pytest.raises(ValueError) as e:
        call(data.x, data.y)
    assert needle in str(e.value), str(e.value)


# ---------------------------------------------------------------- devices
@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_matches_cpu():
    truth = random_moe(3, 10, sigma=0.5, seed=0)
    data = sample_moe(truth, 20_000, seed=1)
    a_cpu = spectral_regressors(data.x, data.y, 3, sigma=0.5)
    a_gpu = spectral_regressors(data.x.cuda(), data.y.cuda(), 3, sigma=0.5)
    assert a_gpu.device.type == "cuda"
    assert torch.allclose(a_cpu, a_gpu.cpu(), atol=1e-8)
    gd = sample_moe(truth.to("cuda"), 1000, seed=1)
    assert gd.x.device.type == "cuda" and gd.y.shape == (1000,)


# ---------------------------------------------------------------- exact moments decompose exactly
def test_population_algorithm1_is_exact_under_assumption3():
    truth = random_moe(3, 9, sigma=0.5, seed=3)
    al, be, ga = p_coefficients("linear", 0.5)
    T2 = population_score_moment(truth, p2_poly(ga), 2, max_points=100_000)
    T3 = population_score_moment(truth, p3_poly(al, be), 3, max_points=100_000)
    for method in ("orth-als", "power"):
        res = spectral_from_moments(T2, T3, 3, 6.0, 2.0, method)
        fit, perm = regressor_fit(res.A, truth.A, return_perm=True)
        assert fit > 1 - 1e-8
        assert torch.allclose(res.A[perm], truth.A, atol=1e-5)  # signed
        from kolit.moments import gating_moments
        assert torch.allclose(res.pi[perm], gating_moments(truth.W).pi, atol=1e-5)


# ---------------------------------------------------------------- reproductions
def test_reproductions_registered_and_quick():
    from kolit.reproduce import REPRODUCTIONS
    import kolit.moments  # noqa: F401 (registers)
    assert {"moe-cross-terms", "moe-algorithm1"} <= set(REPRODUCTIONS)
    res = REPRODUCTIONS["moe-algorithm1"].run(quick=True, seed=0, progress=False)
    assert all(set(r) == {"quantity", "snr_db", "thesis", "kolit", "check"} for r in res.rows)
    assert res.figures and "MISMATCH" not in str(res.rows)
