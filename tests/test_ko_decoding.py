"""kolit.ko_decoding: operation counts, the KO list decoder, the stored ablations and successive MAP, on several trees."""
import pytest
import torch

from kolit.core import make_generator, random_bits, snr_to_sigma
from kolit.ko import KOCode, KOConfig, KODecoderConfig, tiny
from kolit.ko_analysis import classical_code
from kolit.ko_decoding import OP_RULES, decoding_operations, ko_list_decode, load_ablations
from kolit.plotkin import internal_nodes, leaf, plotkin_node, polar_tree, rm_tree, scl_list

TREES = {"rm61": rm_tree(6, 1), "polar64_7": polar_tree(64, 7), "rm43": rm_tree(4, 3),  # rm43: a full leaf of n = 8 (split by SCL)
         "custom": plotkin_node(plotkin_node(leaf("rep", 2), leaf("rm1", 2)), plotkin_node(leaf("frozen", 2), leaf("full", 2)))}


def noisy(code, batch, snr_db, seed=0):
    g = make_generator(seed)
    bits = random_bits(batch, code.k, g)
    with torch.no_grad(): x = code.encode(bits)
    return bits, x + snr_to_sigma(snr_db) * torch.randn(x.shape, generator=g)


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


def test_stored_ablations_are_optional():
    assert load_ablations("/nonexistent/ablations.json") is None


@pytest.mark.parametrize("name", list(TREES))
def test_successive_map_noiseless_and_no_worse_than_sc(name):
    from kolit.ko_decoding import successive_map_decoder
    tree = TREES[name]
    code = KOCode(tree, KOConfig(init_std=0.1))  # a KO codebook, not the classical one
    smap = successive_map_decoder(code)
    bits, _ = noisy(code, 300, 0.0)
    with torch.no_grad(): x = code.encode(bits)
    assert torch.equal(smap(x, 40.0), bits)
    zero = classical_code(tree)  # the classical code: successive MAP must beat Dumer's decoder on the same noise
    cb, cy = noisy(zero, 4000 if tree.k <= 8 else 400, -2.0, seed=1)  # rm43 has 2^15 codewords
    sc_err = (zero.decode(cy, -2.0, hard=True) != cb).sum()
    assert (successive_map_decoder(tree)(cy, -2.0) != cb).sum() <= sc_err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_successive_map_cuda_matches_cpu():
    from kolit.ko_decoding import successive_map_decoder
    code = KOCode(polar_tree(64, 7), KOConfig(init_std=0.1))
    bits, y = noisy(code, 500, -4.0)
    cpu = successive_map_decoder(code)(y, -4.0)
    gpu = successive_map_decoder(code.to("cuda"))(y.cuda(), -4.0)
    assert gpu.is_cuda and (gpu.cpu() != cpu).float().mean() < 0.01
