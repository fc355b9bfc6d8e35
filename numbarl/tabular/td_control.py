"""Temporal-difference control (Sutton & Barto, Chapters 6 and 7): Q-learning, Sarsa, Expected
Sarsa, Double Q-learning and n-step Sarsa on a `TabularMDP`.

The four one-step methods share one episode loop, `_one_step_td`, which applies its rule's
TD-error kernel (`q_learning_td`, `sarsa_td`, `expected_sarsa_td`, `double_q_td`, on the table's
rows: the same kernels the tests check on hand-computed numbers). The rule is a literal constant
at every call, and the loop is inlined into each driver, so the compiler keeps only that rule's
branch: each driver runs as fast as a loop written for it alone. Conventions (configuration,
time limits, budgets, outputs) are those of `numbarl.tabular.control`; the pieces every driver
shares live in `numbarl.tabular.episodes`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.envs.tabular import TabularMDP, has_reward_noise, reset, step, step_specialised
from numbarl.tabular.episodes import ControlConfig, driver_start, episode_epsilon, epsilon_greedy_u
from numbarl.tabular.policies import argmax_random

# ---------------------------------------------------------------------------------------------
# TD-error kernels on the table's rows (time convention of rlax: the update is of Q(s, a), the
# target reads row s2; ``discount`` is 0 at termination). Row forms take no views of ``q``, so
# the hot loop pays no reference counting.


@njit(cache=True, inline="always")
def max_allowed_row(q: np.ndarray, s: int, allowed: np.ndarray) -> float:
    """max over the allowed actions of row ``s`` of ``q`` float64[S, A] (``allowed`` bool[S, A]);
    0.0 when none is allowed."""
    best = -np.inf
    for a in range(q.shape[1]):
        if allowed[s, a] and q[s, a] > best:
            best = q[s, a]
    if best == -np.inf:
        return 0.0
    return best


@njit(cache=True, inline="always")
def expectation_row(q: np.ndarray, s: int, allowed: np.ndarray, epsilon: float) -> float:
    """``sum_a pi(a|s) q[s, a]`` for pi epsilon-greedy over the allowed actions of row ``s`` (ties
    share the greedy mass); 0.0 when no action is allowed. No allocation."""
    n_allowed = 0
    best = -np.inf
    total = 0.0
    for a in range(q.shape[1]):
        if allowed[s, a]:
            n_allowed += 1
            total += q[s, a]
            if q[s, a] > best:
                best = q[s, a]
    if n_allowed == 0:
        return 0.0
    # All greedy actions share the value `best`, so their share of the mass is (1 - eps) * best.
    return epsilon * total / n_allowed + (1.0 - epsilon) * best


@njit(cache=True, inline="always")
def q_learning_td(
    q: np.ndarray, s: int, a: int, r: float, discount: float, s2: int, allowed: np.ndarray
) -> float:
    """Q-learning TD error (6.8): ``r + discount * max_{a' allowed in s2} q[s2, a'] - q[s, a]``."""
    if discount == 0.0:
        return r - q[s, a]
    return r + discount * max_allowed_row(q, s2, allowed) - q[s, a]


@njit(cache=True, inline="always")
def sarsa_td(q: np.ndarray, s: int, a: int, r: float, discount: float, s2: int, a2: int) -> float:
    """Sarsa TD error (6.7): ``r + discount * q[s2, a2] - q[s, a]`` (``s2``, ``a2`` unread when
    ``discount`` is 0)."""
    if discount == 0.0:
        return r - q[s, a]
    return r + discount * q[s2, a2] - q[s, a]


@njit(cache=True, inline="always")
def expected_sarsa_td(
    q: np.ndarray,
    s: int,
    a: int,
    r: float,
    discount: float,
    s2: int,
    allowed: np.ndarray,
    epsilon: float,
) -> float:
    """Expected Sarsa TD error (6.9) with an epsilon-greedy target policy:
    ``r + discount * sum_a' pi(a'|s2) q[s2, a'] - q[s, a]``."""
    if discount == 0.0:
        return r - q[s, a]
    return r + discount * expectation_row(q, s2, allowed, epsilon) - q[s, a]


@njit(cache=True, inline="always")
def double_q_td(
    q: np.ndarray,
    s: int,
    a: int,
    r: float,
    discount: float,
    s2: int,
    q_value: np.ndarray,
    allowed: np.ndarray,
    rng: np.random.Generator,
) -> float:
    """Double Q-learning TD error (6.10) for the table ``q`` being updated: the action in ``s2``
    is chosen by ``q`` itself (argmax over allowed actions, random ties) and valued by the other
    table ``q_value``: ``r + discount * q_value[s2, argmax_a' q[s2, a']] - q[s, a]``. Draws from
    ``rng`` only to break ties, and only when ``discount`` is not 0."""
    if discount == 0.0:
        return r - q[s, a]
    a_star = argmax_random(q[s2], allowed[s2], rng)
    if a_star < 0:
        return r - q[s, a]
    return r + discount * q_value[s2, a_star] - q[s, a]


# The sampler specialised on reward noise lives with the sampler (numbarl.envs.tabular).
sample_step = step_specialised


# ---------------------------------------------------------------------------------------------
# One-step TD control (Chapter 6): one loop, specialised on the rule

# The rules of `_one_step_td` (pass them as literals so each driver keeps one branch).
Q_LEARNING = 0
SARSA = 1
EXPECTED_SARSA = 2
DOUBLE_Q = 3


@njit(cache=True, inline="always")
def _one_step_td(
    mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator, noisy: bool, rule: int
):
    """The episode loop of the one-step TD drivers, specialised on ``rule`` and ``noisy`` (see
    `sample_step`). Sarsa chooses A' in S' before updating Q(S, A) (also at a truncation, to
    bootstrap); the other rules choose each action at the top of the step. Double Q-learning
    acts epsilon-greedily on Q1 + Q2 and, by a fair coin per step, updates Q1 (argmax by Q1,
    valued by Q2) or Q2 the other way round. Returns (q1, q2, returns, lengths, first_actions,
    n_done); ``q2`` is a copy of the initial table for the single-table rules."""
    q1, returns, lengths, first_actions, limit, stop = driver_start(mdp, cfg)
    q2 = q1.copy()
    q_sum = np.zeros((1, mdp.n_actions))
    budget = cfg.max_total_steps
    alpha, gamma = cfg.alpha, cfg.gamma
    allowed = mdp.allowed
    total_steps = 0
    n_done = 0
    eps_k = cfg.epsilon
    for episode in range(cfg.episodes):
        epsilon = episode_epsilon(cfg, eps_k)
        eps_k *= cfg.epsilon_decay
        s = reset(mdp, rng)
        a = 0
        if rule == SARSA:
            a = epsilon_greedy_u(q1, s, allowed, epsilon, rng.random())
            first_actions[episode] = a
        t = 0
        g = 0.0
        ended = False
        while budget <= 0 or total_steps < budget:
            if rule == DOUBLE_Q:
                for b in range(mdp.n_actions):
                    q_sum[0, b] = q1[s, b] + q2[s, b]
                a = epsilon_greedy_u(q_sum, 0, allowed[s : s + 1], epsilon, rng.random())
            elif rule != SARSA:
                a = epsilon_greedy_u(q1, s, allowed, epsilon, rng.random())
            if rule != SARSA and t == 0:
                first_actions[episode] = a
            s2, r, terminated = sample_step(mdp, s, a, rng, noisy)
            # a literal 0.0 discount at termination lets the compiler drop the bootstrap
            if rule == Q_LEARNING:
                if terminated:
                    td = q_learning_td(q1, s, a, r, 0.0, s2, allowed)
                else:
                    td = q_learning_td(q1, s, a, r, gamma, s2, allowed)
                q1[s, a] += alpha * td
            elif rule == EXPECTED_SARSA:
                if terminated:
                    td = expected_sarsa_td(q1, s, a, r, 0.0, s2, allowed, epsilon)
                else:
                    td = expected_sarsa_td(q1, s, a, r, gamma, s2, allowed, epsilon)
                q1[s, a] += alpha * td
            elif rule == SARSA:
                if terminated:
                    a2 = 0
                    td = sarsa_td(q1, s, a, r, 0.0, s2, a2)
                else:
                    a2 = epsilon_greedy_u(q1, s2, allowed, epsilon, rng.random())
                    td = sarsa_td(q1, s, a, r, gamma, s2, a2)
                q1[s, a] += alpha * td
                a = a2
            else:
                discount = 0.0 if terminated else gamma
                if rng.random() < 0.5:  # a fair coin: update Q1 (argmax by Q1, valued by Q2)
                    q1[s, a] += alpha * double_q_td(q1, s, a, r, discount, s2, q2, allowed, rng)
                else:
                    q2[s, a] += alpha * double_q_td(q2, s, a, r, discount, s2, q1, allowed, rng)
            g += r
            t += 1
            total_steps += 1
            s = s2
            if terminated or t == stop:
                ended = terminated or limit > 0  # else a runaway episode: stop the run
                break
        returns[episode] = g
        lengths[episode] = t
        if not ended:
            if rule == SARSA and t == 0:
                first_actions[episode] = -1
            break
        n_done += 1
    return q1, q2, returns, lengths, first_actions, n_done


@njit(cache=True, inline="always")
def _one_step_td_any(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator, rule: int):
    """`_one_step_td` specialised on whether ``mdp`` has reward noise (see `sample_step`)."""
    if has_reward_noise(mdp):
        return _one_step_td(mdp, cfg, rng, True, rule)
    return _one_step_td(mdp, cfg, rng, False, rule)


@njit(cache=True, nogil=True)
def run_q_learning(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Q-learning (Section 6.5). Returns (q float64[S, A], returns float64[E], lengths int64[E],
    first_actions int64[E], n_episodes int)."""
    q, _, returns, lengths, first_actions, n = _one_step_td_any(mdp, cfg, rng, Q_LEARNING)
    return q, returns, lengths, first_actions, n


@njit(cache=True, nogil=True)
def run_sarsa(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Sarsa (Section 6.4): A' is chosen epsilon-greedily in S' before Q(S, A) is updated (also at
    a truncation, to bootstrap). Returns (q, returns, lengths, first_actions, n_episodes)."""
    q, _, returns, lengths, first_actions, n = _one_step_td_any(mdp, cfg, rng, SARSA)
    return q, returns, lengths, first_actions, n


@njit(cache=True, nogil=True)
def run_expected_sarsa(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Expected Sarsa (Section 6.6), on-policy: behaviour and target are both epsilon-greedy.
    Returns (q, returns, lengths, first_actions, n_episodes) as `run_q_learning`."""
    q, _, returns, lengths, first_actions, n = _one_step_td_any(mdp, cfg, rng, EXPECTED_SARSA)
    return q, returns, lengths, first_actions, n


@njit(cache=True, nogil=True)
def run_double_q_learning(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Double Q-learning (Section 6.7): epsilon-greedy on Q1 + Q2; each step a fair coin picks
    which table is updated, its argmax in S' valued by the other. Returns (q1 float64[S, A],
    q2 float64[S, A], returns, lengths, first_actions, n_episodes)."""
    return _one_step_td_any(mdp, cfg, rng, DOUBLE_Q)


# ---------------------------------------------------------------------------------------------
# n-step Sarsa (Chapter 7)


@njit(cache=True, nogil=True)
def run_n_step_sarsa(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """n-step Sarsa (Section 7.2, ``n = cfg.n``); with n = 1 it is `run_sarsa` draw for draw.

    The update of time tau uses ``G = sum_{i=tau+1}^{min(tau+n, T)} gamma^(i-tau-1) R_i`` plus
    ``gamma^n Q(S_tau+n, A_tau+n)`` if tau + n < T; after a truncation at T the tail updates
    bootstrap from ``Q(S_T, A_T)``. Returns (q, returns, lengths, first_actions, n_episodes)."""
    q, returns, lengths, first_actions, limit, stop = driver_start(mdp, cfg)
    budget = cfg.max_total_steps
    alpha, gamma, n = cfg.alpha, cfg.gamma, cfg.n
    allowed = mdp.allowed
    m = n + 1  # ring buffers hold S, A, R for times tau .. tau + n
    states = np.zeros(m, dtype=np.int64)
    actions = np.zeros(m, dtype=np.int64)
    rewards = np.zeros(m)
    big = np.iinfo(np.int64).max
    total_steps = 0
    n_done = 0
    eps_k = cfg.epsilon
    for episode in range(cfg.episodes):
        epsilon = episode_epsilon(cfg, eps_k)
        eps_k *= cfg.epsilon_decay
        s = reset(mdp, rng)
        a = epsilon_greedy_u(q, s, allowed, epsilon, rng.random())
        first_actions[episode] = a
        states[0] = s
        actions[0] = a
        T = big
        truncated = False
        stopped = False
        g_episode = 0.0
        t = 0
        while True:
            if t < T:
                if budget > 0 and total_steps >= budget:
                    stopped = True
                    break
                s_t, a_t = states[t % m], actions[t % m]
                s2, r, terminated = step(mdp, s_t, a_t, rng)
                total_steps += 1
                g_episode += r
                rewards[(t + 1) % m] = r
                states[(t + 1) % m] = s2
                if terminated:
                    T = t + 1
                else:
                    if t + 1 == stop:
                        if limit <= 0:  # a runaway episode: stop the run
                            t += 1
                            stopped = True
                            break
                        T = t + 1
                        truncated = True
                    actions[(t + 1) % m] = epsilon_greedy_u(q, s2, allowed, epsilon, rng.random())
            tau = t - n + 1
            if tau >= 0:
                end = min(tau + n, T)
                g = 0.0
                disc = 1.0
                for i in range(tau + 1, end + 1):
                    g += disc * rewards[i % m]
                    disc *= gamma
                if end < T or truncated:
                    g += disc * q[states[end % m], actions[end % m]]
                s_tau, a_tau = states[tau % m], actions[tau % m]
                q[s_tau, a_tau] += alpha * (g - q[s_tau, a_tau])
                if tau == T - 1:
                    break
            t += 1
        steps = T if not stopped else t
        returns[episode] = g_episode
        lengths[episode] = steps
        if stopped:
            if steps == 0:
                first_actions[episode] = -1
            break
        n_done += 1
    return q, returns, lengths, first_actions, n_done
