"""Prediction methods: kernels by hand, convergence to exact values, equivalences, parity, input.

Exact values come from `numbarl.dp.state_values` (a linear solve of v = r_pi + P_pi v), checked
against the closed forms 1/6..5/6 and -0.9..0.9 of the random walks."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl.dp import state_values
from numbarl.envs import make
from numbarl.envs.tabular import from_transitions
from numbarl.tabular import prediction as P
from numbarl.tabular.policies import uniform_policy

# ---------------------------------------------------------------------------------------------
# Fixtures and oracles


@pytest.fixture(scope="module")
def walk5():
    mdp = make("RandomWalk-v0")
    pi = uniform_policy(mdp)
    v = state_values(mdp, pi)
    np.testing.assert_allclose(v[1:-1], np.arange(1, 6) / 6, atol=1e-12)
    return mdp, pi, v


@pytest.fixture(scope="module")
def walk19():
    mdp = make("RandomWalk19-v0")
    pi = uniform_policy(mdp)
    v = state_values(mdp, pi)
    np.testing.assert_allclose(v[1:-1], np.arange(-9, 10) / 10, atol=1e-12)
    return mdp, pi, v


def chain(max_steps):
    """0 -> 1 -> 2 -> 3 (terminal), one action, reward 1 on entering 3; start in 0."""
    table = {
        0: {0: [(1.0, 1, 0.0, False)]},
        1: {0: [(1.0, 2, 0.0, False)]},
        2: {0: [(1.0, 3, 1.0, True)]},
        3: {0: [(1.0, 3, 0.0, True)]},
    }
    return from_transitions(table, 4, 1, [1.0, 0.0, 0.0, 0.0], max_steps=max_steps)


LAMBDA_METHODS = ("lambda_return", "td_lambda", "td_lambda_replacing", "true_online_td_lambda")


def method_config(method, alpha, lam=0.8, n=4):
    if method in ("mc_first_visit", "mc_every_visit"):
        return {}
    if method in LAMBDA_METHODS:
        return {"alpha": alpha, "lam": lam}
    if method == "n_step_td":
        return {"alpha": alpha, "n": n}
    return {"alpha": alpha}


ONLINE = [m for m in P.METHODS if not m.startswith("batch")]
CONVERGENCE = [(m, 4 if m == "n_step_td" else None) for m in ONLINE] + [("n_step_td", 1)]

# ---------------------------------------------------------------------------------------------
# One-step kernels against hand-computed numbers


def test_td_error_kernel():
    assert P.td_error(0.5, 1.0, 0.9, 2.0) == pytest.approx(1.0 + 1.8 - 0.5)
    assert P.td_error(0.5, 1.0, 0.0, 123.0) == 0.5  # terminal: no bootstrap
    assert P.td_error.py_func(0.5, 1.0, 0.9, 2.0) == P.td_error(0.5, 1.0, 0.9, 2.0)


def test_n_step_return_kernel_wraps_and_bootstraps():
    buf = np.array([10.0, 1.0, 2.0, 3.0])  # circular: R at 1, 2, 3 then 0
    # 3 rewards from index 2 wrap to 0: 2 + 0.5*3 + 0.25*10, + 0.125 * 4
    assert P.n_step_return(buf, 2, 3, 0.5, True, 4.0) == pytest.approx(2 + 1.5 + 2.5 + 0.5)
    assert P.n_step_return(buf, 2, 3, 0.5, False, 4.0) == pytest.approx(2 + 1.5 + 2.5)
    assert P.n_step_return(buf, 1, 1, 0.9, True, 5.0) == pytest.approx(1.0 + 4.5)


def test_discounted_returns_kernel():
    rewards = np.array([1.0, 0.0, 2.0, 99.0])  # only T = 3 are read
    out = np.full(4, -1.0)
    P.discounted_returns(rewards, 3, 0.5, out)
    np.testing.assert_allclose(out[:3], [1 + 0.0 + 0.25 * 2, 0.0 + 0.5 * 2, 2.0])
    assert out[3] == -1.0


@pytest.mark.parametrize("terminated", [True, False])
def test_lambda_returns_kernel_matches_weighted_n_step_returns(terminated):
    rng = np.random.default_rng(4)
    v = rng.normal(size=6)
    states = np.array([1, 3, 2, 5, 4])
    rewards = rng.normal(size=4)
    T, gamma, lam = 4, 0.9, 0.6
    v_boot = 0.0 if terminated else v[states[T]]

    def n_step(t, n):  # G_{t:t+n}, cut at the horizon T (eq. 7.1 / 12.9)
        end = min(t + n, T)
        g = sum(gamma ** (k - t) * rewards[k] for k in range(t, end))
        return g + gamma ** (end - t) * (v[states[end]] if end < T else v_boot)

    out = np.zeros(T)
    P.lambda_returns(states, rewards, T, v_boot, v, gamma, lam, out)
    for t in range(T):
        h = T - t
        want = (1 - lam) * sum(lam ** (n - 1) * n_step(t, n) for n in range(1, h)) + lam ** (
            h - 1
        ) * n_step(t, h)
        assert out[t] == pytest.approx(want, rel=1e-12)
    # lambda = 1 is the Monte Carlo return (bootstrapped only at a time limit)
    P.lambda_returns(states, rewards, T, v_boot, v, gamma, 1.0, out)
    mc = np.zeros(T)
    P.discounted_returns(rewards, T, gamma, mc)
    np.testing.assert_allclose(out, mc + gamma ** (T - np.arange(T)) * v_boot, rtol=1e-12)


def test_update_trace_kernel():
    z = np.array([1.0, 0.5, 0.0])
    P.update_trace(z, 1, 0.5, P.TRACE_ACCUMULATING)
    np.testing.assert_allclose(z, [0.5, 1.25, 0.0])
    P.update_trace(z, 1, 0.5, P.TRACE_REPLACING)
    np.testing.assert_allclose(z, [0.25, 1.0, 0.0])


def test_true_online_update_kernel():
    v = np.array([0.1, 0.2, 0.3])
    z = np.array([0.4, 0.5, 0.0])
    s, delta, v_s, v_old, alpha, gl = 1, 0.7, 0.2, 0.05, 0.1, 0.72
    x = np.eye(3)[s]
    z_want = gl * z + (1 - alpha * gl * (z @ x)) * x  # book 12.5
    v_want = v + alpha * (delta + v_s - v_old) * z_want - alpha * (v_s - v_old) * x
    P.true_online_update(v, z, s, delta, v_s, v_old, alpha, gl)
    np.testing.assert_allclose(z, z_want, rtol=1e-14)
    np.testing.assert_allclose(v, v_want, rtol=1e-14)


def test_rms_error_kernel_skips_terminal_states():
    v = np.array([9.0, 1.0, 2.0, -9.0])
    truth = np.array([0.0, 0.0, 4.0, 0.0])
    terminal = np.array([True, False, False, True])
    assert P.rms_error(v, truth, terminal) == pytest.approx(np.sqrt((1 + 4) / 2))
    hist = np.stack([v, truth])
    np.testing.assert_allclose(P.rms_errors(hist, truth, terminal), [np.sqrt(2.5), 0.0])


# ---------------------------------------------------------------------------------------------
# Convergence to the exact values
#
# Each run's estimate is averaged over the second half of its episodes (Polyak averaging:
# after the initial transient), then over R independent runs. The bound per state is
# 4 standard errors across runs (a false failure has probability < 1e-4 per state) plus the
# stationary bias of a constant step size, which is O(alpha): measured on these walks with
# 200 runs, about 0.7 alpha for TD(0) and 1.05 alpha for the offline lambda-return (lam = 0.8,
# alpha = 0.05), shrinking linearly with alpha, so we allow 1.5 alpha. Sample-average MC has
# no step size; every-visit averages are ratio estimators with an O(1/episodes) bias, 0.002
# covers it. Tail averages start after the transient has died out: at half the episodes the
# initial error has shrunk by (1 - alpha)^(visits per state) < 1e-3 on both walks.


def assert_converges(mdp, pi, v_true, v0, method, n, alpha, episodes, runs, seed, cap):
    cfg = method_config(method, alpha, n=n or 4)
    res = P.evaluate_many(method, mdp, pi, v0, runs, seed, episodes=episodes, **cfg)
    tail = res.history[:, episodes // 2 :, 1:-1].mean(axis=1)
    se = tail.std(axis=0, ddof=1) / np.sqrt(runs)
    step = cfg.get("alpha", 0.0)
    bound = 4.0 * se + 1.5 * step + 0.002
    err = np.abs(tail.mean(axis=0) - v_true[1:-1])
    assert np.all(err < bound), (method, err, bound)
    # the bound itself stays below the gap between neighbouring true values, so converging to
    # a shifted or neighbouring solution would fail
    assert bound.max() < cap, (method, bound)
    assert np.all(np.isfinite(res.v)) and np.all(res.v[:, [0, -1]] == 0.0)


@pytest.mark.parametrize(("method", "n"), CONVERGENCE)
def test_converges_on_5_state_walk(walk5, method, n):
    """alpha = 0.01 and about 1 to 3 visits per state and episode: by episode 1000 the initial
    error has shrunk far below 1e-3 for every method."""
    mdp, pi, v_true = walk5
    assert_converges(mdp, pi, v_true, 0.5, method, n, 0.01, 2000, 40, seed=11, cap=0.05)


@pytest.mark.parametrize(("method", "n"), CONVERGENCE)
def test_converges_on_19_state_walk(walk19, method, n):
    """alpha = 0.02. One-step TD moves information one state per update: the slowest error
    mode started from v0 = 0 (antisymmetric, like the true values) decays by about 0.25 alpha
    per episode, so TD(0) gets 3000 episodes (its tail starts after e^-7.5); the others
    (multi-step or Monte Carlo targets) have left the transient well before episode 500."""
    mdp, pi, v_true = walk19
    one_step = method == "td0" or n == 1
    episodes, runs = (3000, 30) if one_step else (1000, 60)
    assert_converges(mdp, pi, v_true, 0.0, method, n, 0.02, episodes, runs, seed=12, cap=0.08)


def test_mc_sample_averages_are_the_observed_returns(walk5):
    """First- and every-visit MC equal the plain averages of the returns of the same episodes."""
    mdp, pi, _ = walk5
    rng = np.random.default_rng(5)
    episodes = [P.sample_episode(mdp, pi, rng) for _ in range(30)]
    for method, first_only in (("mc_first_visit", True), ("mc_every_visit", False)):
        res = P.evaluate(method, mdp, pi, 0.5, np.random.default_rng(5), episodes=30, gamma=0.9)
        seen: dict[int, list[float]] = {}
        for k, (states, rewards, terminated) in enumerate(episodes):
            assert terminated
            g, returns = 0.0, np.zeros(len(rewards))
            for t in range(len(rewards) - 1, -1, -1):
                g = rewards[t] + 0.9 * g
                returns[t] = g
            visited = set()
            for t, s in enumerate(states[:-1]):
                if first_only and s in visited:
                    continue
                visited.add(s)
                seen.setdefault(int(s), []).append(returns[t])
            want = np.where(mdp.terminal, 0.0, 0.5)
            for s, gs in seen.items():
                want[s] = np.mean(gs)
            np.testing.assert_allclose(res.history[k], want, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Batch updating (Figure 6.2 right)


def literal_batch(episodes, v0, alpha, gamma, tol, kind):
    """The book's batch updating, step by step: after each new episode, sweep all episodes,
    summing alpha * error per state, apply after the full pass, until converged."""
    v = v0.copy()
    out = []
    for k in range(len(episodes)):
        for _ in range(200_000):
            inc = np.zeros_like(v)
            visits = np.zeros_like(v)
            for states, rewards, terminated in episodes[: k + 1]:
                T = len(rewards)
                g = 0.0
                for t in range(T - 1, -1, -1):
                    g = rewards[t] + gamma * g
                    s, s2 = states[t], states[t + 1]
                    last_terminal = t == T - 1 and terminated
                    target = (
                        g
                        if kind == "mc"
                        else rewards[t] + (0.0 if last_terminal else gamma * v[s2])
                    )
                    inc[s] += target - v[s]
                    visits[s] += 1
            v = v + alpha * inc
            if np.max(np.abs(inc[visits > 0]) / visits[visits > 0]) < tol:
                break
        out.append(v.copy())
    return np.array(out)


def certainty_equivalence(episodes, v0, gamma):
    """Values of the maximum-likelihood model of the episodes seen (unvisited states keep v0)."""
    S = v0.shape[0]
    count = np.zeros((S, S))
    rsum = np.zeros(S)
    visits = np.zeros(S)
    done = np.zeros(S, dtype=bool)
    for states, rewards, terminated in episodes:
        for t in range(len(rewards)):
            visits[states[t]] += 1
            rsum[states[t]] += rewards[t]
            count[states[t], states[t + 1]] += 1
        if terminated:
            done[states[-1]] = True
    u = visits > 0
    p_hat = count[u] / visits[u, None]
    p_hat[:, done] = 0.0  # terminal successors are worth 0
    a = np.eye(u.sum()) - gamma * p_hat[:, u]
    b = rsum[u] / visits[u] + gamma * p_hat[:, ~u] @ v0[~u]
    v = v0.copy()
    v[u] = np.linalg.solve(a, b)
    return v


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_batch_td0_is_certainty_equivalence_and_batch_mc_the_sample_average(walk5, gamma):
    mdp, pi, _ = walk5
    rng = np.random.default_rng(21)
    episodes = [P.sample_episode(mdp, pi, rng) for _ in range(6)]
    v0 = P.initial_values(mdp, 0.5)
    cfg = {"alpha": 0.02, "gamma": gamma, "episodes": 6, "tol": 1e-11}
    td = P.evaluate("batch_td0", mdp, pi, v0, np.random.default_rng(21), **cfg)
    mc = P.evaluate("batch_mc", mdp, pi, v0, np.random.default_rng(21), **cfg)
    for k in range(6):
        # residual per visit < 1e-11 and expected steps to the end < 30: error < 1e-9
        np.testing.assert_allclose(
            td.history[k], certainty_equivalence(episodes[: k + 1], v0, gamma), atol=1e-9
        )
        returns: dict[int, list[float]] = {}
        for states, rewards, _ in episodes[: k + 1]:
            g = 0.0
            for t in range(len(rewards) - 1, -1, -1):
                g = rewards[t] + gamma * g
                returns.setdefault(int(states[t]), []).append(g)
        want = v0.copy()
        for s, gs in returns.items():
            want[s] = np.mean(gs)
        np.testing.assert_allclose(mc.history[k], want, atol=1e-10)
    # the compiled sufficient-statistics passes equal the literal step-by-step passes
    for kind, res in (("td", td), ("mc", mc)):
        want = literal_batch(episodes[:3], v0, 0.02, gamma, 1e-11, kind)
        np.testing.assert_allclose(res.history[:3], want, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Equivalences between methods on the same episodes


def test_n_step_td_with_n_1_is_td0_bit_for_bit(walk19):
    mdp, pi, _ = walk19
    a = P.evaluate("td0", mdp, pi, 0.0, 8, episodes=20, alpha=0.3)
    b = P.evaluate("n_step_td", mdp, pi, 0.0, 8, episodes=20, alpha=0.3, n=1)
    assert a.history.tobytes() == b.history.tobytes()


def test_true_online_with_lambda_0_is_td0(walk19):
    mdp, pi, _ = walk19
    a = P.evaluate("td0", mdp, pi, 0.0, 9, episodes=20, alpha=0.3, gamma=0.95)
    b = P.evaluate(
        "true_online_td_lambda", mdp, pi, 0.0, 9, episodes=20, alpha=0.3, gamma=0.95, lam=0.0
    )
    # alpha(delta + V - V_old) - alpha(V - V_old) is alpha delta up to rounding
    np.testing.assert_allclose(b.history, a.history, rtol=0, atol=1e-13)


def test_offline_lambda_return_with_lambda_1_is_constant_alpha_mc(walk19):
    mdp, pi, _ = walk19
    a = P.evaluate("mc", mdp, pi, 0.0, 10, episodes=20, alpha=0.05, gamma=0.98)
    b = P.evaluate("lambda_return", mdp, pi, 0.0, 10, episodes=20, alpha=0.05, gamma=0.98, lam=1.0)
    assert a.history.tobytes() == b.history.tobytes()


def test_td_lambda_with_lambda_0_is_td0(walk5):
    mdp, pi, _ = walk5
    a = P.evaluate("td0", mdp, pi, 0.5, 2, episodes=20, alpha=0.2)
    for method in ("td_lambda", "td_lambda_replacing"):
        b = P.evaluate(method, mdp, pi, 0.5, 2, episodes=20, alpha=0.2, lam=0.0)
        assert a.history.tobytes() == b.history.tobytes()


# ---------------------------------------------------------------------------------------------
# The time limit: TD methods bootstrap where the episode is cut, MC uses the observed return


@pytest.mark.parametrize(
    ("method", "want"),
    [
        ("td0", 0.475),  # 0.5 + 0.5 (0 + 0.9 * 0.5 - 0.5)
        ("n_step_td", 0.475),  # n = 3 is cut at the limit: G = 0 + 0.9 V(1)
        ("lambda_return", 0.475),
        ("td_lambda", 0.475),
        ("td_lambda_replacing", 0.475),
        ("true_online_td_lambda", 0.475),
        ("mc", 0.25),  # 0.5 + 0.5 (0 - 0.5): the observed return is 0
        ("mc_first_visit", 0.0),
        ("mc_every_visit", 0.0),
        ("batch_td0", 0.45),  # V(0) = 0.9 V(1), V(1) never visited keeps 0.5
        ("batch_mc", 0.0),
    ],
)
def test_time_limit_truncates(method, want):
    mdp = chain(max_steps=1)
    pi = np.ones((4, 1))
    cfg = {"gamma": 0.9, "episodes": 1}
    if method not in ("mc_first_visit", "mc_every_visit"):
        cfg["alpha"] = 0.5
    if method == "n_step_td":
        cfg["n"] = 3
    if method in LAMBDA_METHODS:
        cfg["lam"] = 0.5
    if method.startswith("batch"):
        cfg.update(tol=1e-12)
    res = P.evaluate(method, mdp, pi, 0.5, 0, **cfg)
    np.testing.assert_allclose(res.v, [want, 0.5, 0.5, 0.0], atol=1e-10)


def test_no_time_limit_runs_to_termination():
    res = P.evaluate("mc_first_visit", chain(max_steps=0), np.ones((4, 1)), 0.0, 0, gamma=0.5)
    np.testing.assert_allclose(res.v, [0.25, 0.5, 1.0, 0.0])


# ---------------------------------------------------------------------------------------------
# Parity, determinism, recording modes


PARITY = {
    "mc_first_visit": {},
    "mc_every_visit": {},
    "mc": {"alpha": 0.1},
    "td0": {"alpha": 0.1},
    "n_step_td": {"alpha": 0.1, "n": 3},
    "lambda_return": {"alpha": 0.1, "lam": 0.7},
    "td_lambda": {"alpha": 0.1, "lam": 0.7},
    "td_lambda_replacing": {"alpha": 0.1, "lam": 0.7},
    "true_online_td_lambda": {"alpha": 0.1, "lam": 0.7},
    "batch_td0": {"alpha": 0.02, "tol": 1e-4},
    "batch_mc": {"alpha": 0.02, "tol": 1e-4},
}


@pytest.mark.parametrize("method", P.METHODS)
def test_compiled_matches_python(walk5, method):
    mdp, pi, v_true = walk5
    cfg = P.make_config(method, episodes=3, gamma=0.9, **PARITY[method])
    v0 = P.initial_values(mdp, 0.5)
    drv = P.driver(method)
    for truth in (np.empty(0), v_true):
        fast = drv(mdp, pi, v0, cfg, truth, np.random.default_rng(7))
        slow = drv.py_func(mdp, pi, v0, cfg, truth, np.random.default_rng(7))
        for f, s in zip(fast, slow, strict=True):
            np.testing.assert_allclose(f, s, rtol=1e-14, atol=1e-15)


def test_same_seed_same_bytes_whatever_the_threads(walk5):
    mdp, pi, v_true = walk5
    a = P.evaluate("td_lambda", mdp, pi, 0.5, 3, episodes=50)
    b = P.evaluate("td_lambda", mdp, pi, 0.5, 3, episodes=50)
    assert a.history.tobytes() == b.history.tobytes()
    c = P.evaluate("td_lambda", mdp, pi, 0.5, 4, episodes=50)
    assert a.history.tobytes() != c.history.tobytes()
    one = P.evaluate_many("td_lambda", mdp, pi, 0.5, 6, 3, episodes=50, threads=1)
    two = P.evaluate_many("td_lambda", mdp, pi, 0.5, 6, 3, episodes=50, threads=2)
    assert one.history.tobytes() == two.history.tobytes()
    assert one.history[0].tobytes() == a.history.tobytes()  # evaluate(seed) is run 0


def test_rms_only_mode_matches_history(walk19):
    mdp, pi, v_true = walk19
    full = P.evaluate_many("n_step_td", mdp, pi, 0.0, 4, 5, true_values=v_true, n=8, alpha=0.2)
    small = P.evaluate_many(
        "n_step_td", mdp, pi, 0.0, 4, 5, true_values=v_true, history=False, n=8, alpha=0.2
    )
    assert small.history is None and small.rms_error.shape == (4, 10)
    assert full.history.shape == (4, 10, 21)
    assert full.rms_error.tobytes() == small.rms_error.tobytes()
    assert full.v.tobytes() == small.v.tobytes()
    manual = np.sqrt(((full.history[..., 1:-1] - v_true[1:-1]) ** 2).mean(axis=-1))
    np.testing.assert_allclose(full.rms_error, manual, rtol=1e-12)
    assert P.evaluate("td0", mdp, pi, 0.0, 1, episodes=3).rms_error is None


def test_each_driver_compiles_once(walk5):
    mdp, pi, v_true = walk5
    for method in P.METHODS:
        cfg = dict(PARITY[method], episodes=2)
        # ints for float fields are cast once in Python
        if method.startswith("batch"):
            cfg["tol"] = 1
        elif "alpha" in cfg:
            cfg["alpha"] = 1
        P.evaluate(method, mdp, pi, 0, 1, true_values=v_true, history=False, **cfg)
        P.evaluate(method, mdp, pi, np.zeros(7), 1, **cfg)
    for method in P.METHODS:
        assert len(P.driver(method).signatures) == 1, method


# ---------------------------------------------------------------------------------------------
# Figure 6.2 (middle): TD(0) beats constant-alpha MC on the walk


def test_figure_6_2_td0_beats_mc(walk5):
    """100 runs of 100 episodes, RMS error averaged over episodes 80-100: TD(0) with alpha 0.1
    is below MC with alpha 0.02 by more than 3 standard errors of the difference of the two
    run means (independent runs; seeded, so this is a fixed check with a real margin)."""
    mdp, pi, v_true = walk5
    kw = {"true_values": v_true, "history": False, "episodes": 100}
    td = P.evaluate_many("td0", mdp, pi, 0.5, 100, 0, alpha=0.1, **kw).rms_error[:, 79:]
    mc = P.evaluate_many("mc", mdp, pi, 0.5, 100, 1, alpha=0.02, **kw).rms_error[:, 79:]
    td_run, mc_run = td.mean(axis=1), mc.mean(axis=1)
    se = np.sqrt(td_run.var(ddof=1) / 100 + mc_run.var(ddof=1) / 100)
    assert mc_run.mean() - td_run.mean() > 3 * se
    assert 0.02 < td_run.mean() < 0.1 and 0.04 < mc_run.mean() < 0.15  # the book's range


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("method", "config", "error", "match"),
    [
        ("sarsa", {}, ValueError, "method must be one of"),
        ("td0", {"alpha": 0.0}, ValueError, "alpha"),
        ("td0", {"alpha": -1.0}, ValueError, "alpha"),
        ("td0", {"gamma": 1.5}, ValueError, "gamma"),
        ("td_lambda", {"lam": -0.1}, ValueError, "lam"),
        ("n_step_td", {"n": 0}, ValueError, "n must be"),
        ("n_step_td", {"n": 2.5}, TypeError, "n must be an integer"),
        ("td0", {"episodes": 0}, ValueError, "episodes"),
        ("td0", {"alpha": "big"}, TypeError, "alpha"),
        ("td0", {"n": 3}, ValueError, "unknown config field.*n.*allowed"),
        ("mc_first_visit", {"alpha": 0.1}, ValueError, "unknown config field.*alpha"),
        ("td0", {"variant": 1}, ValueError, "unknown config field.*variant"),
        ("batch_td0", {"tol": 0.0}, ValueError, "tol"),
        ("batch_mc", {"max_sweeps": 0}, ValueError, "max_sweeps"),
    ],
)
def test_bad_config_raises(walk5, method, config, error, match):
    mdp, pi, _ = walk5
    with pytest.raises(error, match=match):
        P.evaluate(method, mdp, pi, 0.5, 0, **config)


def test_defaults_and_fields():
    assert P.make_config("td0") == P.PredictionConfig(alpha=0.1, gamma=1.0, episodes=100)
    cfg = P.make_config("td_lambda_replacing", lam=0.9)
    assert (cfg.lam, cfg.variant, cfg.alpha) == (0.9, P.TRACE_REPLACING, 0.4)
    assert P.config_fields("n_step_td") == ("alpha", "gamma", "n", "episodes")
    assert isinstance(P.make_config("mc", alpha=1).alpha, float)


def test_bad_arguments_raise(walk5):
    mdp, pi, v_true = walk5
    with pytest.raises(TypeError, match="TabularMDP"):
        P.evaluate("td0", "RandomWalk-v0", pi)
    with pytest.raises(ValueError, match="policy must have shape"):
        P.evaluate("td0", mdp, pi[:, :1])
    with pytest.raises(ValueError, match="sums to"):
        P.evaluate("td0", mdp, pi * 0.5)
    with pytest.raises(ValueError, match=r"v0 must have shape \(7,\)"):
        P.evaluate("td0", mdp, pi, np.zeros(5))
    with pytest.raises(ValueError, match="terminal states must have value 0"):
        P.evaluate("td0", mdp, pi, np.full(7, 0.5))
    with pytest.raises(ValueError, match="v0 must be finite"):
        P.evaluate("td0", mdp, pi, np.nan)
    with pytest.raises(TypeError, match="v0 must be a number"):
        P.evaluate("td0", mdp, pi, "half")
    with pytest.raises(ValueError, match="true_values must have shape"):
        P.evaluate("td0", mdp, pi, 0.5, true_values=v_true[:5])
    with pytest.raises(TypeError, match="history must be True or False"):
        P.evaluate("td0", mdp, pi, 0.5, true_values=v_true, history="no")
    with pytest.raises(ValueError, match="runs must be"):
        P.evaluate_many("td0", mdp, pi, 0.5, 0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        P.evaluate("td0", mdp, pi, 0.5, 1.5)


def test_episodes_that_never_end_are_refused():
    # state 0 loops on itself forever; without a time limit the compiled loop would not stop
    table = {0: {0: [(1.0, 0, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, True)]}}
    loop = from_transitions(table, 2, 1, [1.0, 0.0], terminal=[False, True])
    with pytest.raises(ValueError, match=r"never end .* state\(s\) \[0\]"):
        P.evaluate("td0", loop, np.ones((2, 1)))
    capped = from_transitions(table, 2, 1, [1.0, 0.0], terminal=[False, True], max_steps=5)
    assert P.evaluate("td0", capped, np.ones((2, 1)), 0.0, 0, episodes=2).v.shape == (2,)


def test_divergence_stops_with_the_episode_named(walk5):
    mdp, pi, _ = walk5
    with pytest.raises(FloatingPointError, match=r"td0: values became non-finite in episode \d+"):
        P.evaluate("td0", mdp, pi, 0.5, 0, alpha=1e6, episodes=200)
    with pytest.raises(FloatingPointError, match=r"batch_mc: .* run \d+, episode \d+.*batch"):
        P.evaluate_many("batch_mc", mdp, pi, 0.5, 2, 0, alpha=1.5, episodes=20)
