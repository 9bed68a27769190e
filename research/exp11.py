from model import *
FIN = dict(D=4, K=192, excl=True, sym=1.0, two=8.0, offset='raw', esc='raw', beta=60, floor=2048)
for lv in ([['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']],
           [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'upn']],
           [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'upn']],
           [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'runb']],
           [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'rowchgb']],
           [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up'], ['gprev', 'nbb', 'up', 'fracb']],
           [['gprev'], ['gprev', 'nbprev'], ['gprev', 'nbprev', 'up']],
           [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'left'], ['gprev', 'nbb', 'left', 'up']],
           ):
    for beta in (60, 300):
        show(f'b{beta} ' + ' > '.join('+'.join(l) for l in lv[1:]), ctx_levels=lv, **{**FIN, 'beta': beta})
