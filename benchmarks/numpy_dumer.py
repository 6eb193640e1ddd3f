"""A plain NumPy recursion of Dumer's decoder for RM(m, r): the baseline of bench_dumer.py.

This is the textbook algorithm written directly from thesis §4.2.2 with nothing clever: a recursive
function over (m, r), NumPy arrays, MAP at first-order leaves by correlating with the explicit
codebook (no fast Hadamard transform). It decodes one LLR vector, or a batch when `batched=True`
(the same recursion on (batch, n) arrays). It is also an independent reference: kolit's decoder must
return the same codewords.
"""
import numpy as np


def lse(a, b):
    "log((1 + e^{a+b}) / (e^a + e^b)), computed stably."
    return np.logaddexp(0, a + b) - np.logaddexp(a, b)


def _rm1_codebook(m):
    "All 2^{m+1} codewords of RM(m,1) as ±1 rows (in the kernel F=[[0,1],[1,1]] convention)."
    n = 2**m
    j = np.arange(n)
    a = np.arange(n)
    had = (-1.0) ** np.array([[bin(x & y).count("1") % 2 for y in j] for x in a])  # (n, n) Sylvester
    return np.concatenate([had, -had])  # (2n, n)


_CB = {}


def dumer(llr, m, r, first_order_leaves):
    "Codeword bits (…, 2^m) decoded from LLRs (…, 2^m) by Dumer's recursion."
    if r == 0:  # repetition: sign of the sum
        bit = (llr.sum(-1, keepdims=True) < 0).astype(np.float64)
        return np.broadcast_to(bit, llr.shape).copy()
    if r == m:  # full code: hard decisions
        return (llr < 0).astype(np.float64)
    if r == 1 and first_order_leaves:  # MAP over the codebook
        cb = _CB.setdefault(m, _rm1_codebook(m))
        best = np.argmax(llr @ cb.T, axis=-1)
        return (cb[best] < 0).astype(np.float64)
    h = llr.shape[-1] // 2
    l1, l2 = llr[..., :h], llr[..., h:]
    v = dumer(lse(l1, l2), m - 1, r - 1, first_order_leaves)
    u = dumer(l1 + (1 - 2 * v) * l2, m - 1, r, first_order_leaves)
    return np.concatenate([u, (u + v) % 2], axis=-1)


def decode_rm(llr, m, r, batched=True):
    "Decode a (batch, n) array: one recursion on the batch, or (batched=False) one codeword at a time."
    fol = r >= 2
    if batched: return dumer(np.asarray(llr, dtype=np.float64), m, r, fol)
    return np.stack([dumer(row, m, r, fol) for row in np.asarray(llr, dtype=np.float64)])
