"""k-armed bandits (Sutton & Barto, Chapter 2) as compiled kernels over the k-armed testbed.

Three method families, one config NamedTuple each:
- `EpsilonGreedyConfig`: action-value methods with epsilon-greedy selection, sample averages
  (``step_size=0.0``) or a constant step size, and an initial estimate ``initial`` (Q1; the
  optimistic initial values of Section 2.6 are ``initial=5.0, epsilon=0.0, step_size=0.1``);
- `UCBConfig`: upper-confidence-bound selection ``argmax_a Q(a) + c sqrt(ln t / N(a))`` (2.10),
  an untried arm counting as maximising;
- `GradientBanditConfig`: soft-max preferences updated by (2.12), with the average reward as the
  baseline or none.

The testbed (`Testbed`) draws the true values ``q*(a) ~ N(mean, std**2)`` per run and rewards
``R ~ N(q*(A), reward_std**2)``; with ``walk_std > 0`` every ``q*(a)`` also takes an independent
N(0, walk_std**2) step after each pull (Exercise 2.5; ``std=0.0`` starts them all equal).

Kernels (njit, ``cache=True``): one-step pieces (`sample_average_update`, `ucb_action`,
`softmax`, `gradient_update`), a driver per family that plays one run into preallocated rows
(`play_epsilon_greedy`, `play_ucb`, `play_gradient`) and a batched kernel per family that plays
every run of a figure in one compiled call (`epsilon_greedy_runs`, `ucb_runs`, `gradient_runs`;
runs are spread over Numba's threads with ``prange``, each with its own generator).
Run ``i`` uses the ``i``-th generator spawned from ``np.random.SeedSequence(seed)``
(`numbarl.runs.spawn_rngs`), so the same seed gives the same bytes, and run ``i`` is the same
whatever the number of runs. The Python entry point is `run_bandit(config, testbed, runs, seed)`.

Random-number order within a step (part of the same-seed contract): epsilon-greedy draws one
uniform for exploration (only when epsilon > 0), then a uniform for the random arm or one
when the greedy arm is tied; UCB draws a uniform only on ties; the gradient bandit draws one
uniform to sample from its soft-max; then the reward's normal, then (nonstationary) the k walk
normals in arm order. The true values are drawn at the start of a run, k normals in arm order.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numba.typed import List

import numbarl.envs  # noqa: F401  (Numba's compile changes and the shared-callee cache reader)
from numbarl.runs import spawn_rngs


class Testbed(NamedTuple):
    """The k-armed testbed of Section 2.3: ``k`` arms, ``steps`` pulls per run; true values
    ``q*(a) ~ N(mean, std**2)``, rewards ``N(q*(A), reward_std**2)``; ``walk_std > 0`` makes
    every q*(a) take an independent N(0, walk_std**2) step after each pull (Exercise 2.5)."""

    k: int = 10
    steps: int = 1000
    mean: float = 0.0
    std: float = 1.0
    reward_std: float = 1.0
    walk_std: float = 0.0


class EpsilonGreedyConfig(NamedTuple):
    """Epsilon-greedy action values (Sections 2.2-2.6): ``step_size=0.0`` means sample averages
    (step 1/N(a)), else a constant step size; ``initial`` is every arm's first estimate Q1."""

    epsilon: float = 0.1
    step_size: float = 0.0
    initial: float = 0.0


class UCBConfig(NamedTuple):
    """Upper-confidence-bound selection (Section 2.7, eq. 2.10) over sample averages
    (``step_size=0.0``) or constant-step estimates; ``initial`` is Q1."""

    c: float = 2.0
    step_size: float = 0.0
    initial: float = 0.0


class GradientBanditConfig(NamedTuple):
    """Gradient bandit (Section 2.8, eq. 2.12): step size ``alpha``; with ``baseline`` the
    reward's running average (through and including the current step, as in the reference
    implementation of Figure 2.5), without it 0."""

    alpha: float = 0.1
    baseline: bool = True


class BanditRuns(NamedTuple):
    """Per-run, per-step results: ``rewards`` float64[runs, steps] and ``optimal``
    bool[runs, steps] (the arm pulled had the largest true value at that step)."""

    rewards: np.ndarray
    optimal: np.ndarray


# ---------------------------------------------------------------------------------------------
# One-step kernels


@njit(cache=True, inline="always")
def sample_average_update(q: np.ndarray, n: np.ndarray, a: int, r: float, step_size: float) -> None:
    """Incremental update (2.3)/(2.5) in place: N(a) += 1, then
    Q(a) += (r - Q(a)) / N(a) when ``step_size == 0`` (sample average), else
    Q(a) += step_size (r - Q(a))."""
    n[a] += 1
    if step_size == 0.0:
        q[a] += (r - q[a]) / n[a]
    else:
        q[a] += step_size * (r - q[a])


@njit(cache=True, inline="always")
def ucb_action(
    q: np.ndarray, n: np.ndarray, t: int, c: float, scores: np.ndarray, rng: np.random.Generator
) -> int:
    """argmax_a Q(a) + c sqrt(ln t / N(a)) at step ``t`` (1-based), an arm with N(a) = 0 being
    maximising (eq. 2.10); ties, untried arms included, are broken uniformly at random.
    ``scores`` float64[k] is scratch space."""
    scale = c * math.sqrt(math.log(t))  # c sqrt(ln t / N) = scale / sqrt(N): one log per step
    for a in range(q.shape[0]):
        if n[a] == 0:
            scores[a] = np.inf
        else:
            scores[a] = q[a] + scale / math.sqrt(n[a])
    return _argmax_random_all(scores, rng)


@njit(cache=True, inline="always")
def _argmax_random_all(values: np.ndarray, rng: np.random.Generator) -> int:
    """Argmax over all arms, ties broken uniformly at random (untried arms at inf tie); draws
    one uniform only when there is a tie (as ``numbarl.tabular.policies.argmax_random``)."""
    best = values[0]
    first = 0
    n_best = 1
    for a in range(1, values.shape[0]):
        if values[a] > best:
            best = values[a]
            first = a
            n_best = 1
        elif values[a] == best:
            n_best += 1
    if n_best == 1:
        return first
    j = int(rng.random() * n_best)
    for a in range(first, values.shape[0]):
        if values[a] == best:
            if j == 0:
                return a
            j -= 1
    return first


@njit(cache=True, inline="always")
def epsilon_greedy_action(q: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """With probability epsilon a uniformly random arm, else the greedy arm (random ties); the
    same draws as ``numbarl.tabular.policies.epsilon_greedy`` with every arm allowed."""
    if epsilon > 0.0 and rng.random() < epsilon:
        return int(rng.random() * q.shape[0])
    return _argmax_random_all(q, rng)


@njit(cache=True, inline="always")
def softmax(h: np.ndarray, pi: np.ndarray) -> None:
    """pi(a) = exp(H(a)) / sum_b exp(H(b)) (2.11) into ``pi``, shifted by max H for stability."""
    top = h.max()
    total = 0.0
    for a in range(h.shape[0]):
        pi[a] = math.exp(h[a] - top)
        total += pi[a]
    for a in range(h.shape[0]):
        pi[a] /= total


@njit(cache=True, inline="always")
def sample_categorical(pi: np.ndarray, u: float) -> int:
    """The first a with pi(0) + ... + pi(a) > u (the last arm if round-off leaves none)."""
    cum = 0.0
    for a in range(pi.shape[0]):
        cum += pi[a]
        if u < cum:
            return a
    return pi.shape[0] - 1


@njit(cache=True, inline="always")
def gradient_update(
    h: np.ndarray, pi: np.ndarray, a: int, r: float, baseline: float, alpha: float
) -> None:
    """Preference update (2.12) in place: H(b) += alpha (r - baseline) (1{b = a} - pi(b))."""
    step = alpha * (r - baseline)
    for b in range(h.shape[0]):
        if b == a:
            h[b] += step * (1.0 - pi[b])
        else:
            h[b] -= step * pi[b]


# ---------------------------------------------------------------------------------------------
# The testbed


@njit(cache=True, inline="always")
def draw_true_values(tb: Testbed, q_true: np.ndarray, rng: np.random.Generator) -> None:
    """q*(a) = mean + std N(0, 1), arm by arm; all equal to ``mean`` when std = 0 (no draws)."""
    for a in range(q_true.shape[0]):
        q_true[a] = tb.mean + tb.std * rng.standard_normal() if tb.std > 0.0 else tb.mean


@njit(cache=True, inline="always")
def _pull(tb: Testbed, q_true: np.ndarray, a: int, rng: np.random.Generator) -> float:
    """A reward N(q*(a), reward_std**2)."""
    return q_true[a] + tb.reward_std * rng.standard_normal()


@njit(cache=True, inline="always")
def _walk(tb: Testbed, q_true: np.ndarray, best: float, rng: np.random.Generator) -> float:
    """Nonstationary: every q*(b) takes its N(0, walk_std**2) step, arm by arm; returns the new
    largest true value (``best`` unchanged when stationary)."""
    if tb.walk_std <= 0.0:
        return best
    top = -np.inf
    for b in range(q_true.shape[0]):
        q_true[b] += tb.walk_std * rng.standard_normal()
        if q_true[b] > top:
            top = q_true[b]
    return top


# ---------------------------------------------------------------------------------------------
# One run per family


@njit(cache=True)
def play_epsilon_greedy(
    tb: Testbed,
    cfg: EpsilonGreedyConfig,
    rng: np.random.Generator,
    rewards: np.ndarray,
    optimal: np.ndarray,
) -> None:
    """One run of ``tb.steps`` pulls: fills ``rewards`` float64[steps], ``optimal`` bool[steps]."""
    k = tb.k
    q_true = np.empty(k)
    draw_true_values(tb, q_true, rng)
    q = np.full(k, cfg.initial)
    n = np.zeros(k, dtype=np.int64)
    best = q_true.max()
    for t in range(tb.steps):
        a = epsilon_greedy_action(q, cfg.epsilon, rng)
        optimal[t] = q_true[a] >= best
        r = _pull(tb, q_true, a, rng)
        best = _walk(tb, q_true, best, rng)
        rewards[t] = r
        sample_average_update(q, n, a, r, cfg.step_size)


@njit(cache=True)
def play_ucb(
    tb: Testbed, cfg: UCBConfig, rng: np.random.Generator, rewards: np.ndarray, optimal: np.ndarray
) -> None:
    """One UCB run; fills ``rewards`` float64[steps] and ``optimal`` bool[steps]."""
    k = tb.k
    q_true = np.empty(k)
    draw_true_values(tb, q_true, rng)
    q = np.full(k, cfg.initial)
    n = np.zeros(k, dtype=np.int64)
    scores = np.empty(k)
    best = q_true.max()
    for t in range(tb.steps):
        a = ucb_action(q, n, t + 1, cfg.c, scores, rng)
        optimal[t] = q_true[a] >= best
        r = _pull(tb, q_true, a, rng)
        best = _walk(tb, q_true, best, rng)
        rewards[t] = r
        sample_average_update(q, n, a, r, cfg.step_size)


@njit(cache=True)
def play_gradient(
    tb: Testbed,
    cfg: GradientBanditConfig,
    rng: np.random.Generator,
    rewards: np.ndarray,
    optimal: np.ndarray,
) -> None:
    """One gradient-bandit run from H = 0; fills ``rewards`` and ``optimal``."""
    k = tb.k
    q_true = np.empty(k)
    draw_true_values(tb, q_true, rng)
    h = np.zeros(k)
    pi = np.empty(k)
    average = 0.0
    best = q_true.max()
    for t in range(tb.steps):
        softmax(h, pi)
        a = sample_categorical(pi, rng.random())
        optimal[t] = q_true[a] >= best
        r = _pull(tb, q_true, a, rng)
        best = _walk(tb, q_true, best, rng)
        rewards[t] = r
        baseline = 0.0
        if cfg.baseline:
            average += (r - average) / (t + 1)
            baseline = average
        gradient_update(h, pi, a, r, baseline, cfg.alpha)


# ---------------------------------------------------------------------------------------------
# All runs of a figure in one compiled call


@njit(cache=True, parallel=True)
def epsilon_greedy_runs(tb: Testbed, cfg: EpsilonGreedyConfig, rngs) -> tuple:
    """Run i with ``rngs[i]`` (a typed List of generators): (rewards float64[R, T],
    optimal bool[R, T])."""
    R = len(rngs)
    rewards = np.empty((R, tb.steps))
    optimal = np.empty((R, tb.steps), dtype=np.bool_)
    for i in prange(R):
        play_epsilon_greedy(tb, cfg, rngs[np.int64(i)], rewards[i], optimal[i])
    return rewards, optimal


@njit(cache=True, parallel=True)
def ucb_runs(tb: Testbed, cfg: UCBConfig, rngs) -> tuple:
    """UCB over every run; see `epsilon_greedy_runs`."""
    R = len(rngs)
    rewards = np.empty((R, tb.steps))
    optimal = np.empty((R, tb.steps), dtype=np.bool_)
    for i in prange(R):
        play_ucb(tb, cfg, rngs[np.int64(i)], rewards[i], optimal[i])
    return rewards, optimal


@njit(cache=True, parallel=True)
def gradient_runs(tb: Testbed, cfg: GradientBanditConfig, rngs) -> tuple:
    """The gradient bandit over every run; see `epsilon_greedy_runs`."""
    R = len(rngs)
    rewards = np.empty((R, tb.steps))
    optimal = np.empty((R, tb.steps), dtype=np.bool_)
    for i in prange(R):
        play_gradient(tb, cfg, rngs[np.int64(i)], rewards[i], optimal[i])
    return rewards, optimal


# ---------------------------------------------------------------------------------------------
# Python side: validation and the one entry point

BanditConfig = EpsilonGreedyConfig | UCBConfig | GradientBanditConfig
_KERNELS = {
    EpsilonGreedyConfig: epsilon_greedy_runs,
    UCBConfig: ucb_runs,
    GradientBanditConfig: gradient_runs,
}


def _real(owner: str, field: str, value, lo: float, hi: float = np.inf, open_lo: bool = False):
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{owner}: {field} must be a real number, got {value!r}")
    x = float(value)
    low_ok = x > lo if open_lo else x >= lo
    if not (math.isfinite(x) and low_ok and x <= hi):
        bound = f"({lo}, {hi}]" if open_lo else f"[{lo}, {hi}]"
        raise ValueError(f"{owner}: {field} must be a finite number in {bound}, got {value!r}")
    return x


def _int(owner: str, field: str, value, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{owner}: {field} must be an integer, got {value!r}")
    if value < lo:
        raise ValueError(f"{owner}: {field} must be an integer >= {lo}, got {value!r}")
    return int(value)


def make_testbed(
    k: int = 10,
    steps: int = 1000,
    mean: float = 0.0,
    std: float = 1.0,
    reward_std: float = 1.0,
    walk_std: float = 0.0,
) -> Testbed:
    """A validated `Testbed` with every field cast to its type (one compiled signature)."""
    o = "Testbed"
    return Testbed(
        k=_int(o, "k", k, 1),
        steps=_int(o, "steps", steps, 1),
        mean=_real(o, "mean", mean, -np.inf),
        std=_real(o, "std", std, 0.0),
        reward_std=_real(o, "reward_std", reward_std, 0.0),
        walk_std=_real(o, "walk_std", walk_std, 0.0),
    )


def check_config(cfg: BanditConfig) -> BanditConfig:
    """The config with its fields validated and cast (floats as floats, bools as bools)."""
    if isinstance(cfg, EpsilonGreedyConfig):
        o = "EpsilonGreedyConfig"
        return EpsilonGreedyConfig(
            epsilon=_real(o, "epsilon", cfg.epsilon, 0.0, 1.0),
            step_size=_real(o, "step_size", cfg.step_size, 0.0, 1.0),
            initial=_real(o, "initial", cfg.initial, -np.inf),
        )
    if isinstance(cfg, UCBConfig):
        o = "UCBConfig"
        return UCBConfig(
            c=_real(o, "c", cfg.c, 0.0),
            step_size=_real(o, "step_size", cfg.step_size, 0.0, 1.0),
            initial=_real(o, "initial", cfg.initial, -np.inf),
        )
    if isinstance(cfg, GradientBanditConfig):
        o = "GradientBanditConfig"
        if not isinstance(cfg.baseline, bool | np.bool_):
            raise TypeError(f"{o}: baseline must be True or False, got {cfg.baseline!r}")
        return GradientBanditConfig(
            alpha=_real(o, "alpha", cfg.alpha, 0.0, open_lo=True), baseline=bool(cfg.baseline)
        )
    raise TypeError(
        "config must be an EpsilonGreedyConfig, UCBConfig or GradientBanditConfig, got "
        f"{type(cfg).__name__}"
    )


def typed_rngs(seed: int, runs: int) -> List:
    """A numba typed List of the ``runs`` generators spawned from ``SeedSequence(seed)``."""
    rngs = List()
    for g in spawn_rngs(seed, runs):
        rngs.append(g)
    return rngs


# Spawning 2,000 generators and boxing them into a typed List costs ~0.1 s, as much as playing a
# setting; a figure plays many settings on the same seeds. So the last few lists are kept with
# their generators' initial states, and a later call with the same (seed, runs) rewinds them
# (5 us a generator) instead: the draws are exactly those of freshly spawned generators.
_RNG_CACHE: OrderedDict[tuple[int, int], tuple[List, list, list]] = OrderedDict()
_RNG_CACHE_SIZE = 4
_RNG_LOCK = threading.Lock()


def _fresh_rngs(seed: int, runs: int) -> List:
    """`typed_rngs(seed, runs)`, rewound from the cache when it holds them. Call with
    ``_RNG_LOCK`` held until the kernel using them returns."""
    key = (int(seed), int(runs))
    entry = _RNG_CACHE.get(key)
    if entry is None:
        gens = spawn_rngs(seed, runs)
        states = [g.bit_generator.state for g in gens]
        entry = (List(gens), [g.bit_generator for g in gens], states)
        _RNG_CACHE[key] = entry
        while len(_RNG_CACHE) > _RNG_CACHE_SIZE:
            _RNG_CACHE.popitem(last=False)
    else:
        _RNG_CACHE.move_to_end(key)
        for bit_generator, state in zip(entry[1], entry[2], strict=True):
            bit_generator.state = state
    return entry[0]


def run_bandit(
    config: BanditConfig, testbed: Testbed | None = None, runs: int = 2000, seed: int = 0
) -> BanditRuns:
    """Play ``runs`` independent runs of one method on the testbed in one compiled call.

    ``config`` chooses the family (`EpsilonGreedyConfig`, `UCBConfig`, `GradientBanditConfig`);
    ``testbed`` defaults to the book's 10-armed testbed, 1,000 steps. Run ``i`` uses the
    ``i``-th generator spawned from ``np.random.SeedSequence(seed)``: same seed, same bytes.
    Returns `BanditRuns` (rewards float64[runs, steps], optimal bool[runs, steps])."""
    cfg = check_config(config)
    if testbed is not None and not isinstance(testbed, Testbed):
        raise TypeError(f"testbed must be a Testbed or None, got {type(testbed).__name__}")
    tb = make_testbed(*(Testbed() if testbed is None else testbed))
    n = _int("run_bandit", "runs", runs, 1)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"run_bandit: seed must be an integer >= 0, got {seed!r}")
    with _RNG_LOCK:
        rewards, optimal = _KERNELS[type(cfg)](tb, cfg, _fresh_rngs(seed, n))
    return BanditRuns(rewards, optimal)


__all__ = [
    "BanditConfig",
    "BanditRuns",
    "EpsilonGreedyConfig",
    "GradientBanditConfig",
    "Testbed",
    "UCBConfig",
    "check_config",
    "draw_true_values",
    "epsilon_greedy_action",
    "epsilon_greedy_runs",
    "gradient_runs",
    "gradient_update",
    "make_testbed",
    "play_epsilon_greedy",
    "play_gradient",
    "play_ucb",
    "run_bandit",
    "sample_average_update",
    "sample_categorical",
    "softmax",
    "typed_rngs",
    "ucb_action",
    "ucb_runs",
]
