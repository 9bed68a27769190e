import model
from model import *
SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
base = dict(sym=1.0, two=8.0, offset='table', ctx_levels=SIMD, beta=60, floor=2048, D=4, K=192)
model.GMODE = 'succ'
show('g: copy/own/succ<8/succ8+/esc  D4 K192 SIMD', **base)
show('same, ctx gprev>nbb only', **{**base, 'ctx_levels': SIMD[:2]})
show('same, ctx gprev>nbb>up>ul', **{**base, 'ctx_levels': SIMD + [['gprev', 'nbb', 'up', 'ul']]})
show('same, ctx gprev>nbb>up>ur', **{**base, 'ctx_levels': SIMD + [['gprev', 'nbb', 'up', 'ur']]})
show('same, beta 200', **{**base, 'beta': 200})
