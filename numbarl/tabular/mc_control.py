"""Monte Carlo control (Sutton & Barto, Chapter 5): Monte Carlo ES, on-policy first-visit MC
control for epsilon-soft policies, and off-policy MC control with weighted importance sampling.

Drivers follow the conventions of `numbarl.tabular.control` (one `ControlConfig`, the same
outputs, time limits and budgets); returns are averaged (1/N, or weighted-IS ratios), so
``alpha`` is not used. Episodes cut by the time limit simply end there (no bootstrap).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.envs.tabular import TabularMDP, reset, step
from numbarl.tabular.episodes import (
    ControlConfig,
    driver_start,
    episode_epsilon,
    epsilon_greedy_u,
    grow,
)
from numbarl.tabular.policies import argmax_random, random_allowed


@njit(cache=True)
def _run_mc_first_visit(
    mdp: TabularMDP, cfg: ControlConfig, rng: np.random.Generator, exploring_starts: bool
):
    """First-visit Monte Carlo control with sample averages. With ``exploring_starts`` each
    episode starts from a pair (S0, A0) uniform over non-terminal states and their allowed
    actions and then follows the greedy policy; otherwise it starts from the MDP's start
    distribution and follows the epsilon-greedy policy."""
    S, A = mdp.n_states, mdp.n_actions
    q, returns, lengths, first_actions, limit, stop = driver_start(mdp, cfg)
    counts = np.zeros((S, A))
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
    q, returns, lengths, first_actions, limit, stop = driver_start(mdp, cfg)
    c = np.zeros((S, A))
    allowed = mdp.allowed
    pi = np.zeros(S, dtype=np.int64)
    n_allowed = np.zeros(S)
    for s in range(S):
        for a in range(A):
            if allowed[s, a]:
                n_allowed[s] += 1.0
        pi[s] = argmax_random(q[s], allowed[s], rng) if n_allowed[s] > 0 else 0
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
