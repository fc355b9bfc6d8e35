"""The compiled side of tabular prediction (`numbarl.tabular.prediction` is the door and
states the conventions): one-step kernels with a hand-computed test each, episode sampling and
recording, and the drivers ``driver(mdp, pi, v0, cfg, v_true, rng) -> (v, history, rms)``.

TD(0), TD(lambda) and true online TD(lambda) share one step-wise episode loop, `_stepwise`,
inlined into each driver with its rule as a literal constant, so each runs as its own loop would.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.envs.tabular import TabularMDP, reset, step
from numbarl.tabular.policies import sample_action

MC_FIRST_VISIT, MC_EVERY_VISIT, MC_CONSTANT_ALPHA = 0, 1, 2
TRACE_ACCUMULATING, TRACE_REPLACING = 0, 1
BATCH_TD0, BATCH_MC = 0, 1

_NEVER = 1 << 62  # "T = infinity" of the book's n-step algorithm


# ---------------------------------------------------------------------------------------------
# One-step kernels


@njit(cache=True, inline="always")
def td_error(v_s: float, r: float, discount: float, v_next: float) -> float:
    """delta = r + discount * v_next - v_s (discount 0 when the next state is terminal)."""
    return r + discount * v_next - v_s


@njit(cache=True, inline="always")
def n_step_return(
    rewards: np.ndarray, first: int, count: int, gamma: float, bootstrap: bool, v_boot: float
) -> float:
    """G = sum_{k<count} gamma^k rewards[(first + k) % m] (+ gamma^count v_boot if bootstrap),
    over a circular buffer ``rewards`` float64[m] (book eq. 7.1, truncated at the episode end)."""
    m = rewards.shape[0]
    g = 0.0
    pw = 1.0
    for k in range(count):
        g += pw * rewards[(first + k) % m]
        pw *= gamma
    if bootstrap:
        g += pw * v_boot
    return g


@njit(cache=True, inline="always")
def discounted_returns(rewards: np.ndarray, T: int, gamma: float, out: np.ndarray) -> None:
    """out[t] = G_t = sum_k gamma^k rewards[t + k] for t < T (no bootstrap: the return
    observed). ``rewards`` float64[>=T] holds R_1..R_T at 0..T-1; ``out`` float64[>=T]."""
    g = 0.0
    for t in range(T - 1, -1, -1):
        g = rewards[t] + gamma * g
        out[t] = g


@njit(cache=True, inline="always")
def lambda_returns(
    states: np.ndarray,
    rewards: np.ndarray,
    T: int,
    v_boot: float,
    v: np.ndarray,
    gamma: float,
    lam: float,
    out: np.ndarray,
) -> None:
    """out[t] = G^lambda_t (book eq. 12.3, truncated at T as in eq. 12.9) for t < T, by the
    recursion G^lambda_t = R_{t+1} + gamma((1 - lam) v[S_{t+1}] + lam G^lambda_{t+1}), with
    G^lambda_T = v_boot (0 at termination, v[S_T] at a time limit). ``states`` int64[>=T+1],
    ``rewards`` float64[>=T], ``v`` float64[S], ``out`` float64[>=T]."""
    g = v_boot
    for t in range(T - 1, -1, -1):
        v_next = v[states[t + 1]] if t + 1 < T else v_boot
        g = rewards[t] + gamma * ((1.0 - lam) * v_next + lam * g)
        out[t] = g


@njit(cache=True, inline="always")
def update_trace(z: np.ndarray, s: int, gamma_lam: float, variant: int) -> None:
    """Tabular eligibility trace in place: z = gamma_lam z, then z[s] += 1 (accumulating,
    variant 0) or z[s] = 1 (replacing, variant 1). ``z`` float64[S]."""
    for i in range(z.shape[0]):
        z[i] *= gamma_lam
    if variant == TRACE_REPLACING:
        z[s] = 1.0
    else:
        z[s] += 1.0


@njit(cache=True, inline="always")
def true_online_update(
    v: np.ndarray,
    z: np.ndarray,
    s: int,
    delta: float,
    v_s: float,
    v_old: float,
    alpha: float,
    gamma_lam: float,
) -> None:
    """One step of true online TD(lambda) with one-hot features (book 12.5), in place:
    z = gamma_lam z + (1 - alpha gamma_lam z[s]) e_s (dutch trace), then
    v += alpha (delta + v_s - v_old) z - alpha (v_s - v_old) e_s. ``v``, ``z`` float64[S]."""
    z_s = z[s]
    for i in range(z.shape[0]):
        z[i] *= gamma_lam
    z[s] += 1.0 - alpha * gamma_lam * z_s
    coef = alpha * (delta + v_s - v_old)
    for i in range(v.shape[0]):
        v[i] += coef * z[i]
    v[s] -= alpha * (v_s - v_old)


@njit(cache=True, inline="always")
def rms_error(v: np.ndarray, v_true: np.ndarray, terminal: np.ndarray) -> float:
    """Root mean squared error over the non-terminal states. float64[S] x2, bool[S]."""
    total = 0.0
    n = 0
    for i in range(v.shape[0]):
        if not terminal[i]:
            d = v[i] - v_true[i]
            total += d * d
            n += 1
    return np.sqrt(total / max(n, 1))


@njit(cache=True)
def rms_errors(history: np.ndarray, v_true: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """`rms_error` of each row of ``history`` float64[E, S]: float64[E] (NaN rows stay NaN)."""
    out = np.empty(history.shape[0])
    for e in range(history.shape[0]):
        out[e] = rms_error(history[e], v_true, terminal)
    return out


# ---------------------------------------------------------------------------------------------
# Episodes and recording


@njit(cache=True, inline="always")
def _live(mdp: TabularMDP, s: int, t: int) -> bool:
    """True while the episode goes on: s not terminal and the time limit not reached."""
    return not mdp.terminal[s] and (mdp.max_steps <= 0 or t < mdp.max_steps)


@njit(cache=True, nogil=True)
def _episode_into(mdp: TabularMDP, pi: np.ndarray, rng, states: np.ndarray, rewards: np.ndarray):
    """Run one episode into growable buffers. Returns (T, terminated, states, rewards) with
    S_0..S_T in states[:T+1] and R_1..R_T in rewards[:T] (buffers reallocated when full)."""
    s = reset(mdp, rng)
    states[0] = s
    t = 0
    while _live(mdp, s, t):
        a = sample_action(pi[s], rng)
        s2, r, _ = step(mdp, s, a, rng)
        if t + 1 >= states.shape[0]:
            bigger_s = np.empty(2 * states.shape[0], dtype=np.int64)
            bigger_s[: states.shape[0]] = states
            states = bigger_s
            bigger_r = np.empty(2 * rewards.shape[0])
            bigger_r[: rewards.shape[0]] = rewards
            rewards = bigger_r
        rewards[t] = r
        states[t + 1] = s2
        t += 1
        s = s2
    return t, mdp.terminal[s], states, rewards


@njit(cache=True, nogil=True)
def sample_episode(mdp: TabularMDP, pi: np.ndarray, rng: np.random.Generator):
    """One episode under ``pi`` float64[S, A]: (states int64[T+1], rewards float64[T],
    terminated bool). Consumes ``rng`` exactly as every driver does for one episode."""
    T, terminated, states, rewards = _episode_into(
        mdp, pi, rng, np.empty(64, dtype=np.int64), np.empty(64)
    )
    return states[: T + 1].copy(), rewards[:T].copy(), terminated


@njit(cache=True, inline="always")
def _recorders(mdp: TabularMDP, episodes: int, v_true: np.ndarray):
    if v_true.shape[0] == 0:
        return np.full((episodes, mdp.n_states), np.nan), np.empty(0)
    return np.empty((0, mdp.n_states)), np.full(episodes, np.nan)


@njit(cache=True, inline="always")
def _record(
    v: np.ndarray,
    e: int,
    history: np.ndarray,
    rms: np.ndarray,
    v_true: np.ndarray,
    terminal: np.ndarray,
) -> bool:
    """Store episode e's estimate (or its RMS error); False if v is no longer finite."""
    for i in range(v.shape[0]):
        if not np.isfinite(v[i]):
            return False
    if v_true.shape[0] == 0:
        history[e] = v
    else:
        rms[e] = rms_error(v, v_true, terminal)
    return True


# ---------------------------------------------------------------------------------------------
# Drivers: (mdp, pi, v0, cfg, v_true, rng) -> (v float64[S], history float64[E|0, S], rms
# float64[E|0]); see the module docstring.


# The rules of `_stepwise` (passed as literals, so each driver keeps only its own branch).
_TD0, _TD_LAMBDA, _TRUE_ONLINE = 0, 1, 2


@njit(cache=True, inline="always")
def _stepwise(mdp, pi, v0, cfg, v_true, rng, rule):
    """The episode loop of the methods that update after every step, specialised on ``rule``:
    TD(0), TD(lambda) (trace variant ``cfg.variant``) or true online TD(lambda). Traces (and
    true online's V_old) are cleared at the start of each episode."""
    v = v0.copy()
    history, rms = _recorders(mdp, cfg.episodes, v_true)
    z = np.zeros(mdp.n_states)
    gamma_lam = cfg.gamma * cfg.lam
    for e in range(cfg.episodes):
        if rule != _TD0:
            z[:] = 0.0
        v_old = 0.0
        s = reset(mdp, rng)
        t = 0
        while _live(mdp, s, t):
            a = sample_action(pi[s], rng)
            s2, r, terminated = step(mdp, s, a, rng)
            if rule == _TRUE_ONLINE:
                v_s = v[s]
                v_next = 0.0 if terminated else v[s2]
                delta = td_error(v_s, r, cfg.gamma, v_next)
                true_online_update(v, z, s, delta, v_s, v_old, cfg.alpha, gamma_lam)
                v_old = v_next
            else:
                discount = 0.0 if terminated else cfg.gamma
                delta = td_error(v[s], r, discount, v[s2])
                if rule == _TD0:
                    v[s] += cfg.alpha * delta
                else:
                    update_trace(z, s, gamma_lam, cfg.variant)
                    step_size = cfg.alpha * delta
                    for i in range(v.shape[0]):
                        v[i] += step_size * z[i]
            s = s2
            t += 1
        if not _record(v, e, history, rms, v_true, mdp.terminal):
            break
    return v, history, rms


@njit(cache=True, nogil=True)
def run_td0(mdp, pi, v0, cfg, v_true, rng):
    """Tabular TD(0) (book 6.2): V(S) += alpha [R + gamma V(S') - V(S)] after every step."""
    return _stepwise(mdp, pi, v0, cfg, v_true, rng, _TD0)


@njit(cache=True, nogil=True)
def run_n_step_td(mdp, pi, v0, cfg, v_true, rng):
    """n-step TD (book 7.1) with circular buffers of n + 1 states and rewards. At a time limit
    the n-step return is cut there and bootstraps from the state reached."""
    v = v0.copy()
    history, rms = _recorders(mdp, cfg.episodes, v_true)
    n = cfg.n
    m = n + 1
    states = np.zeros(m, dtype=np.int64)
    rewards = np.zeros(m)
    for e in range(cfg.episodes):
        s = reset(mdp, rng)
        states[0] = s
        T = 0 if mdp.terminal[s] else _NEVER
        truncated = False
        t = 0
        while T > 0:
            if t < T:
                a = sample_action(pi[s], rng)
                s2, r, terminated = step(mdp, s, a, rng)
                rewards[(t + 1) % m] = r
                states[(t + 1) % m] = s2
                if terminated:
                    T = t + 1
                elif mdp.max_steps > 0 and t + 1 >= mdp.max_steps:
                    T = t + 1
                    truncated = True
                s = s2
            tau = t - n + 1
            if tau >= 0:
                end = min(tau + n, T)
                boot = tau + n < T or truncated
                g = n_step_return(rewards, tau + 1, end - tau, cfg.gamma, boot, v[states[end % m]])
                s_tau = states[tau % m]
                v[s_tau] += cfg.alpha * (g - v[s_tau])
            if tau == T - 1:
                break
            t += 1
        if not _record(v, e, history, rms, v_true, mdp.terminal):
            break
    return v, history, rms


@njit(cache=True, nogil=True)
def run_mc(mdp, pi, v0, cfg, v_true, rng):
    """Monte Carlo prediction on the observed returns G_t. ``cfg.variant``: MC_FIRST_VISIT and
    MC_EVERY_VISIT keep exact sample averages (sum / count; a state never visited keeps v0),
    MC_CONSTANT_ALPHA applies V(S_t) += alpha [G_t - V(S_t)] for t = 0..T-1 at the episode end."""
    S = mdp.n_states
    v = v0.copy()
    history, rms = _recorders(mdp, cfg.episodes, v_true)
    states = np.empty(64, dtype=np.int64)
    rewards = np.empty(64)
    returns = np.empty(64)
    sums = np.zeros(S)
    counts = np.zeros(S)
    seen = np.full(S, -1, dtype=np.int64)  # episode of the last first visit
    for e in range(cfg.episodes):
        T, _, states, rewards = _episode_into(mdp, pi, rng, states, rewards)
        if returns.shape[0] < T:
            returns = np.empty(rewards.shape[0])
        discounted_returns(rewards, T, cfg.gamma, returns)
        for t in range(T):
            s = states[t]
            if cfg.variant == MC_CONSTANT_ALPHA:
                v[s] += cfg.alpha * (returns[t] - v[s])
            elif cfg.variant == MC_EVERY_VISIT or seen[s] != e:
                seen[s] = e
                sums[s] += returns[t]
                counts[s] += 1.0
                v[s] = sums[s] / counts[s]
        if not _record(v, e, history, rms, v_true, mdp.terminal):
            break
    return v, history, rms


@njit(cache=True, nogil=True)
def run_offline_lambda_return(mdp, pi, v0, cfg, v_true, rng):
    """The offline lambda-return algorithm (book 12.1, tabular): at the end of each episode,
    V(S_t) += alpha [G^lambda_t - V(S_t)] for t = 0..T-1, the lambda-returns computed from the
    values at the start of the episode (`lambda_returns`)."""
    v = v0.copy()
    history, rms = _recorders(mdp, cfg.episodes, v_true)
    states = np.empty(64, dtype=np.int64)
    rewards = np.empty(64)
    targets = np.empty(64)
    for e in range(cfg.episodes):
        T, terminated, states, rewards = _episode_into(mdp, pi, rng, states, rewards)
        if targets.shape[0] < T:
            targets = np.empty(rewards.shape[0])
        v_boot = 0.0 if terminated else v[states[T]]
        lambda_returns(states, rewards, T, v_boot, v, cfg.gamma, cfg.lam, targets)
        for t in range(T):
            s = states[t]
            v[s] += cfg.alpha * (targets[t] - v[s])
        if not _record(v, e, history, rms, v_true, mdp.terminal):
            break
    return v, history, rms


@njit(cache=True, nogil=True)
def run_td_lambda(mdp, pi, v0, cfg, v_true, rng):
    """Semi-gradient TD(lambda), tabular (book 12.2): z = gamma lam z + e_S (accumulating) or
    z[S] = 1 (replacing, ``cfg.variant`` = TRACE_REPLACING); V += alpha delta z every step.
    Traces are cleared at the start of each episode."""
    return _stepwise(mdp, pi, v0, cfg, v_true, rng, _TD_LAMBDA)


@njit(cache=True, nogil=True)
def run_true_online_td_lambda(mdp, pi, v0, cfg, v_true, rng):
    """True online TD(lambda) with one-hot features (book 12.5, dutch traces); with lam = 0 it
    is TD(0) up to rounding."""
    return _stepwise(mdp, pi, v0, cfg, v_true, rng, _TRUE_ONLINE)


@njit(cache=True, nogil=True)
def run_batch(mdp, pi, v0, cfg, v_true, rng):
    """Batch updating (book 6.3, Figure 6.2 right). After each new episode, all episodes seen so
    far are presented again and again: the increments alpha * error of every step are summed
    over a full pass and applied after it, until every visited state's mean error per visit is
    below ``cfg.tol``. ``cfg.variant``: BATCH_TD0 (error R + gamma V(S') - V(S), bootstrapping
    at a time limit; converges to the certainty-equivalence estimate) or BATCH_MC (error
    G_t - V(S_t) with the observed return; converges to the every-visit sample averages).

    A pass is computed from per-state sufficient statistics, which sum the same terms as
    visiting every stored step: N(s) visits, the sum of rewards (TD) or returns (MC) from s, and
    for TD the discounted counts of each successor, so the increment of state s over a pass is
    alpha [sum_r(s) + sum_s' gamma c(s, s') V(s') - N(s) V(s)] whatever the number of episodes.
    Stable while alpha N(s) stays below about 1; a batch that fails to converge in
    ``cfg.max_sweeps`` passes stops the run (values NaN)."""
    S = mdp.n_states
    v = v0.copy()
    history, rms = _recorders(mdp, cfg.episodes, v_true)
    states = np.empty(64, dtype=np.int64)
    rewards = np.empty(64)
    returns = np.empty(64)
    visits = np.zeros(S)
    target_sum = np.zeros(S)  # sum of rewards (TD) or observed returns (MC) from each state
    pair_of = (
        np.full((S, S), -1, dtype=np.int64)
        if cfg.variant == BATCH_TD0
        else np.empty((0, 0), dtype=np.int64)
    )
    pair_s = np.empty(16, dtype=np.int64)
    pair_s2 = np.empty(16, dtype=np.int64)
    pair_w = np.empty(16)
    n_pairs = 0
    delta = np.zeros(S)
    for e in range(cfg.episodes):
        T, terminated, states, rewards = _episode_into(mdp, pi, rng, states, rewards)
        if cfg.variant == BATCH_MC:
            if returns.shape[0] < T:
                returns = np.empty(rewards.shape[0])
            discounted_returns(rewards, T, cfg.gamma, returns)
        for t in range(T):
            s = states[t]
            visits[s] += 1.0
            if cfg.variant == BATCH_MC:
                target_sum[s] += returns[t]
                continue
            target_sum[s] += rewards[t]
            s2 = states[t + 1]
            if mdp.terminal[s2]:
                continue
            k = pair_of[s, s2]
            if k < 0:
                if n_pairs == pair_s.shape[0]:
                    pair_s = np.concatenate((pair_s, np.empty(n_pairs, dtype=np.int64)))
                    pair_s2 = np.concatenate((pair_s2, np.empty(n_pairs, dtype=np.int64)))
                    pair_w = np.concatenate((pair_w, np.empty(n_pairs)))
                k = n_pairs
                pair_of[s, s2] = k
                pair_s[k] = s
                pair_s2[k] = s2
                pair_w[k] = 0.0
                n_pairs += 1
            pair_w[k] += cfg.gamma
        converged = False
        for _ in range(cfg.max_sweeps):
            for s in range(S):
                delta[s] = target_sum[s] - visits[s] * v[s]
            for k in range(n_pairs):
                delta[pair_s[k]] += pair_w[k] * v[pair_s2[k]]
            worst = 0.0
            finite = True
            for s in range(S):
                if visits[s] > 0.0:
                    finite = finite and np.isfinite(delta[s])
                    worst = max(worst, abs(delta[s]) / visits[s])
                    v[s] += cfg.alpha * delta[s]
            if not finite:  # diverged: alpha * visits too large
                break
            if worst < cfg.tol:
                converged = True
                break
        if not converged:
            v[:] = np.nan
        if not _record(v, e, history, rms, v_true, mdp.terminal):
            break
    return v, history, rms
