from model import *
SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
LEFT = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'left']]
base = dict(sym=1.0, two=8.0, offset='table', ctx_levels=SIMD, beta=60, floor=2048)
for D in (4, 6, 8):
    show(f'SIMD D{D} K192 excl fl', D=D, K=192, **base)
show(f'SIMD D8 K192 NOexcl fl', D=8, K=192, excl=False, **base)
show(f'LEFT D8 K192 excl fl', D=8, K=192, **{**base, 'ctx_levels': LEFT})
show(f'noctx D8 K192 excl fl', D=8, K=192, **{**base, 'ctx_levels': ()})
for two in (16, 32):
    show(f'SIMD D8 K192 excl fl two={two}', D=8, K=192, **{**base, 'two': two})
