"""On-policy prediction with linear function approximation (Sutton & Barto, Chapter 9) on the
1,000-state random walk.

The walk (Example 9.1): states 1..n (n = 1,000), start n / 2; each step jumps to one of the
``jump`` (100) states on the left or right with equal probability; a jump past an end
terminates with reward -1 (left) or +1 (right); gamma = 1. State 0 and n + 1 stand for the two
terminal states.

The value estimate is linear, v(s) = sum_j w[idx[s, j]] * val[s, j], over a sparse feature
table from `numbarl.approx.features` (aggregation, polynomial, Fourier, tile coding), so one
kernel serves every representation of Figures 9.1, 9.2, 9.5 and 9.10:

- `gradient_mc`: gradient Monte Carlo, book p. 202;
- `semi_gradient_td`: n-step semi-gradient TD, book p. 209 (n = 1: semi-gradient TD(0), p. 203).

Both have the signature ``kernel(idx, val, n_features, cfg, truth, weights, rng)`` and return
``(w float64[d], error float64[E // cfg.record_every], visits int64[n + 2])``: ``error[k]`` is
sqrt(sum_s weights[s] (v(s) - truth[s])^2) after episode (k + 1) * record_every, so
``weights = mu`` gives the book's root mean squared value error sqrt(VE) (Eq. 9.1) and uniform
weights the RMS error over states (Figure 9.2 right). With ``rng`` last,
``numbarl.runs.run_many(kernel, runs, seed, idx, val, n_features, cfg, truth, weights)`` runs
seeded repetitions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = [
    "PredictionConfig",
    "gradient_mc",
    "linear_values",
    "random_walk_truth",
    "semi_gradient_td",
    "walk_step",
]

N_STATES = 1000
JUMP = 100


class PredictionConfig(NamedTuple):
    """alpha: step size; n: steps of n-step TD (ignored by MC); episodes; record_every: episodes
    between two error records; n_states, jump: the walk's size and jump range."""

    alpha: float = 2e-5
    n: int = 1
    episodes: int = 100_000
    record_every: int = 1
    n_states: int = N_STATES
    jump: int = JUMP


def make_config(**fields) -> PredictionConfig:
    """A `PredictionConfig` with fields cast to the compiled signature's types, validated."""
    cfg = PredictionConfig(**fields)
    cfg = PredictionConfig(
        float(cfg.alpha), int(cfg.n), int(cfg.episodes), int(cfg.record_every),
        int(cfg.n_states), int(cfg.jump),
    )  # fmt: skip
    if not cfg.alpha > 0:
        raise ValueError(f"alpha must be > 0, got {cfg.alpha}")
    for name in ("n", "episodes", "record_every", "n_states", "jump"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    return cfg


@njit(cache=True, inline="always")
def walk_step(s, n_states, jump, rng):
    """One step of the walk from s: (s_next, reward, terminated); s_next is 0 or n + 1 when the
    walk leaves on the left or right."""
    k = rng.integers(0, 2 * jump)
    s_next = s + (k - jump if k < jump else k - jump + 1)
    if s_next < 1:
        return 0, -1.0, True
    if s_next > n_states:
        return n_states + 1, 1.0, True
    return s_next, 0.0, False


@njit(cache=True, inline="always")
def _value(w, idx, val, s):
    v = 0.0
    for j in range(idx.shape[1]):
        v += w[idx[s, j]] * val[s, j]
    return v


@njit(cache=True, inline="always")
def _update(w, idx, val, s, step):
    for j in range(idx.shape[1]):
        w[idx[s, j]] += step * val[s, j]


@njit(cache=True)
def linear_values(w, idx, val):
    """v(s) for every row of the feature table: float64[S]."""
    v = np.empty(idx.shape[0])
    for s in range(idx.shape[0]):
        v[s] = _value(w, idx, val, s)
    return v


@njit(cache=True)
def _error(w, idx, val, truth, weights):
    total = 0.0
    for s in range(idx.shape[0]):
        if weights[s] != 0.0:
            d = _value(w, idx, val, s) - truth[s]
            total += weights[s] * d * d
    return np.sqrt(total)


@njit(cache=True, nogil=True)
def gradient_mc(idx, val, n_features, cfg, truth, weights, rng):
    """Gradient Monte Carlo (book p. 202) with w = 0: after each episode, for t = 0..T-1 in
    order, w += alpha (G - v(S_t)) x(S_t), with G the episode's only reward (gamma = 1).
    ``visits[s]`` counts the visits to each state over all episodes (the book's mu)."""
    w = np.zeros(n_features)
    error = np.empty(cfg.episodes // cfg.record_every)
    visits = np.zeros(cfg.n_states + 2, dtype=np.int64)
    buf = np.empty(1024, dtype=np.int64)
    start = cfg.n_states // 2
    for episode in range(cfg.episodes):
        s = start
        T = 0
        while True:
            if T == buf.shape[0]:
                bigger = np.empty(2 * T, dtype=np.int64)
                bigger[:T] = buf
                buf = bigger
            buf[T] = s
            visits[s] += 1
            T += 1
            s, r, terminated = walk_step(s, cfg.n_states, cfg.jump, rng)
            if terminated:
                break
        g = r
        for t in range(T):
            st = buf[t]
            _update(w, idx, val, st, cfg.alpha * (g - _value(w, idx, val, st)))
        if (episode + 1) % cfg.record_every == 0:
            error[(episode + 1) // cfg.record_every - 1] = _error(w, idx, val, truth, weights)
    return w, error, visits


@njit(cache=True, nogil=True)
def semi_gradient_td(idx, val, n_features, cfg, truth, weights, rng):
    """n-step semi-gradient TD (book p. 209) with w = 0 and gamma = 1: at time tau the target
    is G = R_{tau+1} + ... + R_{min(tau+n, T)} + v(S_{tau+n}) [if tau + n < T]; the walk's only
    non-zero reward is the last. n = 1 is semi-gradient TD(0)."""
    n = cfg.n
    w = np.zeros(n_features)
    error = np.empty(cfg.episodes // cfg.record_every)
    visits = np.zeros(cfg.n_states + 2, dtype=np.int64)
    states = np.empty(n + 1, dtype=np.int64)
    never = 1 << 62
    for episode in range(cfg.episodes):
        states[0] = cfg.n_states // 2
        visits[states[0]] += 1
        T = never
        last_reward = 0.0
        t = 0
        while True:
            if t < T:
                s_next, r, terminated = walk_step(states[t % (n + 1)], cfg.n_states, cfg.jump, rng)
                states[(t + 1) % (n + 1)] = s_next
                if terminated:
                    T = t + 1
                    last_reward = r
                else:
                    visits[s_next] += 1
            tau = t - n + 1
            if tau >= 0:
                if tau + n < T:
                    g = _value(w, idx, val, states[(tau + n) % (n + 1)])
                else:
                    g = last_reward
                s_tau = states[tau % (n + 1)]
                _update(w, idx, val, s_tau, cfg.alpha * (g - _value(w, idx, val, s_tau)))
            if tau == T - 1:
                break
            t += 1
        if (episode + 1) % cfg.record_every == 0:
            error[(episode + 1) // cfg.record_every - 1] = _error(w, idx, val, truth, weights)
    return w, error, visits


def random_walk_truth(n_states: int = N_STATES, jump: int = JUMP) -> tuple[np.ndarray, np.ndarray]:
    """(v_pi float64[n + 2], mu float64[n + 2]) of the walk, exactly: v_pi solves the Bellman
    equation (I - P) v = r over the non-terminal states; mu is the on-policy distribution
    (Eq. 9.2-9.3: expected visits per episode from the start state, normalised). Terminal
    entries are 0."""
    n = n_states
    p = np.zeros((n, n))
    r = np.zeros(n)
    for i in range(n):
        s = i + 1
        for k in range(1, jump + 1):
            for s_next in (s - k, s + k):
                if s_next < 1:
                    r[i] -= 1.0 / (2 * jump)
                elif s_next > n:
                    r[i] += 1.0 / (2 * jump)
                else:
                    p[i, s_next - 1] += 1.0 / (2 * jump)
    eye = np.eye(n)
    v = np.linalg.solve(eye - p, r)
    h = np.zeros(n)
    h[n // 2 - 1] = 1.0
    eta = np.linalg.solve((eye - p).T, h)
    v_full = np.zeros(n + 2)
    v_full[1:-1] = v
    mu = np.zeros(n + 2)
    mu[1:-1] = eta / eta.sum()
    return v_full, mu


METHODS = {"gradient_mc": gradient_mc, "semi_gradient_td": semi_gradient_td}


def evaluate_many(
    method: str,
    table: tuple[np.ndarray, np.ndarray, int],
    runs: int,
    seed: int,
    truth: np.ndarray,
    weights: np.ndarray,
    **config: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``runs`` seeded runs of ``method`` ("gradient_mc" or "semi_gradient_td") with the
    feature table ``(idx, val, n_features)``: (w float64[R, d], error float64[R, K],
    visits int64[R, n + 2]); run i uses the i-th generator spawned from ``seed``
    (`numbarl.runs.run_many`), so every setting sees the same walks."""
    from numbarl.runs import run_many

    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    cfg = make_config(**config)
    idx, val, n_features = table
    if idx.shape[0] != cfg.n_states + 2 or truth.shape[0] != cfg.n_states + 2:
        raise ValueError(f"the feature table and truth need n_states + 2 = {cfg.n_states + 2} rows")
    return run_many(METHODS[method], runs, seed, idx, val, int(n_features), cfg, truth, weights)
