"""Brute-force check of successor ranks (exclusion and leave-one-out) on random tokens."""
import numpy as np
from model import F, succ_rank, classes
D, K = 4, 192
KEY = succ_rank(F['A'], D, 1.0, False, 8.0)
key = KEY[0]
for loo, f in ((False, F['B']), (True, F['A'])):
    cl = classes(f, KEY, D, K, True, loo=loo)
    X, own, orank = f['X'][1:], f['own'][1:], f['orank'][1:]
    rng = np.random.default_rng(0)
    bad = 0
    for _ in range(3000):
        t, r, c = rng.integers(0, 1199), rng.integers(0, 8), rng.integers(0, 16)
        p, x = f['X'][t, r, c], X[t, r, c]
        if orank[t, r, c] < D:
            continue
        k = key[p].copy()
        if loo and KEY[1][t, r, c]:
            k[x] -= KEY[2] * 1024
        order = sorted((y for y in range(1024) if y != p), key=lambda y: (-k[y]))
        L = set(own[t, r, c, :D].tolist())
        lst = [y for y in order if y not in L]
        bad += lst.index(x) != cl['r'][t, r, c]
    print('loo', loo, 'mismatches', bad)
