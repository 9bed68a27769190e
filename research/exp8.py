from model import *
SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
LEFT = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'left']]
base = dict(sym=1.0, two=8.0, offset='table', ctx_levels=SIMD, beta=60, floor=2048)
for D in (1, 2, 3):
    show(f'SIMD D{D} K192 excl fl', D=D, K=192, **base)
for D in (2, 4):
    show(f'SIMD D{D} K192 NOexcl fl', D=D, K=192, excl=False, **base)
    show(f'LEFT D{D} K192 excl fl', D=D, K=192, **{**base, 'ctx_levels': LEFT})
    show(f'SIMD D{D} K128 excl fl', D=D, K=128, **base)
    show(f'SIMD D{D} K256 excl fl', D=D, K=256, **base)
