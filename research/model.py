"""Ideal code lengths of recency-list + successor-list + escape models (leave-one-out)."""
import numpy as np
from feat import features

GMODE = 'own'
THREE = 0.0
EDGES = [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
LOG = np.log2


def succ_rank(f, D=16, sym=0.0, only_new=False, two=0.0):
    """Successor lists learned from segment f, as an integer key matrix: row p ranks
    candidates x by key desc; key = score*1024 + tiebreak, score = count(p->x, x != p)
    (+ sym*count(x->p)), tiebreak = 1023 - (rank of x by how often x is a changed-to
    target overall, ties to lower code). key[p,p] = -1 (never listed).
    Returns (key, counted) where counted marks training transitions that entered counts."""
    X = f['X']
    p, x = X[:-1].ravel(), X[1:].ravel()
    m = p != x
    if only_new:  # count only transitions that the successor path would have to code
        m &= f['orank'][1:].ravel() >= D
    C = np.zeros((1024, 1024), np.int64)
    np.add.at(C, (p[m], x[m]), 1)
    unit = 1
    if sym or two:
        S = C + sym * C.T
        if two:  # two-step similarity: successors of successors (row-normalised)
            N = S / np.maximum(S.sum(1, keepdims=True), 1)
            S2 = N @ N
            np.fill_diagonal(S2, 0)
            S3 = 0
            if THREE:
                S3 = S2 @ N
                np.fill_diagonal(S3, 0)
            S = S + (two * S2 + THREE * S3) * S.sum(1, keepdims=True).clip(1, None) / 8
        unit = 64
        C = np.round(S * unit).astype(np.int64)
    tgt = np.bincount(x[p != x], minlength=1024)
    tbr = np.empty(1024, np.int64)
    tbr[np.lexsort((np.arange(1024), -tgt))] = np.arange(1024)
    key = C * 1024 + (1023 - tbr)[None, :]
    key[np.arange(1024), np.arange(1024)] = -1
    return key, m.reshape(X[1:].shape), unit


def classes(f, KEY, D=16, K=32, excl=True, own_edges=None, succ_edges=EDGES, loo=False):
    """Per token (frames >= 1): class symbol and offset inside its bucket.
    Class alphabet: own buckets, then successor buckets, then escape.
    loo: f is the training segment; rank each transition with its own count removed
    (honest estimate of how often a list learned elsewhere hits)."""
    key, counted, unit = KEY
    X, own, orank = f['X'][1:], f['own'][1:], f['orank'][1:]
    p = f['X'][:-1]
    x = X
    own_edges = own_edges or list(range(D + 1))
    oe = np.array([e for e in own_edges if e < D] + [D])
    se = np.array([e for e in succ_edges if e < K] + [K])
    nO, nS = len(oe) - 1, len(se) - 1
    kx = key[p, x]
    if loo:
        kx = kx - np.where(counted, unit * 1024, 0)
    # rank = number of y != x in row p with key_y > kx
    rows = np.sort(key, axis=1)
    flat = (rows + (np.arange(1024) << 40)[:, None]).ravel()
    q = kx + (p << 40)
    r = ((p + 1) * 1024 - np.searchsorted(flat, q.ravel(), 'right').reshape(q.shape))
    r = r - (key[p, x] > kx)  # x itself was counted when its key was lowered
    if excl:
        L = own[..., :D]
        kl = np.where(L >= 0, key[p[..., None], np.maximum(L, 0)], -2)
        r = r - ((kl > kx[..., None]) & (L != x[..., None])).sum(-1)
    isown = orank < D
    issucc = ~isown & (r < K)
    cls = np.where(isown, np.searchsorted(oe, orank, 'right') - 1,
                   np.where(issucc, nO + np.searchsorted(se, r, 'right') - 1, nO + nS))
    lo = np.concatenate([oe[:-1], se[:-1], [0]])
    size = np.concatenate([np.diff(oe), np.diff(se), [1]])
    val = np.where(isown, orank, np.where(issucc, r, 0))
    off = val - lo[cls]
    return dict(cls=cls, off=off, size=size, nO=nO, nS=nS, A=nO + nS + 1, x=x, r=r,
                g=np.select([orank == 0, isown, issucc & (r < 8), issucc & (r < 64), issucc], [0, 1, 2, 3, 3], 4) if GMODE == 'succ' else np.where(orank == 0, 0, np.where(orank < 4, 1, np.where(isown, 2, np.where(issucc, 3, 4)))))


def ctx_feats(f, cl, D=16):
    """Causal context features, all (T-1, 8, 16). g: 0 copy,1 own1-3,2 own4+,3 succ,4 esc."""
    g = cl['g']
    T1 = g.shape[0]
    G = np.concatenate([np.full((1, 8, 16), 4), g])  # frame 0 counts as escape-like
    gprev = G[:-1]
    pad = lambda a, v: np.pad(a, ((0, 0), (1, 1), (1, 1)), constant_values=v)
    gp = pad(G, 5)
    up = gp[1:, :-2, 1:-1]          # current frame, row r-1 (5 = none)
    ul = gp[1:, :-2, :-2]
    ur = gp[1:, :-2, 2:]
    left = gp[1:, 1:-1, :-2]
    ch = pad((G != 0).astype(int), 0)[:-1]
    nbprev = sum(ch[:, 1 + dr:9 + dr, 1 + dc:17 + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1))
    run = f['run'][1:]
    runb = np.minimum(np.searchsorted([1, 2, 3, 5, 9, 17], run, 'right'), 6)
    row = np.broadcast_to(np.arange(8)[None, :, None], g.shape)
    # fraction changed in rows above (current frame); row 0 uses previous frame total
    chg = (G != 0).astype(int)
    cum = np.cumsum(chg[1:].sum(2), 1)  # (T-1, 8) changed count rows 0..r
    above = np.concatenate([np.zeros((T1, 1)), cum[:, :-1]], 1)
    frac = np.where(np.arange(8)[None] == 0, chg[:-1].sum((1, 2))[:, None] / 128.0,
                    above / (16.0 * np.maximum(np.arange(8)[None], 1)))
    fracb = np.broadcast_to(np.minimum((frac * 4).astype(int), 3)[:, :, None], g.shape)
    rowchg = np.broadcast_to(np.minimum(chg[:-1].sum(2), 16)[:, :, None] , g.shape)  # same row prev frame
    upn = np.where(row == 0, 4, (ul % 5 != 0).astype(int) * (ul < 5) + (up != 0) * (up < 5) + (ur != 0) * (ur < 5))
    nbb = np.searchsorted([1, 3, 6, 9], nbprev, 'right')
    return dict(upn=upn, nbb=nbb, gprev=gprev, up=up, ul=ul, ur=ur, left=left, nbprev=nbprev, runb=runb,
                row=row, fracb=fracb, rowchgb=np.minimum(rowchg // 4, 3))


def combine(fe, names, card):
    c = np.zeros_like(fe[names[0]])
    for n in names:
        c = c * card[n] + fe[n]
    return c


CARD = dict(upn=5, nbb=5, gprev=5, up=6, ul=6, ur=6, left=6, nbprev=10, runb=7, row=8, fracb=4, rowchgb=4)


def blended_probs(train_sym, train_ctxs, A, beta):
    """Hierarchical backoff tables. train_ctxs: list of context-id arrays from coarse to fine
    (each level a refinement of the previous). Returns list of dicts level->table."""
    P = (np.bincount(train_sym.ravel(), minlength=A) + 0.5) / (train_sym.size + 0.5 * A)
    tabs = [(None, P)]
    prevc = None
    for lvl, c in enumerate(train_ctxs):
        c = c.ravel()
        n = int(c.max()) + 1
        cnt = np.zeros((n, A))
        np.add.at(cnt, (c, train_sym.ravel()), 1)
        if prevc is None:
            parent = np.broadcast_to(tabs[-1][1], (n, A))
        else:
            # parent id of each child context
            pid = np.zeros(n, int)
            pid[c] = prevc
            parent = tabs[-1][1][pid]
        tot = cnt.sum(1, keepdims=True)
        tabs.append((c, (cnt + beta * parent) / (tot + beta)))
        prevc = c
    return tabs


def floor_probs(P, prec=2048):
    P = np.maximum(P, 1.0 / prec)
    return P / P.sum(-1, keepdims=True)


def code_len(train, test, D=16, K=32, excl=True, own_edges=None, ctx_levels=(), beta=20.0,
             offset='raw', esc='raw', sym=0.0, two=0.0, only_new=False, floor=None, loo=True, succ_edges=EDGES,
             detail=False):
    """Total bits/token on test with all statistics from train."""
    Rtr = succ_rank(train, D, sym, only_new, two)
    cltr = classes(train, Rtr, D, K, excl, own_edges, succ_edges, loo=loo)
    clte = classes(test, Rtr, D, K, excl, own_edges, succ_edges)
    A = cltr['A']
    fetr, fete = ctx_feats(train, cltr, D), ctx_feats(test, clte, D)
    ctr = [combine(fetr, names, CARD) for names in ctx_levels]
    cte = [combine(fete, names, CARD) for names in ctx_levels]
    tabs = blended_probs(cltr['cls'], ctr, A, beta)
    P = tabs[-1][1]
    if floor:
        P = floor_probs(P, floor)
    sym_te = clte['cls'].ravel()
    if ctx_levels:
        # unseen test contexts: walk back to deepest seen level
        prob = None
        for lvl in range(len(ctx_levels), -1, -1):
            tab = tabs[lvl][1]
            if floor:
                tab = floor_probs(tab, floor)
            if lvl == 0:
                pr = tab[sym_te]
            else:
                cid = cte[lvl - 1].ravel()
                ok = cid < tab.shape[0]
                pr = np.where(ok, tab[np.minimum(cid, tab.shape[0] - 1), sym_te], np.nan)
                seen = np.zeros(tab.shape[0], bool)
                seen[np.unique(ctr[lvl - 1])] = True
                pr = np.where(ok & seen[np.minimum(cid, tab.shape[0] - 1)], pr, np.nan)
            prob = pr if prob is None else np.where(np.isnan(prob), pr, prob)
        cbits = -LOG(prob)
    else:
        cbits = -LOG(P[sym_te])
    size = clte['size']
    if offset == 'raw':
        obits = LOG(size[sym_te])
    else:  # small static table P(offset | bucket), add-0.5
        ob = np.zeros_like(cbits)
        for b in range(A):
            if size[b] <= 1:
                continue
            h = np.bincount(cltr['off'].ravel()[cltr['cls'].ravel() == b], minlength=size[b]) + 0.5
            h = h / h.sum()
            if floor:
                h = floor_probs(h, floor)
            m = sym_te == b
            ob[m] = -LOG(h[clte['off'].ravel()[m]])
        obits = ob
    isesc = sym_te == A - 1
    if esc == 'raw':
        ebits = np.where(isesc, 10.0, 0.0)
    else:
        h = np.bincount(train['X'].ravel(), minlength=1024) + 0.5
        h = h / h.sum()
        if floor:
            h = floor_probs(h, 4096)
        ebits = np.where(isesc, -LOG(h[clte['x'].ravel()]), 0.0)
    tot = cbits.sum() + obits.sum() + ebits.sum() + 128 * 10
    bpt = tot / test['X'].size
    if detail:
        return bpt, dict(cls=cbits.sum() / test['X'].size, off=obits.sum() / test['X'].size,
                         esc=ebits.sum() / test['X'].size,
                         share=np.bincount(clte['g'].ravel(), minlength=5) / sym_te.size)
    return bpt


F = {n: features(n) for n in 'AB'}


def both(**kw):
    ba = code_len(F['A'], F['B'], **kw)
    ab = code_len(F['B'], F['A'], **kw)
    return ba, ab


def show(label, **kw):
    ba, ab = both(**kw)
    print(f'{label:60s} B|A {ba:.3f} ({10/ba:.3f})  A|B {ab:.3f} ({10/ab:.3f})', flush=True)
    return ba, ab
