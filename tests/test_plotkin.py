"""The decoder checklist (STYLE.md §7) for kolit.plotkin: trees, encoder, Dumer/SC and SC-list decoding."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from kolit.core import bpsk
from kolit.plotkin import (DECODERS, LEAF_KINDS, PlotkinTree, decoder_transceiver, depth, dumer_decode, encode,
                           generator_matrix, internal_nodes, kernel_matrix, leaf, leaves, lse, make_decoder,
                           min_distance, min_distance_brute, minsum, parse_code, plotkin_node, polar_info_set,
                           polar_tree, rm_info, rm_parameters, rm_tree, sc_decode, scl_decode, scl_list, split_full_leaves,
                           tree_figure, tree_from_info, unencode)
from kolit.softmap import map_decode

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
FIG_C1 = plotkin_node(leaf("frozen", 5), plotkin_node(leaf("rep", 4), plotkin_node(
    leaf("rep", 3), plotkin_node(leaf("rep", 2), leaf("full", 2)))))


@st.composite
def trees(draw, max_m=6, max_k=None):
    "Random codes: RM trees or polar trees from random information sets (optionally with rm1 leaves)."
    m = draw(st.integers(0, max_m))
    n = 2**m
    if draw(st.booleans()):
        r = draw(st.integers(0, m))
        t = rm_tree(m, r)
        if max_k is None or t.k <= max_k: return t
    k = draw(st.integers(1, min(n, max_k or n)))
    info = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    return polar_tree(n, info, rm1_leaves=draw(st.booleans()))


def noisy_llr(tree, batch, seed, sigma=1.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    msg = torch.randint(0, 2, (batch, tree.k), generator=g).to(dtype)
    y = bpsk(encode(tree, msg)) + sigma * torch.randn(batch, tree.n, generator=g, dtype=dtype)
    return msg, 2 * y / sigma**2


# ---------------------------------------------------------------- trees

def test_rm_trees_have_the_thesis_leaves():
    assert [l.tree.name for l in leaves(rm_tree(8, 2))] == [
        "RM(7,1)", "RM(6,1)", "RM(5,1)", "RM(4,1)", "RM(3,1)", "RM(2,1)", "RM(2,2)"]
    assert {l.tree.kind for l in leaves(rm_tree(8, 2))} == {"rm1", "full"}
    assert [l.tree.name for l in leaves(rm_tree(6, 1))] == ["RM(5,0)", "RM(4,0)", "RM(3,0)", "RM(2,0)", "RM(1,0)", "RM(1,1)"]
    assert [l.tree.kind for l in leaves(rm_tree(3, 1))] == ["rep", "rep", "full"]
    assert rm_tree(7, 0).kind == "rep" and rm_tree(7, 7).kind == "full"
    for m in range(0, 9):
        for r in range(m + 1):
            t = rm_tree(m, r)
            assert t.info == rm_info(m, r) and t.k == rm_parameters(m, r)["k"] and t.name == f"RM({m},{r})"
            assert sum(l.tree.k for l in leaves(t)) == t.k
            assert [l.offset for l in leaves(t)] == [sum(x.tree.k for x in leaves(t)[:i]) for i in range(len(leaves(t)))]


def test_polar_64_7_is_figure_c1():
    assert polar_info_set(64, 7) == (47, 55, 59, 60, 61, 62, 63)
    assert polar_tree(64, 7) == FIG_C1 == parse_code("polar:64:7")
    assert polar_tree(64, [i - 1 for i in (48, 56, 60, 61, 62, 63, 64)]) == FIG_C1
    assert polar_info_set(64, 7, "pw") == polar_info_set(64, 7, "bhattacharyya", -5.0) == FIG_C1.info
    assert min_distance(FIG_C1) == min_distance_brute(FIG_C1) == 16
    assert depth(FIG_C1) == 4 and [n.path for n in internal_nodes(FIG_C1)] == ["", "R", "RR", "RRR"]


def test_trees_are_hashable_values():
    a, b = rm_tree(5, 2), plotkin_node(leaf("rm1", 4), rm_tree(4, 2))
    assert a == b and hash(a) == hash(b) and len({a, b, rm_tree(5, 1)}) == 2
    with pytest.raises(Exception):
        a.m = 3  # frozen


@pytest.mark.parametrize("call,argument", [
    (lambda: rm_tree(3, 4), "r must be"), (lambda: rm_tree(13, 1), "m must be"), (lambda: rm_tree(-1, 0), "m must be"),
    (lambda: polar_tree(48, 7), "n must be a power of 2"), (lambda: polar_tree(64, 65), "k must be"),
    (lambda: polar_tree(64, [1, 1]), "k_or_info must hold distinct"), (lambda: polar_tree(64, "7"), "k_or_info must be"),
    (lambda: polar_info_set(64, 7, "tal-vardy"), "construction must be one of"),
    (lambda: PlotkinTree(2, "rep", (1,)), "'rep' leaf with m=2"), (lambda: leaf("half", 2), "kind must be"),
    (lambda: plotkin_node(leaf("rep", 1), leaf("rep", 2)), "left and right must have the same m"),
    (lambda: plotkin_node("v", leaf("rep", 2)), "left must be a PlotkinTree"),
    (lambda: tree_from_info(3, [9]), "info must hold positions in 0..7"),
])
def test_bad_construction_input_names_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument.replace("(", r"\(").replace(")", r"\)")):
        call()


@SETTINGS
@given(trees(max_m=8))
def test_tree_invariants(t):
    assert t.k == len(t.info) and t.n == 2**t.m
    lv = leaves(t)
    assert sum(l.tree.k for l in lv) == t.k
    covered = sorted(l.start + i for l in lv for i in l.tree.info)
    assert tuple(covered) == t.info  # the leaves' information sets tile the root's
    assert tree_from_info(t.m, t.info).info == t.info
    assert all(l.tree.kind in LEAF_KINDS for l in lv) and all(not n.tree.is_leaf for n in internal_nodes(t))


@SETTINGS
@given(trees(max_m=7), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_split_full_leaves_keeps_the_code_and_sc(t, min_m, seed):
    s = split_full_leaves(t, min_m)
    assert s.info == t.info and torch.equal(generator_matrix(s), generator_matrix(t))
    assert all(l.tree.kind != "full" or l.tree.m <= min_m for l in leaves(s))
    llr = 3 * torch.randn(16, t.n, generator=torch.Generator().manual_seed(seed))
    for mode in ("lse", "minsum"):
        assert torch.equal(sc_decode(s, llr, mode).codeword, sc_decode(t, llr, mode).codeword)


def test_split_full_leaves_gives_figure_c1_its_six_networks():
    s = split_full_leaves(FIG_C1)
    assert len(internal_nodes(s)) == len(internal_nodes(FIG_C1)) + 3  # RM(2,2) -> 2 x RM(1,1) -> 4 x RM(0,0)
    assert split_full_leaves(s) == s
    with pytest.raises(ValueError, match="min_m must be an int"): split_full_leaves(FIG_C1, min_m=99)
    with pytest.raises(ValueError, match="tree"): split_full_leaves("polar:64:7")


# ---------------------------------------------------------------- encoder

@SETTINGS
@given(trees(max_m=7), st.integers(0, 2**31 - 1))
def test_encoder_is_linear_and_matches_the_kernel(t, seed):
    g = torch.Generator().manual_seed(seed)
    a, b = (torch.randint(0, 2, (8, t.k), generator=g).float() for _ in range(2))
    xor = lambda p, q: (p - q).abs()
    assert torch.equal(encode(t, xor(a, b)), xor(encode(t, a), encode(t, b)))
    G = generator_matrix(t)
    assert torch.equal(G, kernel_matrix(t.m)[list(t.info)])
    assert torch.equal(encode(t, a), torch.remainder(a @ G, 2))
    assert torch.equal(unencode(t, encode(t, a)), a)


def test_table_4_1_by_brute_force():
    for m in range(1, 9):
        for r in range(m + 1):
            p = rm_parameters(m, r)
            if p["k"] <= 16:
                assert min_distance_brute(rm_tree(m, r)) == p["d"] == 2 ** (m - r)


# ---------------------------------------------------------------- Dumer / SC

@pytest.mark.parametrize("mode", ["lse", "minsum"])
def test_noiseless_round_trip_every_rm_code(mode):
    g = torch.Generator().manual_seed(0)
    codes = [rm_tree(m, r) for m in range(9) for r in range(m + 1)]
    codes += [polar_tree(n, k) for n, k in ((2, 1), (16, 8), (64, 7), (128, 64), (512, 100), (1024, 900))]
    for t in codes:
        msg = torch.randint(0, 2, (16, t.k), generator=g).float()
        x = encode(t, msg)
        out = sc_decode(t, 20.0 * bpsk(x), mode)
        assert torch.equal(out.bits, msg) and torch.equal(out.codeword, x), t.name
        assert torch.equal(scl_decode(t, 20.0 * bpsk(x), 4, mode), msg), t.name


@SETTINGS
@given(trees(max_m=7), st.integers(0, 2**31 - 1))
def test_shapes_and_batch_invariance(t, seed):
    _, llr = noisy_llr(t, 5, seed, sigma=1.2)
    out = sc_decode(t, llr)
    assert out.bits.shape == (5, t.k) and out.codeword.shape == (5, t.n)
    rows = torch.cat([dumer_decode(t, llr[i:i + 1]) for i in range(5)])
    assert torch.equal(rows, out.bits)
    lst = scl_list(t, llr, 4)
    assert lst.bits.shape[::2] == (5, t.k) and lst.codeword.shape[::2] == (5, t.n) and lst.bits.shape[1] <= 4
    rows = torch.cat([scl_decode(t, llr[i:i + 1], 4) for i in range(5)])
    assert torch.equal(rows, scl_decode(t, llr, 4))


@pytest.mark.parametrize("code", ["rm:8:2", "rm:6:1", "polar:64:7", "polar:256:100", "rm:5:5"])
@pytest.mark.parametrize("decoder", ["dumer", "dumer-minsum", "scl:4"])
def test_huge_and_zero_llrs_stay_finite(code, decoder):
    t, g = parse_code(code), torch.Generator().manual_seed(1)
    dec = make_decoder(t, decoder)
    for llr in (torch.zeros(3, t.n), 1e4 * torch.sign(torch.randn(3, t.n, generator=g)),
                torch.where(torch.rand(3, t.n, generator=g) < 0.5, 0.0, 1e4)):
        bits = dec(llr)
        assert bits.shape == (3, t.k) and torch.isfinite(bits).all() and set(bits.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(bits, dec(llr))  # well defined: deterministic
    lst = scl_list(t, 1e4 * torch.sign(torch.randn(2, t.n, generator=g)), 4)
    assert torch.isfinite(lst.metric).all()
    msg = torch.randint(0, 2, (3, t.k), generator=g).float()
    assert torch.equal(dec(1e4 * bpsk(encode(t, msg))), msg)


def test_lse_is_exact_and_stable():
    a = torch.tensor([0.3, -2.0, 5.0, 0.0, 1e4, -1e4, 1e4], dtype=torch.float64)
    b = torch.tensor([1.1, 0.7, -3.0, 2.0, 1e4, 1e4, 3.0], dtype=torch.float64)
    exact = torch.log1p(torch.exp(a[:4] + b[:4])) - torch.log(torch.exp(a[:4]) + torch.exp(b[:4]))
    assert torch.allclose(lse(a, b)[:4], exact)
    assert torch.allclose(lse(a, b)[4:], torch.tensor([1e4 - math.log(2), math.log(2) - 1e4, 3.0], dtype=torch.float64))
    assert torch.equal(minsum(a, b), torch.sign(a) * torch.sign(b) * torch.minimum(a.abs(), b.abs()))


@pytest.mark.parametrize("t", [rm_tree(4, 0), rm_tree(3, 3), leaf("rm1", 2), leaf("rm1", 5), leaf("rm1", 6),
                               leaf("map", 3, (1, 3, 5, 6)), rm_tree(1, 1)])
def test_sc_is_map_where_sc_is_exact(t):
    "Single leaves are MAP-decoded, by SC and by a list that holds every codeword."
    _, llr = noisy_llr(t, 400, 3, sigma=1.0)
    ref = map_decode(llr, generator_matrix(t))
    assert torch.equal(dumer_decode(t, llr), ref)
    assert torch.equal(scl_decode(t, llr, 2**t.k), ref)


def test_sc_is_not_map_on_a_deeper_tree():
    t = rm_tree(4, 1)
    _, llr = noisy_llr(t, 2000, 3, sigma=1.0)
    assert not torch.equal(dumer_decode(t, llr), map_decode(llr, generator_matrix(t)))


@SETTINGS
@given(trees(max_m=5, max_k=7), st.integers(0, 2**31 - 1))
def test_scl_with_a_full_list_is_map(t, seed):
    _, llr = noisy_llr(t, 64, seed, sigma=1.1)
    assert torch.equal(scl_decode(t, llr, 2**t.k), map_decode(llr, generator_matrix(t)))


@SETTINGS
@given(trees(max_m=7), st.integers(0, 2**31 - 1), st.sampled_from(["lse", "minsum"]),
       st.sampled_from([torch.float32, torch.float64]))
def test_scl_of_list_size_one_is_dumer(t, seed, mode, dtype):
    # also in float32, where a tiny leaf LLR added to a large path metric rounds away (ties keep SC's choice)
    _, llr = noisy_llr(t, 32, seed, sigma=1.0, dtype=dtype)
    assert torch.equal(scl_decode(t, llr, 1, mode), dumer_decode(t, llr, mode))


def test_scl_paths_are_sorted_codewords():
    t = polar_tree(128, 40)
    _, llr = noisy_llr(t, 20, 4, sigma=0.9)
    out = scl_list(t, llr, 8)
    assert out.bits.shape == (20, 8, 40) and (out.metric.diff(dim=-1) >= 0).all()
    assert torch.equal(encode(t, out.bits.reshape(-1, 40)).reshape(20, 8, 128), out.codeword)


def test_list_decoding_helps_polar_64_7():
    t = parse_code("polar:64:7")
    msg, llr = noisy_llr(t, 3000, 5, sigma=1.5)
    err = lambda bits: int((bits != msg).any(-1).sum())
    sc, scl8, ml = err(dumer_decode(t, llr)), err(scl_decode(t, llr, 8)), err(map_decode(llr, generator_matrix(t)))
    assert sc > scl8 >= ml > 0
    assert err(scl_decode(t, llr, 128)) == ml


@pytest.mark.parametrize("call,argument", [
    (lambda: dumer_decode(rm_tree(3, 1), torch.zeros(2, 16)), "llr must be a floating-point (batch, 8) tensor"),
    (lambda: dumer_decode(rm_tree(3, 1), torch.zeros(8)), "llr must be a floating-point (batch, 8) tensor"),
    (lambda: dumer_decode(rm_tree(3, 1), torch.zeros(2, 8, dtype=torch.long)), "llr must be a floating-point"),
    (lambda: dumer_decode(rm_tree(3, 1), [[0.0] * 8]), "llr must be a floating-point"),
    (lambda: dumer_decode("rm:3:1", torch.zeros(2, 8)), "tree must be a PlotkinTree"),
    (lambda: dumer_decode(rm_tree(3, 1), torch.zeros(2, 8), mode="max"), "mode must be one of"),
    (lambda: scl_decode(rm_tree(3, 1), torch.zeros(2, 8), 0), "list_size must be a positive int"),
    (lambda: scl_decode(rm_tree(3, 1), torch.zeros(2, 4), 2), "llr must be a floating-point (batch, 8)"),
    (lambda: encode(rm_tree(3, 1), torch.zeros(2, 5)), "msg must be a (batch, 4) tensor"),
    (lambda: unencode(rm_tree(3, 1), torch.zeros(2, 4)), "codeword must be a (batch, 8) tensor"),
    (lambda: encode(None, torch.zeros(2, 4)), "tree must be a PlotkinTree"),
])
def test_bad_decoder_input_names_the_argument(call, argument):
    with pytest.raises(ValueError) as e:
        call()
    assert argument in str(e.value)


# ---------------------------------------------------------------- names (the CLI's contract)

@pytest.mark.parametrize("code,message", [
    ("ldpc:64:7", "code family must be 'rm' or 'polar'"), ("rm:3:4", "R must be <= M"), ("rm:13:1", "M must be <= 12"),
    ("polar:64:65", "K must satisfy 1 <= K <= N"), ("polar:64:0", "K must satisfy"), ("polar:48:7", "N must be a power of 2"),
    ("polar:8192:7", "N must be a power of 2 with 1 <= N <= 4096"), ("rm:8", "code must be 'rm:M:R'"),
    ("rm:a:1", "code must be"), (None, "code must be a string"),
])
def test_parse_code_errors(code, message):
    with pytest.raises(ValueError) as e:
        parse_code(code)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("decoder,message", [
    ("scl:0", "list size L of 'scl:L' must be a positive int"), ("scl:-2", "must be a positive int"),
    ("viterbi", "decoder must be one of 'dumer', 'dumer-minsum', 'scl:L'"), (8, "decoder must be one of"),
])
def test_make_decoder_errors(decoder, message):
    with pytest.raises(ValueError) as e:
        make_decoder(rm_tree(6, 1), decoder)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_map_refuses_large_k():
    with pytest.raises(ValueError, match="k <= 20; this code has k=37"):
        make_decoder(parse_code("rm:8:2"), "map")
    with pytest.raises(ValueError, match="tree must be a PlotkinTree"):
        make_decoder("rm:8:2", "dumer")


def test_parse_code_and_make_decoder():
    assert parse_code("rm:8:2") == rm_tree(8, 2) and parse_code(" RM:6:1 ") == rm_tree(6, 1)
    assert len(DECODERS) == 4 and set(LEAF_KINDS) == {"frozen", "rep", "full", "rm1", "map"}
    t = parse_code("polar:64:7")
    _, llr = noisy_llr(t, 50, 6)
    assert torch.equal(make_decoder(t, "dumer")(llr), dumer_decode(t, llr))
    assert torch.equal(make_decoder(t, "dumer-minsum")(llr), dumer_decode(t, llr, "minsum"))
    assert torch.equal(make_decoder(t, "scl:8")(llr), scl_decode(t, llr, 8))
    assert torch.equal(make_decoder(t, "map")(llr), map_decode(llr, generator_matrix(t)))
    bits, bits_hat = decoder_transceiver(t, "scl:2")(64, 30.0, torch.Generator().manual_seed(0))
    assert bits.shape == (64, 7) and torch.equal(bits, bits_hat)


# ---------------------------------------------------------------- figure

def test_tree_figure_shows_leaves_order_and_labels():
    fig = tree_figure(parse_code("polar:64:7"))
    lv = next(t for t in fig.data if t.name == "leaves")
    assert list(lv.text) == ["frozen(5)", "RM(4,0)", "RM(3,0)", "RM(2,0)", "RM(2,2)"]
    assert all(c in ("#2ca02c", "#c7e9c0") for c in lv.marker.color) and lv.marker.color[0] == "#c7e9c0"
    assert [c[0] for c in lv.customdata] == [1, 2, 3, 4, 5]
    assert sum(a.arrowcolor == "red" for a in fig.layout.annotations) == 4
    inner = next(t for t in fig.data if t.name == "internal nodes")
    assert list(inner.text)[0] == "Polar(64,7)"
    assert list(next(t for t in tree_figure(rm_tree(8, 2)).data if t.name == "leaves").text)[-1] == "RM(2,2)"


# ---------------------------------------------------------------- device

@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    for code in ("rm:8:2", "polar:64:7", "rm:6:1"):
        t = parse_code(code)
        msg, llr = noisy_llr(t, 200, 7, sigma=1.0, dtype=torch.float32)
        for name in ("dumer", "dumer-minsum", "scl:8") + (("map",) if t.k <= 20 else ()):
            dec = make_decoder(t, name)
            cuda = dec(llr.cuda())
            assert cuda.device.type == "cuda" and torch.equal(cuda.cpu(), dec(llr)), (code, name)
        assert torch.equal(encode(t, msg.float().cuda()).cpu(), encode(t, msg.float()))
