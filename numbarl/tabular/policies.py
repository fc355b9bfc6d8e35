"""Action selection over tables: greedy with random tie-breaking, epsilon-greedy, sampling.

All respect ``allowed`` (bool[A]): actions not allowed in the state are never chosen. Ties in the
argmax are broken uniformly at random with the caller's generator, as the book does.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def best_allowed(values: np.ndarray, allowed: np.ndarray) -> tuple[int, float, int]:
    """(first index of the largest allowed value, that value, how many allowed values equal it);
    the first index is -1 when nothing is allowed."""
    best = -np.inf
    n_best = 0
    first = -1
    for a in range(values.shape[0]):
        if not allowed[a]:
            continue
        v = values[a]
        if first < 0 or v > best:
            best = v
            n_best = 1
            first = a
        elif v == best:
            n_best += 1
    return first, best, n_best


@njit(cache=True, inline="always")
def nth_best(values: np.ndarray, allowed: np.ndarray, first: int, best: float, j: int) -> int:
    """The ``j``-th (from 0) allowed index from ``first`` on whose value is ``best`` (the
    tie-break after `best_allowed`); ``first`` if there are fewer."""
    for a in range(first, values.shape[0]):
        if allowed[a] and values[a] == best:
            if j == 0:
                return a
            j -= 1
    return first


@njit(cache=True, inline="always")
def count_allowed(allowed: np.ndarray) -> int:
    """How many actions ``allowed`` bool[A] allows."""
    n = 0
    for a in range(allowed.shape[0]):
        if allowed[a]:
            n += 1
    return n


@njit(cache=True, inline="always")
def nth_allowed(allowed: np.ndarray, j: int) -> int:
    """The ``j``-th (from 0) allowed action; the last action if there are fewer."""
    for a in range(allowed.shape[0]):
        if allowed[a]:
            if j == 0:
                return a
            j -= 1
    return allowed.shape[0] - 1


@njit(cache=True, inline="always")
def argmax_random(values: np.ndarray, allowed: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the largest allowed value, ties broken uniformly at random.

    Draws one uniform only when there is a tie, so tie-free paths consume no randomness."""
    first, best, n_best = best_allowed(values, allowed)
    if n_best <= 1:
        return first
    return nth_best(values, allowed, first, best, int(rng.random() * n_best))


@njit(cache=True, inline="always")
def random_allowed(allowed: np.ndarray, rng: np.random.Generator) -> int:
    """A uniformly random allowed action."""
    return nth_allowed(allowed, int(rng.random() * count_allowed(allowed)))


@njit(cache=True, inline="always")
def epsilon_greedy(
    values: np.ndarray, allowed: np.ndarray, epsilon: float, rng: np.random.Generator
) -> int:
    """With probability epsilon a uniformly random allowed action, else the greedy one."""
    if epsilon > 0.0 and rng.random() < epsilon:
        return random_allowed(allowed, rng)
    return argmax_random(values, allowed, rng)


@njit(cache=True, inline="always")
def sample_action(probs: np.ndarray, rng: np.random.Generator) -> int:
    """Sample an index from probabilities float64[A] (one uniform; first k with cumsum > u)."""
    u = rng.random()
    c = 0.0
    last = 0
    for a in range(probs.shape[0]):
        if probs[a] > 0.0:
            c += probs[a]
            last = a
            if u < c:
                return a
    return last


def uniform_policy(mdp) -> np.ndarray:
    """The equiprobable random policy float64[S, A] over each state's allowed actions."""
    allowed = mdp.allowed.astype(np.float64)
    counts = allowed.sum(axis=1, keepdims=True)
    counts[counts == 0] = 1.0
    return allowed / counts


def check_policy(policy: np.ndarray, mdp, name: str = "policy") -> np.ndarray:
    """Validate a stochastic policy float64[S, A] for ``mdp``: shape, finite, non-negative, rows of
    non-terminal states summing to 1, no mass on actions that are not allowed."""
    pi = np.ascontiguousarray(policy, dtype=np.float64)
    shape = (mdp.n_states, mdp.n_actions)
    if pi.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (states, actions), got {pi.shape}")
    if not np.all(np.isfinite(pi)) or np.any(pi < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    live = ~mdp.terminal
    sums = pi[live].sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-9):
        bad = np.flatnonzero(live)[np.flatnonzero(~np.isclose(sums, 1.0, atol=1e-9))[0]]
        raise ValueError(f"{name}[{bad}] sums to {pi[bad].sum()!r}; each row must sum to 1")
    if np.any(pi[~mdp.allowed] > 0):
        s, a = np.argwhere((pi > 0) & ~mdp.allowed)[0]
        raise ValueError(f"{name}[{s}, {a}] puts mass on an action not allowed in state {s}")
    return pi
