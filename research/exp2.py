from model import *
for sym in (0.5, 1.0):
    for D, K in ((16, 64), (8, 128)):
        show(f'D{D} K{K} excl sym={sym}', D=D, K=K, sym=sym, offset='table')
show('D16 K64 excl only_new', D=16, K=64, only_new=True, offset='table')
show('D16 K64 excl esc raw10', D=16, K=64, esc='raw', offset='table')
show('D16 K64 excl own buckets', D=16, K=64, own_edges=EDGES, offset='table')
show('D16 K64 excl own buckets raw off', D=16, K=64, own_edges=EDGES)
