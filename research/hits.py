"""How often does a new token (not in the 4-deep own list) equal a token nearby?"""
import numpy as np
from model import F, succ_rank, classes
for n in 'AB':
    f = F[n]; X = f['X']
    new = f['orank'][1:] >= 4
    P = np.pad(X[:-1], ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    C = np.pad(X[1:], ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    x = X[1:]
    prevnb = np.zeros_like(new); curup = np.zeros_like(new)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                prevnb |= P[:, 1 + dr:9 + dr, 1 + dc:17 + dc] == x
    for dc in (-1, 0, 1):
        curup |= C[:, 0:8, 1 + dc:17 + dc] == x
    print(n, 'new share', new.mean().round(3), 'x in prev-frame 8-nbhd', (prevnb & new).sum() / new.sum(),
          'x in cur-frame up row 3', (curup & new).sum() / new.sum())
