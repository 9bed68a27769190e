from model import *
import sys
base = dict(D=16, K=256, sym=1.0, two=8.0, offset='table')
L1 = [['gprev'], ['gprev', 'nbb']]
for beta in (5, 20, 60, 200):
    show(f'beta={beta} gprev>+nbb', ctx_levels=L1, beta=beta, **base)
C = [
 [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']],
 [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'left']],
 [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'left']],
 [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'runb']],
 [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'runb']],
 [['nbb'], ['nbb', 'up']],
 [['nbb'], ['nbb', 'up'], ['nbb', 'up', 'left']],
]
for beta in (20, 60):
  for lv in C:
    show(f'b{beta} ctx ' + ' > '.join('+'.join(l) for l in lv), ctx_levels=lv, beta=beta, **base)
