"""Exact DP against the book's numbers, hand-derived oracles and each other."""

import numpy as np
import pytest
from numba import njit

from numbarl import dp
from numbarl.envs import make, reset, step
from numbarl.tabular.policies import uniform_policy

# Figure 4.1, converged values, row by row.
FIGURE_4_1 = np.array(
    [[0, -14, -20, -22], [-14, -18, -20, -20], [-20, -20, -18, -14], [-22, -20, -14, 0]], float
)


@pytest.fixture(scope="module")
def grid():
    return make("Gridworld4x4-v0")


@pytest.fixture(scope="module")
def gambler():
    return make("GamblersProblem-v0")


# ---------------------------------------------------------------------------------------------
# Prediction


@pytest.mark.parametrize("env, truth", [
    ("RandomWalk-v0", np.arange(1, 6) / 6),  # Example 6.2
    ("RandomWalk19-v0", np.arange(-18, 19, 2) / 20),  # Figure 7.2: linear from -1 to +1
])  # fmt: skip
def test_random_walk_true_values(env, truth):
    walk = make(env)
    pi = uniform_policy(walk)
    exact = dp.state_values(walk, pi)
    np.testing.assert_allclose(exact[1:-1], truth, atol=1e-12)
    assert exact[0] == 0.0 and exact[-1] == 0.0
    iterative, _ = dp.policy_evaluation(walk, pi, theta=1e-12)
    np.testing.assert_allclose(iterative, exact, atol=1e-9)


def test_gridworld_figure_4_1_converged(grid):
    pi = uniform_policy(grid)
    v, sweeps = dp.policy_evaluation(grid, pi)
    assert 1 < sweeps < 100_000
    np.testing.assert_allclose(v.reshape(4, 4), FIGURE_4_1, atol=1e-8)
    np.testing.assert_allclose(dp.state_values(grid, pi).reshape(4, 4), FIGURE_4_1, atol=1e-10)
    # Synchronous sweeps converge to the same values.
    v_sync, _ = dp.policy_evaluation(grid, pi, in_place=False)
    np.testing.assert_allclose(v_sync.reshape(4, 4), FIGURE_4_1, atol=1e-8)


def test_gridworld_figure_4_1_first_sweeps(grid):
    """The book's k = 1, 2, 3 synchronous sweeps (it prints k=2's -1.75 as -1.7, k=3 to one
    decimal: -2.4 / -2.9 / -3.0)."""
    pi = uniform_policy(grid)
    k1, n1 = dp.policy_evaluation(grid, pi, theta=0.0, max_sweeps=1, in_place=False)
    k2, _ = dp.policy_evaluation(grid, pi, theta=0.0, max_sweeps=2, in_place=False)
    k3, n3 = dp.policy_evaluation(grid, pi, theta=0.0, max_sweeps=3, in_place=False)
    assert (n1, n3) == (1, 3)
    live = ~grid.terminal
    np.testing.assert_array_equal(k1[live], -1.0)
    a, b = -1.75, -2.0
    np.testing.assert_allclose(
        k2.reshape(4, 4), [[0, a, b, b], [a, b, b, b], [b, b, b, a], [b, b, a, 0]], atol=1e-12
    )
    # k = 3, derived by hand from k = 2 (e.g. state 5: -1 + (-1.75 - 1.75 - 2 - 2) / 4).
    c, d, e, f = -2.4375, -2.9375, -3.0, -2.875
    exact3 = np.array([[0, c, d, e], [c, f, e, d], [d, e, f, c], [e, d, c, 0]])
    np.testing.assert_allclose(k3.reshape(4, 4), exact3, atol=1e-12)
    book3 = np.array(
        [[0, -2.4, -2.9, -3], [-2.4, -2.9, -3, -2.9], [-2.9, -3, -2.9, -2.4], [-3, -2.9, -2.4, 0]]
    )
    book2 = np.array([[0, -1.7, -2, -2], [-1.7, -2, -2, -2], [-2, -2, -2, -1.7], [-2, -2, -1.7, 0]])
    # The book prints one decimal (rounding -2.875 up to -2.9 but -1.75 down to -1.7).
    assert np.all(np.abs(k3.reshape(4, 4) - book3) <= 0.05 + 1e-12)
    assert np.all(np.abs(k2.reshape(4, 4) - book2) <= 0.05 + 1e-12)
    zero, n0 = dp.policy_evaluation(grid, pi, max_sweeps=0)
    assert n0 == 0 and not zero.any()


def test_short_corridor_best_stochastic_policy():
    """Example 13.1: the same p(right) everywhere; best p ~ 0.59, start value ~ -11.6."""
    corridor = make("ShortCorridor-v0")
    ps = np.linspace(0.01, 0.99, 981)
    values = np.array([dp.state_values(corridor, np.tile([1 - p, p], (4, 1)))[0] for p in ps])
    # Hand-derived: v0 = v1 - 1/p, v1 = (p - 3) / (p (1 - p)), so v0 = (2p - 4) / (p (1 - p)).
    np.testing.assert_allclose(values, (2 * ps - 4) / (ps * (1 - ps)), rtol=1e-10)
    best = int(np.argmax(values))
    assert abs(ps[best] - 0.59) < 0.01
    assert abs(values[best] - (-11.6)) < 0.1
    # A deterministic policy never ends: 'right' everywhere cycles between states 0 and 1.
    with pytest.raises(ValueError, match="never terminates from state"):
        dp.state_values(corridor, np.tile([0.0, 1.0], (4, 1)))
    assert dp.state_values(corridor, np.tile([0.0, 1.0], (4, 1)), gamma=0.5)[0] == -2.0


# ---------------------------------------------------------------------------------------------
# Control


def test_gamblers_problem_figure_4_3(gambler):
    v, sweeps, history = dp.value_iteration(gambler, record=True)
    assert sweeps < 100_000 and history.shape == (sweeps, 101)
    np.testing.assert_array_equal(history[-1], v)
    assert np.max(np.abs(history[-1] - history[-2])) < 1e-10
    assert v[0] == 0.0 and v[100] == 0.0
    assert np.all(np.diff(v[1:100]) > 0)  # values increase with capital
    assert abs(v[50] - 0.4) < 1e-12  # bet everything: win with p_h
    assert abs(v[25] - 0.16) < 1e-12 and abs(v[75] - 0.64) < 1e-12
    q = dp.q_from_v(gambler, v)
    assert np.isneginf(q[25, 26]) and np.isneginf(q[99, 2])  # stakes not allowed
    for capital, stake in ((25, 25), (50, 50), (75, 25)):  # the book's figure
        near = np.flatnonzero(q[capital] >= v[capital] - 1e-9)
        assert stake in near
        # Stake 0 always ties (it leaves the capital unchanged); no other stake comes close.
        assert set(near) == {0, stake}
        assert np.sort(v[capital] - q[capital, 1:])[1] > 1e-3


def test_gambler_value_iteration_records_every_sweep(gambler):
    v3, n3 = dp.value_iteration(gambler, theta=0.0, max_sweeps=3)
    _, _, history = dp.value_iteration(gambler, record=True)
    assert n3 == 3
    np.testing.assert_array_equal(history[2], v3)
    # After sweep 1, in place in state order: only the states that can reach 100 in one bet
    # or lean on an already-updated state gain value.
    assert history[0][50] == 0.4 and history[0][49] == 0.0


@pytest.mark.parametrize("options, steps", [
    ({}, 15),  # Example 6.5's greedy path
    ({"king_moves": True}, 7),  # Exercise 6.9: 7 columns to cross, one per step at best
    ({"king_moves": True, "stay": True}, 7),
])  # fmt: skip
def test_windy_gridworld_shortest_paths(options, steps):
    windy = make("WindyGridworld-v0", **options)
    v, _ = dp.value_iteration(windy)
    start, goal = 30, 37
    assert v[start] == -steps
    # Follow the greedy policy: deterministic moves, so the path has exactly -v(start) steps.
    pi = dp.greedy_policy(windy, v, ties="first")
    s, n = start, 0
    while s != goal and n < 100:
        s = int(np.argmax(windy.p[s, int(np.argmax(pi[s]))]))
        n += 1
    assert (s, n) == (goal, steps)


def test_windy_stochastic_wind_costs_more():
    plain, _ = dp.value_iteration(make("WindyGridworld-v0"))
    windy = make("WindyGridworld-v0", stochastic_wind=True)
    v, sweeps, history = dp.value_iteration(windy, record=True)
    assert sweeps > 64 and history.shape == (sweeps, 70)  # the record grew past its first block
    np.testing.assert_array_equal(history[-1], v)
    np.testing.assert_array_equal(
        history[9], dp.value_iteration(windy, theta=0.0, max_sweeps=10)[0]
    )
    assert v[30] < plain[30]
    # The optimal values satisfy the Bellman optimality equation.
    q = dp.q_from_v(windy, v)
    np.testing.assert_allclose(np.where(windy.terminal, 0.0, q.max(axis=1)), v, atol=1e-8)


AGREEMENT = [
    ("RandomWalk-v0", {}),
    ("RandomWalk19-v0", {}),
    ("Gridworld4x4-v0", {}),
    ("ShortCorridor-v0", {}),
    ("MaximizationBias-v0", {}),
    ("GamblersProblem-v0", {}),
    ("GamblersProblem-v0", {"p_h": 0.55}),
    ("WindyGridworld-v0", {}),
    ("WindyGridworld-v0", {"king_moves": True, "stay": True}),
    ("WindyGridworld-v0", {"stochastic_wind": True}),
    ("WindyGridworld-v0", {"king_moves": True, "stochastic_wind": True}),
    ("FrozenLake8x8-v1", {}),
    ("FrozenLake8x8-v1", {"is_slippery": False}),
]


@pytest.mark.parametrize("env, options", AGREEMENT)
def test_policy_iteration_agrees_with_value_iteration(env, options):
    mdp = make(env, **options)
    v_vi, _ = dp.value_iteration(mdp, theta=1e-12)
    policy, v_pi, iterations = dp.policy_iteration(mdp)
    assert iterations >= 1
    np.testing.assert_allclose(v_pi, v_vi, atol=1e-7)
    # The policy is deterministic, over allowed actions, and its exact value is v_pi.
    live = ~mdp.terminal
    np.testing.assert_array_equal(policy[live].max(axis=1), 1.0)
    assert not np.any(policy[~mdp.allowed])
    np.testing.assert_allclose(dp.state_values(mdp, policy), v_pi, atol=1e-10)
    # Each of its actions is greedy for v*.
    q = dp.optimal_q(mdp, theta=1e-12)
    chosen = q[np.arange(mdp.n_states), policy.argmax(axis=1)]
    np.testing.assert_allclose(chosen[live], v_vi[live], atol=1e-6)


def test_maximization_bias_optimum():
    mdp = make("MaximizationBias-v0")
    q = dp.optimal_q(mdp)
    np.testing.assert_allclose(q[0, :2], [-0.1, 0.0])  # left is worth the best B action
    np.testing.assert_allclose(q[1], -0.1)
    assert np.all(np.isneginf(q[0, 2:]))
    np.testing.assert_array_equal(dp.greedy_policy(mdp, q)[0], [0, 1] + [0] * 8)


@njit(cache=True)
def _success_rate(mdp, actions, episodes, rng):
    """Mean undiscounted return of a deterministic policy int64[S] with the time limit."""
    total = 0.0
    for _ in range(episodes):
        s = reset(mdp, rng)
        for _t in range(mdp.max_steps):
            s, r, done = step(mdp, s, actions[s], rng)
            total += r
            if done:
                break
    return total / episodes


def test_frozen_lake_value_iteration_policy_by_simulation():
    lake = make("FrozenLake8x8-v1")
    assert lake.max_steps == 200
    v, _ = dp.value_iteration(lake, theta=1e-12)
    assert abs(v[0] - 1.0) < 1e-8  # with gamma = 1 the holes can be avoided forever
    pi = dp.greedy_policy(lake, v, tol=0.0, ties="first")
    np.testing.assert_allclose(dp.state_values(lake, pi), v, atol=1e-8)
    # The exact value ignores the 200-step limit; the finite-horizon value does not.
    v200, _ = dp.policy_evaluation(lake, pi, theta=0.0, max_sweeps=200, in_place=False)
    assert v200[0] < v[0] - 0.05  # the limit matters: the cautious path is long
    episodes = 20_000
    rate = _success_rate(lake, pi.argmax(axis=1), episodes, np.random.default_rng(2024))
    se = np.sqrt(v200[0] * (1 - v200[0]) / episodes)
    assert abs(rate - v200[0]) <= 4 * se


# ---------------------------------------------------------------------------------------------
# Greedy policies and ties


def test_greedy_policy_ties(gambler):
    q = np.full((101, 51), -np.inf)
    q[gambler.allowed] = 0.0
    q[50, 10] = q[50, 20] = 1.0
    q[50, 30] = 1.0 - 1e-12
    uniform = dp.greedy_policy(gambler, q)
    np.testing.assert_allclose(uniform[50, [10, 20, 30]], 1 / 3)
    assert uniform[50].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(uniform[1], [0.5, 0.5] + [0.0] * 49)  # only allowed stakes
    assert dp.greedy_policy(gambler, q, ties="first")[50, 10] == 1.0
    assert dp.greedy_policy(gambler, q, ties="last")[50, 30] == 1.0
    assert dp.greedy_policy(gambler, q, tol=0.0, ties="last")[50, 20] == 1.0


def test_action_values_match_q_from_state_values(grid):
    pi = uniform_policy(grid)
    q = dp.action_values(grid, pi)
    np.testing.assert_allclose((q * pi).sum(axis=1), dp.state_values(grid, pi), atol=1e-10)
    assert q[1, 3] == -1.0  # left from state 1 enters the terminal corner


# ---------------------------------------------------------------------------------------------
# Compiled kernels equal their Python versions


def test_kernels_equal_py_func(gambler):
    small = make("GamblersProblem-v0", goal=8)
    p, r, t, al = small.p, small.r, small.terminal, small.allowed
    pi = uniform_policy(small)
    for in_place in (True, False):
        fast = dp.evaluate_policy_sweeps(p, r, t, pi, 1.0, 1e-10, 1000, in_place)
        slow = dp.evaluate_policy_sweeps.py_func(p, r, t, pi, 1.0, 1e-10, 1000, in_place)
        np.testing.assert_array_equal(fast[0], slow[0])
        assert fast[1] == slow[1]
    fast = dp.value_iteration_sweeps(p, r, t, al, 0.9, 1e-10, 1000, True)
    slow = dp.value_iteration_sweeps.py_func(p, r, t, al, 0.9, 1e-10, 1000, True)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[2], slow[2])
    v = fast[0]
    q = dp.q_from_v_kernel(p, r, t, al, v, 0.9)
    np.testing.assert_array_equal(q, dp.q_from_v_kernel.py_func(p, r, t, al, v, 0.9))
    for mode in (0, 1, 2):
        np.testing.assert_array_equal(
            dp.greedy_kernel(q, al, 1e-9, mode), dp.greedy_kernel.py_func(q, al, 1e-9, mode)
        )
    cur = np.full(9, -1, dtype=np.int64)
    fast = dp.improve_policy_kernel(q, p, t, al, cur, 1e-9)
    slow = dp.improve_policy_kernel.py_func(q, p, t, al, cur, 1e-9)
    np.testing.assert_array_equal(fast[0], slow[0])
    assert fast[1] == slow[1]


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("call, field", [
    (lambda m, pi: dp.policy_evaluation(m, pi, gamma=1.5), "gamma"),
    (lambda m, pi: dp.policy_evaluation(m, pi, gamma=float("nan")), "gamma"),
    (lambda m, pi: dp.policy_evaluation(m, pi, theta=-1.0), "theta"),
    (lambda m, pi: dp.policy_evaluation(m, pi, max_sweeps=-1), "max_sweeps"),
    (lambda m, pi: dp.policy_evaluation(m, pi, max_sweeps=2.5), "max_sweeps"),
    (lambda m, pi: dp.policy_evaluation(m, pi, in_place="yes"), "in_place"),
    (lambda m, pi: dp.policy_evaluation(m, pi[:, :2]), "policy"),
    (lambda m, pi: dp.policy_evaluation(m, pi * 2), "policy"),
    (lambda m, pi: dp.state_values(m, pi, gamma=-0.1), "gamma"),
    (lambda m, pi: dp.value_iteration(m, theta=float("inf")), "theta"),
    (lambda m, pi: dp.value_iteration(m, record=1), "record"),
    (lambda m, pi: dp.q_from_v(m, np.zeros(3)), "v"),
    (lambda m, pi: dp.q_from_v(m, np.full(16, np.nan)), "v"),
    (lambda m, pi: dp.greedy_policy(m, np.zeros(16), ties="random"), "ties"),
    (lambda m, pi: dp.greedy_policy(m, np.zeros(16), tol=-1e-9), "tol"),
    (lambda m, pi: dp.greedy_policy(m, np.zeros((16, 3))), "q_or_v"),
    (lambda m, pi: dp.policy_iteration(m, max_iterations=0), "max_iterations"),
    (lambda m, pi: dp.policy_iteration(m, policy=np.ones((16, 4))), "policy"),
])  # fmt: skip
def test_bad_input_names_the_field(grid, call, field):
    with pytest.raises(ValueError, match=field):
        call(grid, uniform_policy(grid))


def test_malformed_mdp_is_refused(grid):
    broken = grid._replace(p=grid.p * 0.5)
    with pytest.raises(ValueError, match="p\\[s, a, :\\]"):
        dp.value_iteration(broken)
    with pytest.raises(TypeError):
        dp.value_iteration({"p": grid.p})


def test_policy_iteration_refuses_an_improper_start():
    corridor = make("ShortCorridor-v0")
    with pytest.raises(ValueError, match="never terminates"):
        dp.policy_iteration(corridor, policy=np.tile([0.0, 1.0], (4, 1)))
