"""Off-policy Monte Carlo with importance sampling (Sutton & Barto, Sections 5.5, 5.6 and 5.9).

Episodes follow a behaviour policy ``b`` and estimate the values of a target policy ``pi``.
With ``rho_t:T-1 = prod_{k=t}^{T-1} pi(A_k|S_k) / b(A_k|S_k)`` and first visits ``T(s)``:

- ordinary importance sampling (5.5): ``V(s) = sum_{t in T(s)} rho_t:T-1 G_t / |T(s)|``;
- weighted importance sampling (5.6): ``V(s) = sum rho_t:T-1 G_t / sum rho_t:T-1`` (0 while the
  sum of weights is 0);
- per-decision importance sampling (5.9, ordinary form): ``G~_t = rho_t (R_t+1 + gamma G~_t+1)``
  replaces ``rho_t:T-1 G_t``, so each reward is weighted only by the ratios before it.

All three are computed incrementally (Section 5.6) from the same episodes, so they can be
compared run by run (Figure 5.3). Episodes cut by the time limit end there (no bootstrap).
Off-policy MC control (Section 5.7) is control: `numbarl.tabular.control.run_off_policy_mc_control`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import make_config
from numbarl.envs.tabular import TabularMDP, reset, step
from numbarl.tabular.episodes import as_mdp, check_finished, grow, time_limit
from numbarl.tabular.policies import check_policy, sample_action
from numbarl.validation import NON_NEGATIVE, as_generator


class OffPolicyConfig(NamedTuple):
    """Off-policy MC prediction. ``start_state`` >= 0 starts every episode there (Figure 5.3),
    -1 uses the MDP's start distribution; ``max_episode_steps`` adds a time limit (0: the MDP's)."""

    gamma: float = 1.0
    episodes: int = 10_000
    start_state: int = -1
    max_episode_steps: int = 0

    _ranges = {
        "start_state": (-1.0, None, True, True),
        "max_episode_steps": NON_NEGATIVE,
    }


@njit(cache=True, nogil=True)
def run_off_policy_prediction(
    mdp: TabularMDP,
    target: np.ndarray,
    behaviour: np.ndarray,
    cfg: OffPolicyConfig,
    rng: np.random.Generator,
):
    """First-visit off-policy MC prediction of ``target`` float64[S, A] from episodes of
    ``behaviour`` float64[S, A] (which must cover the target).

    Returns (v_ordinary float64[S], v_weighted float64[S], v_per_decision float64[S],
    curve_ordinary float64[E], curve_weighted float64[E], curve_per_decision float64[E]), where
    the curves hold after each episode the estimate of ``start_state``'s value (or, with
    ``start_state = -1``, of the start distribution's: ``sum_s start[s] V(s)``)."""
    S = mdp.n_states
    E = cfg.episodes
    gamma = cfg.gamma
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
    v_ord = np.zeros(S)
    v_wis = np.zeros(S)
    v_pd = np.zeros(S)
    visits = np.zeros(S)  # first visits (ordinary and per-decision denominators)
    c = np.zeros(S)  # cumulative weights (weighted IS denominators)
    curve_ord = np.zeros(E)
    curve_wis = np.zeros(E)
    curve_pd = np.zeros(E)
    cap = limit if limit > 0 else 64
    ep_states = np.zeros(cap, dtype=np.int64)
    ep_ratios = np.zeros(cap)
    ep_rewards = np.zeros(cap)
    seen = np.full(S, -1, dtype=np.int64)
    first_t = np.zeros(S, dtype=np.int64)
    n_done = 0
    for episode in range(E):
        s = cfg.start_state if cfg.start_state >= 0 else reset(mdp, rng)
        t = 0
        terminated = False
        while True:
            a = sample_action(behaviour[s], rng)
            if t == ep_states.shape[0]:
                ep_states = grow(ep_states)
                ep_ratios = grow(ep_ratios)
                ep_rewards = grow(ep_rewards)
            ep_states[t] = s
            ep_ratios[t] = target[s, a] / behaviour[s, a]
            if seen[s] != episode:
                seen[s] = episode
                first_t[s] = t
            s2, r, terminated = step(mdp, s, a, rng)
            ep_rewards[t] = r
            t += 1
            s = s2
            if terminated or t == stop:
                break
        if not terminated and limit <= 0:  # a runaway episode: stop the run
            break
        n_done += 1
        g = 0.0  # return G_t
        w = 1.0  # rho_t:T-1
        g_pd = 0.0  # per-decision return G~_t
        for i in range(t - 1, -1, -1):
            g = gamma * g + ep_rewards[i]
            w *= ep_ratios[i]
            g_pd = ep_ratios[i] * (ep_rewards[i] + gamma * g_pd)
            si = ep_states[i]
            if first_t[si] == i:
                visits[si] += 1.0
                v_ord[si] += (w * g - v_ord[si]) / visits[si]
                v_pd[si] += (g_pd - v_pd[si]) / visits[si]
                if w > 0.0:
                    c[si] += w
                    v_wis[si] += (w / c[si]) * (g - v_wis[si])
        if cfg.start_state >= 0:
            curve_ord[episode] = v_ord[cfg.start_state]
            curve_wis[episode] = v_wis[cfg.start_state]
            curve_pd[episode] = v_pd[cfg.start_state]
        else:
            for k in range(S):
                curve_ord[episode] += mdp.start[k] * v_ord[k]
                curve_wis[episode] += mdp.start[k] * v_wis[k]
                curve_pd[episode] += mdp.start[k] * v_pd[k]
    return v_ord, v_wis, v_pd, curve_ord, curve_wis, curve_pd, n_done


# ---------------------------------------------------------------------------------------------
# Python-facing API


class OffPolicyPrediction(NamedTuple):
    """What `off_policy_prediction` returns: state values float64[S] by each estimator and their
    learning curves float64[E] (the estimate of the start state's value after each episode)."""

    config: OffPolicyConfig
    v_ordinary: np.ndarray
    v_weighted: np.ndarray
    v_per_decision: np.ndarray
    ordinary: np.ndarray
    weighted: np.ndarray
    per_decision: np.ndarray
    n_episodes: int


def make_off_policy_config(mdp: TabularMDP, **config: Any) -> OffPolicyConfig:
    """A checked `OffPolicyConfig` for ``mdp`` (gamma in [0, 1], episodes >= 1, start_state -1 or
    a non-terminal state, max_episode_steps >= 0)."""
    cfg = make_config(OffPolicyConfig, config)
    if cfg.start_state >= mdp.n_states or (cfg.start_state >= 0 and mdp.terminal[cfg.start_state]):
        raise ValueError(
            f"OffPolicyConfig.start_state must be -1 or a non-terminal state in "
            f"0..{mdp.n_states - 1}, got {cfg.start_state!r}"
        )
    return cfg


def check_coverage(target: np.ndarray, behaviour: np.ndarray) -> None:
    """ValueError unless ``behaviour[s, a] > 0`` wherever ``target[s, a] > 0`` (coverage)."""
    bad = np.argwhere((target > 0) & (behaviour <= 0))
    if len(bad):
        s, a = bad[0]
        raise ValueError(
            f"behaviour[{s}, {a}] must be > 0 where target[{s}, {a}] > 0 (coverage; "
            "importance sampling needs every target action to be possible under the behaviour)"
        )


def off_policy_prediction(
    mdp: TabularMDP | str,
    target: np.ndarray,
    behaviour: np.ndarray,
    seed_or_rng: int | np.random.Generator = 0,
    **config: Any,
) -> OffPolicyPrediction:
    """Ordinary, weighted and per-decision importance-sampling estimates of ``target``'s state
    values from episodes of ``behaviour`` (both float64[S, A], rows summing to 1 over allowed
    actions). ``config``: fields of `OffPolicyConfig`. Validates before compiled code runs."""
    mdp = as_mdp(mdp)
    target = check_policy(target, mdp, "target")
    behaviour = check_policy(behaviour, mdp, "behaviour")
    check_coverage(target, behaviour)
    cfg = make_off_policy_config(mdp, **config)
    rng = as_generator(seed_or_rng)
    *out, n_done = run_off_policy_prediction(mdp, target, behaviour, cfg, rng)
    check_finished("off_policy_prediction", cfg, int(n_done))
    return OffPolicyPrediction(cfg, *out, int(n_done))
