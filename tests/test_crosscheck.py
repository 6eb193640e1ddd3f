"""kolit's Dumer decoder against an independent, plain NumPy recursion (benchmarks/numpy_dumer.py)."""
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
from numpy_dumer import decode_rm  # noqa: E402

from kolit.core import bpsk, make_generator, random_bits, snr_to_sigma  # noqa: E402
from kolit.plotkin import dumer_decode, encode, rm_tree  # noqa: E402


@pytest.mark.parametrize("m,r,snr", [(3, 1, -2.0), (5, 2, -3.0), (6, 1, -6.0), (7, 3, -4.0), (8, 2, -5.0), (8, 2, -3.0)])
def test_dumer_matches_numpy_recursion(m, r, snr):
    tree = rm_tree(m, r)
    g = make_generator(m * 10 + r)
    bits = random_bits(500, tree.k, g)
    sigma = snr_to_sigma(snr)
    y = bpsk(encode(tree, bits)) + sigma * torch.randn(500, tree.n, generator=g)
    llr = 2 * y / sigma**2
    ours = encode(tree, dumer_decode(tree, llr.double())).numpy()
    ref = decode_rm(llr.double().numpy(), m, r)
    assert np.array_equal(ours, ref)
