"""Option: class tables adapted to the segment being decoded (counts kept in decoder state),
P(s|ctx) = (n(s,ctx) + M*Pstatic(s|ctx)) / (n(ctx) + M), counts refreshed every `every` frames."""
import numpy as np
import model
from model import *

SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
FIN = dict(D=4, K=192, excl=True, sym=1.0, two=8.0, ctx_levels=SIMD, beta=60, floor=2048)

def adaptive(train, test, M=200, every=20, halve=None):
    KEY = succ_rank(train, 4, 1.0, False, 8.0)
    cltr = classes(train, KEY, 4, 192, True, loo=True)
    clte = classes(test, KEY, 4, 192, True)
    A = cltr['A']
    ctr = [combine(ctx_feats(train, cltr), n, CARD) for n in SIMD]
    cte = combine(ctx_feats(test, clte), SIMD[-1], CARD)
    tabs = blended_probs(cltr['cls'], ctr, A, 60)
    # static table for every possible full context id (unseen -> walk back to parent)
    nctx = CARD['gprev'] * CARD['nbb'] * CARD['up']
    Ps = np.zeros((nctx, A))
    seen = [np.zeros(t[1].shape[0], bool) for t in tabs[1:]]
    for i, c in enumerate(ctr):
        seen[i][np.unique(c)] = True
    for cid in range(nctx):
        g, rest = divmod(cid, CARD['nbb'] * CARD['up'])
        nb, up = divmod(rest, CARD['up'])
        ids = [g, g * CARD['nbb'] + nb, cid]
        P = tabs[0][1]
        for lvl in range(3):
            if ids[lvl] < len(seen[lvl]) and seen[lvl][ids[lvl]]:
                P = tabs[lvl + 1][1][ids[lvl]]
        Ps[cid] = P
    n = np.zeros((nctx, A))
    bits = 128 * 10.0
    cls = clte['cls']
    for t in range(cls.shape[0]):
        if t % every == 0:
            Pcur = floor_probs((n + M * Ps) / (n.sum(1, keepdims=True) + M), 2048)
            if halve and n.sum() > 0:
                pass
        c, s = cte[t].ravel(), cls[t].ravel()
        bits += -np.log2(Pcur[c, s]).sum()
        np.add.at(n, (c, s), 1)
        if halve:
            tot = n.sum(1, keepdims=True)
            n = np.where(tot > halve, n / 2, n)
    bits += np.log2(clte['size'][cls]).sum() + 10.0 * (cls == A - 1).sum()
    return bits / test['X'].size

for M, every, halve in ((1e9, 20, None), (200, 20, None), (50, 20, None), (200, 1, None), (200, 20, 2000), (100, 20, 1000)):
    ba = adaptive(F['A'], F['B'], M, every, halve); ab = adaptive(F['B'], F['A'], M, every, halve)
    print(f'M={M:g} every={every} halve@{halve}: B|A {ba:.3f} ({10/ba:.3f})  A|B {ab:.3f} ({10/ab:.3f})', flush=True)
