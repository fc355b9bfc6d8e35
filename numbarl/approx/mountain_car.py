"""The book's Mountain Car (Sutton & Barto, Example 10.1) as small value-typed njit functions, and
its tile coding (8 tilings of 8 x 8 tiles over position and velocity, the book's ``tiles()``).

The dynamics equal Gymnasium's MountainCar-v0 apart from its 200-step time limit (the book has
none) and the position bound at the goal (the book's 0.5; Gymnasium's 0.6, so only the
terminal position differs): velocity += 0.001 (a - 1) - 0.0025 cos(3 position), clipped to
[-0.07, 0.07]; position += velocity, clipped to [-1.2, 0.5]; velocity is zeroed when the car
hits the left wall; reward -1 per step; the episode ends at position >= 0.5; starts at
position ~ U[-0.6, -0.4), velocity 0.

A learner uses three functions, so another env with discrete actions and a 2-D state can replace
them: ``reset(rng) -> (x, v)``, ``step(x, v, a) -> (x, v, reward, terminated)`` and
``features(iht, num_tilings, x, v, coords, feats)`` (the active tiles of every action).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.approx.features import iht_index, tiles_into

__all__ = ["N_ACTIONS", "features", "make_memo", "reset", "scratch", "step"]

MIN_POSITION = -1.2
MAX_POSITION = 0.5
MAX_SPEED = 0.07
GOAL_POSITION = 0.5
FORCE = 0.001
GRAVITY = 0.0025
N_ACTIONS = 3  # 0: full throttle reverse, 1: zero throttle, 2: full throttle forward
# The book's tile coding: each tiling spans the state space with 8 x 8 tiles; the floats given
# to tiles() are 8 x / (0.5 + 1.2) and 8 v / (0.07 + 0.07), computed in that order.
TILES_PER_DIM = 8.0
POSITION_SPAN = 0.5 + 1.2
VELOCITY_SPAN = 0.07 + 0.07


@njit(cache=True, inline="always")
def reset(rng):
    """Start state (x, v): x ~ U[-0.6, -0.4) (Gymnasium's draw), v = 0."""
    return rng.uniform(-0.6, -0.4), 0.0


@njit(cache=True, inline="always")
def step(x, v, a):
    """One step from (x, v) with action a in {0, 1, 2}: (x, v, reward, terminated)."""
    v += (a - 1) * FORCE - GRAVITY * np.cos(3.0 * x)
    v = min(max(v, -MAX_SPEED), MAX_SPEED)
    x += v
    x = min(max(x, MIN_POSITION), MAX_POSITION)
    if x == MIN_POSITION and v < 0.0:
        v = 0.0
    return x, v, -1.0, x >= GOAL_POSITION


@njit(cache=True)
def make_memo(num_tilings):
    """A memo of the IHT's answers for `features`: int64[num_tilings, X, V, N_ACTIONS], all -1
    (unknown), over every tile coordinate a state in bounds can have."""
    x_lo, x_hi, v_lo, v_hi = _coord_bounds(num_tilings)
    return np.full((num_tilings, x_hi - x_lo + 1, v_hi - v_lo + 1, N_ACTIONS), -1, np.int64)


@njit(cache=True)
def scratch(num_tilings):
    """The ``coords`` scratch array `features` needs."""
    return np.empty(4 + 2 * num_tilings, dtype=np.int64)


@njit(cache=True, inline="always")
def _coord_bounds(num_tilings):
    """(lowest, highest) tile coordinate of position and of velocity over all tilings."""
    qx_lo = np.int64(np.floor(TILES_PER_DIM * MIN_POSITION / POSITION_SPAN * num_tilings))
    qx_hi = np.int64(np.floor(TILES_PER_DIM * MAX_POSITION / POSITION_SPAN * num_tilings))
    qv_lo = np.int64(np.floor(TILES_PER_DIM * -MAX_SPEED / VELOCITY_SPAN * num_tilings))
    qv_hi = np.int64(np.floor(TILES_PER_DIM * MAX_SPEED / VELOCITY_SPAN * num_tilings))
    return (
        qx_lo // num_tilings,
        (qx_hi + num_tilings - 1) // num_tilings,
        qv_lo // num_tilings,
        (qv_hi + 3 * (num_tilings - 1)) // num_tilings,
    )


@njit(cache=True, inline="always")
def _log2(n):
    """log2(n) if n is a power of two, else -1."""
    if n <= 0 or n & (n - 1):
        return -1
    k = 0
    while n > 1:
        n >>= 1
        k += 1
    return k


@njit(cache=True, inline="always")
def features(iht, memo, num_tilings, x, v, coords, feats, readonly=False):
    """The active tiles of (x, v) for every action, into feats int64[N_ACTIONS, num_tilings]:
    ``tiles(iht, num_tilings, [8 x / (0.5 + 1.2), 8 v / (0.07 + 0.07)], [a])`` for a = 0, 1, 2
    in turn, as the book's code calls it (offsets: tiling t moves position by t and velocity by
    3 t quanta of 1 / num_tilings). ``memo`` (`make_memo`) remembers the IHT's answer for each
    tile coordinate, so the IHT is asked once per new tile: the indices are the IHT's, in its
    order. Read-only look-ups of unseen tiles give -1 and change nothing. ``coords``
    int64[4 + 2 num_tilings] is scratch space (`scratch`)."""
    qx = np.int64(np.floor(TILES_PER_DIM * x / POSITION_SPAN * num_tilings))
    qv = np.int64(np.floor(TILES_PER_DIM * v / VELOCITY_SPAN * num_tilings))
    x_lo, x_hi, v_lo, v_hi = _coord_bounds(num_tilings)
    shift = _log2(num_tilings)
    if shift >= 0:  # a power of two (the book's 8): floor division is an arithmetic shift
        for tiling in range(num_tilings):  # the coordinates, once for all actions
            coords[4 + 2 * tiling] = (qx + tiling) >> shift
            coords[5 + 2 * tiling] = (qv + 3 * tiling) >> shift
    else:
        for tiling in range(num_tilings):
            coords[4 + 2 * tiling] = (qx + tiling) // num_tilings
            coords[5 + 2 * tiling] = (qv + 3 * tiling) // num_tilings
    known = True  # fast path: every tile already numbered, read tiling by tiling
    for tiling in range(num_tilings):
        cx = coords[4 + 2 * tiling] - x_lo
        cv = coords[5 + 2 * tiling] - v_lo
        if 0 <= cx <= x_hi - x_lo and 0 <= cv <= v_hi - v_lo:
            for a in range(N_ACTIONS):
                k = memo[tiling, cx, cv, a]
                feats[a, tiling] = k
                known &= k >= 0
        else:
            known = False
    if known:
        return feats
    for a in range(N_ACTIONS):  # the reference's order: action by action, tiling by tiling
        for tiling in range(num_tilings):
            cx = coords[4 + 2 * tiling]
            cv = coords[5 + 2 * tiling]
            if x_lo <= cx <= x_hi and v_lo <= cv <= v_hi:
                k = memo[tiling, cx - x_lo, cv - v_lo, a]
                if k < 0:
                    coords[0] = tiling
                    coords[1] = cx
                    coords[2] = cv
                    coords[3] = a
                    k = iht_index(iht, coords, 4, readonly)
                    memo[tiling, cx - x_lo, cv - v_lo, a] = k
            else:  # out of the env's bounds: ask the IHT directly
                coords[0] = tiling
                coords[1] = cx
                coords[2] = cv
                coords[3] = a
                k = iht_index(iht, coords, 4, readonly)
            feats[a, tiling] = k
    return feats


def features_reference(iht, num_tilings: int, x: float, v: float) -> np.ndarray:
    """`features` through the generic `tiles_into` (for tests): int64[N_ACTIONS, num_tilings]."""
    out = np.empty((N_ACTIONS, num_tilings), dtype=np.int64)
    coords = np.empty(4, dtype=np.int64)
    floats = np.array([TILES_PER_DIM * x / POSITION_SPAN, TILES_PER_DIM * v / VELOCITY_SPAN])
    for a in range(N_ACTIONS):
        tiles_into(iht, num_tilings, floats, np.array([a], dtype=np.int64), coords, out[a])
    return out
