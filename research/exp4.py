from model import *
base = dict(D=16, K=128, sym=1.0, two=2.0, offset='table')
for two in (4, 8):
    show(f'two={two}', **{**base, 'two': two})
show(f'two=2 K256', **{**base, 'K': 256})
C = [
 [['gprev']],
 [['runb']],
 [['up']],
 [['left']],
 [['nbprev']],
 [['fracb']],
 [['row']],
 [['rowchgb']],
 [['gprev'], ['gprev', 'runb']],
 [['gprev'], ['gprev', 'up']],
 [['gprev'], ['gprev', 'nbprev']],
 [['gprev'], ['gprev', 'fracb']],
 [['gprev'], ['gprev', 'up'], ['gprev', 'up', 'left']],
 [['gprev'], ['gprev', 'up'], ['gprev', 'up', 'nbprev']],
 [['gprev'], ['gprev', 'up'], ['gprev', 'up', 'fracb']],
 [['gprev'], ['gprev', 'up'], ['gprev', 'up', 'ul'], ['gprev', 'up', 'ul', 'ur']],
]
for lv in C:
    show('ctx ' + ' > '.join('+'.join(l) for l in lv), ctx_levels=lv, **base)
