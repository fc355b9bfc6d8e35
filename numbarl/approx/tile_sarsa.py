"""Semi-gradient Sarsa on binary tile features (Sutton & Barto, Chapters 10 and 12): the pieces
both tile-coding learners share, the Mountain Car kernels of `numbarl.approx.control` (the
book's figures) and the env-door kernels of `numbarl.approx.train` (``numbarl.train``).

A feature vector is the list of its active tiles, ``f`` int64[T] (T tilings, value 1 each), so
``q(s, a) = sum_j w[f[j]]`` (`tile_value`). The two learners differ in their envs, their feature
functions and how an episode ends (the Mountain Car kernels end a cut episode as if terminal;
``numbarl.train``'s bootstrap at the time limit): the callers pass that as ``bootstrap``. The
n-step Sarsa update itself stays written out in each loop: as a shared inlined function it
measured 6-8% slower per step on Mountain Car (its four array arguments cost reference counting
every step), against 1-4% for the Sarsa(lambda) update, whose sweep over the weights dominates.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "ACCUMULATING",
    "REPLACING",
    "REPLACING_CLEARING",
    "TRACES",
    "TRUE_ONLINE",
    "action_values",
    "greedy_action",
    "n_step_buffers",
    "sarsa_lambda_update",
    "tile_value",
]

# Sarsa(lambda) variants (`sarsa_lambda_update`'s ``trace``).
ACCUMULATING, REPLACING, REPLACING_CLEARING, TRUE_ONLINE = 0, 1, 2, 3
TRACES = {
    "accumulating": ACCUMULATING,
    "replacing": REPLACING,
    "replacing_clearing": REPLACING_CLEARING,
    "true_online": TRUE_ONLINE,
}


@njit(cache=True, inline="always")
def tile_value(w, f):
    """Sum of w float64[N] over the active tiles f int64[T]."""
    total = 0.0
    for j in range(f.shape[0]):
        total += w[f[j]]
    return total


@njit(cache=True, inline="always")
def action_values(w, feats, q):
    """q[a] = `tile_value` of each action's tiles feats int64[A, T], into q float64[A]."""
    for a in range(feats.shape[0]):
        q[a] = tile_value(w, feats[a])
    return q


@njit(cache=True)
def greedy_action(q, epsilon, rng):
    """Epsilon-greedy over q float64[A], ties broken uniformly at random (one draw for the
    exploration test when epsilon > 0, one for the tie when there is one)."""
    n = q.shape[0]
    if epsilon > 0.0 and rng.random() < epsilon:
        return rng.integers(0, n)
    best = q[0]
    ties = 1
    for a in range(1, n):
        if q[a] > best:
            best = q[a]
            ties = 1
        elif q[a] == best:
            ties += 1
    if ties == 1:
        for a in range(n):
            if q[a] == best:
                return a
    k = rng.integers(0, ties)
    for a in range(n):
        if q[a] == best:
            if k == 0:
                return a
            k -= 1
    return n - 1


# ---------------------------------------------------------------------------------------------
# n-step Sarsa (book p. 247)


@njit(cache=True, inline="always")
def n_step_buffers(n, num_tilings, gamma):
    """Ring buffers of a power-of-two length L >= n + 1, indexed with ``t & mask`` (no
    division): (chosen int64[L, T] the tiles of (S_t, A_t), rewards float64[L] R_t,
    discounts float64[n + 1] gamma^i, mask)."""
    length = 1
    while length < n + 1:
        length *= 2
    chosen = np.empty((length, num_tilings), dtype=np.int64)
    rewards = np.zeros(length)
    discounts = np.ones(n + 1)
    for i in range(1, n + 1):
        discounts[i] = discounts[i - 1] * gamma
    return chosen, rewards, discounts, length - 1


# ---------------------------------------------------------------------------------------------
# Sarsa(lambda) with binary features (book p. 305) and true online Sarsa(lambda) (p. 307)


@njit(cache=True, inline="always")
def sarsa_lambda_update(w, z, fs, a, f_next, r, bootstrap, trace, gamma, gl, alpha, count, q_old):
    """One step from (S, A) with reward ``r`` to (S', A') whose tiles are ``f_next`` (read only
    if ``bootstrap``), updating w and z float64[N] in place. ``fs`` int64[A, T] holds the tiles
    of every action in S (replacing-with-clearing zeroes the other actions' traces), ``gl`` is
    gamma * lambda, ``count`` the number of tile indices handed out so far (traces beyond are
    0, so the sweeps over w and z stop there, exactly). Returns true online's Q_old for the
    next step (``q_old`` unchanged for the other traces)."""
    f = fs[a]
    if trace == TRUE_ONLINE:
        q_sa = tile_value(w, f)
        q_next = tile_value(w, f_next) if bootstrap else 0.0
        delta = r + gamma * q_next - q_sa
        zx = tile_value(z, f)
        c1 = alpha * (delta + q_sa - q_old)
        for i in range(count):  # z <- gl z, and w <- w + c1 z for that part of z
            zi = z[i] * gl
            z[i] = zi
            w[i] += c1 * zi
        e = 1.0 - alpha * gl * zx  # z <- z + e x; w <- w + c1 e x - alpha (Q - Q_old) x
        step_x = c1 * e - alpha * (q_sa - q_old)
        for j in range(f.shape[0]):
            z[f[j]] += e
            w[f[j]] += step_x
        return q_next
    delta = r - tile_value(w, f)
    if trace == REPLACING_CLEARING:
        for b in range(fs.shape[0]):  # clear the other actions' traces at S
            if b != a:
                for j in range(fs.shape[1]):
                    z[fs[b, j]] = 0.0
    for j in range(f.shape[0]):
        if trace == ACCUMULATING:
            z[f[j]] += 1.0
        else:
            z[f[j]] = 1.0
    if bootstrap:
        delta += gamma * tile_value(w, f_next)
    ad = alpha * delta
    if gl == 0.0:  # lambda 0: only x(S, A) has a trace, and none survives the step
        for j in range(f.shape[0]):  # (skipping w[i] + ad * 0.0 == w[i] changes no byte)
            i = f[j]
            if z[i] != 0.0:  # a tile listed twice (a full IHT) counts once
                w[i] += ad * z[i]
                z[i] *= gl
    else:
        for i in range(count):
            w[i] += ad * z[i]
            z[i] *= gl
    return q_old
