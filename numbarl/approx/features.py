"""Features for linear function approximation (Sutton & Barto, Section 9.5).

- State aggregation, polynomial and Fourier bases over a 1-D state (Sections 9.5.1-9.5.3), as
  sparse tables ``(idx int64[S, k], val float64[S, k])``: row ``s`` holds the indices and values
  of state ``s``'s non-zero features, so one linear kernel serves every representation.
- Tile coding with the book's tiling software (Sutton's ``tiles3``, Section 9.5.4): ``tiles``
  computes the same indices as the reference ``tiles(ihtORsize, numtilings, floats, ints)``:
  the asymmetric offsets (tiling ``t`` moves dimension ``i`` by ``t * (1 + 2 i)`` quanta of
  ``1 / numtilings``) and the index hash table (IHT), which numbers coordinate tuples in order of
  first appearance and, once full, falls back to Python's ``hash(tuple) % size`` as the
  reference does (`py_tuple_hash` reproduces CPython's tuple hash for small ints).

An `IHT` is a NamedTuple of arrays (so it passes to and from compiled code and stays picklable);
``make_iht(size, width)`` builds one for coordinate tuples of up to ``width`` integers
(``1 + len(floats) + len(ints)``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "IHT",
    "aggregation_table",
    "fourier_table",
    "iht_count",
    "iht_index",
    "make_iht",
    "polynomial_table",
    "py_tuple_hash",
    "tile_table_1d",
    "tiles",
    "tiles_into",
]

# CPython's tuple hash (Objects/tupleobject.c, xxHash-based, 3.8+), on 64-bit builds.
_XXPRIME_1 = np.uint64(11400714785074694791)
_XXPRIME_2 = np.uint64(14029467366897019727)
_XXPRIME_5 = np.uint64(2870177450012600261)
_LEN_MIX = np.uint64(2870177450012600261 ^ 3527539)
_MINUS_ONE = np.uint64(0xFFFFFFFFFFFFFFFF)
_SHIFT_31 = np.uint64(31)
_SHIFT_33 = np.uint64(33)


class IHT(NamedTuple):
    """Index hash table of ``tiles3``: ``size`` indices handed out in order of first appearance.

    keys int64[C, width] (coordinate tuples), lengths int64[C] (0: empty slot), slots int64[C]
    (the index of each key), state int64[3] = (count, overfull_count, size); C is a power of two
    >= 2 * size (open addressing, linear probing)."""

    keys: np.ndarray
    lengths: np.ndarray
    slots: np.ndarray
    state: np.ndarray


def make_iht(size: int, width: int = 4) -> IHT:
    """An empty IHT handing out indices ``0..size-1`` for tuples of up to ``width`` ints."""
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"size must be an integer >= 1, got {size!r}")
    if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
        raise ValueError(f"width must be an integer >= 1, got {width!r}")
    capacity = 1
    while capacity < 2 * size:
        capacity *= 2
    return IHT(
        np.zeros((capacity, int(width)), dtype=np.int64),
        np.zeros(capacity, dtype=np.int64),
        np.zeros(capacity, dtype=np.int64),
        np.array([0, 0, int(size)], dtype=np.int64),
    )


@njit(cache=True)
def iht_count(iht: IHT) -> int:
    """Indices handed out so far (the reference's ``iht.count()``)."""
    return iht.state[0]


@njit(cache=True, inline="always")
def _int_hash(x):
    """CPython's hash of an int with |x| < 2**61 - 1, as the unsigned lane of the tuple hash."""
    if x == -1:
        x = -2
    return np.uint64(x)


@njit(cache=True)
def py_tuple_hash(coords, n):
    """CPython's ``hash(tuple(coords[:n]))`` for ints with |x| < 2**61 - 1 (int64)."""
    acc = _XXPRIME_5
    for i in range(n):
        acc += _int_hash(coords[i]) * _XXPRIME_2
        acc = (acc << _SHIFT_31) | (acc >> _SHIFT_33)
        acc *= _XXPRIME_1
    acc += np.uint64(n) ^ _LEN_MIX
    if acc == _MINUS_ONE:
        return np.int64(1546275796)
    return np.int64(acc)


@njit(cache=True)
def iht_index(iht, coords, n, readonly=False):
    """The reference's ``iht.getindex(tuple(coords[:n]), readonly)``: the tuple's index, a new
    one (the next count) if unseen and the table is not full, ``hash % size`` once full (counted
    in ``state[1]``), and -1 for an unseen tuple when ``readonly``."""
    h = py_tuple_hash(coords, n)
    mask = iht.lengths.shape[0] - 1
    slot = h & mask
    while iht.lengths[slot] != 0:
        if iht.lengths[slot] == n:
            same = True
            for i in range(n):
                if iht.keys[slot, i] != coords[i]:
                    same = False
                    break
            if same:
                return iht.slots[slot]
        slot = (slot + 1) & mask
    if readonly:
        return -1
    count = iht.state[0]
    size = iht.state[2]
    if count >= size:
        iht.state[1] += 1
        return h % size  # Python's modulo: non-negative
    for i in range(n):
        iht.keys[slot, i] = coords[i]
    iht.lengths[slot] = n
    iht.slots[slot] = count
    iht.state[0] = count + 1
    return count


@njit(cache=True)
def tiles_into(iht, num_tilings, floats, ints, coords, out, readonly=False):
    """The reference's ``tiles(iht, num_tilings, floats, ints, readonly)`` written into
    ``out`` int64[num_tilings]; ``coords`` int64[>= 1 + len(floats) + len(ints)] is scratch
    space (no allocation: for hot loops)."""
    nf = floats.shape[0]
    n = 1 + nf + ints.shape[0]
    for tiling in range(num_tilings):
        coords[0] = tiling
        b = tiling
        for i in range(nf):
            q = np.int64(np.floor(floats[i] * num_tilings))
            coords[1 + i] = (q + b) // num_tilings
            b += 2 * tiling
        for j in range(ints.shape[0]):
            coords[1 + nf + j] = ints[j]
        out[tiling] = iht_index(iht, coords, n, readonly)
    return out


@njit(cache=True)
def tiles(iht, num_tilings, floats, ints):
    """The reference's ``tiles(iht, num_tilings, floats, ints)``: int64[num_tilings]."""
    coords = np.empty(1 + floats.shape[0] + ints.shape[0], dtype=np.int64)
    out = np.empty(num_tilings, dtype=np.int64)
    return tiles_into(iht, num_tilings, floats, ints, coords, out, False)


# ---------------------------------------------------------------------------------------------
# Sparse feature tables over a 1-D state s = 1..n (row 0 and row n + 1 are the terminal states,
# all-zero features), for the 1,000-state random walk of Chapter 9.


def aggregation_table(n_states: int, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """State aggregation (Section 9.3): state s (1..n) in group (s - 1) * n_groups // n.
    Returns (idx int64[n + 2, 1], val float64[n + 2, 1]); terminal rows have value 0."""
    if n_states % n_groups:
        raise ValueError(f"n_groups ({n_groups}) must divide n_states ({n_states})")
    s = np.arange(n_states + 2)
    idx = np.clip((s - 1) * n_groups // n_states, 0, n_groups - 1).reshape(-1, 1)
    val = np.ones((n_states + 2, 1))
    val[0] = val[-1] = 0.0
    return idx.astype(np.int64), val


def _unit(n_states: int) -> np.ndarray:
    """State s = 1..n normalised to s / n in (0, 1] (terminal rows: 0, masked later)."""
    return np.arange(n_states + 2) / n_states


def polynomial_table(n_states: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Polynomial basis (Section 9.5.1) on x = s / n: features x^0 .. x^order."""
    x = _unit(n_states)
    powers = np.arange(order + 1)
    val = x[:, None] ** powers[None, :]
    val[0] = val[-1] = 0.0
    idx = np.broadcast_to(powers, val.shape).astype(np.int64).copy()
    return idx, val


def fourier_table(n_states: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Fourier cosine basis (Section 9.5.2) on x = s / n: features cos(i pi x), i = 0..order."""
    x = _unit(n_states)
    freqs = np.arange(order + 1)
    val = np.cos(np.pi * x[:, None] * freqs[None, :])
    val[0] = val[-1] = 0.0
    idx = np.broadcast_to(freqs, val.shape).astype(np.int64).copy()
    return idx, val


def tile_table_1d(
    n_states: int, n_tilings: int, tile_width: int, offset: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Tile coding of the 1-D state (Section 9.5.4, Figure 9.10): ``n_tilings`` tilings of tiles
    ``tile_width`` states wide, tiling ``t`` shifted left by ``t * offset`` states. Returns
    (idx int64[n + 2, n_tilings], val float64[n + 2, n_tilings], number of features)."""
    per_tiling = n_states // tile_width + 1
    s = np.arange(n_states + 2)
    t = np.arange(n_tilings)
    tile = (s[:, None] - 1 + t[None, :] * offset) // tile_width
    idx = (t[None, :] * per_tiling + tile).astype(np.int64)
    idx[0] = idx[-1] = 0
    val = np.ones(idx.shape)
    val[0] = val[-1] = 0.0
    return idx, val, n_tilings * per_tiling
