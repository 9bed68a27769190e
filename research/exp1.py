from model import *
I = list(range(1025))
show('D16 K32 excl indiv ranks, in-sample class stats', D=16, K=32, succ_edges=I, loo=False)
show('D16 K32 excl indiv ranks, LOO class stats', D=16, K=32, succ_edges=I)
show('D16 K32 excl buckets raw-off', D=16, K=32)
for K in (32, 64, 128, 256, 512):
    for excl in (True, False):
        show(f'D16 K{K} excl={excl} table-off', D=16, K=K, excl=excl, offset='table')
for D in (8, 32):
    show(f'D{D} K128 excl table-off', D=D, K=128, offset='table')
