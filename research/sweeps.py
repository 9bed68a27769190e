"""The context-model experiments, one subcommand each (ideal code lengths, leave-one-out
across the two real segments; model.py has the model, feat.py the cached features).

    python sweeps.py NAME [NAME ...]   # NAME: exp1 .. exp12, final, quant, adapt, hits, check
    python sweeps.py all               # every experiment in that order (~3 min on 2 cores)
    python sweeps.py list              # the names and their questions

Run from research/ with the project venv (numpy only). README.md has, per experiment, the
question, the command, the result and the decision it led to. Each subcommand prints what the
script of the same name printed (exp1.py .. exp12.py, final.py, quant.py, adapt.py, hits.py,
check.py, folded in here; see git history before this file). Experiments that change
model.py's module globals (exp9, exp10, exp12, quant) restore them when they end, so any
sequence of names runs in one process.

Output lines of the sweeps: `label  B|A bits/token (rate)  A|B bits/token (rate)`, where B|A
is segment B (mattseabrook-commavq_0) coded with everything learned from segment A
(commaai-commavq_0), rate = 10 / bits per token.
"""
import contextlib
import sys

import numpy as np

import model
from model import CARD, F, blended_probs, classes, code_len, combine, ctx_feats, floor_probs, show, succ_rank

# Context hierarchies (coarse to fine); SIMD is the one the codec adopted (100 contexts, no
# dependence on a token of the same row), LEFT uses the left neighbour instead of the one above.
SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
LEFT = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'left']]
# The recommended design of the sweeps (final): D=4, K=192, exclusion, symmetric + two-step
# lists, raw offsets and escapes, SIMD contexts blended with beta 60, probability floor 1/2048.
FIN = dict(D=4, K=192, excl=True, sym=1.0, two=8.0, offset='raw', esc='raw',
           ctx_levels=SIMD, beta=60, floor=2048)


@contextlib.contextmanager
def patched(obj, **attrs):
    """Set attributes of `obj` (a module or dict-like CARD) for the duration, then restore."""
    if isinstance(obj, dict):
        old = {k: obj[k] for k in attrs if k in obj}
        obj.update(attrs)
        try:
            yield
        finally:
            for k in attrs:
                obj.pop(k, None)
            obj.update(old)
        return
    old = {k: getattr(obj, k) for k in attrs}
    for k, v in attrs.items():
        setattr(obj, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(obj, k, v)


def exp1():
    """Successor lists: do bucketed ranks cost anything against individual ranks; how long
    (K) and how deep the own list (D) should be; does excluding own-list tokens from the
    successor ranks pay? (flat class table, no contexts)"""
    I = list(range(1025))
    show('D16 K32 excl indiv ranks, in-sample class stats', D=16, K=32, succ_edges=I, loo=False)
    show('D16 K32 excl indiv ranks, LOO class stats', D=16, K=32, succ_edges=I)
    show('D16 K32 excl buckets raw-off', D=16, K=32)
    for K in (32, 64, 128, 256, 512):
        for excl in (True, False):
            show(f'D16 K{K} excl={excl} table-off', D=16, K=K, excl=excl, offset='table')
    for D in (8, 32):
        show(f'D{D} K128 excl table-off', D=D, K=128, offset='table')


def exp2():
    """Symmetric successor scores (count p->x plus sym * count x->p); counting only the
    transitions the successor path codes; bucketed own ranks."""
    for sym in (0.5, 1.0):
        for D, K in ((16, 64), (8, 128)):
            show(f'D{D} K{K} excl sym={sym}', D=D, K=K, sym=sym, offset='table')
    show('D16 K64 excl only_new', D=16, K=64, only_new=True, offset='table')
    show('D16 K64 excl esc raw10', D=16, K=64, esc='raw', offset='table')
    show('D16 K64 excl own buckets', D=16, K=64, own_edges=model.EDGES, offset='table')
    show('D16 K64 excl own buckets raw off', D=16, K=64, own_edges=model.EDGES)



def exp3():
    """With symmetric scores: which D x K, and do two-step successors (successors of
    successors) added to the score help?"""
    for D, K in ((16, 64), (16, 128), (8, 128), (8, 256), (12, 128)):
        show(f'D{D} K{K} excl sym=1 escraw', D=D, K=K, sym=1.0, offset='table')
    for two in (0.5, 1, 2):
        show(f'D16 K128 excl sym=1 two={two}', D=16, K=128, sym=1.0, two=two, offset='table')


def exp4():
    """Larger two-step weights; which single causal feature, and which 2-3 level
    hierarchy of them, is the best context for the class symbol?"""
    base = dict(D=16, K=128, sym=1.0, two=2.0, offset='table')
    for two in (4, 8):
        show(f'two={two}', **{**base, 'two': two})
    show('two=2 K256', **{**base, 'K': 256})
    C = [
        [['gprev']],
        [['runb']],
        [['up']],
        [['left']],
        [['nbprev']],
        [['fracb']],
        [['row']],
        [['rowchgb']],
        [['gprev'], ['gprev', 'runb']],
        [['gprev'], ['gprev', 'up']],
        [['gprev'], ['gprev', 'nbprev']],
        [['gprev'], ['gprev', 'fracb']],
        [['gprev'], ['gprev', 'up'], ['gprev', 'up', 'left']],
        [['gprev'], ['gprev', 'up'], ['gprev', 'up', 'nbprev']],
        [['gprev'], ['gprev', 'up'], ['gprev', 'up', 'fracb']],
        [['gprev'], ['gprev', 'up'], ['gprev', 'up', 'ul'], ['gprev', 'up', 'ul', 'ur']],
    ]
    for lv in C:
        show('ctx ' + ' > '.join('+'.join(l) for l in lv), ctx_levels=lv, **base)


def exp5():
    """Blending strength beta of the backoff hierarchy; third levels on gprev > gprev+nbb
    (nbb = bucketed count of changed previous-frame neighbours)."""
    base = dict(D=16, K=256, sym=1.0, two=8.0, offset='table')
    L1 = [['gprev'], ['gprev', 'nbb']]
    for beta in (5, 20, 60, 200):
        show(f'beta={beta} gprev>+nbb', ctx_levels=L1, beta=beta, **base)
    C = [
        [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']],
        [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'left']],
        [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'left']],
        [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'runb']],
        [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'runb']],
        [['nbb'], ['nbb', 'up']],
        [['nbb'], ['nbb', 'up'], ['nbb', 'up', 'left']],
    ]
    for beta in (20, 60):
        for lv in C:
            show(f'b{beta} ctx ' + ' > '.join('+'.join(l) for l in lv), ctx_levels=lv, beta=beta, **base)


def exp6():
    """With the row-parallel (SIMD) contexts gprev > nbb > up: D x K again; exclusion,
    raw offsets and a 1/2048 probability floor (as a tANS table would impose)."""
    base = dict(sym=1.0, two=8.0, offset='table', ctx_levels=SIMD, beta=60)
    for D in (8, 16):
        for K in (128, 192, 256):
            show(f'SIMD D{D} K{K} excl', D=D, K=K, **base)
    show('SIMD D16 K128 NO excl', D=16, K=128, excl=False, **base)
    show('SIMD D16 K128 excl raw offsets', D=16, K=128, **{**base, 'offset': 'raw'})
    show('SIMD D16 K128 excl floor2048', D=16, K=128, floor=2048, **base)
    show('SIMD D16 K128 NOexcl floor2048', D=16, K=128, excl=False, floor=2048, **base)


def exp7():
    """Shallower own lists (D 4..8) at K=192; left instead of up; no contexts; two-step
    weights 16 and 32."""
    base = dict(sym=1.0, two=8.0, offset='table', ctx_levels=SIMD, beta=60, floor=2048)
    for D in (4, 6, 8):
        show(f'SIMD D{D} K192 excl fl', D=D, K=192, **base)
    show('SIMD D8 K192 NOexcl fl', D=8, K=192, excl=False, **base)
    show('LEFT D8 K192 excl fl', D=8, K=192, **{**base, 'ctx_levels': LEFT})
    show('noctx D8 K192 excl fl', D=8, K=192, **{**base, 'ctx_levels': ()})
    for two in (16, 32):
        show(f'SIMD D8 K192 excl fl two={two}', D=8, K=192, **{**base, 'two': two})


def exp8():
    """Own lists of depth 1..4; exclusion, left, K 128/256 at D 2 and 4."""
    base = dict(sym=1.0, two=8.0, offset='table', ctx_levels=SIMD, beta=60, floor=2048)
    for D in (1, 2, 3):
        show(f'SIMD D{D} K192 excl fl', D=D, K=192, **base)
    for D in (2, 4):
        show(f'SIMD D{D} K192 NOexcl fl', D=D, K=192, excl=False, **base)
        show(f'LEFT D{D} K192 excl fl', D=D, K=192, **{**base, 'ctx_levels': LEFT})
        show(f'SIMD D{D} K128 excl fl', D=D, K=128, **base)
        show(f'SIMD D{D} K256 excl fl', D=D, K=256, **base)


def exp9():
    """Kinds used as context split differently (copy / own / successor rank < 8 / >= 8 /
    escape); a 4th context level (ul or ur); beta 200."""
    base = dict(sym=1.0, two=8.0, offset='table', ctx_levels=SIMD, beta=60, floor=2048, D=4, K=192)
    with patched(model, GMODE='succ'):
        show('g: copy/own/succ<8/succ8+/esc  D4 K192 SIMD', **base)
        show('same, ctx gprev>nbb only', **{**base, 'ctx_levels': SIMD[:2]})
        show('same, ctx gprev>nbb>up>ul', **{**base, 'ctx_levels': SIMD + [['gprev', 'nbb', 'up', 'ul']]})
        show('same, ctx gprev>nbb>up>ur', **{**base, 'ctx_levels': SIMD + [['gprev', 'nbb', 'up', 'ur']]})
        show('same, beta 200', **{**base, 'beta': 200})


def exp10():
    """Per-code static features of p learned from the training segment (how often p stays,
    how frequent p is; quartiles) as class contexts."""
    stat = {}
    orig = model.ctx_feats

    def ctx_feats2(f, cl, D=16):
        fe = orig(f, cl, D)
        p = f['X'][:-1]
        fe['pst'] = stat['stay_b'][p]
        fe['pev'] = stat['ev_b'][p]
        return fe

    def learn(tr):
        X = tr['X']
        p, x = X[:-1].ravel(), X[1:].ravel()
        n = np.bincount(p, minlength=1024)
        s = np.bincount(p[p == x], minlength=1024)
        stay = (s + 0.44 * 2) / (n + 2)   # shrink to ~global copy rate
        q = np.quantile(stay[p], [0.25, 0.5, 0.75])
        stat['stay_b'] = np.searchsorted(q, stay, 'right')
        q2 = np.quantile(n[p], [0.25, 0.5, 0.75])
        stat['ev_b'] = np.searchsorted(q2, n, 'right')

    def run(label, **kw):
        learn(F['A'])
        ba = code_len(F['A'], F['B'], **kw)
        learn(F['B'])
        ab = code_len(F['B'], F['A'], **kw)
        print(f'{label:60s} B|A {ba:.3f} ({10/ba:.3f})  A|B {ab:.3f} ({10/ab:.3f})', flush=True)

    with patched(model, ctx_feats=ctx_feats2), patched(CARD, pst=4, pev=4):
        run('FINAL', **FIN)
        for feat in ('pst', 'pev'):
            run(f'{feat} first', **{**FIN, 'ctx_levels': [[feat]] + [[feat] + l for l in SIMD]})
            run(f'{feat} last', **{**FIN, 'ctx_levels': SIMD + [SIMD[-1] + [feat]]})
            run(f'{feat} after gprev', **{**FIN, 'ctx_levels': [['gprev'], ['gprev', feat], ['gprev', feat, 'nbb'],
                                                               ['gprev', feat, 'nbb', 'up']]})


def exp11():
    """At the final design: refinements of the third and a fourth context level (upn,
    runb, rowchgb, fracb, unbucketed nbprev, left), beta 60 against 300."""
    base = {k: v for k, v in FIN.items() if k not in ('ctx_levels', 'beta')}
    for lv in ([['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']],
               [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'upn']],
               [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'upn']],
               [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'runb']],
               [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'rowchgb']],
               [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'fracb']],
               [['gprev'], ['gprev', 'nbprev'], ['gprev', 'nbprev', 'up']],
               [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'left'], ['gprev', 'nbb', 'left', 'up']],
               ):
        for beta in (60, 300):
            show(f'b{beta} ' + ' > '.join('+'.join(l) for l in lv[1:]), ctx_levels=lv, beta=beta, **base)


def exp12():
    """At the final design: the symmetric weight (0.5, 2), the two-step weight (4, 12) and
    a three-step term (successors of successors of successors)."""
    for sym in (0.5, 2.0):
        show(f'sym={sym}', **{**FIN, 'sym': sym})
    for two in (4.0, 12.0):
        show(f'two={two}', **{**FIN, 'two': two})
    for three in (2.0, 8.0):
        with patched(model, THREE=three):
            show(f'three={three}', **FIN)


def final():
    """The recommended design and its one-change neighbours; in-sample rates and the split
    of bits into class symbols, offsets and escapes."""
    show('FINAL (raw offsets)', **FIN)
    show('FINAL but offset table', **{**FIN, 'offset': 'table'})
    show('FINAL floor 1/1024', **{**FIN, 'floor': 1024})
    show('FINAL ctx gprev x nbb only (20 ctx)', **{**FIN, 'ctx_levels': SIMD[:2]})
    show('FINAL K128', **{**FIN, 'K': 128})
    show('FINAL no exclusion', **{**FIN, 'excl': False})
    show('FINAL with left instead of up', **{**FIN, 'ctx_levels': LEFT})
    for n in 'AB':
        b, d = code_len(F[n], F[n], detail=True, **{**FIN, 'loo': False})
        b2 = code_len(F[n], F[n], **FIN)
        print(f'in-sample {n}|{n}: {b:.3f} ({10/b:.3f}); with LOO class stats {b2:.3f} ({10/b2:.3f})', d)
    for tr, te in ('AB', 'BA'):
        b, d = code_len(F[tr], F[te], detail=True, **FIN)
        print(f'{te}|{tr}', round(b, 3), {k: (v.round(3) if hasattr(v, "round") else v) for k, v in d.items()})


def quant():
    """The final design with class tables quantised exactly as tANS tables of 2^11, 2^12
    and 2^10 slots instead of the real-valued probabilities."""
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

    fin = {k: v for k, v in FIN.items() if k != 'floor'}
    for L in (2048, 4096, 1024):
        with patched(model, floor_probs=lambda P, prec=2048, L=L: quantise(P, L)):
            show(f'FINAL, tANS-quantised class tables L={L}', floor=L, **fin)


def adapt():
    """Class tables adapted to the segment being decoded (counts kept in decoder state):
    P(s|ctx) = (n(s,ctx) + M*Pstatic(s|ctx)) / (n(ctx) + M), refreshed every `every`
    frames, counts optionally halved when a context's total passes `halve`."""
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
            c, s = cte[t].ravel(), cls[t].ravel()
            bits += -np.log2(Pcur[c, s]).sum()
            np.add.at(n, (c, s), 1)
            if halve:
                tot = n.sum(1, keepdims=True)
                n = np.where(tot > halve, n / 2, n)
        bits += np.log2(clte['size'][cls]).sum() + 10.0 * (cls == A - 1).sum()
        return bits / test['X'].size

    for M, every, halve in ((1e9, 20, None), (200, 20, None), (50, 20, None), (200, 1, None), (200, 20, 2000),
                            (100, 20, 1000)):
        ba = adaptive(F['A'], F['B'], M, every, halve)
        ab = adaptive(F['B'], F['A'], M, every, halve)
        print(f'M={M:g} every={every} halve@{halve}: B|A {ba:.3f} ({10/ba:.3f})  A|B {ab:.3f} ({10/ab:.3f})',
              flush=True)


def hits():
    """How often does a new token (not in the 4-deep own list) equal a token nearby (the
    previous frame's 8 neighbours, or the 3 above in the current frame)?"""
    for n in 'AB':
        f = F[n]
        X = f['X']
        new = f['orank'][1:] >= 4
        P = np.pad(X[:-1], ((0, 0), (1, 1), (1, 1)), constant_values=-1)
        C = np.pad(X[1:], ((0, 0), (1, 1), (1, 1)), constant_values=-1)
        x = X[1:]
        prevnb = np.zeros_like(new)
        curup = np.zeros_like(new)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr or dc:
                    prevnb |= P[:, 1 + dr:9 + dr, 1 + dc:17 + dc] == x
        for dc in (-1, 0, 1):
            curup |= C[:, 0:8, 1 + dc:17 + dc] == x
        print(n, 'new share', new.mean().round(3), 'x in prev-frame 8-nbhd', (prevnb & new).sum() / new.sum(),
              'x in cur-frame up row 3', (curup & new).sum() / new.sum())


def check():
    """Brute-force check of model.classes' successor ranks (with exclusion, in-sample and
    leave-one-out) on 3,000 random tokens per case: prints the mismatches (must be 0)."""
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


EXPERIMENTS = {f.__name__: f for f in (exp1, exp2, exp3, exp4, exp5, exp6, exp7, exp8, exp9, exp10, exp11,
                                       exp12, final, quant, adapt, hits, check)}


def main(argv):
    if argv == ['list']:
        for name, f in EXPERIMENTS.items():
            print(f'{name:6s} ' + ' '.join(f.__doc__.split()))
        return 0
    if not argv:
        print('usage: python sweeps.py NAME [NAME ...] | all | list', file=sys.stderr)
        return 2
    names = list(EXPERIMENTS) if argv == ['all'] else argv
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        print(f'unknown experiment {", ".join(unknown)}; one of: {", ".join(EXPERIMENTS)}, all, list',
              file=sys.stderr)
        return 2
    for name in names:
        if len(names) > 1:
            print(f'== {name}', flush=True)
        EXPERIMENTS[name]()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
