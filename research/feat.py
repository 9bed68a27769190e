"""Per-token features for the two real segments (cached to research/cache_*.npz).

For each token (t, r, c) with t >= 1 (frame 0 is coded raw, 10 bits/token):
  x      token, p previous-frame token at same position, pp two frames back
  own    (32,) the position's move-to-front recency list BEFORE coding x (-1 padded)
  orank  rank of x in that list (99 if absent)
  run    how many consecutive frames the position has kept p (0 = p != pp)
"""
import numpy as np, os

D = '/work/shared/data/commavq/'
SEG = {'A': 'commaai-commavq_0.npy', 'B': 'mattseabrook-commavq_0.npy'}
HERE = os.path.dirname(os.path.abspath(__file__))
DEPTH = 32


def features(name):
    cf = os.path.join(HERE, f'cache_{name}.npz')
    if os.path.exists(cf):
        return dict(np.load(cf))
    X = np.load(D + SEG[name]).astype(np.int64)
    T = X.shape[0]
    own = -np.ones((T, 8, 16, DEPTH), np.int64)
    orank = np.full((T, 8, 16), 99, np.int64)
    run = np.zeros((T, 8, 16), np.int64)
    for r in range(8):
        for c in range(16):
            L = []
            rl = 0
            for t in range(T):
                x = int(X[t, r, c])
                own[t, r, c, :len(L)] = L
                if x in L:
                    orank[t, r, c] = L.index(x)
                    L.remove(x)
                L.insert(0, x)
                del L[DEPTH:]
                run[t, r, c] = rl
                rl = rl + 1 if (t > 0 and x == X[t - 1, r, c]) else 0
    f = dict(X=X, own=own, orank=orank, run=run)
    np.savez(cf, **f)
    return f


if __name__ == '__main__':
    for n in 'AB':
        f = features(n)
        o = f['orank'][1:]
        print(n, 'copy', (o == 0).mean(), 'own16', (o < 16).mean(), 'own32', (o < 32).mean())
