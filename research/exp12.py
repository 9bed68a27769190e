import model
from model import *
SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
FIN = dict(D=4, K=192, excl=True, sym=1.0, two=8.0, offset='raw', esc='raw', ctx_levels=SIMD, beta=60, floor=2048)
for sym in (0.5, 2.0):
    show(f'sym={sym}', **{**FIN, 'sym': sym})
for two in (4.0, 12.0):
    show(f'two={two}', **{**FIN, 'two': two})
for three in (2.0, 8.0):
    model.THREE = three
    show(f'three={three}', **FIN)
