"""Tabular control: one-step kernels on hand-computed numbers, optimal policies against value
iteration, the book's Sarsa/Q-learning contrast, determinism and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl import dp
from numbarl.envs import from_transitions, make
from numbarl.runs import run_many
from numbarl.tabular import control as ctl
from numbarl.tabular import mc_control, td_control
from numbarl.tabular.control import (
    ControlConfig,
    control,
    double_q_td,
    episodes_by_step,
    epsilon_greedy_u,
    expected_sarsa_td,
    greedy_actions,
    q_learning_td,
    run_n_step_sarsa,
    run_q_learning,
    run_sarsa,
    sarsa_td,
)
from numbarl.tabular.policies import argmax_random, best_allowed, nth_best, random_allowed


@pytest.fixture(scope="module")
def cliff():
    return make("CliffWalking-v1")


@pytest.fixture(scope="module")
def lake():
    return make("FrozenLake-v1")


@pytest.fixture(scope="module")
def blackjack():
    return make("Blackjack-v1", sab=False, natural=False)


def greedy_path_return(mdp, q, max_len=200):
    """Return and length of the greedy path (first action on ties) in a deterministic MDP."""
    pi = greedy_actions(q, mdp.allowed)
    s = int(np.argmax(mdp.start))
    g = 0.0
    for t in range(max_len):
        a = pi[s]
        g += mdp.r[s, a]
        s = int(np.argmax(mdp.p[s, a]))
        if mdp.terminal[s]:
            return g, t + 1
    return g, -1


def greedy_value(mdp, q, gamma):
    """Exact value from the start distribution of the greedy policy of ``q`` (first on ties)."""
    pi = dp.greedy_policy(mdp, q, ties="first", tol=0.0)
    return float(mdp.start @ dp.state_values(mdp, pi, gamma))


def optimal_value(mdp, gamma):
    v, _ = dp.value_iteration(mdp, gamma)
    return float(mdp.start @ v)


# ---------------------------------------------------------------------------------------------
# One-step kernels


ALL = np.array([[True, True, True], [True, True, True]])


def test_q_learning_td_hand_computed():
    q = np.array([[1.0, 2.0, 3.0], [0.5, 4.0, -1.0]])
    assert q_learning_td(q, 0, 1, 1.0, 0.9, 1, ALL) == pytest.approx(1.0 + 0.9 * 4.0 - 2.0)
    # the max is over allowed actions only; terminal (discount 0) ignores row s2
    some = np.array([[True, True, True], [True, False, True]])
    assert q_learning_td(q, 0, 1, 1.0, 0.9, 1, some) == pytest.approx(1.0 + 0.9 * 0.5 - 2.0)
    assert q_learning_td(q, 0, 2, -1.0, 0.0, 1, ALL) == -4.0
    assert ctl.max_allowed_row(q, 1, np.zeros((2, 3), dtype=bool)) == 0.0


def test_sarsa_td_hand_computed():
    q = np.array([[1.0, 2.0], [3.0, 5.0]])
    assert sarsa_td(q, 0, 0, 2.0, 0.5, 1, 1) == pytest.approx(2.0 + 2.5 - 1.0)
    assert sarsa_td(q, 0, 1, 2.0, 0.0, 1, 1) == 0.0


def test_expected_sarsa_td_hand_computed():
    q = np.array([[0.0, 1.0, 0.0], [1.0, 4.0, 2.0]])
    # epsilon = 0.3 over 3 actions: probabilities 0.1, 0.8, 0.1 -> 0.1 + 3.2 + 0.2 = 3.5
    assert ctl.expectation_row(q, 1, ALL, 0.3) == pytest.approx(3.5)
    assert expected_sarsa_td(q, 0, 1, 1.0, 0.5, 1, ALL, 0.3) == pytest.approx(1.0 + 1.75 - 1.0)
    # ties share the greedy mass: [2, 2, 0] with epsilon 0 -> 2
    assert ctl.expectation_row(np.array([[2.0, 2.0, 0.0]]), 0, ALL, 0.0) == 2.0
    # not-allowed actions carry no probability: only actions 0 and 2, epsilon 0.5 -> 0.25*1+0.75*2
    some = np.array([[True, True, True], [True, False, True]])
    assert ctl.expectation_row(q, 1, some, 0.5) == pytest.approx(1.75)
    # epsilon = 1 is the uniform policy (Expected Sarsa's target is then the mean)
    assert ctl.expectation_row(q, 1, ALL, 1.0) == pytest.approx(7.0 / 3.0)


def test_double_q_td_selects_with_one_table_values_with_other():
    rng = np.random.default_rng(0)
    both = np.ones((2, 2), dtype=bool)
    q = np.array([[1.0, 0.0], [0.0, 3.0]])  # the updated table selects argmax 1 in s2 = 1 ...
    other = np.array([[0.0, 0.0], [10.0, -5.0]])  # ... which the other table values at -5
    assert double_q_td(q, 0, 0, 1.0, 1.0, 1, other, both, rng) == -5.0
    assert double_q_td(q, 0, 0, 1.0, 0.0, 1, other, both, rng) == 0.0
    # swapping the tables' roles selects argmax 0 of `other`, valued 0 by `q`: a different error
    assert double_q_td(other, 0, 0, 1.0, 1.0, 1, q, both, rng) == 1.0


# A two-step chain whose episode return tells which action was taken in each state:
# s0 -a0-> s1 (r 1) | s0 -a1-> s1 (r 10); s1 -a0-> T (r 100) | s1 -a1-> T (r 1000).
def _chain():
    P = {
        0: {0: [(1.0, 1, 1.0, False)], 1: [(1.0, 1, 10.0, False)]},
        1: {0: [(1.0, 2, 100.0, True)], 1: [(1.0, 2, 1000.0, True)]},
        2: {0: [], 1: []},
    }
    return from_transitions(P, 3, 2, [1.0, 0.0, 0.0], terminal=[False, False, True])


def _actions_of(ret: float) -> tuple[int, int]:
    a0 = 1 if ret % 100 >= 10 else 0
    a1 = 1 if ret >= 1000 else 0
    return a0, a1


def _expected(algo: str, returns: np.ndarray, alpha: float, gamma: float, eps: float):
    """The book's update equations (6.7)-(6.9) replayed by hand over the actions each
    episode's return reveals."""
    q = np.zeros((3, 2))
    for ret in returns:
        a0, a1 = _actions_of(ret)
        r0, r1 = (1.0, 10.0)[a0], (100.0, 1000.0)[a1]
        if algo == "q_learning":
            target = r0 + gamma * q[1].max()
        elif algo == "sarsa":
            target = r0 + gamma * q[1, a1]
        else:  # expected_sarsa: epsilon-greedy expectation, ties sharing the greedy mass
            target = r0 + gamma * (eps * q[1].mean() + (1 - eps) * q[1].max())
        q[0, a0] += alpha * (target - q[0, a0])
        q[1, a1] += alpha * (r1 - q[1, a1])  # terminal: no bootstrap
    return q


@pytest.mark.parametrize("algo", ["q_learning", "sarsa", "expected_sarsa"])
def test_driver_update_end_to_end_hand_computed(algo):
    """Each running driver's table equals the update equation replayed by hand over the
    trajectory it took (exploratory: epsilon 0.5, so the three rules see different targets)."""
    mdp = _chain()
    res = control(algo, mdp, 3, episodes=12, alpha=0.5, gamma=0.9, epsilon=0.5)
    assert len({_actions_of(r) for r in res.returns}) > 2  # the trajectories differ
    want = _expected(algo, res.returns, 0.5, 0.9, 0.5)
    np.testing.assert_allclose(res.q, want, rtol=0, atol=1e-12)
    # the rules are told apart: each other rule's replay misses this table
    for other in {"q_learning", "sarsa", "expected_sarsa"} - {algo}:
        assert not np.allclose(res.q, _expected(other, res.returns, 0.5, 0.9, 0.5))


def test_double_q_driver_end_to_end_hand_computed():
    """Double Q-learning on the chain, one episode from zero tables: the first step updates one
    table at (s0, a) by alpha * r0 (the other table values s1 at 0), the second step one table
    at (s1, a') by alpha * r1. Over many seeds both tables get each update (a fair coin)."""
    mdp = _chain()
    hits = np.zeros(2)
    for seed in range(40):
        res = control("double_q_learning", mdp, seed, episodes=1, alpha=0.5, gamma=0.9)
        a0, a1 = _actions_of(res.returns[0])
        r0, r1 = (1.0, 10.0)[a0], (100.0, 1000.0)[a1]
        want = np.zeros((3, 2))
        want[0, a0], want[1, a1] = 0.5 * r0, 0.5 * r1
        np.testing.assert_array_equal(res.q1 + res.q2, want)
        hits += [res.q1[0, a0] != 0, res.q1[1, a1] != 0]
    assert np.all((hits > 5) & (hits < 35))  # a fair coin: 40 flips, far from 0 or 40


def test_second_double_q_episode_values_with_the_other_table():
    """Episode 2's first update of Double Q-learning bootstraps from the other table's value of
    the updated table's argmax in s1 (never its own): checked by hand for every coin outcome."""
    mdp = _chain()
    seen = set()
    for seed in range(60):
        res = control("double_q_learning", mdp, seed, episodes=2, alpha=0.5, gamma=0.9, epsilon=0.0)
        a0, a1 = _actions_of(res.returns[0])
        b0, b1 = _actions_of(res.returns[1])
        r = {(0, 0): 1.0, (0, 1): 10.0, (1, 0): 100.0, (1, 1): 1000.0}
        # episode 1: each table got at most one of the two updates; rebuild every coin outcome
        ok = False
        for c1 in (0, 1):
            for c2 in (0, 1):
                for c3 in (0, 1):
                    for c4 in (0, 1):
                        t = [np.zeros((3, 2)), np.zeros((3, 2))]
                        t[c1][0, a0] += 0.5 * (r[0, a0] + 0.0 - t[c1][0, a0])
                        t[c2][1, a1] += 0.5 * (r[1, a1] - t[c2][1, a1])
                        own, other = t[c3], t[1 - c3]
                        best = np.flatnonzero(own[1] == own[1].max())
                        for a_star in best:  # ties are broken at random
                            u = [x.copy() for x in t]
                            u[c3][0, b0] += 0.5 * (r[0, b0] + 0.9 * other[1, a_star] - u[c3][0, b0])
                            u[c4][1, b1] += 0.5 * (r[1, b1] - u[c4][1, b1])
                            if np.allclose(u[0], res.q1) and np.allclose(u[1], res.q2):
                                ok = True
                                seen.add(c3)
        assert ok, (seed, res.q1, res.q2)
    assert seen == {0, 1}


def test_epsilon_greedy_u_branches():
    q = np.array([[0.0, 5.0, 5.0, 1.0]])
    allowed = np.array([[True, True, True, False]])
    # exploration (u < epsilon): u / epsilon picks among the 3 allowed actions uniformly
    assert epsilon_greedy_u(q, 0, allowed, 0.3, 0.0) == 0
    assert epsilon_greedy_u(q, 0, allowed, 0.3, 0.15) == 1
    assert epsilon_greedy_u(q, 0, allowed, 0.3, 0.29) == 2
    # greedy (u >= epsilon): ties 1 and 2 split by (u - epsilon) / (1 - epsilon)
    assert epsilon_greedy_u(q, 0, allowed, 0.3, 0.3) == 1
    assert epsilon_greedy_u(q, 0, allowed, 0.3, 0.66) == 2
    # frequencies: 0.1 each exploring + 0.35 each greedy tie; action 3 never
    rng = np.random.default_rng(1)
    counts = np.bincount(
        [epsilon_greedy_u(q, 0, allowed, 0.3, rng.random()) for _ in range(20000)], minlength=4
    )
    p = np.array([0.1, 0.45, 0.45, 0.0])
    se = np.sqrt(p * (1 - p) / 20000)
    assert counts[3] == 0
    assert np.all(np.abs(counts / 20000 - p) <= 4 * se + 1e-12)


def test_argmax_random_shares_epsilon_greedy_u_tie_break():
    """`argmax_random` (the MC and Double Q kernels) and `epsilon_greedy_u` (the TD loops) break
    ties with the same helpers: uniformly among the allowed maxima, a larger disallowed value never
    chosen, and `argmax_random` draws only when there is a tie."""
    values = np.array([9.0, 5.0, 1.0, 5.0])
    allowed = np.array([False, True, True, True])
    assert best_allowed(values, allowed) == (1, 5.0, 2)
    assert nth_best(values, allowed, 1, 5.0, 1) == 3
    rng = np.random.default_rng(2)
    picks = np.bincount([argmax_random(values, allowed, rng) for _ in range(20000)], minlength=4)
    assert picks[0] == picks[2] == 0
    assert abs(picks[1] / 20000 - 0.5) <= 4 * np.sqrt(0.25 / 20000)
    # the same tie split from one uniform: u = epsilon + (1 - epsilon) * x picks as x does
    q, ok = values[None, :], allowed[None, :]
    assert epsilon_greedy_u(q, 0, ok, 0.2, 0.2 + 0.8 * 0.49) == 1
    assert epsilon_greedy_u(q, 0, ok, 0.2, 0.2 + 0.8 * 0.51) == 3
    rng, ref = np.random.default_rng(3), np.random.default_rng(3)
    assert argmax_random(np.array([0.0, 2.0]), np.array([True, True]), rng) == 1
    assert rng.random() == ref.random()  # no tie: no draw
    assert {random_allowed(allowed, np.random.default_rng(s)) for s in range(50)} == {1, 2, 3}


def test_truncation_bootstraps():
    # One state looping on itself with reward 1, cut after one step: with gamma 0.5 and alpha 1,
    # Q-learning gives 1, 1.5, 1.75 after 3 episodes (bootstrapping through the cut); treating
    # the cut as termination would keep Q at 1.
    P = {0: {0: [(1.0, 0, 1.0, False)]}}
    loop = from_transitions(P, 1, 1, [1.0], max_steps=1)
    cfg = ControlConfig(alpha=1.0, gamma=0.5, epsilon=0.0, episodes=3)
    q, returns, lengths, _, n = run_q_learning(loop, cfg, np.random.default_rng(0))
    assert q[0, 0] == 1.75
    assert n == 3 and list(lengths) == [1, 1, 1]
    q, *_ = run_sarsa(loop, cfg, np.random.default_rng(0))
    assert q[0, 0] == 1.75
    q, *_ = run_n_step_sarsa(loop, cfg._replace(n=3), np.random.default_rng(0))
    assert q[0, 0] == 1.75
    # max_episode_steps shortens the MDP's own limit
    res = control("q_learning", "FrozenLake8x8-v1", 0, episodes=50, max_episode_steps=7)
    assert res.lengths.max() <= 7


# ---------------------------------------------------------------------------------------------
# Optimal policies against value iteration


@pytest.mark.parametrize(
    "algo, config",
    [
        ("q_learning", dict(alpha=0.5, epsilon=0.1, episodes=500)),
        ("expected_sarsa", dict(alpha=0.2, epsilon=0.1, epsilon_decay=0.99, episodes=1000)),
        ("double_q_learning", dict(alpha=0.5, epsilon=0.5, episodes=3000)),
    ],
)
def test_cliff_walking_optimal_path(cliff, algo, config):
    """Greedy path = the optimal 13-step path along the cliff (value -13 = value iteration's)."""
    res = control(algo, cliff, 0, **config)
    assert optimal_value(cliff, 1.0) == -13.0
    assert greedy_path_return(cliff, res.q) == (-13.0, 13)


def epsilon_soft_mdp(mdp, epsilon):
    """The MDP seen by an epsilon-greedy agent: with probability epsilon the action is uniform.
    Its optimal policy, followed epsilon-greedily, is the best epsilon-soft policy."""
    A = mdp.allowed.sum(axis=1, keepdims=True)
    mix_p = (mdp.p * mdp.allowed[:, :, None]).sum(axis=1, keepdims=True) / A[:, :, None]
    mix_r = (mdp.r * mdp.allowed).sum(axis=1, keepdims=True) / A
    return mdp._replace(
        p=(1 - epsilon) * mdp.p + epsilon * mix_p, r=(1 - epsilon) * mdp.r + epsilon * mix_r
    )


def test_sarsa_finds_best_epsilon_soft_policy_on_cliff(cliff):
    """With constant epsilon, Sarsa converges to the best epsilon-greedy policy (the book's
    safer path): the exact value of its epsilon-greedy policy equals the optimum of the
    epsilon-perturbed MDP (value iteration), within 0.5 (the optimum is about -17.9)."""
    eps = 0.1
    res = control("sarsa", cliff, 0, alpha=0.1, epsilon=eps, episodes=3000)
    pi = dp.greedy_policy(cliff, res.q, ties="first", tol=0.0)
    pi_eps = (1 - eps) * pi + eps * cliff.allowed / cliff.allowed.sum(axis=1, keepdims=True)
    value = float(cliff.start @ dp.state_values(cliff, pi_eps, 1.0))
    best = optimal_value(epsilon_soft_mdp(cliff, eps), 1.0)
    assert best < -13.0 - 4.0  # the cliff-edge path is not the best epsilon-soft one
    assert abs(value - best) <= 0.5


@pytest.mark.parametrize("algo", ["q_learning", "sarsa", "expected_sarsa", "double_q_learning"])
def test_frozen_lake_near_optimal(lake, algo):
    """Slippery 4x4, gamma 0.99: greedy value from the start within 0.01 of V* = 0.542 (~2%;
    the nearest sub-optimal greedy policies found in trials are 0.0095 below)."""
    config = dict(alpha=0.05, gamma=0.99, epsilon=0.5, epsilon_decay=0.9998, episodes=40_000)
    res = control(algo, lake, 0, **config)
    v_star = optimal_value(lake, 0.99)
    assert v_star == pytest.approx(0.5420, abs=1e-4)
    assert v_star - greedy_value(lake, res.q, 0.99) <= 0.01


@pytest.mark.parametrize(
    "algo, gap",
    [("mc_exploring_starts", 0.002), ("mc_control", 0.003), ("off_policy_mc_control", 0.002)],
)
def test_blackjack_monte_carlo_control_near_optimal(blackjack, algo, gap):
    """The book's blackjack (Figure 5.2): the greedy policy's exact value from the deal is within
    ``gap`` of the optimum from value iteration (about -0.0466) after 10^6 episodes."""
    config = dict(episodes=1_000_000, epsilon=0.3 if algo.startswith("off") else 0.1)
    res = control(algo, blackjack, 0, **config)
    v_star = optimal_value(blackjack, 1.0)
    assert v_star == pytest.approx(-0.0466, abs=1e-3)
    assert v_star - greedy_value(blackjack, res.q, 1.0) <= gap
    assert res.n_episodes == 1_000_000


def test_mc_exploring_starts_cover_every_pair(blackjack):
    res = control("mc_exploring_starts", blackjack, 1, episodes=20_000)
    live = ~blackjack.terminal
    n_pairs = int(blackjack.allowed[live].sum())
    # first actions are the exploring-start actions: both actions about equally often
    frac_hit = (res.first_actions == 1).mean()
    assert abs(frac_hit - 0.5) < 4 * np.sqrt(0.25 / 20_000)
    assert n_pairs == 2 * int(live.sum())


def test_n_step_sarsa_windy_gridworld_15_steps():
    """Example 6.5 (epsilon 0.1, alpha 0.5): the greedy path takes the optimal 15 steps."""
    windy = make("WindyGridworld-v0")
    assert optimal_value(windy, 1.0) == -15.0
    res = control("n_step_sarsa", windy, 0, alpha=0.5, epsilon=0.1, n=1, episodes=3000)
    assert greedy_path_return(windy, res.q) == (-15.0, 15)


def test_n_step_sarsa_with_n1_is_sarsa_draw_for_draw(cliff):
    cfg = ControlConfig(episodes=100)
    a = run_sarsa(cliff, cfg, np.random.default_rng(3))
    b = run_n_step_sarsa(cliff, cfg, np.random.default_rng(3))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_n_step_sarsa_returns_hand_computed():
    """Chain 0 -> 1 -> 2 -> end, one action, reward -1 per step, alpha 1, gamma 1. With n = 2
    the first episode gives G_0 = -2 + Q(2) = -2, G_1 = -2, G_2 = -1 and the second
    G_0 = -2 + Q(2) = -3; with n = 1 the first episode gives -1 everywhere."""
    P = {s: {0: [(1.0, s + 1, -1.0, s == 2)]} for s in range(3)}
    P[3] = {0: [(1.0, 3, 0.0, True)]}
    chain = from_transitions(P, 4, 1, [1.0, 0.0, 0.0, 0.0])
    cfg = ControlConfig(alpha=1.0, gamma=1.0, epsilon=0.0, episodes=1, n=2)
    q, *_ = run_n_step_sarsa(chain, cfg, np.random.default_rng(0))
    np.testing.assert_array_equal(q[:, 0], [-2.0, -2.0, -1.0, 0.0])
    q, *_ = run_n_step_sarsa(chain, cfg._replace(episodes=2), np.random.default_rng(0))
    np.testing.assert_array_equal(q[:, 0], [-3.0, -2.0, -1.0, 0.0])
    q, *_ = run_n_step_sarsa(chain, cfg._replace(n=1), np.random.default_rng(0))
    np.testing.assert_array_equal(q[:, 0], [-1.0, -1.0, -1.0, 0.0])
    # n larger than the episode: plain Monte Carlo returns
    q, *_ = run_n_step_sarsa(chain, cfg._replace(n=10), np.random.default_rng(0))
    np.testing.assert_array_equal(q[:, 0], [-3.0, -2.0, -1.0, 0.0])


# ---------------------------------------------------------------------------------------------
# The book's experiments' records


def test_sarsa_beats_q_learning_online_on_cliff(cliff):
    """Example 6.6: average return over episodes 100-500 (epsilon 0.1, alpha 0.5), 50 runs:
    Sarsa's is higher than Q-learning's by more than 4 standard errors of the difference."""
    cfg = ControlConfig(alpha=0.5, gamma=1.0, epsilon=0.1, episodes=500)
    _, r_sarsa, *_ = run_many(run_sarsa, 50, 2024, cliff, cfg)
    _, r_q, *_ = run_many(run_q_learning, 50, 2024, cliff, cfg)
    m_sarsa = r_sarsa[:, 100:].mean(axis=1)
    m_q = r_q[:, 100:].mean(axis=1)
    diff = m_sarsa.mean() - m_q.mean()
    se = np.sqrt(m_sarsa.var(ddof=1) / 50 + m_q.var(ddof=1) / 50)
    assert diff > 4 * se
    assert -30 < m_sarsa.mean() < -20 and -60 < m_q.mean() < -40  # the book's figure


def test_step_budget_and_episodes_by_step():
    """Example 6.5's record: a run stopped at 8,000 steps; episodes completed per time step."""
    windy = make("WindyGridworld-v0")
    res = control("sarsa", windy, 0, alpha=0.5, epsilon=0.1, episodes=10_000, max_total_steps=8000)
    assert res.lengths.sum() == 8000
    curve = episodes_by_step(res.lengths, res.n_episodes, 8000)
    assert curve.shape == (8001,) and curve[0] == 0 and curve[-1] == res.n_episodes
    assert np.all(np.diff(curve) >= 0)
    assert curve[np.cumsum(res.lengths[: res.n_episodes])[-1]] == res.n_episodes
    assert 140 <= res.n_episodes <= 200  # the book: about 170 episodes in 8,000 steps
    assert np.all(res.first_actions[res.n_episodes + 1 :] == -1)


def test_double_q_reduces_maximization_bias():
    """Figure 6.5: share of 'left' from A over episodes 1-50, 300 runs: Q-learning's exceeds
    Double Q-learning's by more than 4 standard errors; first_actions is the per-episode record."""
    mdp = make("MaximizationBias-v0")
    cfg = ControlConfig(alpha=0.1, gamma=1.0, epsilon=0.1, episodes=300)
    *_, fa_q, _ = run_many(run_q_learning, 300, 5, mdp, cfg)
    *_, fa_d, _ = run_many(ctl.run_double_q_learning, 300, 5, mdp, cfg)
    left_q = (fa_q[:, :50] == 0).mean(axis=1)
    left_d = (fa_d[:, :50] == 0).mean(axis=1)
    se = np.sqrt(left_q.var(ddof=1) / 300 + left_d.var(ddof=1) / 300)
    assert left_q.mean() - left_d.mean() > 4 * se
    assert set(np.unique(fa_q)) <= {0, 1}


# ---------------------------------------------------------------------------------------------
# Determinism, parity, signatures


ALGOS_SHORT = [a for a in ctl.ALGOS]


@pytest.mark.parametrize("algo", ALGOS_SHORT)
def test_same_seed_same_bytes(cliff, algo):
    cfg = dict(episodes=30, max_episode_steps=100)
    a = control(algo, cliff, 42, **cfg)
    b = control(algo, cliff, 42, **cfg)
    for x, y in zip(a[2:], b[2:], strict=True):
        if x is not None:
            np.testing.assert_array_equal(x, y)
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


def test_compiled_equals_python(cliff):
    """Each driver equals its loop run as Python (``.py_func``) on a short run; the one-step TD
    loop, run for each rule, also returns Q2 (a copy of the initial table but for Double Q)."""
    maxb = make("MaximizationBias-v0")  # Gaussian rewards: the noisy specialisation
    cfg = ControlConfig(episodes=4, max_episode_steps=30, n=3)
    one_step = td_control._one_step_td
    cases = [
        (ctl.run_q_learning, one_step, cliff, (False, td_control.Q_LEARNING)),
        (ctl.run_sarsa, one_step, cliff, (False, td_control.SARSA)),
        (ctl.run_expected_sarsa, one_step, cliff, (False, td_control.EXPECTED_SARSA)),
        (ctl.run_double_q_learning, one_step, maxb, (True, td_control.DOUBLE_Q)),
        (ctl.run_n_step_sarsa, ctl.run_n_step_sarsa, cliff, ()),
        (ctl.run_mc_exploring_starts, mc_control._run_mc_first_visit, cliff, (True,)),
        (ctl.run_mc_control, mc_control._run_mc_first_visit, cliff, (False,)),
    ]
    for driver, loop, mdp, extra in cases:
        fast = driver(mdp, cfg, np.random.default_rng(7))
        slow = loop.py_func(mdp, cfg, np.random.default_rng(7), *extra)
        if loop is one_step and driver is not ctl.run_double_q_learning:
            slow = slow[:1] + slow[2:]
        for x, y in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(x, y)


def test_one_signature_per_driver(cliff):
    for algo in ("q_learning", "sarsa"):
        control(algo, cliff, 0, episodes=3, alpha=1, gamma=1, epsilon=0)  # ints are cast
    assert len(ctl.run_q_learning.signatures) == 1
    assert len(ctl.run_sarsa.signatures) == 1


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "config, exc, words",
    [
        (dict(alpha=0.0), ValueError, "alpha"),
        (dict(alpha=1.5), ValueError, "alpha"),
        (dict(gamma=1.1), ValueError, "gamma"),
        (dict(epsilon=-0.1), ValueError, "epsilon"),
        (dict(episodes=0), ValueError, "episodes"),
        (dict(n=0), ValueError, "ControlConfig.n must"),
        (dict(episodes=2.5), TypeError, "episodes"),
        (dict(alpha="fast"), TypeError, "alpha"),
        (dict(q0=float("inf")), ValueError, "q0"),
        (dict(epsilon=0.1, epsilon_min=0.2), ValueError, "epsilon_min"),
        (dict(epsilon_decay=0.0), ValueError, "epsilon_decay"),
        (dict(max_total_steps=-1), ValueError, "max_total_steps"),
        (dict(lr=0.1), ValueError, "unknown field"),
    ],
)
def test_bad_config(cliff, config, exc, words):
    with pytest.raises(exc, match=words):
        control("q_learning", cliff, 0, **config)


def test_bad_algo_env_seed(cliff):
    with pytest.raises(ValueError, match="algo must be one of"):
        control("q_learnin", cliff)
    with pytest.raises(ValueError, match="unknown environment"):
        control("q_learning", "NoSuchEnv-v0")
    with pytest.raises(ValueError, match="not a tabular"):
        control("q_learning", "CartPole-v1")
    with pytest.raises(ValueError, match="seed"):
        control("q_learning", cliff, -1)
    with pytest.raises(TypeError, match="seed"):
        control("q_learning", cliff, 1.5)


def test_runaway_episode_is_an_error(cliff):
    """MC ES's greedy policy can walk into a wall forever in an MDP without a time limit."""
    with pytest.raises(RuntimeError, match="max_episode_steps"):
        control("mc_exploring_starts", cliff, 0, episodes=10)
    res = control("mc_exploring_starts", cliff, 0, episodes=10, max_episode_steps=100)
    assert res.n_episodes == 10
