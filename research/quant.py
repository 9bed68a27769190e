"""Final design with class tables quantised exactly as a tANS table of 2^11 (and 2^12) slots."""
import numpy as np
import model
from model import *

def quantise(P, L):
    nd = np.ndim(P)
    P = np.atleast_2d(P)
    q = np.maximum(1, np.round(P * L)).astype(int)
    for row in q:
        while row.sum() != L:
            d = L - row.sum()
            i = np.argmax(row)
            row[i] += d if row[i] + d >= 1 else 0
    return q / L if nd > 1 else q[0] / L

SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
FIN = dict(D=4, K=192, excl=True, sym=1.0, two=8.0, offset='raw', esc='raw', ctx_levels=SIMD, beta=60)
for L in (2048, 4096, 1024):
    model.floor_probs = lambda P, prec=2048, L=L: quantise(P, L)
    show(f'FINAL, tANS-quantised class tables L={L}', floor=L, **FIN)
