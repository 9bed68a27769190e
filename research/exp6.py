from model import *
SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
base = dict(sym=1.0, two=8.0, offset='table', ctx_levels=SIMD, beta=60)
for D in (8, 16):
    for K in (128, 192, 256):
        show(f'SIMD D{D} K{K} excl', D=D, K=K, **base)
show('SIMD D16 K128 NO excl', D=16, K=128, excl=False, **base)
show('SIMD D16 K128 excl raw offsets', D=16, K=128, **{**base, 'offset': 'raw'})
show('SIMD D16 K128 excl floor2048', D=16, K=128, floor=2048, **base)
show('SIMD D16 K128 NOexcl floor2048', D=16, K=128, excl=False, floor=2048, **base)
