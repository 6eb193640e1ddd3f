"""kolit.ko_analysis: the chapter's analyses against closed forms and independent references, on several trees."""
import math

import numpy as np
import pytest
import torch

from kolit.core import bpsk, make_generator, random_bits, snr_to_sigma
from kolit.ko import KOCode, KOConfig, KODecoderConfig, tiny
from kolit.ko_analysis import (OP_RULES, PAPR, classical_code, decoding_operations, gaussian_codebook, ko_list_decode,
                               leaf_bler, leaf_labels, load_ablations, pairwise_distances, papr, robustness,
                               rm2_weight_distribution, sample_codebook, shipped_code)
from kolit.plotkin import encode, generator_matrix, internal_nodes, leaf, plotkin_node, polar_tree, rm_tree, scl_list

TREES = {"rm61": rm_tree(6, 1), "polar64_7": polar_tree(64, 7), "rm43": rm_tree(4, 3),  # rm43: a full leaf of n = 8 (split by SCL)
         "custom": plotkin_node(plotkin_node(leaf("rep", 2), leaf("rm1", 2)), plotkin_node(leaf("frozen", 2), leaf("full", 2)))}


def noisy(code, batch, snr_db, seed=0):
    g = make_generator(seed)
    bits = random_bits(batch, code.k, g)
    with torch.no_grad(): x = code.encode(bits)
    return bits, x + snr_to_sigma(snr_db) * torch.randn(x.shape, generator=g)


@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_rm2_weight_distribution_matches_enumeration(m):
    G = np.asarray(generator_matrix(rm_tree(m, 2)), dtype=np.int64)
    k = G.shape[0]
    msgs = (np.arange(2**k)[:, None] >> np.arange(k)) & 1
    w, counts = np.unique((msgs @ G % 2).sum(1), return_counts=True)
    assert rm2_weight_distribution(m) == dict(zip(w.tolist(), counts.tolist()))


def test_distances_of_small_code_are_its_weights():
    tree = rm_tree(4, 2)  # k = 11: sample_codebook returns all 2048 codewords
    msgs, x = sample_codebook(tree, 4096)
    assert x.shape == (2048, 16) and torch.equal(x, bpsk(encode(tree, msgs)))
    d = pairwise_distances(x)
    w, counts = np.unique(np.rint(d**2 / 4).astype(int), return_counts=True)
    A = rm2_weight_distribution(4)
    # every nonzero weight w appears 2^k·A_w/2 times among the unordered pairs
    assert dict(zip(w.tolist(), counts.tolist())) == {w: 2048 * a // 2 for w, a in A.items() if w}
    g = gaussian_codebook(5, 16, seed=0)
    torch.testing.assert_close((g * g).sum(-1), torch.full((5,), 16.0))


@pytest.mark.parametrize("name", list(TREES))
def test_leaf_terms_sum_to_bler_and_classical_paths_agree(name):
    tree = TREES[name]
    ko = KOCode(tree, KOConfig(init_std=0.3), KODecoderConfig(init_std=0.3))
    r = leaf_bler(ko, [-6.0, -2.0], codewords=1500, batch_size=700, seed=2)
    assert (r.first_errors.sum(1) == r.block_errors).all() and r.block_errors[0] > 0
    assert r.leaves == leaf_labels(tree) and r.terms.shape == (2, len(r.leaves))
    lo, hi = r.ci()
    assert (lo <= r.terms).all() and (r.terms <= hi).all()
    a = leaf_bler(classical_code(tree), [-4.0], codewords=1500, seed=1, hard=True)
    b = leaf_bler(tree, [-4.0], codewords=1500, seed=1)
    assert (a.first_errors == b.first_errors).all()


@pytest.mark.parametrize("name", list(TREES))
@pytest.mark.parametrize("L", [1, 3, 8])
def test_ko_list_with_zero_networks_is_scl(name, L):
    tree = TREES[name]
    zero = classical_code(tree)
    _, y = noisy(zero, 200, -3.0, seed=L)
    mine, ref = ko_list_decode(zero, y, -3.0, L), scl_list(tree, zero.decoder.features(y, -3.0), L)
    assert torch.equal(mine.bits, ref.bits) and torch.equal(mine.codeword, ref.codeword)
    torch.testing.assert_close(mine.metric, ref.metric)


@pytest.mark.parametrize("name", list(TREES))
@pytest.mark.parametrize("dec_input", ["llr", "y"])
def test_ko_list_size_one_is_hard_ko_decoder_and_batch_invariant(name, dec_input):
    tree = TREES[name]
    ko = KOCode(tree, KOConfig(init_std=0.3, neural_root=False), KODecoderConfig(init_std=0.3, input=dec_input))
    _, y = noisy(ko, 300, -3.0, seed=5)
    assert torch.equal(ko_list_decode(ko, y, -3.0, 1).bits[:, 0], ko.decode(y, -3.0, hard=True))
    full = ko_list_decode(ko, y[:6], -3.0, 4)
    for i in range(3):
        one = ko_list_decode(ko, y[i:i + 1], -3.0, 4)
        assert torch.equal(one.bits[0], full.bits[i])


def test_list_decoder_checks_its_input():
    ko = KOCode(rm_tree(6, 1))
    with pytest.raises(ValueError, match="list_size must be a positive int"): ko_list_decode(ko, torch.zeros(2, 64), 0.0, 0)
    with pytest.raises(ValueError, match="code must be a KOCode or a KODecoder"): ko_list_decode(rm_tree(6, 1), torch.zeros(2, 64), 0.0, 2)
    with pytest.raises(ValueError, match="y must be a floating-point"): ko_list_decode(ko, torch.zeros(2, 63), 0.0, 2)


def test_papr_closed_forms():
    assert papr(rm_tree(6, 1), 1000).peak_excess_percent == 0.0
    r = PAPR(np.array([1.0, 1.5, 1.2]))
    assert math.isclose(r.peak_excess_percent, 50.0) and math.isclose(r.quantile_excess_percent(0.5), 20.0)
    ko = KOCode(rm_tree(6, 1), KOConfig(init_std=0.5))
    p = papr(ko, 3000, seed=1)
    assert p.papr.shape == (3000,) and (p.papr >= 1 - 1e-9).all() and (p.papr <= 64 + 1e-9).all()
    with pytest.raises(ValueError, match="codewords must be a positive int"): papr(ko, 0)


@pytest.mark.parametrize("m,r", [(6, 1), (8, 2), (9, 2), (5, 3)])
def test_operation_counts(m, r):
    tree = rm_tree(m, r)
    n = 2**m
    assert decoding_operations(tree)["total"] == 11 * n // 2 * m  # the rule that gives the thesis's 11,268 - 4
    ko, tk = KOCode(tree), KOCode(tree, tiny(), tiny(KODecoderConfig()))
    for rule in OP_RULES:
        a, b, c = (decoding_operations(x, rule)["total"] for x in (tree, tk, ko))
        assert a < b < c
    # the networks' part grows with the coordinates they run on: sum over internal nodes of n/2
    coords = sum(t.tree.n // 2 for t in internal_nodes(tree))
    per_coord = (2 * (2 * 32 + 32 * 32 * 2 + 32) + 97 + 96 + 1) + (2 * (4 * 32 + 32 * 32 * 2 + 32) + 97 + 96 + 1)
    assert decoding_operations(ko)["networks"] == coords * per_coord


def test_robustness_zero_networks_equal_tree_on_every_channel():
    tree = rm_tree(6, 1)
    kw = dict(max_codewords=1000, target_block_errors=10**9, batch_size=1000)
    a = robustness({"c": classical_code(tree)}, [-6.0], hard=True, **kw)
    b = robustness({"c": tree}, [-6.0], **kw)
    for ch in ("awgn", "rayleigh", "bursty"):
        assert a[ch]["c"].to_records() == b[ch]["c"].to_records()
    with pytest.raises(ValueError, match="channel must be one of"): robustness({"c": tree}, [0.0], channels=("bsc",))


def test_shipped_and_stored_are_optional():
    with pytest.raises(ValueError, match="name must be one of"): shipped_code("ko-9-2")
    c = shipped_code("ko-6-1")
    assert c is None or isinstance(c, KOCode)
    assert load_ablations("/nonexistent/ablations.json") is None
