"""Per-code static features of p (learned from the training segment) as class contexts."""
import numpy as np
import model
from model import *

orig = model.ctx_feats
STAT = {}
def ctx_feats2(f, cl, D=16):
    fe = orig(f, cl, D)
    p = f['X'][:-1]
    fe['pst'] = STAT['stay_b'][p]
    fe['pev'] = STAT['ev_b'][p]
    return fe
model.ctx_feats = ctx_feats2
model.CARD.update(pst=4, pev=4)

def learn(tr):
    X = tr['X']
    p, x = X[:-1].ravel(), X[1:].ravel()
    n = np.bincount(p, minlength=1024)
    s = np.bincount(p[p == x], minlength=1024)
    stay = (s + 0.44 * 2) / (n + 2)   # shrink to ~global copy rate
    q = np.quantile(stay[p], [0.25, 0.5, 0.75])
    STAT['stay_b'] = np.searchsorted(q, stay, 'right')
    q2 = np.quantile(n[p], [0.25, 0.5, 0.75])
    STAT['ev_b'] = np.searchsorted(q2, n, 'right')

SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
FIN = dict(D=4, K=192, excl=True, sym=1.0, two=8.0, offset='raw', esc='raw',
           ctx_levels=SIMD, beta=60, floor=2048)
def run(label, **kw):
    learn(F['A']); ba = code_len(F['A'], F['B'], **kw)
    learn(F['B']); ab = code_len(F['B'], F['A'], **kw)
    print(f'{label:60s} B|A {ba:.3f} ({10/ba:.3f})  A|B {ab:.3f} ({10/ab:.3f})', flush=True)
run('FINAL', **FIN)
for feat in ('pst', 'pev'):
    run(f'{feat} first', **{**FIN, 'ctx_levels': [[feat]] + [[feat] + l for l in SIMD]})
    run(f'{feat} last', **{**FIN, 'ctx_levels': SIMD + [SIMD[-1] + [feat]]})
    run(f'{feat} after gprev', **{**FIN, 'ctx_levels': [['gprev'], ['gprev', feat], ['gprev', feat, 'nbb'], ['gprev', feat, 'nbb', 'up']]})
