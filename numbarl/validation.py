"""Input validation shared by every Python shell: seeds, generators, finite checks and the value
ranges config fields declare.

Python shells check their input here before compiled code runs (ValueError/TypeError naming what
is allowed); the compiled loops use `all_finite` to stop on divergence. Config records themselves
are built and range-checked by `numbarl.config`, which reads the ranges below.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# A value range as config classes declare it in ``_ranges``: (low, high, low_inclusive,
# high_inclusive); None = unbounded.
Range = tuple[float | None, float | None, bool, bool]

UNIT: Range = (0.0, 1.0, True, True)  # [0, 1]
UNIT_OPEN_LOW: Range = (0.0, 1.0, False, True)  # (0, 1]
POSITIVE: Range = (0.0, None, False, True)  # > 0
NON_NEGATIVE: Range = (0.0, None, True, True)  # >= 0
AT_LEAST_ONE: Range = (1.0, None, True, True)  # >= 1


def check_seed(seed: Any) -> int:
    """``seed`` as an int; ValueError unless it is a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def as_generator(seed_or_rng: int | np.random.Generator) -> np.random.Generator:
    """A Generator from a non-negative integer seed (``np.random.default_rng(seed)``) or itself."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if isinstance(seed_or_rng, bool) or not isinstance(seed_or_rng, int | np.integer):
        raise TypeError(
            f"seed must be a non-negative integer or np.random.Generator, got {seed_or_rng!r}"
        )
    return np.random.default_rng(check_seed(seed_or_rng))


def check_finite(name: str, value: Any) -> float:
    """``value`` as a float; ValueError naming ``name`` unless it is a finite number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a finite number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(out):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return out


def _all_finite(a: np.ndarray) -> bool:
    """True when every entry of the contiguous float64 array ``a`` (any shape) is finite.

    Sums a * 0.0: 0.0 for finite entries, NaN for NaN or +-inf (so the loop vectorises)."""
    f = a.reshape(a.size)
    s = 0.0
    for k in range(f.size):
        s += f[k] * 0.0
    return s == 0.0


def __getattr__(name: str) -> Any:
    # ``all_finite`` is `_all_finite` compiled (njit, cached): built on first use so that the
    # Python shells importing this module (and ``import numbarl``) do not load Numba.
    if name == "all_finite":
        from numba import njit

        compiled = njit(cache=True, fastmath={"reassoc"})(_all_finite)
        globals()["all_finite"] = compiled
        return compiled
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
