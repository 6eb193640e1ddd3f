"""Chapter 3 (kolit.l4, kolit.landscape): properties of L4 and Llog across modules, the quartic transforms of
kolit.cqt inside Theorem 9, and the `kolit moe l4|llog|l2` contract. Each test is small; the file runs in < 60 s."""
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from kolit.core import make_generator
from kolit.cqt import QT, SQRT_2_PI, projections, quartic_coefficients, thesis_relu_quartic_system
from kolit.em import gating_q_grad
from kolit.l4 import (L4Reg, gate_weights, l2_loss, l4_from_tensors, l4_loss, l4_loss_pairs, l4_minimiser, l4_population,
                      l4_tensors, llog_loss, resolve_signs, sgd_l4, thesis_moe)
from kolit.landscape import Census, census_l4, l2_excess, moe_gd_command
from kolit.moe import (MixtureInputs, MoE, iter_moe_samples, moe_log_likelihood, posterior_probs, random_moe, random_sphere,
                       sample_moe)

torch.set_num_threads(1)
FAST = settings(max_examples=12, deadline=None)


@FAST
@given(k=st.integers(2, 5), extra=st.integers(0, 3), seed=st.integers(0, 10_000), g=st.sampled_from(["linear", "relu"]))
def test_l4_closed_form_equals_pair_loop(k, extra, seed, g):
    "The closed-form pair sum equals Eq. 3.2 term by term, in value and gradient, for any k, d, g."
    truth = MoE(thesis_moe(k, 2 * k - 1 + extra).A, thesis_moe(k, 2 * k - 1 + extra).W, g, 0.1)
    data = sample_moe(truth, 300, seed=seed)
    qt, reg = quartic_coefficients(g, 0.1), L4Reg(0.3, 2.0, 0.2)
    A = torch.randn(k, truth.d, generator=make_generator(seed + 1), dtype=torch.float64).requires_grad_(True)
    fast, loop = l4_loss(A, data.x, data.y, qt, reg), l4_loss_pairs(A, data.x, data.y, qt, reg)
    (gf,), (gl,) = torch.autograd.grad(fast, A), torch.autograd.grad(loop, A)
    assert torch.allclose(fast, loop, rtol=1e-9, atol=1e-9)
    assert torch.allclose(gf, gl, rtol=1e-8, atol=1e-9)
    T4, T2 = l4_tensors([data], qt)
    assert torch.allclose(l4_from_tensors(A.detach(), T4, T2, qt, reg), fast.detach(), rtol=1e-9, atol=1e-9)


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(2, 4))
def test_population_invariances_and_lemma_6(seed, k):
    "Eq. 3.3 is invariant under row permutations and sign flips, and equals Eq. 3.2 with Lemma 6's tensors."
    truth = random_moe(k, 2 * k + 2, sigma=0.2, orthogonal=True, seed=seed)
    gen = make_generator(seed)
    A = torch.randn(k, truth.d, generator=gen, dtype=torch.float64)
    perm = torch.randperm(k, generator=gen)
    signs = torch.where(torch.rand(k, 1, generator=gen) < 0.5, -1.0, 1.0).to(torch.float64)
    L = l4_population(A, truth)
    assert torch.allclose(l4_population(A[perm] * signs, truth), L, rtol=1e-12)
    qt, pi = quartic_coefficients("linear", 0.2), gate_weights(truth.W)
    T4 = qt.c * torch.einsum("m,ma,mb,mc,md->abcd", pi, *[truth.A] * 4)
    T2 = qt.c_prime * torch.einsum("m,ma,mb->ab", pi, truth.A, truth.A)
    assert torch.allclose(l4_from_tensors(A, T4, T2, qt), L, rtol=1e-10)


def test_minimiser_is_global_and_strict():
    "l4_minimiser is a critical point with a positive-definite Hessian, below random points."
    truth = thesis_moe()
    A0 = l4_minimiser(truth).requires_grad_(True)
    (g,) = torch.autograd.grad(l4_population(A0, truth), A0)
    assert g.abs().max() < 1e-12
    others = l4_population(random_sphere(300, 10, make_generator(0)).reshape(100, 3, 10) * 1.6, truth)
    assert (others > l4_population(A0.detach(), truth)).all()
    with pytest.raises(ValueError, match="delta < 4·lam·π_m"):
        l4_minimiser(truth, L4Reg(0.1, 1.0, 2.0))


def _cross_entry(coeffs, delta, sigma, n):
    "(T4[e3, a1, a1, a1] - T4[e3, a2, a2, a2]) / c for a 2-MoE of ReLU experts, gate w1 = 1.5 e3 orthogonal to a1, a2."
    truth = MoE(thesis_moe(2, 4).A, thesis_moe(2, 4).W * 1.5, "relu", sigma)
    T4, _ = l4_tensors(iter_moe_samples(truth, n, chunk=250_000, seed=1), QT(*coeffs, delta, c=1.0, c_prime=1.0))
    c = projections("relu", sigma, (0.0, coeffs[2], coeffs[1], coeffs[0], 1.0), (4,))[0]  # E[Q4(Y) He4(Z)]
    return ((T4[2, 0, 0, 0] - T4[2, 1, 1, 1]) / c).item()


def test_relu_quartic_transform_gives_lemma_6_and_the_printed_one_does_not():
    """Lemma 6 with ReLU experts: with kolit.cqt's derived Q4, T4 = E[Q4 S4] has no entries mixing the gate's direction
    with the regressors (Lemma 6: T4 = c sum_m pi_m a_m^{x4}). App. B.1 Example 5's printed system (the erratum found by
    the CQT chapter) leaves E[S4^(3)(Z)] != 0 and so a term E[grad p_m] x a_m^{x3}: about 0.55 * 2 E[d p_1] = 0.29 in units
    of c. Monte Carlo, 4e6 samples: the noise of this contrast is about 0.03."""
    sigma, n = 0.5, 4_000_000
    qr = quartic_coefficients("relu", sigma)
    ours = _cross_entry((qr.alpha, qr.beta, qr.gamma), qr.delta, sigma, n)
    M, b = thesis_relu_quartic_system(sigma)
    printed = _cross_entry(tuple(np.linalg.solve(M, b)), -2 * SQRT_2_PI, sigma, n)
    assert abs(ours) < 0.12, ours
    assert printed > 0.2, printed


def test_gate_weights_mixture_and_nonorthogonal_against_monte_carlo():
    "π = E[softmax(Wx)] by quadrature, for a non-orthogonal gate and mixture inputs."
    truth = random_moe(4, 6, orthogonal=False, w_norm=2.0, seed=3)
    inputs = MixtureInputs(6, 0.3, seed=4)
    pi = gate_weights(truth.W, inputs)
    x = inputs.sample(400_000, make_generator(5))
    assert torch.allclose(pi, torch.softmax(x @ truth.W.T, -1).mean(0), atol=4e-3)
    assert abs(pi.sum().item() - 1) < 1e-12


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(2, 5), g=st.sampled_from(["linear", "relu", "sigmoid"]))
def test_resolve_signs_recovers_any_sign_pattern(seed, k, g):
    "Remark 1: the truth with random signs, scales and order comes back with the right signs and unit norms."
    truth = MoE(random_moe(k, 8, sigma=0.05, seed=seed).A, random_moe(k, 8, sigma=0.05, seed=seed).W, g, 0.05)
    if g == "sigmoid":  # σ(-u) = 1 - σ(u): the sign is identifiable only through the offset; give it more data
        n = 20_000
    else:
        n = 4000
    data = sample_moe(truth, n, seed=seed + 1)
    gen = make_generator(seed + 2)
    perm = torch.randperm(k, generator=gen)
    signs = torch.where(torch.rand(k, 1, generator=gen) < 0.5, -1.0, 1.0).to(torch.float64)
    scales = 0.5 + torch.rand(k, 1, generator=gen, dtype=torch.float64)
    fixed = resolve_signs(truth.A[perm] * signs * scales, data.x, data.y, g)
    assert torch.allclose(fixed, truth.A[perm], atol=1e-12)


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(2, 4))
def test_llog_is_the_likelihood_and_its_gradient_is_ems(seed, k):
    "Llog = −mean log-likelihood (batched or not); ∇_W Llog = −∇Q(W | W) of EM (Fisher's identity)."
    truth = random_moe(k, 6, sigma=0.3, seed=seed)
    data = sample_moe(truth, 500, seed=seed + 1)
    W = MoE.from_free_gating(truth.A, torch.randn(k - 1, 6, generator=make_generator(seed), dtype=torch.float64)).W
    Wg = W.clone().requires_grad_(True)
    L = llog_loss(Wg, truth.A, data.x, data.y, "linear", 0.3)
    assert torch.allclose(L, -moe_log_likelihood(MoE(truth.A, W, "linear", 0.3), data.x, data.y).mean(), rtol=1e-12)
    (g,) = torch.autograd.grad(L, Wg)
    P = posterior_probs(MoE(truth.A, W, "linear", 0.3), data.x, data.y)
    assert torch.allclose(g[:-1], -gating_q_grad(W[:-1], P, data.x)[0], atol=1e-12)
    batched = llog_loss(torch.stack([W, W]), torch.stack([truth.A, truth.A]), data.x.expand(2, -1, -1), data.y.expand(2, -1), "linear", 0.3)
    assert torch.allclose(batched, L.detach().expand(2), rtol=1e-12)


def test_l2_excess_is_l2_minus_its_minimum():
    truth = thesis_moe()
    big = sample_moe(truth, 300_000, seed=1)
    A = random_sphere(3, 10, make_generator(2))
    W = truth.permute([1, 0, 2]).W
    diff = (l2_loss(A, W, big.x, big.y) - l2_loss(truth.A, truth.W, big.x, big.y)).item()
    assert abs(l2_excess(A, W, truth, big.x).item() - diff) < 0.02 * diff
    assert l2_excess(truth.permute([2, 0, 1]).A, truth.permute([2, 0, 1]).W, truth, big.x).item() < 1e-25


def test_census_roundtrip_and_population_is_benign():
    c = census_l4(thesis_moe(), starts=30, steps=800, seed=0)
    s = c.summary()
    assert s["global"] == 30 and s["spurious minimum"] == 0 and s["escaped"] == 0
    back = Census.from_dict(json.loads(json.dumps(c.as_dict())))
    assert (back.labels() == c.labels()).all()


def test_sgd_l4_is_seeded():
    truth = thesis_moe()
    a, b = sgd_l4(truth, epochs=20, trials=2, seed=3), sgd_l4(truth, epochs=20, trials=2, seed=3)
    assert torch.equal(a.params["A"], b.params["A"])
    assert not torch.equal(a.params["A"], sgd_l4(truth, epochs=20, trials=2, seed=4).params["A"])


def test_moe_gd_command_contract():
    out = moe_gd_command("l2", epochs=30, trials=2, batch=256)
    assert set(out) == {"regressor_error", "gating_error"}
    assert all(set(v) == {"mean", "std"} and all(math.isfinite(x) for x in v.values()) for v in out.values())
    json.dumps(out)
    assert moe_gd_command("llog", epochs=20, trials=1)["regressor_error"] == {"mean": 0.0, "std": 0.0}
    bad = [(dict(loss="l5"), "loss must be one of"), (dict(loss="l4", k=1), "k must be at least 2"),
           (dict(loss="l4", d=3), "d must be at least 2k - 1"), (dict(loss="l4", sigma=0), "sigma must be a positive number"),
           (dict(loss="l4", epochs=-5), "epochs must be an integer >= 1"), (dict(loss="l4", trials=0), "trials must be an integer >= 1"),
           (dict(loss="l4", seed=-1), "seed must be an integer >= 0"), (dict(loss="l4", g="elu"), "g must be one of")]
    for kw, msg in bad:
        with pytest.raises(ValueError, match=msg):
            moe_gd_command(**kw)


def test_losses_reject_mismatched_shapes():
    truth = thesis_moe()
    data = sample_moe(truth, 50, seed=0)
    with pytest.raises(ValueError, match="A must be"):
        l4_loss(truth.A[:, :4], data.x, data.y)
    with pytest.raises(ValueError, match="y must have shape"):
        llog_loss(truth.W, truth.A, data.x, data.y[:3])
    with pytest.raises(ValueError, match="sigma must be a positive number"):
        llog_loss(truth.W, truth.A, data.x, data.y, sigma=0)


def test_reproductions_are_registered():
    from kolit.reproduce import REPRODUCTIONS
    import kolit.landscape  # noqa: F401  (registers on import)
    assert {"l4-theorem-9", "l4-fig-3-1", "l4-fig-3-2", "l4-fig-b-1", "l4-census"} <= set(REPRODUCTIONS)


def test_benchmark_runs():
    import importlib.util, pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench_l4.py"
    spec = importlib.util.spec_from_file_location("bench_l4", path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    assert mod.main(["--k", "3", "--epochs", "3", "--repeats", "1", "--json"]) == 0
