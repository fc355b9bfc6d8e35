"""Finite-difference gradient checks shared by the network tests (run in float64)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial

import numpy as np

H = 1e-6


def rel_err(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||analytic - numeric|| / ||numeric|| (numeric's norm floored at 1e-12)."""
    return float(np.linalg.norm(analytic - numeric) / max(np.linalg.norm(numeric), 1e-12))


def central_diff(f: Callable[..., float], x: np.ndarray, h: float = H) -> np.ndarray:
    """d f / d x by central differences, perturbing ``x`` in place one entry at a time.

    ``f`` is called as ``f()`` (it reads ``x`` itself) or, if it takes one argument, ``f(x)``."""
    if inspect.signature(f).parameters:
        f = partial(f, x)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        up = f()
        flat[k] = old - h
        down = f()
        flat[k] = old
        gflat[k] = (up - down) / (2 * h)
    return g
