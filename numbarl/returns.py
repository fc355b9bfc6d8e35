"""Returns and advantages over flat trajectories, as njit kernels.

Several episodes are packed one after another in flat arrays of length T. Step ``t`` is the
transition (s_t, a_t) -> (r_t, s_{t+1}):

- ``rewards`` float64[T]: r_t, the reward received on leaving s_t (the book's R_{t+1});
- ``terminated`` bool[T]: s_{t+1} is terminal, so the episode ends and nothing is bootstrapped;
- ``truncated`` bool[T]: the episode was cut after step t (time limit, or end of the collected
  batch) although s_{t+1} is not terminal, so returns bootstrap from V(s_{t+1});
- ``values`` float64[T]: V(s_t); ``next_values`` float64[T]: V(s_{t+1}), read only where a
  bootstrap is needed (every step for TD targets, λ-returns and GAE; truncation for Monte Carlo).

An episode ends at a step that is terminated or truncated. The final step t = T - 1 always ends
the last episode: if it is neither terminated nor truncated it is treated as truncated (the
batch ended mid-episode). If both flags are set, ``terminated`` wins (no bootstrap).

Each quantity has a Python function that validates its input (equal lengths, finite values,
``gamma`` and ``lam`` in [0, 1], ``n >= 1``) and a ``*_kernel`` twin, ``@njit(cache=True)``,
that compiled code calls directly with float64/bool arrays of equal length and does no checks:

=========================  ===========================================================
Python                     compiled kernel
=========================  ===========================================================
``episode_boundaries``     ``episode_boundaries_kernel(terminated, truncated)``
``total_return``           ``total_return_kernel(rewards, terminated, truncated)``
``reward_to_go``           ``reward_to_go_kernel(rewards, terminated, truncated, gamma)``
``discounted_returns``     ``discounted_returns_kernel(rewards, next_values, terminated,
                           truncated, gamma)``
``n_step_returns``         ``n_step_returns_kernel(rewards, next_values, terminated,
                           truncated, gamma, n)``
``lambda_returns``         ``lambda_returns_kernel(rewards, next_values, terminated,
                           truncated, gamma, lam)``
``gae``                    ``gae_kernel(rewards, values, next_values, terminated,
                           truncated, gamma, lam)``
=========================  ===========================================================
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit

import numbarl.envs  # noqa: F401  (Numba's compile changes and the shared-callee cache reader)

__all__ = [
    "discounted_returns",
    "discounted_returns_kernel",
    "episode_boundaries",
    "episode_boundaries_kernel",
    "gae",
    "gae_kernel",
    "lambda_returns",
    "lambda_returns_kernel",
    "n_step_returns",
    "n_step_returns_kernel",
    "reward_to_go",
    "reward_to_go_kernel",
    "total_return",
    "total_return_kernel",
]


# ---------------------------------------------------------------------------------------------
# Compiled kernels


@njit(cache=True, inline="always")
def _ends(terminated: np.ndarray, truncated: np.ndarray, t: int) -> bool:
    """Whether step t is the last step of its episode (the final step always is)."""
    return terminated[t] or truncated[t] or t == terminated.shape[0] - 1


@njit(cache=True, nogil=True)
def episode_boundaries_kernel(
    terminated: np.ndarray, truncated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Episode ``i`` occupies steps ``starts[i] <= t < ends[i]`` (ends exclusive, as slices).

    terminated, truncated: bool[T]. Returns (starts int64[E], ends int64[E]); E = 0 if T = 0."""
    T = terminated.shape[0]
    n = 0
    for t in range(T):
        if _ends(terminated, truncated, t):
            n += 1
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    i = 0
    start = 0
    for t in range(T):
        if _ends(terminated, truncated, t):
            starts[i] = start
            ends[i] = t + 1
            start = t + 1
            i += 1
    return starts, ends


@njit(cache=True, nogil=True)
def total_return_kernel(
    rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Undiscounted episode return R(tau) = sum of the episode's r_t.

    Returns (per_step float64[T], the return of each step's episode; per_episode float64[E])."""
    starts, ends = episode_boundaries_kernel(terminated, truncated)
    per_step = np.empty(rewards.shape[0])
    per_episode = np.zeros(starts.shape[0])
    for i in range(starts.shape[0]):
        total = 0.0
        for t in range(starts[i], ends[i]):
            total += rewards[t]
        per_episode[i] = total
        for t in range(starts[i], ends[i]):
            per_step[t] = total
    return per_step, per_episode


@njit(cache=True, nogil=True)
def reward_to_go_kernel(
    rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, gamma: float
) -> np.ndarray:
    """G_t = r_t + gamma * G_{t+1} within an episode, G = r_t at its last step (no bootstrap,
    even at truncation): `discounted_returns_kernel` with every next value 0. Returns
    float64[T]."""
    return discounted_returns_kernel(
        rewards, np.zeros(rewards.shape[0]), terminated, truncated, gamma
    )


@njit(cache=True, nogil=True)
def discounted_returns_kernel(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Monte Carlo return bootstrapped at truncation: G_t = r_t + gamma * G_{t+1}, with
    G_{t+1} := 0 after a terminated step and := V(s_{t+1}) = next_values[t] after a truncated
    one. Returns float64[T]."""
    T = rewards.shape[0]
    out = np.empty(T)
    g = 0.0
    for t in range(T - 1, -1, -1):
        if terminated[t]:
            g = 0.0
        elif _ends(terminated, truncated, t):
            g = next_values[t]
        g = rewards[t] + gamma * g
        out[t] = g
    return out


@njit(cache=True, nogil=True)
def n_step_returns_kernel(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    n: int,
) -> np.ndarray:
    """n-step return G_{t:t+n} = sum_{k<m} gamma^k r_{t+k} + gamma^m V(s_{t+m}), where
    m = min(n, steps left in the episode) and V(s_{t+m}) = next_values[t+m-1], taken as 0 if
    step t+m-1 is terminated. n = 1 is the TD target; n >= episode length the bootstrapped
    Monte Carlo return. Returns float64[T]."""
    T = rewards.shape[0]
    out = np.empty(T)
    last = np.empty(T, dtype=np.int64)  # last step of each step's episode
    e = T - 1
    for t in range(T - 1, -1, -1):
        if _ends(terminated, truncated, t):
            e = t
        last[t] = e
    for t in range(T):
        m = min(n, last[t] - t + 1)
        g = 0.0
        discount = 1.0
        for k in range(m):
            g += discount * rewards[t + k]
            discount *= gamma
        j = t + m - 1
        if not terminated[j]:
            g += discount * next_values[j]
        out[t] = g
    return out


@njit(cache=True, nogil=True)
def lambda_returns_kernel(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """λ-return, recursive form: G^λ_t = r_t + gamma * ((1 - lam) V(s_{t+1}) + lam G^λ_{t+1}),
    with G^λ_t = r_t at a terminated step and r_t + gamma V(s_{t+1}) at a truncated one
    (V(s_{t+1}) = next_values[t]). lam = 1 gives the bootstrapped discounted return, lam = 0
    the TD target. Returns float64[T]."""
    T = rewards.shape[0]
    out = np.empty(T)
    g = 0.0
    for t in range(T - 1, -1, -1):
        if terminated[t]:
            g = rewards[t]
        elif _ends(terminated, truncated, t):
            g = rewards[t] + gamma * next_values[t]
        else:
            g = rewards[t] + gamma * ((1.0 - lam) * next_values[t] + lam * g)
        out[t] = g
    return out


@njit(cache=True, nogil=True)
def gae_kernel(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation (Schulman et al. 2016, eq. 16).

    delta_t = r_t + gamma * V(s_{t+1}) * (1 - terminated_t) - V(s_t);
    A_t = delta_t + gamma * lam * A_{t+1}, with A_t = delta_t at an episode's last step.
    Returns (advantages float64[T], returns float64[T] = advantages + values)."""
    T = rewards.shape[0]
    adv = np.empty(T)
    ret = np.empty(T)
    a = 0.0
    for t in range(T - 1, -1, -1):
        v_next = 0.0 if terminated[t] else next_values[t]
        delta = rewards[t] + gamma * v_next - values[t]
        if _ends(terminated, truncated, t):
            a = delta
        else:
            a = delta + gamma * lam * a
        adv[t] = a
        ret[t] = a + values[t]
    return adv, ret


# ---------------------------------------------------------------------------------------------
# Python API: validate, then call the kernel


def _floats(name: str, arr: object) -> np.ndarray:
    out = np.ascontiguousarray(arr, dtype=np.float64)
    if out.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array (one entry per step), got shape {out.shape}")
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"{name} must be finite; found NaN or infinity at step "
            f"{int(np.flatnonzero(~np.isfinite(out))[0])}"
        )
    return out


def _flags(name: str, arr: object) -> np.ndarray:
    raw = np.asarray(arr)
    if raw.dtype != np.bool_:
        if raw.size and not (
            np.issubdtype(raw.dtype, np.integer) and np.all((raw == 0) | (raw == 1))
        ):
            raise TypeError(f"{name} must be a bool array (or integers 0/1), got dtype {raw.dtype}")
        raw = raw.astype(np.bool_)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array (one entry per step), got shape {raw.shape}")
    return np.ascontiguousarray(raw)


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {k: v.shape[0] for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise ValueError(f"arrays must have equal lengths, got {shown}")


def _unit(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {value!r}")
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return v


def _steps(rewards: object, terminated: object, truncated: object, **values: object) -> tuple:
    """(rewards, terminated, truncated, *values): float64 rewards and value arrays, bool flags,
    checked to be 1-D, finite and of one length."""
    r = _floats("rewards", rewards)
    term = _flags("terminated", terminated)
    trunc = _flags("truncated", truncated)
    checked = {name: _floats(name, arr) for name, arr in values.items()}
    _same_length(rewards=r, **checked, terminated=term, truncated=trunc)
    return (r, term, trunc, *checked.values())


def episode_boundaries(
    terminated: np.ndarray, truncated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(starts int64[E], ends int64[E]): episode i is steps ``starts[i]:ends[i]``."""
    term = _flags("terminated", terminated)
    trunc = _flags("truncated", truncated)
    _same_length(terminated=term, truncated=trunc)
    return episode_boundaries_kernel(term, trunc)


def total_return(
    rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Undiscounted return of each episode: (per_step float64[T], per_episode float64[E])."""
    r, term, trunc = _steps(rewards, terminated, truncated)
    return total_return_kernel(r, term, trunc)


def reward_to_go(
    rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, gamma: float
) -> np.ndarray:
    """Discounted reward-to-go G_t float64[T], never bootstrapped (see `reward_to_go_kernel`)."""
    r, term, trunc = _steps(rewards, terminated, truncated)
    return reward_to_go_kernel(r, term, trunc, _unit("gamma", gamma))


def discounted_returns(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """Discounted return float64[T], bootstrapped from next_values at truncation."""
    r, term, trunc, nv = _steps(rewards, terminated, truncated, next_values=next_values)
    return discounted_returns_kernel(r, nv, term, trunc, _unit("gamma", gamma))


def n_step_returns(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    n: int,
) -> np.ndarray:
    """n-step returns G_{t:t+n} float64[T] (see `n_step_returns_kernel`)."""
    r, term, trunc, nv = _steps(rewards, terminated, truncated, next_values=next_values)
    g = _unit("gamma", gamma)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an integer >= 1, got {n!r}")
    if n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return n_step_returns_kernel(r, nv, term, trunc, g, int(n))


def lambda_returns(
    rewards: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """λ-returns G^λ_t float64[T] (see `lambda_returns_kernel`)."""
    r, term, trunc, nv = _steps(rewards, terminated, truncated, next_values=next_values)
    return lambda_returns_kernel(r, nv, term, trunc, _unit("gamma", gamma), _unit("lam", lam))


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    next_values: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE(gamma, lam): (advantages float64[T], returns float64[T] = advantages + values)."""
    r, term, trunc, v, nv = _steps(
        rewards, terminated, truncated, values=values, next_values=next_values
    )
    return gae_kernel(r, v, nv, term, trunc, _unit("gamma", gamma), _unit("lam", lam))
