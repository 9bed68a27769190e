from model import *
for D, K in ((16, 64), (16, 128), (8, 128), (8, 256), (12, 128)):
    show(f'D{D} K{K} excl sym=1 escraw', D=D, K=K, sym=1.0, offset='table')
for two in (0.5, 1, 2):
    show(f'D16 K128 excl sym=1 two={two}', D=16, K=128, sym=1.0, two=two, offset='table')
