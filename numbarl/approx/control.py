"""On-policy control with linear function approximation (Sutton & Barto, Chapters 10 and 12).

Mountain Car with tile coding (8 tilings, the book's ``tiles()`` with an `IHT` of ``iht_size``):

- `n_step_sarsa`: episodic semi-gradient n-step Sarsa, book p. 247 (n = 1: semi-gradient
  Sarsa, p. 244), with snapshots of the cost-to-go -max_a q(s, a) on a grid (Figure 10.1);
- `sarsa_lambda`: Sarsa(lambda) with binary features, book p. 305, with accumulating, replacing
  or replacing-with-clearing traces, and true online Sarsa(lambda), book p. 307 (Figures 12.10,
  12.11).

Access control (Example 10.2): `differential_sarsa`, differential semi-gradient Sarsa, book
p. 251, with one feature per (free servers, priority, action) (Figure 10.5).

Conventions: weights start at 0 (optimistic on Mountain Car, whose rewards are -1); greedy ties
are broken uniformly at random; ``alpha`` is the step size of each weight (the book's "alpha =
0.5/8" is ``alpha=0.0625``). The env enters the Mountain Car kernels only through
`numbarl.approx.mountain_car`'s ``reset``, ``step`` and ``features``. An episode longer than
``max_steps`` is cut there and ends as if terminal (the book has no limit; the step sizes its
figures draw stay far below it, while e.g. accumulating traces at lambda 0.9 and alpha 0.5/8
diverge in some runs): its steps are recorded as ``max_steps``.
Trace updates run over the features seen so far (indices below the IHT's count; all others
have zero traces), which is exact.
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np
from numba import njit

from numbarl.approx import mountain_car as mc
from numbarl.approx.features import IHT
from numbarl.approx.tile_sarsa import (
    ACCUMULATING,
    REPLACING,
    REPLACING_CLEARING,
    TRACES,
    TRUE_ONLINE,
    action_values,
    greedy_action,
    n_step_buffers,
    sarsa_lambda_update,
    tile_value,
)

__all__ = [
    "ACCUMULATING",
    "REPLACING",
    "REPLACING_CLEARING",
    "TRUE_ONLINE",
    "AccessControlConfig",
    "SarsaConfig",
    "SarsaLambdaConfig",
    "access_control_step",
    "differential_sarsa",
    "greedy_action",
    "make_sarsa_config",
    "make_sarsa_lambda_config",
    "n_step_sarsa",
    "sarsa_lambda",
]

T = TypeVar("T", bound=tuple)


class SarsaConfig(NamedTuple):
    """Semi-gradient n-step Sarsa on Mountain Car; ``alpha`` per weight (0.5 / 8 tilings)."""

    alpha: float = 0.0625
    n: int = 1
    gamma: float = 1.0
    epsilon: float = 0.0
    episodes: int = 500
    num_tilings: int = 8
    iht_size: int = 4096
    max_steps: int = 100_000


class SarsaLambdaConfig(NamedTuple):
    """Sarsa(lambda) on Mountain Car; ``trace``: ACCUMULATING, REPLACING, REPLACING_CLEARING or
    TRUE_ONLINE."""

    alpha: float = 0.0625
    lam: float = 0.9
    trace: int = REPLACING
    gamma: float = 1.0
    epsilon: float = 0.0
    episodes: int = 50
    num_tilings: int = 8
    iht_size: int = 4096
    max_steps: int = 100_000


def _cast(cfg: T) -> T:
    """``cfg`` with each field cast to its default's type (float or int): one compiled
    signature whatever the caller passed (``alpha=1`` or an ``np.int32``)."""
    defaults = type(cfg)()
    fields = zip(cfg, defaults, strict=True)
    return type(cfg)(*(float(x) if isinstance(d, float) else int(x) for x, d in fields))


def _check(cfg: NamedTuple) -> None:
    if not cfg.alpha > 0:
        raise ValueError(f"alpha must be > 0, got {cfg.alpha}")
    for name in ("gamma", "epsilon") + (("lam",) if hasattr(cfg, "lam") else ()):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {getattr(cfg, name)}")
    for name in ("n", "episodes", "num_tilings", "iht_size", "max_steps"):
        if hasattr(cfg, name) and getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")


def make_sarsa_config(**fields) -> SarsaConfig:
    """A validated `SarsaConfig` with fields cast to the compiled signature's types."""
    cfg = SarsaConfig(**fields)
    cfg = _cast(cfg)
    _check(cfg)
    return cfg


def make_sarsa_lambda_config(**fields) -> SarsaLambdaConfig:
    """A validated `SarsaLambdaConfig`; ``trace`` may be a name of `TRACES`."""
    if isinstance(fields.get("trace"), str):
        if fields["trace"] not in TRACES:
            raise ValueError(f"trace must be one of {sorted(TRACES)}, got {fields['trace']!r}")
        fields["trace"] = TRACES[fields["trace"]]
    cfg = SarsaLambdaConfig(**fields)
    cfg = _cast(cfg)
    if cfg.trace not in TRACES.values():
        raise ValueError(f"trace must be one of {sorted(TRACES)}, got {cfg.trace}")
    _check(cfg)
    return cfg


# ---------------------------------------------------------------------------------------------
# Building blocks


@njit(cache=True)
def cost_to_go(w, iht, memo, num_tilings, xs, vs):
    """-max_a q(x, v, a) on the grid xs x vs: float64[len(xs), len(vs)]; unseen tiles count 0
    and are not added to the IHT (read-only look-ups)."""
    coords = mc.scratch(num_tilings)
    feats = np.empty((mc.N_ACTIONS, num_tilings), dtype=np.int64)
    out = np.empty((xs.shape[0], vs.shape[0]))
    for i in range(xs.shape[0]):
        for j in range(vs.shape[0]):
            mc.features(iht, memo, num_tilings, xs[i], vs[j], coords, feats, True)
            best = -np.inf
            for a in range(mc.N_ACTIONS):
                q = 0.0
                for k in range(num_tilings):
                    if feats[a, k] >= 0:
                        q += w[feats[a, k]]
                best = max(best, q)
            out[i, j] = -best
    return out


# ---------------------------------------------------------------------------------------------
# Semi-gradient n-step Sarsa (Chapter 10)


@njit(cache=True, nogil=True)
def n_step_sarsa(cfg, snapshots, xs, vs, rng):
    """Episodic semi-gradient n-step Sarsa (book p. 247) on Mountain Car.

    snapshots int64[K]: episodes (1-based) after which to record the cost-to-go on the grid
    xs float64[X] x vs float64[V]. Returns (steps int64[E], w float64[iht_size], iht,
    costs float64[K, X, V])."""
    n = cfg.n
    nt = cfg.num_tilings
    iht = IHT(*make_iht_njit(cfg.iht_size))
    memo = mc.make_memo(cfg.num_tilings)
    w = np.zeros(cfg.iht_size)
    steps = np.zeros(cfg.episodes, dtype=np.int64)
    costs = np.zeros((snapshots.shape[0], xs.shape[0], vs.shape[0]))
    coords = mc.scratch(nt)
    feats = np.empty((mc.N_ACTIONS, nt), dtype=np.int64)
    q = np.empty(mc.N_ACTIONS)
    chosen, rewards, discounts, mask = n_step_buffers(n, nt, cfg.gamma)
    snap = 0
    for episode in range(cfg.episodes):
        x, v = mc.reset(rng)
        mc.features(iht, memo, nt, x, v, coords, feats)
        a = greedy_action(action_values(w, feats, q), cfg.epsilon, rng)
        chosen[0] = feats[a]
        never = 1 << 62
        T = never
        t = 0
        while True:
            if t < T:
                x, v, r, terminated = mc.step(x, v, a)
                rewards[(t + 1) & mask] = r
                if terminated or t + 1 >= cfg.max_steps:  # a cut episode ends as if terminal
                    T = t + 1
                else:
                    mc.features(iht, memo, nt, x, v, coords, feats)
                    a = greedy_action(action_values(w, feats, q), cfg.epsilon, rng)
                    chosen[(t + 1) & mask] = feats[a]
            tau = t - n + 1
            if tau >= 0:
                g = 0.0
                for i in range(tau + 1, min(tau + n, T) + 1):
                    g += discounts[i - tau - 1] * rewards[i & mask]
                if tau + n < T:
                    g += discounts[n] * tile_value(w, chosen[(tau + n) & mask])
                f = chosen[tau & mask]
                delta = cfg.alpha * (g - tile_value(w, f))
                for j in range(nt):
                    w[f[j]] += delta
            if tau == T - 1:
                break
            t += 1
        steps[episode] = T
        while snap < snapshots.shape[0] and snapshots[snap] == episode + 1:
            costs[snap] = cost_to_go(w, iht, memo, nt, xs, vs)
            snap += 1
    return steps, w, iht, costs


@njit(cache=True)
def make_iht_njit(size):
    """`numbarl.approx.features.make_iht(size, 4)` inside compiled code (a fresh table per run)."""
    capacity = 1
    while capacity < 2 * size:
        capacity *= 2
    state = np.zeros(3, dtype=np.int64)
    state[2] = size
    return (
        np.zeros((capacity, 4), dtype=np.int64),
        np.zeros(capacity, dtype=np.int64),
        np.zeros(capacity, dtype=np.int64),
        state,
    )


# ---------------------------------------------------------------------------------------------
# Sarsa(lambda) and true online Sarsa(lambda) (Chapter 12)


@njit(cache=True, nogil=True)
def sarsa_lambda(cfg, rng):
    """Sarsa(lambda) with binary features (book p. 305) or true online Sarsa(lambda) (p. 307)
    on Mountain Car. Returns (steps int64[E], w float64[iht_size])."""
    nt = cfg.num_tilings
    iht = IHT(*make_iht_njit(cfg.iht_size))
    memo = mc.make_memo(cfg.num_tilings)
    w = np.zeros(cfg.iht_size)
    z = np.zeros(cfg.iht_size)
    steps = np.zeros(cfg.episodes, dtype=np.int64)
    coords = mc.scratch(nt)
    fs = np.empty((mc.N_ACTIONS, nt), dtype=np.int64)  # F(S, b) for every action b
    fn = np.empty((mc.N_ACTIONS, nt), dtype=np.int64)  # F(S', b)
    q = np.empty(mc.N_ACTIONS)
    gl = cfg.gamma * cfg.lam
    for episode in range(cfg.episodes):
        x, v = mc.reset(rng)
        mc.features(iht, memo, nt, x, v, coords, fs)
        a = greedy_action(action_values(w, fs, q), cfg.epsilon, rng)
        z[: iht.state[0]] = 0.0
        q_old = 0.0
        t = 0
        while True:
            x, v, r, terminated = mc.step(x, v, a)
            t += 1
            done = terminated or t >= cfg.max_steps  # a cut episode ends as if terminal
            a_next = 0
            if not done:
                mc.features(iht, memo, nt, x, v, coords, fn)
                a_next = greedy_action(action_values(w, fn, q), cfg.epsilon, rng)
            q_old = sarsa_lambda_update(
                w, z, fs, a, fn[a_next], r, not done, cfg.trace, cfg.gamma, gl, cfg.alpha,
                iht.state[0], q_old,
            )  # fmt: skip
            if done:
                break
            fs[:] = fn
            a = a_next
        steps[episode] = t
    return steps, w


# ---------------------------------------------------------------------------------------------
# Access control queuing (Example 10.2): differential semi-gradient Sarsa (Chapter 10.3)


class AccessControlConfig(NamedTuple):
    """Differential semi-gradient Sarsa on the access-control task; ``servers`` servers, each
    busy one freed with probability ``p_free`` per step; customers' priorities (= reward when
    accepted) uniform over 1, 2, 4, 8."""

    alpha: float = 0.01
    beta: float = 0.01
    epsilon: float = 0.1
    steps: int = 2_000_000
    servers: int = 10
    p_free: float = 0.06


PRIORITIES = np.array([1.0, 2.0, 4.0, 8.0])
REJECT, ACCEPT = 0, 1


def make_access_control_config(**fields) -> AccessControlConfig:
    """A validated `AccessControlConfig` with fields cast to the compiled signature's types."""
    cfg = AccessControlConfig(**fields)
    cfg = _cast(cfg)
    for name in ("alpha", "beta"):
        if not getattr(cfg, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(cfg, name)}")
    for name in ("epsilon", "p_free"):
        if not 0.0 <= getattr(cfg, name) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {getattr(cfg, name)}")
    for name in ("steps", "servers"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(cfg, name)}")
    return cfg


@njit(cache=True, inline="always")
def access_control_step(free, priority, action, servers, p_free, rng):
    """One step from (free servers, priority index) with action (REJECT / ACCEPT; with no free
    server the customer is rejected): (free', priority index', reward). After the decision each
    busy server frees with probability p_free; the next customer's priority is uniform."""
    reward = 0.0
    if action == ACCEPT and free > 0:
        free -= 1
        reward = PRIORITIES[priority]
    busy = servers - free
    if busy > 0:
        free += rng.binomial(busy, p_free)
    return free, rng.integers(0, PRIORITIES.shape[0]), reward


@njit(cache=True, inline="always")
def _access_action(q, free, priority, epsilon, rng):
    """Epsilon-greedy over q[free, priority] (ties at random); REJECT when no server is free."""
    if free == 0:
        return REJECT
    return greedy_action(q[free, priority], epsilon, rng)


@njit(cache=True, nogil=True)
def differential_sarsa(cfg, rng):
    """Differential semi-gradient Sarsa (book p. 251) with one feature per (free, priority,
    action), q = 0 and average reward R = 0 at the start. Returns (q float64[servers + 1, 4, 2],
    average_reward, visits int64[servers + 1, 4])."""
    q = np.zeros((cfg.servers + 1, PRIORITIES.shape[0], 2))
    visits = np.zeros((cfg.servers + 1, PRIORITIES.shape[0]), dtype=np.int64)
    r_bar = 0.0
    free = cfg.servers
    priority = rng.integers(0, PRIORITIES.shape[0])
    a = _access_action(q, free, priority, cfg.epsilon, rng)
    for _ in range(cfg.steps):
        visits[free, priority] += 1
        free_next, priority_next, r = access_control_step(
            free, priority, a, cfg.servers, cfg.p_free, rng
        )
        a_next = _access_action(q, free_next, priority_next, cfg.epsilon, rng)
        delta = r - r_bar + q[free_next, priority_next, a_next] - q[free, priority, a]
        r_bar += cfg.beta * delta
        q[free, priority, a] += cfg.alpha * delta
        free, priority, a = free_next, priority_next, a_next
    return q, r_bar, visits


# ---------------------------------------------------------------------------------------------
# Many seeded runs (numbarl.runs.run_many: run i gets the i-th spawned generator)


def sarsa_many(runs: int, seed: int, **config: float) -> np.ndarray:
    """Steps per episode int64[runs, episodes] of `n_step_sarsa` with `SarsaConfig` fields."""
    from numbarl.runs import run_many

    cfg = make_sarsa_config(**config)
    none = np.zeros(0, dtype=np.int64)
    grid = np.zeros(0)
    return run_many(n_step_sarsa, runs, seed, cfg, none, grid, grid)[0]


def sarsa_lambda_many(runs: int, seed: int, **config: float) -> np.ndarray:
    """Steps per episode int64[runs, episodes] of `sarsa_lambda` with `SarsaLambdaConfig`
    fields (``trace`` by name or number)."""
    from numbarl.runs import run_many

    cfg = make_sarsa_lambda_config(**config)
    return run_many(sarsa_lambda, runs, seed, cfg)[0]
