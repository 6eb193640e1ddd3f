"""kolit.softmap: MAP and Soft-MAP decoders against each other, Bayes' rule, and the decoder checklist (STYLE.md §7)."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from kolit.softmap import (MAX_BRUTE_K, METHODS, codebook, fht, linear_encode, map_decode, maxlog_error_figure,
                           rm1_map, rm1_map_message, rm1_soft_map, soft_map)

PROPS = settings(max_examples=20, deadline=None)


def kernel_generator(m, r):
    "RM(m, r): the rows of F^{⊗m} with popcount >= m - r (an independent construction for the tests)."
    F = torch.tensor([[0., 1.], [1., 1.]], dtype=torch.float64)
    G = torch.ones(1, 1, dtype=torch.float64)
    for _ in range(m): G = torch.kron(G, F)
    return G[[i for i in range(2**m) if bin(i).count("1") >= m - r]]


def sylvester(n):
    return torch.tensor([[(-1.0) ** bin(a & j).count("1") for j in range(n)] for a in range(n)], dtype=torch.float64)


def noisy(m, batch, sigma, seed=0, dtype=torch.float64):
    "LLRs of random RM(m, 1) codewords over AWGN, with their messages."
    g = torch.Generator().manual_seed(seed)
    G = kernel_generator(m, 1).to(dtype)
    u = torch.randint(0, 2, (batch, m + 1), generator=g).to(dtype)
    y = 1 - 2 * linear_encode(u, G) + sigma * torch.randn(batch, 2**m, generator=g, dtype=dtype)
    return 2 * y / sigma**2, u, G


# ---------------------------------------------------------------- FHT

@PROPS
@given(m=st.integers(0, 7), lead=st.lists(st.integers(1, 3), max_size=2), seed=st.integers(0, 2**16))
def test_fht_is_the_hadamard_product(m, lead, seed):
    x = torch.randn(*lead, 2**m, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x0 = x.clone()
    assert torch.allclose(fht(x), x @ sylvester(2**m), atol=1e-9)
    assert torch.allclose(fht(fht(x)), 2**m * x, atol=1e-9)
    assert torch.equal(x, x0)  # input untouched


def test_fht_gradients_and_errors():
    x = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fht, x) and torch.autograd.gradgradcheck(fht, x)
    with pytest.raises(ValueError, match=r"x.shape\[-1\] \(the block length n\) must be a power of 2"):
        fht(torch.zeros(2, 6))
    with pytest.raises(ValueError, match="x must be a floating-point torch.Tensor"):
        fht(torch.zeros(2, 4, dtype=torch.long))


# ---------------------------------------------------------------- conventions

def test_rm1_message_order_is_the_hadamard_row_and_sign():
    m = 4
    G, H = kernel_generator(m, 1), sylvester(2**m)
    for a in range(2**m):
        for c in (0, 1):
            u = torch.tensor([float(d) for d in format(a, f"0{m}b")] + [float(c)], dtype=torch.float64)
            assert torch.equal(1 - 2 * linear_encode(u, G), (-1) ** c * H[a])


def test_kernel_matches_plotkin_generator_matrix():
    plotkin = pytest.importorskip("kolit.plotkin")
    for m in range(1, 7):
        G = torch.as_tensor(plotkin.generator_matrix(plotkin.rm_tree(m, 1))).double()
        assert torch.equal(G, kernel_generator(m, 1))


def test_codebook():
    msgs, words = codebook(kernel_generator(3, 1))
    assert msgs.shape == (16, 4) and words.shape == (16, 8)
    assert torch.equal(msgs[5], torch.tensor([0., 1., 0., 1.]))  # index 5 = 0101, MSB first
    assert len({tuple(w.tolist()) for w in words}) == 16


# ---------------------------------------------------------------- MAP

@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6])
def test_fht_map_equals_brute_force_map(m):
    llr, u, G = noisy(m, 100, sigma=1.0, seed=m)
    msg = map_decode(llr, G)
    assert torch.equal(rm1_map_message(llr), msg)
    assert torch.equal(rm1_map(llr), linear_encode(msg, G))
    assert torch.equal(map_decode(llr, G, chunk_size=5), msg)


def test_map_is_the_nearest_codeword():
    llr, u, G = noisy(3, 300, sigma=0.9, seed=3)
    msgs, words = codebook(G)
    y = llr * 0.9**2 / 2
    assert torch.equal(map_decode(llr, G), msgs[torch.cdist(y, 1 - 2 * words).argmin(-1)])


def test_noiseless_round_trip():
    for m in (1, 3, 5):
        G = kernel_generator(m, 1)
        u = torch.randint(0, 2, (50, m + 1), generator=torch.Generator().manual_seed(m)).double()
        llr = 4.0 * (1 - 2 * linear_encode(u, G))
        assert torch.equal(map_decode(llr, G), u)
        assert torch.equal(rm1_map_message(llr), u)
        assert torch.equal(rm1_map(llr), linear_encode(u, G))
        for method in METHODS:
            assert torch.equal((rm1_soft_map(llr, method) < 0).double(), u)
            assert torch.equal((soft_map(llr, G, method) < 0).double(), u)


def test_map_decode_generic_code_and_plotkin_call_form():
    G = torch.tensor([[1., 0, 0, 1, 1, 0], [0, 1, 0, 1, 0, 1], [0, 0, 1, 0, 1, 1]])  # n = 6 is fine here
    llr = torch.tensor([[3., -1, 2, 0.5, 4, -2]])
    out = map_decode(llr, G)
    assert out.shape == (1, 3) and out.dtype == llr.dtype
    msgs, words = codebook(G)
    assert torch.equal(out[0], msgs[((1 - 2 * words) @ llr[0]).argmax()])


# ---------------------------------------------------------------- Soft-MAP

def bayes_llr(y, G, sigma):
    "Posterior LLRs of the message bits from Gaussian densities (uniform prior)."
    msgs, words = codebook(G)
    loglik = torch.distributions.Normal((1 - 2 * words).double(), sigma).log_prob(y[:, None, :]).sum(-1)
    p1 = torch.softmax(loglik, -1) @ msgs.double()
    return torch.log1p(-p1) - torch.log(p1)


def test_exact_soft_map_is_the_bayes_posterior_and_thesis_c4_is_not():
    sigma = 0.8
    llr, u, G = noisy(3, 40, sigma, seed=11)
    y = llr * sigma**2 / 2
    ref = bayes_llr(y, G, sigma)
    assert torch.allclose(soft_map(llr, G), ref, atol=1e-9)
    assert torch.allclose(rm1_soft_map(llr), ref, atol=1e-9)
    assert (soft_map(llr, G, scale=1.0) - ref).abs().max() > 1.0  # Eq. C.4 as printed
    assert torch.allclose(soft_map(llr, G, "maxlog", scale=1.0), 2 * soft_map(llr, G, "maxlog"))  # Eq. C.6


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("method", METHODS)
def test_fht_soft_map_equals_brute_force(m, method):
    llr, _, G = noisy(m, 30, sigma=1.2, seed=100 + m)
    for scale in (0.5, 1.0):
        assert torch.allclose(rm1_soft_map(llr, method, scale), soft_map(llr, G, method, scale), atol=1e-9)
    assert torch.allclose(soft_map(llr, G, method, chunk_size=7), soft_map(llr, G, method), atol=1e-9)


@PROPS
@given(m=st.integers(1, 5), data=st.data())
def test_property_fht_vs_brute_and_maxlog_signs_are_map(m, data):
    llr = torch.from_numpy(data.draw(arrays("float64", (3, 2**m), elements=st.floats(-30, 30))))
    G = kernel_generator(m, 1)
    for method in METHODS:
        assert torch.allclose(rm1_soft_map(llr, method), soft_map(llr, G, method), atol=1e-7)
    ml = rm1_soft_map(llr, "maxlog")
    clear = ml.abs() > 1e-6  # away from ties, the max-log signs are the block-MAP message
    assert torch.equal((ml < 0)[clear], map_decode(llr, G).bool()[clear])
    assert ((rm1_soft_map(llr) - ml).abs() <= m * math.log(2) + 1e-9).all()  # max-log error bound


@pytest.mark.parametrize("method", METHODS)
def test_gradcheck(method):
    llr, _, G = noisy(3, 3, sigma=1.0, seed=5)
    assert torch.autograd.gradcheck(lambda t: rm1_soft_map(t, method), llr.clone().requires_grad_())
    assert torch.autograd.gradcheck(lambda t: soft_map(t, G, method, chunk_size=3), llr.clone().requires_grad_())


# ---------------------------------------------------------------- checklist

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_huge_and_zero_llrs_stay_finite(dtype):
    G = kernel_generator(4, 1).to(dtype)
    huge = 1e4 * torch.sign(torch.randn(6, 16, generator=torch.Generator().manual_seed(0))).to(dtype)
    for llr in (huge, -huge, torch.zeros(6, 16, dtype=dtype), torch.cat([huge[:3], torch.zeros(3, 16, dtype=dtype)])):
        t = llr.clone().requires_grad_()
        outs = [rm1_soft_map(t, meth) for meth in METHODS] + [soft_map(t, G, meth) for meth in METHODS]
        for out in outs:
            assert out.shape == (6, 5) and torch.isfinite(out).all()
        sum(o.sum() for o in outs).backward()
        assert torch.isfinite(t.grad).all()
        assert torch.equal(rm1_map_message(llr), map_decode(llr, G))
    assert torch.equal(soft_map(torch.zeros(2, 16, dtype=dtype), G), torch.zeros(2, 5, dtype=dtype))


def test_shapes_and_batch_invariance():
    G = kernel_generator(4, 1).float()
    llr = torch.randn(2, 3, 16, generator=torch.Generator().manual_seed(1))
    assert rm1_soft_map(llr).shape == soft_map(llr, G).shape == map_decode(llr, G).shape == (2, 3, 5)
    assert rm1_map(llr).shape == (2, 3, 16) and rm1_map_message(llr).shape == (2, 3, 5)
    flat = llr.reshape(6, 16)
    assert torch.allclose(torch.stack([rm1_soft_map(r) for r in flat]), rm1_soft_map(flat), atol=1e-4)
    assert torch.allclose(torch.cat([soft_map(r[None], G) for r in flat]), soft_map(flat, G), atol=1e-4)
    assert torch.equal(torch.stack([rm1_map(r) for r in flat]), rm1_map(flat))
    assert torch.equal(torch.cat([map_decode(r[None], G) for r in flat]), map_decode(flat, G))


def test_block_length_one():
    llr = torch.tensor([[1.5], [-2.0]])
    assert torch.allclose(rm1_soft_map(llr), llr)  # a single bit: the channel LLR itself
    assert torch.equal(rm1_map(llr), torch.tensor([[0.], [1.]]))


@pytest.mark.parametrize("call, match", [
    (lambda: rm1_soft_map(torch.zeros(4, 12)), r"llr.shape\[-1\] \(the block length n\) must be a power of 2"),
    (lambda: rm1_map(torch.zeros(4, 5)), r"llr.shape\[-1\] \(the block length n\) must be a power of 2"),
    (lambda: rm1_map_message([1.0, -1.0]), "llr must be a floating-point torch.Tensor"),
    (lambda: soft_map(torch.zeros(4, 8), kernel_generator(4, 1)), "G has n=16 columns but llr has n=8"),
    (lambda: map_decode(torch.zeros(1, 32), torch.ones(MAX_BRUTE_K + 1, 32)), "k <= max_k=20"),
    (lambda: map_decode(torch.zeros(1, 16), 2 * kernel_generator(4, 1)), "G must hold only 0 and 1"),
    (lambda: codebook(torch.ones(4)), r"G must be a \(k, n\) generator matrix"),
    (lambda: soft_map(torch.zeros(1, 8), kernel_generator(3, 1), method="sum"), "method must be one of"),
    (lambda: rm1_soft_map(torch.zeros(1, 8), scale=-1.0), "scale must be a positive finite number"),
    (lambda: soft_map(torch.zeros(1, 8), kernel_generator(3, 1), chunk_size=0), "chunk_size must be a positive int"),
    (lambda: linear_encode(torch.zeros(2, 3), kernel_generator(3, 1)), "bits.shape"),
    (lambda: maxlog_error_figure({"a": (torch.zeros(2), torch.zeros(3))}), "must have the same shape"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_figure():
    llr, _, _ = noisy(4, 20, sigma=1.0)
    fig = maxlog_error_figure({"0 dB": (rm1_soft_map(llr), rm1_soft_map(llr, "maxlog"))}, bound=4 * math.log(2))
    assert len(fig.data) == 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda():
    llr, u, G = noisy(5, 64, sigma=1.0, dtype=torch.float32)
    d = llr.cuda()
    for method in METHODS:
        out = rm1_soft_map(d, method)
        assert out.device.type == "cuda"
        assert torch.allclose(out.cpu(), rm1_soft_map(llr, method), atol=1e-3)
        assert torch.allclose(soft_map(d, G, method).cpu(), soft_map(llr, G, method), atol=1e-3)
    assert torch.equal(rm1_map(d).cpu(), rm1_map(llr))
    assert torch.equal(map_decode(d, G).cpu(), map_decode(llr, G))
    assert torch.equal(rm1_map_message(d).cpu(), rm1_map_message(llr))
