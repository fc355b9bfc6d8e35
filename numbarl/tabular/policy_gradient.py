"""REINFORCE on tabular MDPs with a softmax over linear action preferences (S&B chapter 13).

The policy is pi(a|s, theta) = exp(h(s, a)) / sum_b exp(h(s, b)) with h(s, a, theta) =
theta . x(s, a) (eq. 13.2-13.3), over the features ``x`` float64[S, A, d] the caller gives; actions
not allowed in a state get probability 0. Its eligibility vector (eq. 13.9) is

    grad ln pi(a|s, theta) = x(s, a) - sum_b pi(b|s, theta) x(s, b).

`run_reinforce` is the book's REINFORCE (section 13.3), with ``baseline=True`` REINFORCE with a
learned state-value baseline v(s, w) = w[s] (section 13.4). After each episode, for t = 0..T-1
and with G_t the discounted reward-to-go (w changes step by step; theta's steps are summed):

    no baseline:   theta += alpha * gamma^t * G_t * grad ln pi(A_t|S_t, theta)
    baseline:      delta = G_t - w[S_t];  w[S_t] += alpha_w * delta;
                   theta += alpha * gamma^t * delta * grad ln pi(A_t|S_t, theta)
    returns=total: theta += alpha * G_0 * grad ln pi(A_t|S_t, theta)   (G_0 = discounted R(tau))

The eligibility vectors are those of the policy that chose the actions (theta at the start of
the episode), and the episode's updates are summed into theta at its end: an unbiased estimate
of the policy gradient at that theta. The book's pseudocode re-evaluates grad ln pi at the theta
already changed by the earlier steps of the same episode; for the book's small step sizes that
differs by O(alpha^2), but on a long corridor episode it feeds back on itself (one 836-step
episode at alpha = 2**-13 moved pi(right) from 0.02 to 1.0, where the gradient vanishes and
every later episode runs to the time limit).

With ``min_prob > 0`` the policy is floored (`floor_probabilities`) before acting, and the
eligibility vector uses the floored probabilities, as the reference implementation of the
book's figures does; it is then no longer the exact gradient of the policy followed. Without a
floor, a single long episode can push a softmax to near-determinism where its gradient vanishes
(on the short corridor, pi(left) -> 1 never ends an episode): at the book's alpha = 2**-9 with
baseline, about 1 run in 600 from the -82 start got stuck that way.

The short corridor of Example 13.1 (``numbarl.envs.make("ShortCorridor-v0")``) uses
`short_corridor_features`: x(s, right) = [1, 0], x(s, left) = [0, 1] in every state, so the
policy cannot tell states apart. Figures 13.1 and 13.2 start from `SHORT_CORRIDOR_THETA0`, the
'epsilon-greedy left' policy pi(right) = 0.05 whose value is about -82, with
``min_prob=SHORT_CORRIDOR_MIN_PROB`` (0.05), both as in the reference implementation.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from numba import njit

from numbarl.config import make_config
from numbarl.envs.tabular import TabularMDP, reset, step, validate
from numbarl.runs import run_many
from numbarl.tabular.policies import sample_action
from numbarl.validation import AT_LEAST_ONE

__all__ = [
    "RETURNS",
    "RETURNS_REWARD_TO_GO",
    "RETURNS_TOTAL",
    "SHORT_CORRIDOR_MIN_PROB",
    "SHORT_CORRIDOR_THETA0",
    "ReinforceConfig",
    "check_features",
    "floor_probabilities",
    "grad_log_softmax",
    "prepare",
    "reinforce_config",
    "run_reinforce",
    "run_reinforce_many",
    "short_corridor_features",
    "softmax_policy",
]

# Integer codes of ``ReinforceConfig.returns`` (compiled code compares integers, not strings).
RETURNS_REWARD_TO_GO = 0
RETURNS_TOTAL = 1
RETURNS: dict[str, int] = {"reward_to_go": RETURNS_REWARD_TO_GO, "total": RETURNS_TOTAL}

# pi(right) = 1 / (1 + exp(-2.94)) ~ 0.05: the start of the book's Figure 13.1 (value ~ -82).
SHORT_CORRIDOR_THETA0 = (-1.47, 1.47)
SHORT_CORRIDOR_MIN_PROB = 0.05


class ReinforceConfig(NamedTuple):
    """REINFORCE hyperparameters (Figure 13.1 defaults; Figure 13.2 uses ``baseline=True,
    alpha=2**-9, alpha_w=2**-6``). Build with `reinforce_config` to validate and to give
    ``returns`` as a name.

    alpha: step size of theta. gamma: discount. episodes: episodes per run. baseline: learn
    v(s) = w[s] and use G_t - v(S_t). alpha_w: step size of w. returns: `RETURNS` code,
    reward-to-go G_t or the total return G_0. theta0: initial theta, float64 tuple of length d
    (empty means zeros). max_steps: an episode still running after this many steps is cut
    (truncated) and learned from as it is. min_prob: probability floor of every allowed action
    (see `floor_probabilities`; 0 = the plain softmax)."""

    alpha: float = 2.0**-13
    gamma: float = 1.0
    episodes: int = 1000
    baseline: bool = False
    alpha_w: float = 2.0**-6
    returns: int = RETURNS_REWARD_TO_GO
    theta0: tuple = ()
    max_steps: int = 1000
    min_prob: float = 0.0

    _choices = {"returns": tuple(RETURNS.values())}
    _ranges = {"max_steps": AT_LEAST_ONE, "min_prob": (0.0, 1.0, True, False)}


# ---------------------------------------------------------------------------------------------
# Softmax policy over linear preferences


@njit(cache=True, inline="always")
def _softmax_into(theta: np.ndarray, x_s: np.ndarray, allowed_s: np.ndarray, out: np.ndarray):
    """Write pi(.|s) into out float64[A] (max-subtracted for stability)."""
    A, d = x_s.shape
    h_max = -np.inf
    for a in range(A):
        if allowed_s[a]:
            h = 0.0
            for i in range(d):
                h += theta[i] * x_s[a, i]
            out[a] = h
            if h > h_max:
                h_max = h
    total = 0.0
    for a in range(A):
        if allowed_s[a]:
            e = math.exp(out[a] - h_max)
            out[a] = e
            total += e
        else:
            out[a] = 0.0
    for a in range(A):
        out[a] /= total


@njit(cache=True, inline="always")
def _add_grad_log(
    out: np.ndarray, x_s: np.ndarray, probs: np.ndarray, a: int, scale: float
) -> None:
    """out float64[d] += scale * (x(s, a) - sum_b probs[b] x(s, b))."""
    A, d = x_s.shape
    for i in range(d):
        mean = 0.0
        for b in range(A):
            mean += probs[b] * x_s[b, i]
        out[i] += scale * (x_s[a, i] - mean)


@njit(cache=True, inline="always")
def _floor_into(probs: np.ndarray, allowed_s: np.ndarray, min_prob: float) -> None:
    """In place: raise allowed probabilities below min_prob to min_prob, scaling the others to
    keep the sum 1 (repeated until none is left below; needs min_prob * n_allowed <= 1)."""
    A = probs.shape[0]
    while True:
        n_low = 0
        high = 0.0
        for a in range(A):
            if allowed_s[a]:
                if probs[a] <= min_prob:
                    n_low += 1
                else:
                    high += probs[a]
        if high <= 0.0:
            for a in range(A):
                if allowed_s[a]:
                    probs[a] = min_prob
            return
        scale = (1.0 - n_low * min_prob) / high
        changed = False
        for a in range(A):
            if allowed_s[a]:
                if probs[a] <= min_prob:
                    probs[a] = min_prob
                else:
                    probs[a] *= scale
                    if probs[a] <= min_prob:
                        changed = True
        if not changed:
            return


@njit(cache=True)
def floor_probabilities(probs: np.ndarray, allowed_s: np.ndarray, min_prob: float) -> np.ndarray:
    """A copy of probs float64[A] in which every allowed action has probability >= min_prob:
    those below are raised to min_prob and the others share the rest in proportion. With two
    actions this is the guard of the reference implementation of Figures 13.1-13.2
    (ShangtongZhang/reinforcement-learning-an-introduction, chapter13/short_corridor.py,
    min_prob 0.05: "never become deterministic, guarantees episode finish")."""
    out = probs.copy()
    if min_prob > 0.0:
        _floor_into(out, allowed_s, min_prob)
    return out


@njit(cache=True)
def softmax_policy(theta: np.ndarray, x_s: np.ndarray, allowed_s: np.ndarray) -> np.ndarray:
    """pi(.|s, theta) float64[A] for preferences theta . x_s[a]; theta float64[d], x_s
    float64[A, d] (= x[s]), allowed_s bool[A] (not allowed: probability 0)."""
    out = np.empty(x_s.shape[0])
    _softmax_into(theta, x_s, allowed_s, out)
    return out


@njit(cache=True)
def grad_log_softmax(
    theta: np.ndarray, x_s: np.ndarray, allowed_s: np.ndarray, a: int
) -> np.ndarray:
    """Eligibility vector grad_theta ln pi(a|s, theta) = x(s, a) - sum_b pi(b|s) x(s, b),
    float64[d] (S&B eq. 13.9)."""
    probs = softmax_policy(theta, x_s, allowed_s)
    grad = np.zeros(theta.shape[0])
    _add_grad_log(grad, x_s, probs, a, 1.0)
    return grad


# ---------------------------------------------------------------------------------------------
# Driver


@njit(cache=True, nogil=True)
def run_reinforce(
    mdp: TabularMDP,
    x: np.ndarray,
    theta0: np.ndarray,
    cfg: ReinforceConfig,
    rng: np.random.Generator,
):
    """One run of REINFORCE (with baseline if ``cfg.baseline``) for ``cfg.episodes`` episodes.

    mdp: TabularMDP; x: float64[S, A, d] features; theta0: float64[d] initial preferences
    weights (an array, not ``cfg.theta0``, so one compiled signature serves every d; `prepare`
    builds it and empties ``cfg.theta0``); cfg: a validated `ReinforceConfig`.
    Episodes stop at ``min(cfg.max_steps, mdp.max_steps if > 0)`` steps (truncated).
    Returns (theta float64[d], returns float64[E] undiscounted return of each episode,
    w float64[S] baseline weights (zeros without baseline), lengths int64[E] steps per episode,
    truncated bool[E])."""
    S, A, d = x.shape
    E = cfg.episodes
    theta = theta0.copy()
    w = np.zeros(S)
    returns = np.zeros(E)
    lengths = np.zeros(E, dtype=np.int64)
    truncated = np.zeros(E, dtype=np.bool_)
    limit = cfg.max_steps
    if mdp.max_steps > 0 and mdp.max_steps < limit:
        limit = mdp.max_steps
    states = np.empty(limit, dtype=np.int64)
    actions = np.empty(limit, dtype=np.int64)
    rewards = np.empty(limit)
    g_t = np.empty(limit)  # discounted reward-to-go G_t
    probs = np.empty((limit, A))  # pi(.|S_t) of the policy that chose A_t
    update = np.empty(d)
    use_total = cfg.returns == RETURNS_TOTAL

    for episode in range(E):
        s = reset(mdp, rng)
        T = 0
        ended = mdp.terminal[s]
        while not ended and T < limit:
            _softmax_into(theta, x[s], mdp.allowed[s], probs[T])
            if cfg.min_prob > 0.0:
                _floor_into(probs[T], mdp.allowed[s], cfg.min_prob)
            a = sample_action(probs[T], rng)
            s_next, r, terminated = step(mdp, s, a, rng)
            states[T] = s
            actions[T] = a
            rewards[T] = r
            T += 1
            s = s_next
            ended = terminated
        truncated[episode] = not ended
        lengths[episode] = T

        g = 0.0
        total = 0.0
        for t in range(T - 1, -1, -1):
            g = rewards[t] + cfg.gamma * g
            g_t[t] = g
            total += rewards[t]
        returns[episode] = total

        update[:] = 0.0
        discount = 1.0  # gamma^t
        for t in range(T):
            s_t = states[t]
            if use_total:
                psi = g_t[0]
            elif cfg.baseline:
                delta = g_t[t] - w[s_t]
                w[s_t] += cfg.alpha_w * delta
                psi = discount * delta
            else:
                psi = discount * g_t[t]
            _add_grad_log(update, x[s_t], probs[t], actions[t], cfg.alpha * psi)
            discount *= cfg.gamma
        for i in range(d):
            theta[i] += update[i]
            if not math.isfinite(theta[i]):
                raise FloatingPointError("run_reinforce: theta became NaN or infinite")
    return theta, returns, w, lengths, truncated


# ---------------------------------------------------------------------------------------------
# Python side: validation and many runs


def reinforce_config(**fields) -> ReinforceConfig:
    """A validated `ReinforceConfig`: ``returns`` given as "reward_to_go" or "total", ``theta0``
    as any sequence of finite numbers, every other field cast to its declared type and checked
    (alpha, alpha_w > 0; gamma in [0, 1]; episodes, max_steps >= 1).
    Raises ValueError/TypeError naming the field and the allowed values."""
    if "returns" in fields:
        code = fields["returns"]
        if isinstance(code, str):
            if code not in RETURNS:
                raise ValueError(
                    f"ReinforceConfig.returns must be one of {', '.join(map(repr, RETURNS))}, "
                    f"got {code!r}"
                )
            fields["returns"] = RETURNS[code]
        elif isinstance(code, bool) or not isinstance(code, numbers.Integral):
            raise TypeError(
                f"ReinforceConfig.returns must be one of {', '.join(map(repr, RETURNS))}, "
                f"got {code!r}"
            )
    if "theta0" in fields:
        fields["theta0"] = _theta0(fields["theta0"])
    cfg = make_config(ReinforceConfig, fields)
    if cfg.baseline and cfg.returns == RETURNS_TOTAL:
        raise ValueError(
            "ReinforceConfig: baseline=True needs returns='reward_to_go' (the baseline v(S_t) "
            "estimates the reward-to-go from S_t)"
        )
    return cfg


def _theta0(value: object) -> tuple:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"ReinforceConfig.theta0 must be a sequence of numbers, got {value!r}"
        ) from None
    if arr.ndim != 1 or not np.all(np.isfinite(arr)):
        raise ValueError(
            f"ReinforceConfig.theta0 must be a flat sequence of finite numbers, got {value!r}"
        )
    return tuple(float(v) for v in arr)


def check_features(x: np.ndarray, mdp: TabularMDP) -> np.ndarray:
    """Validate features x float64[S, A, d] for ``mdp``; returns a C-contiguous float64 copy
    if needed."""
    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[:2] != (mdp.n_states, mdp.n_actions) or arr.shape[2] < 1:
        raise ValueError(
            f"x must have shape ({mdp.n_states}, {mdp.n_actions}, d) (states, actions, "
            f"features) with d >= 1, got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("x must be finite (found NaN or infinity)")
    return arr


def prepare(mdp: TabularMDP, x: np.ndarray, cfg: ReinforceConfig):
    """Validate ``mdp``, features and config; returns (x, theta0 float64[d], cfg) ready for
    `run_reinforce(mdp, x, theta0, cfg, rng)`."""
    validate(mdp)
    x = check_features(x, mdp)
    if not isinstance(cfg, ReinforceConfig):
        raise TypeError(f"cfg must be a ReinforceConfig, got {type(cfg).__name__}")
    cfg = reinforce_config(**cfg._asdict())
    d = x.shape[2]
    if len(cfg.theta0) == 0:
        theta0 = np.zeros(d)
    elif len(cfg.theta0) != d:
        raise ValueError(f"ReinforceConfig.theta0 must have length d = {d}, got {cfg.theta0}")
    else:
        theta0 = np.array(cfg.theta0, dtype=np.float64)
    cfg = cfg._replace(theta0=())  # compiled code gets theta0 as an array: one signature
    most = int(mdp.allowed[~mdp.terminal].sum(axis=1).max())
    if cfg.min_prob * most > 1.0:
        raise ValueError(
            f"ReinforceConfig.min_prob must be <= 1/{most} (a state has {most} allowed actions), "
            f"got {cfg.min_prob}"
        )
    return x, theta0, cfg


def run_reinforce_many(
    mdp: TabularMDP,
    x: np.ndarray,
    cfg: ReinforceConfig,
    runs: int = 100,
    seed: int = 0,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate once, then `run_reinforce` for ``runs`` runs with seeds spawned from ``seed``
    (`numbarl.runs.run_many`). Returns the driver's arrays stacked along a new axis 0:
    theta float64[runs, d], returns float64[runs, E], w float64[runs, S],
    lengths int64[runs, E], truncated bool[runs, E]."""
    x, theta0, cfg = prepare(mdp, x, cfg)
    return run_many(run_reinforce, runs, seed, mdp, x, theta0, cfg, threads=threads)


def short_corridor_features(n_states: int = 4) -> np.ndarray:
    """Features float64[S, 2, 2] of Example 13.1: x(s, right=1) = [1, 0], x(s, left=0) = [0, 1]
    in every state."""
    x = np.zeros((n_states, 2, 2))
    x[:, 1, 0] = 1.0
    x[:, 0, 1] = 1.0
    return x
