"""Tabular control: Monte Carlo (Chapter 5) and temporal-difference control (Chapters 6 and 7).

Each one-step TD driver (Q-learning, Sarsa, Expected Sarsa, Double Q-learning) computes its update
with its rule's TD-error kernel (`q_learning_td`, `sarsa_td`, `expected_sarsa_td`, `double_q_td`,
on the table's rows), the same kernels the tests check on hand-computed numbers. The four keep
their own episode loops: one loop over the rule measured about 15% slower per step on
CliffWalking. Pieces every driver shares live in `numbarl.tabular.episodes`.

Every driver ``run_<algo>(mdp, cfg, rng)`` takes a `TabularMDP`, one `ControlConfig` and an
``np.random.Generator`` (advanced in place; the same generator state gives the same bytes) and
returns plain arrays::

    q              float64[S, A]  action values (Double Q-learning returns q1 and q2 instead)
    returns        float64[E]     sum of rewards of each episode (undiscounted)
    lengths        int64[E]       steps of each episode
    first_actions  int64[E]       the first action of each episode (-1 if never started)
    n_episodes     int            episodes completed (terminated or cut by the time limit)

Conventions shared by all drivers
- ``Q(s, a) = q0`` initially for non-terminal states and allowed actions, 0 elsewhere; terminal
  states keep value 0. Actions not allowed in a state are never chosen and never maximised over.
- Policies are epsilon-greedy over the state's allowed actions with ties broken uniformly at
  random, from one uniform per decision (`epsilon_greedy_u`); episode ``k`` uses
  ``max(epsilon_min, epsilon * epsilon_decay**k)`` (constant by default). Monte Carlo averages
  returns (1/N) and ignores ``alpha``.
- Without any time limit, an episode reaching `EPISODE_CAP` steps stops the run (``n_episodes
  < episodes``); `control` turns that into a RuntimeError asking for ``max_episode_steps``.
- Time limit: ``min(mdp.max_steps, max_episode_steps)`` over the positive ones (none if both are
  <= 0). A step cut by the limit is a truncation: TD targets still bootstrap from the next state;
  Monte Carlo returns simply end there.
- Budget: with ``max_total_steps > 0`` the run stops after that many environment steps, even in
  mid-episode (Example 6.5 counts episodes completed against time steps). The cut episode keeps
  its partial return and length but is not counted in ``n_episodes``; later entries stay 0 and
  ``first_actions`` -1. `episodes_by_step` turns ``lengths`` into the Example 6.5 curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from numbarl.envs.tabular import TabularMDP, has_reward_noise, reset, step, step_specialised
from numbarl.tabular.episodes import (
    EPISODE_CAP,
    ControlConfig,
    ControlResult,
    as_mdp,
    check_finished,
    episode_epsilon,
    episode_outputs,
    epsilon_greedy_u,
    grow,
    initial_q,
    make_control_config,
    time_limit,
)
from numbarl.tabular.policies import argmax_random, random_allowed
from numbarl.validation import as_generator

__all__ = [
    "ALGOS",
    "EPISODE_CAP",
    "ControlConfig",
    "ControlResult",
    "check_finished",
    "control",
    "episodes_by_step",
    "greedy_actions",
    "make_control_config",
    "off_policy_control",
]

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
# One-step TD control (Chapter 6): each loop calls its rule's TD-error kernel


@njit(cache=True, inline="always")
def _q_learning(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator, noisy: bool):
    """The loop of `run_q_learning`, specialised on ``noisy`` (see `sample_step`)."""
    q = initial_q(mdp, cfg.q0)
    returns, lengths, first_actions = episode_outputs(cfg.episodes)
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
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
        t = 0
        g = 0.0
        ended = False
        while budget <= 0 or total_steps < budget:
            a = epsilon_greedy_u(q, s, allowed, epsilon, rng.random())
            if t == 0:
                first_actions[episode] = a
            s2, r, terminated = sample_step(mdp, s, a, rng, noisy)
            # a literal 0.0 discount at termination lets the compiler drop the bootstrap
            if terminated:
                td = q_learning_td(q, s, a, r, 0.0, s2, allowed)
            else:
                td = q_learning_td(q, s, a, r, gamma, s2, allowed)
            q[s, a] += alpha * td
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
            break
        n_done += 1
    return q, returns, lengths, first_actions, n_done


@njit(cache=True, nogil=True)
def run_q_learning(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Q-learning (Section 6.5). Returns (q float64[S, A], returns float64[E], lengths int64[E],
    first_actions int64[E], n_episodes int)."""
    if has_reward_noise(mdp):
        return _q_learning(mdp, cfg, rng, True)
    return _q_learning(mdp, cfg, rng, False)


@njit(cache=True, inline="always")
def _expected_sarsa(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator, noisy: bool):
    """The loop of `run_expected_sarsa`, specialised on ``noisy`` (see `sample_step`)."""
    q = initial_q(mdp, cfg.q0)
    returns, lengths, first_actions = episode_outputs(cfg.episodes)
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
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
        t = 0
        g = 0.0
        ended = False
        while budget <= 0 or total_steps < budget:
            a = epsilon_greedy_u(q, s, allowed, epsilon, rng.random())
            if t == 0:
                first_actions[episode] = a
            s2, r, terminated = sample_step(mdp, s, a, rng, noisy)
            if terminated:
                td = expected_sarsa_td(q, s, a, r, 0.0, s2, allowed, epsilon)
            else:
                td = expected_sarsa_td(q, s, a, r, gamma, s2, allowed, epsilon)
            q[s, a] += alpha * td
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
            break
        n_done += 1
    return q, returns, lengths, first_actions, n_done


@njit(cache=True, nogil=True)
def run_expected_sarsa(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Expected Sarsa (Section 6.6), on-policy: behaviour and target are both epsilon-greedy.
    Returns (q, returns, lengths, first_actions, n_episodes) as `run_q_learning`."""
    if has_reward_noise(mdp):
        return _expected_sarsa(mdp, cfg, rng, True)
    return _expected_sarsa(mdp, cfg, rng, False)


@njit(cache=True, inline="always")
def _sarsa(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator, noisy: bool):
    """The loop of `run_sarsa`, specialised on ``noisy`` (see `sample_step`)."""
    q = initial_q(mdp, cfg.q0)
    returns, lengths, first_actions = episode_outputs(cfg.episodes)
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
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
        a = epsilon_greedy_u(q, s, allowed, epsilon, rng.random())
        first_actions[episode] = a
        t = 0
        g = 0.0
        ended = False
        while budget <= 0 or total_steps < budget:
            s2, r, terminated = sample_step(mdp, s, a, rng, noisy)
            if terminated:
                a2 = 0
                td = sarsa_td(q, s, a, r, 0.0, s2, a2)
            else:
                a2 = epsilon_greedy_u(q, s2, allowed, epsilon, rng.random())
                td = sarsa_td(q, s, a, r, gamma, s2, a2)
            q[s, a] += alpha * td
            g += r
            t += 1
            total_steps += 1
            s = s2
            a = a2
            if terminated or t == stop:
                ended = terminated or limit > 0  # else a runaway episode: stop the run
                break
        returns[episode] = g
        lengths[episode] = t
        if not ended:
            if t == 0:
                first_actions[episode] = -1
            break
        n_done += 1
    return q, returns, lengths, first_actions, n_done


@njit(cache=True, nogil=True)
def run_sarsa(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Sarsa (Section 6.4): A' is chosen epsilon-greedily in S' before Q(S, A) is updated (also at
    a truncation, to bootstrap). Returns (q, returns, lengths, first_actions, n_episodes)."""
    if has_reward_noise(mdp):
        return _sarsa(mdp, cfg, rng, True)
    return _sarsa(mdp, cfg, rng, False)


@njit(cache=True, inline="always")
def _double_q_learning(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator, noisy: bool):
    """The loop of `run_double_q_learning`, specialised on ``noisy`` (see `sample_step`)."""
    q1 = initial_q(mdp, cfg.q0)
    q2 = q1.copy()
    q_sum = np.zeros((1, mdp.n_actions))
    returns, lengths, first_actions = episode_outputs(cfg.episodes)
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
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
        t = 0
        g = 0.0
        ended = False
        while budget <= 0 or total_steps < budget:
            for b in range(mdp.n_actions):
                q_sum[0, b] = q1[s, b] + q2[s, b]
            a = epsilon_greedy_u(q_sum, 0, allowed[s : s + 1], epsilon, rng.random())
            if t == 0:
                first_actions[episode] = a
            s2, r, terminated = sample_step(mdp, s, a, rng, noisy)
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
            break
        n_done += 1
    return q1, q2, returns, lengths, first_actions, n_done


@njit(cache=True, nogil=True)
def run_double_q_learning(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Double Q-learning (Section 6.7): epsilon-greedy on Q1 + Q2; each step a fair coin picks
    which table is updated, its argmax in S' valued by the other. Returns (q1 float64[S, A],
    q2 float64[S, A], returns, lengths, first_actions, n_episodes)."""
    if has_reward_noise(mdp):
        return _double_q_learning(mdp, cfg, rng, True)
    return _double_q_learning(mdp, cfg, rng, False)


# ---------------------------------------------------------------------------------------------
# n-step Sarsa (Chapter 7)


@njit(cache=True, nogil=True)
def run_n_step_sarsa(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """n-step Sarsa (Section 7.2, ``n = cfg.n``); with n = 1 it is `run_sarsa` draw for draw.

    The update of time tau uses ``G = sum_{i=tau+1}^{min(tau+n, T)} gamma^(i-tau-1) R_i`` plus
    ``gamma^n Q(S_tau+n, A_tau+n)`` if tau + n < T; after a truncation at T the tail updates
    bootstrap from ``Q(S_T, A_T)``. Returns (q, returns, lengths, first_actions, n_episodes)."""
    q = initial_q(mdp, cfg.q0)
    returns, lengths, first_actions = episode_outputs(cfg.episodes)
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
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


# ---------------------------------------------------------------------------------------------
# Monte Carlo control (Chapter 5)


@njit(cache=True)
def _run_mc_first_visit(
    mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator, exploring_starts: bool
):
    """First-visit Monte Carlo control with sample averages. With ``exploring_starts`` each
    episode starts from a pair (S0, A0) uniform over non-terminal states and their allowed
    actions and then follows the greedy policy; otherwise it starts from the MDP's start
    distribution and follows the epsilon-greedy policy."""
    S, A = mdp.n_states, mdp.n_actions
    q = initial_q(mdp, cfg.q0)
    counts = np.zeros((S, A))
    returns, lengths, first_actions = episode_outputs(cfg.episodes)
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
    budget = cfg.max_total_steps
    gamma = cfg.gamma
    allowed = mdp.allowed
    # (state, action) pairs for exploring starts
    n_pairs = 0
    pairs = np.zeros(S * A, dtype=np.int64)
    for s in range(S):
        if not mdp.terminal[s]:
            for a in range(A):
                if allowed[s, a]:
                    pairs[n_pairs] = s * A + a
                    n_pairs += 1
    cap = limit if limit > 0 else 64
    ep_states = np.zeros(cap, dtype=np.int64)
    ep_actions = np.zeros(cap, dtype=np.int64)
    ep_rewards = np.zeros(cap)
    seen = np.full((S, A), -1, dtype=np.int64)  # episode of the last first visit
    first_t = np.zeros((S, A), dtype=np.int64)
    total_steps = 0
    n_done = 0
    eps_k = cfg.epsilon
    for episode in range(cfg.episodes):
        epsilon = episode_epsilon(cfg, eps_k)
        eps_k *= cfg.epsilon_decay
        if exploring_starts:
            pair = pairs[int(rng.random() * n_pairs)]
            s = pair // A
            a = pair % A
            epsilon = 0.0
        else:
            s = reset(mdp, rng)
            a = epsilon_greedy_u(q, s, allowed, epsilon, rng.random())
        first_actions[episode] = a
        t = 0
        g_sum = 0.0
        ended = False
        while budget <= 0 or total_steps < budget:
            if t > 0:
                a = epsilon_greedy_u(q, s, allowed, epsilon, rng.random())
            if t == ep_states.shape[0]:
                ep_states = grow(ep_states)
                ep_actions = grow(ep_actions)
                ep_rewards = grow(ep_rewards)
            ep_states[t] = s
            ep_actions[t] = a
            if seen[s, a] != episode:
                seen[s, a] = episode
                first_t[s, a] = t
            s2, r, terminated = step(mdp, s, a, rng)
            ep_rewards[t] = r
            g_sum += r
            t += 1
            total_steps += 1
            s = s2
            if terminated or t == stop:
                ended = terminated or limit > 0  # else a runaway episode: stop the run
                break
        returns[episode] = g_sum
        lengths[episode] = t
        if not ended:
            if t == 0:
                first_actions[episode] = -1
            break
        n_done += 1
        g = 0.0
        for i in range(t - 1, -1, -1):
            g = gamma * g + ep_rewards[i]
            si, ai = ep_states[i], ep_actions[i]
            if first_t[si, ai] == i:
                counts[si, ai] += 1.0
                q[si, ai] += (g - q[si, ai]) / counts[si, ai]
    return q, returns, lengths, first_actions, n_done


@njit(cache=True, nogil=True)
def run_mc_exploring_starts(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Monte Carlo ES (Section 5.3): exploring starts uniform over (non-terminal state, allowed
    action) pairs, greedy policy (random ties), first-visit averages of returns. ``epsilon`` and
    ``alpha`` are not used. Returns (q, returns, lengths, first_actions, n_episodes)."""
    return _run_mc_first_visit(mdp, cfg, rng, True)


@njit(cache=True, nogil=True)
def run_mc_control(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """On-policy first-visit MC control for epsilon-soft policies (Section 5.4): epsilon-greedy
    on Q, first-visit sample averages (``alpha`` is not used). Returns (q, returns, lengths,
    first_actions, n_episodes)."""
    return _run_mc_first_visit(mdp, cfg, rng, False)


@njit(cache=True, nogil=True)
def run_off_policy_mc_control(mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator):
    """Off-policy MC control (Section 5.7): weighted importance sampling, incremental (every
    visit), greedy target pi(s) = argmax Q(s, .) (random ties, kept fixed between updates) and
    behaviour epsilon-greedy around pi: ``b(a|s) = epsilon/|A(s)| + (1 - epsilon) [a = pi(s)]``.
    Uses ``gamma``, ``epsilon`` (+ schedule), ``episodes``, ``q0`` and the step limits of
    ``cfg``; ``alpha`` and ``n`` are not used. Returns (q float64[S, A], returns float64[E],
    lengths int64[E], first_actions int64[E], n_episodes int)."""
    S, A = mdp.n_states, mdp.n_actions
    q = initial_q(mdp, cfg.q0)
    c = np.zeros((S, A))
    allowed = mdp.allowed
    pi = np.zeros(S, dtype=np.int64)
    n_allowed = np.zeros(S)
    for s in range(S):
        for a in range(A):
            if allowed[s, a]:
                n_allowed[s] += 1.0
        pi[s] = argmax_random(q[s], allowed[s], rng) if n_allowed[s] > 0 else 0
    returns, lengths, first_actions = episode_outputs(cfg.episodes)
    limit, stop = time_limit(mdp, cfg.max_episode_steps)
    budget = cfg.max_total_steps
    gamma = cfg.gamma
    cap = limit if limit > 0 else 64
    ep_states = np.zeros(cap, dtype=np.int64)
    ep_actions = np.zeros(cap, dtype=np.int64)
    ep_probs = np.zeros(cap)
    ep_rewards = np.zeros(cap)
    total_steps = 0
    n_done = 0
    eps_k = cfg.epsilon
    for episode in range(cfg.episodes):
        epsilon = episode_epsilon(cfg, eps_k)
        eps_k *= cfg.epsilon_decay
        s = reset(mdp, rng)
        t = 0
        g_sum = 0.0
        ended = False
        while cfg.max_total_steps <= 0 or total_steps < budget:
            if epsilon > 0.0 and rng.random() < epsilon:
                a = random_allowed(allowed[s], rng)
            else:
                a = pi[s]
            prob = epsilon / n_allowed[s] + ((1.0 - epsilon) if a == pi[s] else 0.0)
            if t == 0:
                first_actions[episode] = a
            if t == ep_states.shape[0]:
                ep_states = grow(ep_states)
                ep_actions = grow(ep_actions)
                ep_probs = grow(ep_probs)
                ep_rewards = grow(ep_rewards)
            ep_states[t] = s
            ep_actions[t] = a
            ep_probs[t] = prob
            s2, r, terminated = step(mdp, s, a, rng)
            ep_rewards[t] = r
            g_sum += r
            t += 1
            total_steps += 1
            s = s2
            if terminated or t == stop:
                ended = terminated or limit > 0  # else a runaway episode: stop the run
                break
        returns[episode] = g_sum
        lengths[episode] = t
        if not ended:
            break
        n_done += 1
        g = 0.0
        w = 1.0
        for i in range(t - 1, -1, -1):
            g = gamma * g + ep_rewards[i]
            si, ai = ep_states[i], ep_actions[i]
            c[si, ai] += w
            q[si, ai] += (w / c[si, ai]) * (g - q[si, ai])
            pi[si] = argmax_random(q[si], allowed[si], rng)
            if ai != pi[si]:
                break
            w /= ep_probs[i]
    return q, returns, lengths, first_actions, n_done


# ---------------------------------------------------------------------------------------------
# Python-facing API


def _drivers() -> dict[str, Any]:
    return {
        "q_learning": run_q_learning,
        "sarsa": run_sarsa,
        "expected_sarsa": run_expected_sarsa,
        "n_step_sarsa": run_n_step_sarsa,
        "double_q_learning": run_double_q_learning,
        "mc_exploring_starts": run_mc_exploring_starts,
        "mc_control": run_mc_control,
        "off_policy_mc_control": run_off_policy_mc_control,
    }


ALGOS: tuple[str, ...] = (
    "q_learning",
    "sarsa",
    "expected_sarsa",
    "n_step_sarsa",
    "double_q_learning",
    "mc_exploring_starts",
    "mc_control",
    "off_policy_mc_control",
)


def greedy_actions(q: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """int64[S]: argmax over allowed actions of ``q`` float64[S, A] (first on ties)."""
    q = np.asarray(q, dtype=np.float64)
    if allowed is not None:
        q = np.where(np.asarray(allowed, dtype=bool), q, -np.inf)
    return np.argmax(q, axis=1).astype(np.int64)


def control(
    algo: str,
    mdp: TabularMDP | str,
    seed_or_rng: int | np.random.Generator = 0,
    **config: Any,
) -> ControlResult:
    """Run one tabular control method: ``algo`` is one of `ALGOS`, ``mdp`` a `TabularMDP` (or a
    tabular env id), ``config`` fields of `ControlConfig`. Validates everything before compiled
    code runs (ValueError/TypeError naming the field and the allowed values)."""
    if not isinstance(algo, str) or algo not in ALGOS:
        raise ValueError(f"algo must be one of {', '.join(ALGOS)}; got {algo!r}")
    mdp = as_mdp(mdp)
    cfg = make_control_config(**config)
    rng = as_generator(seed_or_rng)
    out = _drivers()[algo](mdp, cfg, rng)
    check_finished(algo, cfg, int(out[-1]), int(out[-3].sum()))
    if algo == "double_q_learning":
        q1, q2, returns, lengths, first_actions, n_done = out
        q = 0.5 * (q1 + q2)
        return ControlResult(algo, cfg, q, returns, lengths, first_actions, int(n_done), q1, q2)
    q, returns, lengths, first_actions, n_done = out
    return ControlResult(algo, cfg, q, returns, lengths, first_actions, int(n_done), None, None)


def episodes_by_step(lengths: np.ndarray, n_episodes: int, total_steps: int) -> np.ndarray:
    """int64[total_steps + 1]: episodes completed by each time step 0..total_steps (Example 6.5's
    curve), from a run's ``lengths`` and ``n_episodes``."""
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64)[: int(n_episodes)])
    return np.searchsorted(ends, np.arange(total_steps + 1), side="right").astype(np.int64)


def off_policy_control(
    mdp: TabularMDP | str, seed_or_rng: int | np.random.Generator = 0, **config: Any
) -> ControlResult:
    """Off-policy MC control (weighted IS) with `ControlConfig` fields; same as
    ``control("off_policy_mc_control", ...)``."""
    mdp = as_mdp(mdp)
    cfg = make_control_config(**config)
    rng = as_generator(seed_or_rng)
    q, returns, lengths, first_actions, n_done = run_off_policy_mc_control(mdp, cfg, rng)
    check_finished("off_policy_mc_control", cfg, int(n_done), int(lengths.sum()))
    return ControlResult(
        "off_policy_mc_control", cfg, q, returns, lengths, first_actions, int(n_done)
    )
