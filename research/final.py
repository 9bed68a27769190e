"""Recommended design: numbers for the report."""
from model import *
SIMD = [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'up']]
FIN = dict(D=4, K=192, excl=True, sym=1.0, two=8.0, offset='raw', esc='raw',
           ctx_levels=SIMD, beta=60, floor=2048)
show('FINAL (raw offsets)', **FIN)
show('FINAL but offset table', **{**FIN, 'offset': 'table'})
show('FINAL floor 1/1024', **{**FIN, 'floor': 1024})
show('FINAL ctx gprev x nbb only (20 ctx)', **{**FIN, 'ctx_levels': SIMD[:2]})
show('FINAL K128', **{**FIN, 'K': 128})
show('FINAL no exclusion', **{**FIN, 'excl': False})
show('FINAL with left instead of up', **{**FIN, 'ctx_levels': [['gprev'], ['gprev', 'nbb'], ['gprev', 'nbb', 'left']]})
for n in 'AB':
    b, d = code_len(F[n], F[n], detail=True, **{**FIN, 'loo': False})
    b2 = code_len(F[n], F[n], **FIN)
    print(f'in-sample {n}|{n}: {b:.3f} ({10/b:.3f}); with LOO class stats {b2:.3f} ({10/b2:.3f})', d)
for tr, te in ('AB', 'BA'):
    b, d = code_len(F[tr], F[te], detail=True, **FIN)
    print(f'{te}|{tr}', round(b, 3), {k: (v.round(3) if hasattr(v, "round") else v) for k, v in d.items()})
