"""kolit.ko_analysis: the chapter's analyses against closed forms and independent references, on several trees."""
import math

import numpy as np
import pytest
import torch

from kolit.core import bpsk
from kolit.ko import KOCode, KOConfig, KODecoderConfig
from kolit.ko_analysis import (PAPR, classical_code, gaussian_codebook, leaf_bler, leaf_labels, pairwise_distances, papr,
                               rm2_weight_distribution, robustness, sample_codebook, shipped_code)
from kolit.plotkin import encode, generator_matrix, leaf, plotkin_node, polar_tree, rm_tree

TREES = {"rm61": rm_tree(6, 1), "polar64_7": polar_tree(64, 7), "rm43": rm_tree(4, 3),  # rm43: a full leaf of n = 8 (split by SCL)
         "custom": plotkin_node(plotkin_node(leaf("rep", 2), leaf("rm1", 2)), plotkin_node(leaf("frozen", 2), leaf("full", 2)))}


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


def test_papr_closed_forms():
    assert papr(rm_tree(6, 1), 1000).peak_excess_percent == 0.0
    r = PAPR(np.array([1.0, 1.5, 1.2]))
    assert math.isclose(r.peak_excess_percent, 50.0) and math.isclose(r.quantile_excess_percent(0.5), 20.0)
    ko = KOCode(rm_tree(6, 1), KOConfig(init_std=0.5))
    p = papr(ko, 3000, seed=1)
    assert p.papr.shape == (3000,) and (p.papr >= 1 - 1e-9).all() and (p.papr <= 64 + 1e-9).all()
    with pytest.raises(ValueError, match="codewords must be a positive int"): papr(ko, 0)


def test_robustness_zero_networks_equal_tree_on_every_channel():
    tree = rm_tree(6, 1)
    kw = dict(max_codewords=1000, target_block_errors=10**9, batch_size=1000)
    a = robustness({"c": classical_code(tree)}, [-6.0], hard=True, **kw)
    b = robustness({"c": tree}, [-6.0], **kw)
    for ch in ("awgn", "rayleigh", "bursty"):
        assert a[ch]["c"].to_records() == b[ch]["c"].to_records()
    with pytest.raises(ValueError, match="channel must be one of"): robustness({"c": tree}, [0.0], channels=("bsc",))


def test_shipped_is_optional():
    with pytest.raises(ValueError, match="name must be one of"): shipped_code("ko-9-2")
    c = shipped_code("ko-6-1")
    assert c is None or isinstance(c, KOCode)
