"""kolit.ko: the KO encoder and decoder against the classical code and Dumer's decoder, and the checklist (STYLE.md §7)."""
import pytest
import torch

from kolit.core import bpsk, random_bits, simulate_ber, snr_to_sigma
from kolit.ko import (KOCode, KOConfig, KODecoder, KODecoderConfig, KOEncoder, pm_kernel,
                      soft_leaf_codeword, tiny)
from kolit.plotkin import (dumer_decode, encode, kernel_transform, leaf, plotkin_node, polar_tree, rm_tree)

TREES = {"rm82": rm_tree(8, 2), "rm61": rm_tree(6, 1), "polar64_7": polar_tree(64, 7),
         "polar128_100": polar_tree(128, 100),  # full leaves of length up to 16+ (no brute force)
         "custom": plotkin_node(plotkin_node(leaf("rep", 2), leaf("rm1", 2)), plotkin_node(leaf("frozen", 2), leaf("full", 2)))}


def noisy(tree, batch, snr_db, seed=0, dtype=torch.get_default_dtype()):
    g = torch.Generator().manual_seed(seed)
    bits = random_bits(batch, tree.k, g).to(dtype)
    y = bpsk(encode(tree, bits)) + snr_to_sigma(snr_db) * torch.randn(batch, tree.n, generator=g, dtype=dtype)
    return bits, y


@pytest.mark.parametrize("name", list(TREES))
def test_zero_networks_are_the_classical_code_and_dumer(name):
    tree = TREES[name]
    code = KOCode(tree, KOConfig(init_std=0), KODecoderConfig(init_std=0))
    bits, y = noisy(tree, 3000, -5.0, seed=1)
    with torch.no_grad():
        for method in ("alphabet", "levels", "nodes"):
            if method == "alphabet" and name == "polar128_100":  # its tables would hold ~3e16 entries
                with pytest.raises(ValueError, match="method='alphabet'.*ALPHABET_LIMIT"): code.encoder(bits, method)
                continue
            assert torch.equal(code.encoder(bits, method), bpsk(encode(tree, bits)))
        assert torch.equal(code.encoder(bits), bpsk(encode(tree, bits)))  # the default choice
        with pytest.raises(ValueError, match="method must be one of"): code.encoder(bits, "fast")
        assert torch.equal(code.decode(y, -5.0, hard=True), dumer_decode(tree, 2 * y / snr_to_sigma(-5.0) ** 2))


@pytest.mark.parametrize("name", list(TREES))
def test_shapes_norm_and_batching_modes(name):
    tree = TREES[name]
    code = KOCode(tree)
    bits, y = noisy(tree, 17, -3.0)
    with torch.no_grad():
        x1, x2 = code.encoder(bits, "levels"), code.encoder(bits, "nodes")
        torch.testing.assert_close(x1, x2)
        if name != "polar128_100": torch.testing.assert_close(x1, code.encoder(bits, "alphabet"))
        torch.testing.assert_close((x1 ** 2).sum(-1), torch.full((17,), float(tree.n)))
        L = code.decoder(y, -3.0)
    assert x1.shape == (17, tree.n) and L.shape == (17, tree.k)
    assert code.decode(y, -3.0).shape == (17, tree.k)


def test_noiseless_round_trip():
    for tree in TREES.values():
        code = KOCode(tree)
        bits = random_bits(200, tree.k, torch.Generator().manual_seed(2))
        with torch.no_grad():
            x = code.encode(bits)
            assert torch.equal(code.decode(x, 10.0), bits)
            assert torch.equal(code.decode(x, 10.0, hard=True), bits)


@pytest.mark.parametrize("scale", [0.0, 1e-30, 1e4, 1e30])
@pytest.mark.parametrize("input", ["llr", "y"])
def test_finite_on_zero_and_huge_inputs(scale, input):
    for tree in (TREES["rm82"], TREES["polar64_7"]):
        dec = KODecoder(tree, KODecoderConfig(input=input))
        _, y = noisy(tree, 8, 0.0)
        with torch.no_grad():
            for hard in (False, True):
                L = dec(y * scale, 0.0, hard)
                assert torch.isfinite(L).all(), (tree, scale, hard)


def test_batch_invariance():
    tree = TREES["rm82"]
    code = KOCode(tree, tiny(), tiny(KODecoderConfig()))
    bits, y = noisy(tree, 12, -5.0, dtype=torch.float64)
    code = code.double()
    with torch.no_grad():
        X, L = code.encode(bits), code.decoder(y, -5.0)
        for i in (0, 5, 11):
            torch.testing.assert_close(code.encode(bits[i:i + 1]), X[i:i + 1], rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(code.decoder(y[i:i + 1], -5.0), L[i:i + 1], rtol=1e-10, atol=1e-10)


def test_gradients_reach_every_network():
    for tree in (TREES["rm82"], TREES["polar64_7"], TREES["custom"]):
        code = KOCode(tree)
        bits = random_bits(64, tree.k, torch.Generator().manual_seed(3))
        x = code.encode(bits)
        # a low SNR: at -3 dB the untrained KO(8,2) decoder is so sure (|L| ~ 100) that BCE gradients underflow
        y = x + snr_to_sigma(-10.0) * torch.randn(x.shape, generator=torch.Generator().manual_seed(4))
        L = code.decoder(y, -10.0)
        torch.nn.functional.binary_cross_entropy_with_logits(L, 1 - bits).backward()  # σ(L) = P(bit = 0)
        for nets in (code.encoder.g, code.decoder.f_left, code.decoder.f_right):
            for i in range(nets.count):
                g = sum(p.grad[i].abs().sum() for p in nets.weights)
                assert g > 0, (tree, nets, i)


def test_parameter_counts_match_the_released_ko82():
    c = KOCode(rm_tree(8, 2)).parameter_counts()
    assert c == dict(encoder_networks=6, encoder_parameters=13446, decoder_networks=12, decoder_parameters=27276)
    t = KOCode(polar_tree(64, 7), KOConfig(neural_root=False)).parameter_counts()
    assert t["encoder_networks"] == 3  # 4 internal nodes, none at the root


@pytest.mark.parametrize("name", ["rm82", "polar64_7", "custom"])
def test_reencodings(name):
    """'hard' and 'st' decide alike (Dumer at zero networks); 'st' trains like 'soft' would, 'hard' cuts v̂'s gradient."""
    tree = TREES[name]
    bits, y = noisy(tree, 500, -6.0, seed=2)
    dumer = dumer_decode(tree, 2 * y / snr_to_sigma(-6.0) ** 2)
    for mode in ("hard", "st"):
        zero = KODecoder(tree, KODecoderConfig(init_std=0, reencode=mode))
        with torch.no_grad(): assert torch.equal(zero.decide(y, -6.0), dumer)
    torch.manual_seed(0); st = KODecoder(tree, KODecoderConfig(init_std=0.3, reencode="st"))
    torch.manual_seed(0); hard = KODecoder(tree, KODecoderConfig(init_std=0.3, reencode="hard"))
    assert torch.equal(st(y, -6.0).detach(), hard(y, -6.0).detach())  # same forward pass
    assert torch.equal(st(y, -6.0, hard=True).detach(), hard(y, -6.0).detach())
    grads = {}
    for mode, dec in (("st", st), ("hard", hard)):
        torch.nn.functional.binary_cross_entropy_with_logits(dec(y, -6.0), 1 - bits).backward()
        grads[mode] = torch.cat([p.grad.flatten() for p in dec.parameters()])
    assert not torch.equal(grads["st"], grads["hard"])  # straight-through adds the gradient through v̂
    with pytest.raises(ValueError, match="reencode must be one of"): KODecoderConfig(reencode="sign")
    with pytest.raises(ValueError, match="hard must be None"): st(y, -6.0, hard="st")
    with pytest.raises(ValueError, match="reencode must be one of"): soft_leaf_codeword(leaf("rep", 3), y[:, :1], True)


def test_pm_kernel_is_the_kernel_in_pm_domain():
    bits = random_bits(10, 16, torch.Generator().manual_seed(5))
    assert torch.equal(pm_kernel(bpsk(bits)), bpsk(kernel_transform(bits)))
    L = torch.randn(4, 1)
    torch.testing.assert_close(soft_leaf_codeword(leaf("rep", 3), L), torch.tanh(L / 2).expand(-1, 8))


def test_bad_inputs_name_the_argument():
    tree = TREES["rm61"]
    code = KOCode(tree)
    with pytest.raises(ValueError, match="tree must be a PlotkinTree"): KOEncoder("rm:6:1")
    with pytest.raises(ValueError, match="config must be a KOConfig"): KOEncoder(tree, dict(hidden=4))
    with pytest.raises(ValueError, match="config must be a KODecoderConfig"): KODecoder(tree, KOConfig())
    with pytest.raises(ValueError, match=r"bits must be a \(batch, 7\)"): code.encode(torch.zeros(3, 6))
    with pytest.raises(ValueError, match=r"y must be a floating-point \(batch, 64\)"): code.decoder(torch.zeros(3, 32), 0.0)
    with pytest.raises(ValueError, match="snr_db must be a finite number"): code.decoder(torch.zeros(3, 64))
    with pytest.raises(ValueError, match="hidden must be a positive int"): KOConfig(hidden=0)
    with pytest.raises(ValueError, match="init_std must be"): KOConfig(init_std=-1)
    with pytest.raises(ValueError, match="input must be one of"): KODecoderConfig(input="llrs")
    with pytest.raises(ValueError, match="leaf_method must be one of"): KODecoderConfig(leaf_method="max")
    with pytest.raises(ValueError, match="leaf_scale must be"): KODecoderConfig(leaf_scale=0)
    # the "y" input ignores the SNR
    KODecoder(tree, KODecoderConfig(input="y"))(torch.zeros(2, 64))


def test_transceiver_runs_with_simulate_ber():
    code = KOCode(TREES["rm61"], tiny(), tiny(KODecoderConfig()))
    table = simulate_ber(code.transceiver(), [-2.0], max_codewords=500, batch_size=250, progress=False)
    assert table[0].codewords == 500 and 0 <= table[0].ber < 0.05


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    tree = TREES["rm82"]
    code = KOCode(tree)
    bits, y = noisy(tree, 256, -4.0)
    with torch.no_grad():
        x, L = code.encode(bits), code.decoder(y, -4.0)
        cc = code.to("cuda")
        torch.testing.assert_close(cc.encode(bits.cuda()).cpu(), x, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(cc.decoder(y.cuda(), -4.0).cpu(), L, rtol=1e-3, atol=1e-3)
    table = simulate_ber(cc.transceiver(), [-4.0], max_codewords=1000, batch_size=500, device="cuda", progress=False)
    assert table[0].codewords == 1000


# ---- training (kolit.ko_train) ----
from kolit.ko_train import PROFILES, Trainer, TrainConfig, profile  # noqa: E402


def _tiny_code(seed):
    torch.manual_seed(seed)
    return KOCode(rm_tree(4, 1), tiny(), tiny(KODecoderConfig()))


def _assert_resume_exact(make, cfg, stop, tmp_path):
    "Stopping after `stop` steps, saving and resuming in a fresh trainer equals the uninterrupted run, bit for bit."
    a = Trainer(make(0), cfg, seed=3)
    full = a.run(progress=False)
    b = Trainer(make(0), cfg, seed=3)
    first = b.run(stop, progress=False)
    b.save(tmp_path / "ck.pt")
    c = Trainer(make(1), cfg, seed=4)
    c.load(tmp_path / "ck.pt")
    assert first + c.run(progress=False) == full
    for v1, v2 in zip(a.code.state_dict().values(), c.code.state_dict().values()):
        assert torch.equal(v1, v2)
    assert a.step_count == c.step_count == cfg.total_steps


@pytest.mark.parametrize("stop", [0, 1, 2, 3, 5, 7])
def test_stop_and_resume_equals_uninterrupted(stop, tmp_path):
    _assert_resume_exact(_tiny_code, profile("cpu", batch=32, epochs=2, dec_steps=2, enc_steps=2), stop, tmp_path)


@pytest.mark.parametrize("stop", [1, 4])
def test_vector_messages_and_union_bound_term_resume_bit_for_bit(stop, tmp_path):
    """The shipped ko-polar-64-7's additions (message_dim, ub_weight) keep checkpoints exact."""
    from kolit.plotkin import parse_code, split_full_leaves
    tree = split_full_leaves(parse_code("polar:16:5"))
    make = lambda seed: (torch.manual_seed(seed), KOCode(tree, tiny(KOConfig(neural_root=False)),
                                                         tiny(KODecoderConfig(neural_root=False, message_dim=3))))[1]
    _assert_resume_exact(make, profile("cpu", batch=32, epochs=2, dec_steps=2, enc_steps=2, ub_weight=0.5), stop, tmp_path)
    with pytest.raises(ValueError, match="only epochs"):  # the union-bound weight is not a schedule field
        Trainer(make(0), profile("cpu", batch=32, epochs=2, dec_steps=2, enc_steps=2, ub_weight=0.1)).load(tmp_path / "ck.pt")


def test_a_finished_folder_run_continues_under_more_epochs(tmp_path):
    """Only `epochs` may change on resume; the extended run equals the longer run from the start."""
    from kolit.ko_train import train_folder
    short, long = (profile("cpu", batch=32, epochs=e, dec_steps=2, enc_steps=1) for e in (2, 3))
    kw = dict(enc_config=tiny(), dec_config=tiny(KODecoderConfig()), progress=False, seed=2)
    ref = train_folder("rm:4:1", tmp_path / "ref", long, **kw)
    train_folder("rm:4:1", tmp_path / "x", short, **kw)
    ext = train_folder("rm:4:1", tmp_path / "x", long, resume=True, **kw)
    assert ext.step_count == ref.step_count == long.total_steps
    for v1, v2 in zip(ref.code.state_dict().values(), ext.code.state_dict().values()): assert torch.equal(v1, v2)
    before = (tmp_path / "x" / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="epochs must be at least 3"):
        train_folder("rm:4:1", tmp_path / "x", short, resume=True, **kw)
    with pytest.raises(ValueError, match="different train"):
        train_folder("rm:4:1", tmp_path / "x", profile("cpu", batch=16, epochs=3, dec_steps=2, enc_steps=1), resume=True, **kw)
    assert (tmp_path / "x" / "checkpoint.pt").read_bytes() == before  # refused runs leave the checkpoint untouched


def test_training_steps_update_only_their_half():
    cfg = profile("cpu", batch=32, epochs=1, dec_steps=1, enc_steps=1)
    tr = Trainer(_tiny_code(0), cfg, seed=0)
    enc0 = [p.clone() for p in tr.code.encoder.parameters()]
    dec0 = [p.clone() for p in tr.code.decoder.parameters()]
    tr.step()  # a decoder step
    assert all(torch.equal(p, q) for p, q in zip(tr.code.encoder.parameters(), enc0))
    assert not all(torch.equal(p, q) for p, q in zip(tr.code.decoder.parameters(), dec0))
    dec1 = [p.clone() for p in tr.code.decoder.parameters()]
    tr.step()  # an encoder step
    assert all(torch.equal(p, q) for p, q in zip(tr.code.decoder.parameters(), dec1))
    assert not all(torch.equal(p, q) for p, q in zip(tr.code.encoder.parameters(), enc0))
    assert all(p.requires_grad for p in tr.code.parameters())


def test_training_bad_inputs():
    assert PROFILES["paper"] == TrainConfig(batch=50_000, epochs=2000, enc_steps=50, dec_steps=500, snr_enc=-3.0,
                                            snr_dec=-5.0, lr_enc=1e-5, lr_dec=1e-4)
    with pytest.raises(ValueError, match="name must be one of"): profile("fast")
    with pytest.raises(ValueError, match="batch must be a positive int"): TrainConfig(batch=0)
    with pytest.raises(ValueError, match="lr_enc must be a positive number"): TrainConfig(lr_enc=0)
    with pytest.raises(ValueError, match="code must be a KOCode"): Trainer(rm_tree(4, 1))
    tr = Trainer(_tiny_code(0), profile("cpu", batch=8))
    state = tr.state_dict()
    other = Trainer(_tiny_code(0), profile("cpu", batch=16))
    with pytest.raises(ValueError, match="state has config"): other.load_state_dict(state)


def test_a_folder_run_can_start_from_a_distilled_teacher(tmp_path):
    """train_folder(teacher=...) distils before step 0, records the teacher, and refuses a different one on resume."""
    import json
    from kolit.ko import KOCode, KOConfig
    from kolit.ko_train import distil, train_folder
    from kolit.ko_weights import save_code
    from kolit.plotkin import parse_code
    torch.manual_seed(5)
    teacher = KOCode(parse_code("rm:4:1"), KOConfig(init_std=0.3), KODecoderConfig(init_std=0.3))
    path = save_code(teacher, str(tmp_path / "t.safetensors"))
    cfg = profile("cpu", batch=32, epochs=1, dec_steps=2, enc_steps=1)
    kw = dict(enc_config=tiny(), dec_config=tiny(KODecoderConfig()), progress=False, seed=2)
    tr = train_folder("rm:4:1", tmp_path / "x", cfg, steps=0, teacher=path, distil_steps=(40, 5), **kw)
    torch.manual_seed(2)
    ref = KOCode(parse_code("rm:4:1"), tiny(), tiny(KODecoderConfig()))
    distil(ref, teacher, 40, 5, batch=32, snr_dec=cfg.snr_dec, seed=2, progress=False)
    for v1, v2 in zip(ref.state_dict().values(), tr.code.state_dict().values()): assert torch.equal(v1, v2)
    spec = json.load(open(tmp_path / "x" / "run.json"))
    assert spec["teacher"]["name"] == path and spec["teacher"]["enc_steps"] == 40 and len(spec["teacher"]["digest"]) == 64
    tr = train_folder("rm:4:1", tmp_path / "x", cfg, resume=True, teacher=path, distil_steps=(40, 5), **kw)  # resumes
    assert tr.step_count == cfg.total_steps
    before = (tmp_path / "x" / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="different teacher"):
        train_folder("rm:4:1", tmp_path / "x", cfg, resume=True, teacher=path, distil_steps=(41, 5), **kw)
    with pytest.raises(ValueError, match="teacher: name must be one of"):
        train_folder("rm:4:1", tmp_path / "y", cfg, teacher="ko-9-9", **kw)
    assert (tmp_path / "x" / "checkpoint.pt").read_bytes() == before
