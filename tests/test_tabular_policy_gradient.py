"""REINFORCE on tabular MDPs: softmax gradient, one episode by hand, and the short corridor
of Example 13.1 against the book's Figures 13.1 and 13.2."""

import math

import numba
import numpy as np
import pytest

from numbarl import envs
from numbarl.tabular import policy_gradient as pg

ALLOWED = np.ones(2, dtype=bool)
# The start and the probability floor of the reference implementation of Figures 13.1-13.2.
BOOK = {"theta0": pg.SHORT_CORRIDOR_THETA0, "min_prob": pg.SHORT_CORRIDOR_MIN_PROB}


@pytest.fixture(scope="module")
def corridor():
    return envs.make("ShortCorridor-v0")


def corridor_value(p):
    """Start value of the corridor when every state goes right with probability p (Example
    13.1, solving the three Bellman equations): (2p - 4) / (p (1 - p))."""
    return (2.0 * p - 4.0) / (p * (1.0 - p))


def corridor_slope(p):
    """d corridor_value / dp."""
    return (2.0 * p * (1.0 - p) - (2.0 * p - 4.0) * (1.0 - 2.0 * p)) / (p * (1.0 - p)) ** 2


V_STAR = corridor_value(2.0 - math.sqrt(2.0))  # = -(6 + 4 sqrt 2) ~ -11.657, the book's -11.6


def expected_gradient_curve(alpha, theta0, episodes):
    """The learning curve of exact gradient ascent theta_{k+1} = theta_k + alpha grad J(theta_k),
    the expected REINFORCE step. With p = sigmoid(z), z = theta[0] - theta[1], each step moves z
    by 2 alpha J'(p) p (1 - p). Returns J(theta_k) for k = 0..episodes-1."""
    z = theta0[0] - theta0[1]
    curve = np.empty(episodes)
    for k in range(episodes):
        p = 1.0 / (1.0 + math.exp(-z))
        curve[k] = corridor_value(p)
        z += 2.0 * alpha * corridor_slope(p) * p * (1.0 - p)
    return curve


def test_corridor_value_matches_the_env_and_the_book(corridor):
    # policy evaluation on the env's own tables for a few p(right)
    live = ~corridor.terminal
    for p in (0.05, 0.3, 0.5, 0.9):
        pi = np.array([1.0 - p, p])
        p_pi = np.einsum("a,sat->st", pi, corridor.p)[np.ix_(live, live)]
        r_pi = corridor.r @ pi
        v = np.linalg.solve(np.eye(live.sum()) - p_pi, r_pi[live])
        assert v[0] == pytest.approx(corridor_value(p), rel=1e-12)
    assert V_STAR == pytest.approx(-(6.0 + 4.0 * math.sqrt(2.0)), rel=1e-14)
    assert -11.66 < V_STAR < -11.65  # the book's "about -11.6"
    p = np.linspace(0.01, 0.99, 9801)
    assert p[np.argmax(corridor_value(p))] == pytest.approx(0.5858, abs=1e-4)
    # the start of Figure 13.1: pi(right) ~ 0.05, value ~ -82
    z = pg.SHORT_CORRIDOR_THETA0[0] - pg.SHORT_CORRIDOR_THETA0[1]
    assert corridor_value(1.0 / (1.0 + math.exp(-z))) == pytest.approx(-81.8, abs=0.1)


def test_softmax_by_hand():
    x = pg.short_corridor_features()[0]  # rows: left = [0, 1], right = [1, 0]
    theta = np.array([math.log(3.0), 0.0])  # h(right) = ln 3, h(left) = 0
    np.testing.assert_allclose(pg.softmax_policy(theta, x, ALLOWED), [0.25, 0.75], rtol=1e-15)
    # x(right) - (0.25 x(left) + 0.75 x(right)) = [0.25, -0.25]
    np.testing.assert_allclose(pg.grad_log_softmax(theta, x, ALLOWED, 1), [0.25, -0.25])
    np.testing.assert_allclose(pg.grad_log_softmax(theta, x, ALLOWED, 0), [-0.75, 0.75])
    probs = pg.softmax_policy(theta, x, np.array([True, False]))
    np.testing.assert_array_equal(probs, [1.0, 0.0])


def test_grad_log_softmax_matches_finite_differences():
    rng = np.random.default_rng(3)
    allowed = np.array([True, False, True, True])
    for _ in range(5):
        theta = rng.normal(size=5)
        x_s = rng.normal(size=(4, 5))
        for a in np.flatnonzero(allowed):
            grad = pg.grad_log_softmax(theta, x_s, allowed, a)
            numeric = np.empty(5)
            for i in range(5):
                e = np.zeros(5)
                e[i] = 1e-6
                up = math.log(pg.softmax_policy(theta + e, x_s, allowed)[a])
                down = math.log(pg.softmax_policy(theta - e, x_s, allowed)[a])
                numeric[i] = (up - down) / 2e-6
            np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_floor_probabilities_by_hand():
    two = np.array([True, True])
    np.testing.assert_allclose(
        pg.floor_probabilities(np.array([0.02, 0.98]), two, 0.05), [0.05, 0.95]
    )
    np.testing.assert_array_equal(
        pg.floor_probabilities(np.array([0.3, 0.7]), two, 0.05), [0.3, 0.7]
    )
    three = np.array([True, True, True])
    got = pg.floor_probabilities(np.array([0.01, 0.04, 0.95]), three, 0.1)
    np.testing.assert_allclose(got, [0.1, 0.1, 0.8], rtol=1e-15)
    # scaling the rest pushes 0.105 to 0.0945 < 0.1, so it is floored in a second pass
    got = pg.floor_probabilities(np.array([0.0, 0.105, 0.895]), three, 0.1)
    np.testing.assert_allclose(got, [0.1, 0.1, 0.8], rtol=1e-15)
    got = pg.floor_probabilities(np.array([0.0, 0.0, 1.0]), np.array([True, False, True]), 0.2)
    np.testing.assert_allclose(got, [0.2, 0.0, 0.8], rtol=1e-15)


def test_floor_guarantees_the_episode_ends(corridor):
    x = pg.short_corridor_features()
    stuck = (-30.0, 30.0)  # softmax pi(right) ~ 1e-26, floored to 0.05: value -82
    cfg = pg.reinforce_config(alpha=1e-9, episodes=400, theta0=stuck, min_prob=0.05)
    _, returns, _, _, truncated = pg.run_reinforce(
        corridor, *pg.prepare(corridor, x, cfg), np.random.default_rng(1)
    )
    assert not truncated.any()
    se = returns.std(ddof=1) / math.sqrt(400)
    assert abs(returns.mean() - corridor_value(0.05)) <= 4 * se, (returns.mean(), se)


def two_step_mdp():
    """States 0 -> 1 -> 2 (terminal) whatever the action; rewards: in state 0 action 0 gives 1,
    action 1 gives 2; in state 1 action 0 gives 4, action 1 gives 8. So an episode's return
    tells which actions were taken. Features: one-hot per (state, action), d = 4."""
    P = {
        0: {0: [(1.0, 1, 1.0, False)], 1: [(1.0, 1, 2.0, False)]},
        1: {0: [(1.0, 2, 4.0, True)], 1: [(1.0, 2, 8.0, True)]},
        2: {0: [(1.0, 2, 0.0, True)], 1: [(1.0, 2, 0.0, True)]},
    }
    mdp = envs.from_transitions(P, 3, 2, [1.0, 0.0, 0.0], terminal=[False, False, True])
    x = np.zeros((3, 2, 4))
    x[0, 0, 0] = x[0, 1, 1] = x[1, 0, 2] = x[1, 1, 3] = 1.0
    return mdp, x


@pytest.mark.parametrize("variant", ["reward_to_go", "total", "baseline"])
def test_one_episode_update_by_hand(variant):
    mdp, x = two_step_mdp()
    alpha, alpha_w, gamma = 0.5, 0.25, 0.5
    cfg = pg.reinforce_config(
        alpha=alpha,
        alpha_w=alpha_w,
        gamma=gamma,
        episodes=1,
        baseline=variant == "baseline",
        returns="total" if variant == "total" else "reward_to_go",
        theta0=(0.0, 0.0, 0.0, 0.0),
    )
    for seed in range(4):
        theta, returns, w, lengths, truncated = pg.run_reinforce(
            mdp, *pg.prepare(mdp, x, cfg), np.random.default_rng(seed)
        )
        total = returns[0]
        r0, r1 = {5.0: (1, 4), 6.0: (2, 4), 9.0: (1, 8), 10.0: (2, 8)}[total]
        a0, a1 = r0 - 1, r1 // 8  # actions taken
        g0, g1 = r0 + gamma * r1, r1  # G_0, G_1
        # grad ln pi at uniform probabilities: +0.5 on the action taken, -0.5 on the other
        e0 = np.array([0.5, -0.5, 0.0, 0.0]) * (1 if a0 == 0 else -1)
        e1 = np.array([0.0, 0.0, 0.5, -0.5]) * (1 if a1 == 0 else -1)
        if variant == "total":
            expected = alpha * g0 * (e0 + e1)
        else:  # with w = 0 at the start, delta_t = G_t: the same first update
            expected = alpha * g0 * e0 + alpha * gamma * g1 * e1
        np.testing.assert_allclose(theta, expected, rtol=1e-15)
        w_expected = [alpha_w * g0, alpha_w * g1, 0.0] if variant == "baseline" else [0, 0, 0]
        np.testing.assert_allclose(w, w_expected, rtol=1e-15)
        assert lengths[0] == 2 and not truncated[0]


def test_figure_13_1_reinforce_approaches_the_optimum(corridor):
    """Figure 13.1, alpha = 2**-13, 1000 episodes, 100 runs. The mean over runs of the return
    of episodes 900-999 must lie within gap + 4 SE below v* = -11.657 (and not above v* + 4 SE:
    no policy of this form does better). The gap is that of the expected learning curve (exact
    gradient ascent from the same start, ~0.75 here); SE is the run-to-run standard error."""
    alpha, runs = 2.0**-13, 100
    cfg = pg.reinforce_config(alpha=alpha, **BOOK)
    x = pg.short_corridor_features()
    _, returns, _, _, truncated = pg.run_reinforce_many(corridor, x, cfg, runs=runs, seed=0)
    assert returns.shape == (runs, 1000) and not truncated.any()
    per_run = returns[:, 900:].mean(axis=1)
    mean, se = per_run.mean(), per_run.std(ddof=1) / math.sqrt(runs)
    curve = expected_gradient_curve(alpha, pg.SHORT_CORRIDOR_THETA0, 1000)
    gap = V_STAR - curve[900:].mean()
    assert 0.5 < gap < 1.0
    assert V_STAR - gap - 4 * se <= mean <= V_STAR + 4 * se, (mean, se, gap)
    # and the whole curve follows the expected one: episodes 100-299 as well
    early = returns[:, 100:300].mean(axis=1)
    early_se = early.std(ddof=1) / math.sqrt(runs)
    assert abs(early.mean() - curve[100:300].mean()) <= 4 * early_se, (early.mean(), early_se)
    # the first episode is the -82 policy's
    first_se = returns[:, 0].std(ddof=1) / math.sqrt(runs)
    assert abs(returns[:, 0].mean() - curve[0]) <= 4 * first_se


def test_figure_13_2_baseline_learns_faster(corridor):
    """Figure 13.2: with a learned baseline (alpha_theta = 2**-9, alpha_w = 2**-6) the mean
    return over episodes 100-299 beats plain REINFORCE (alpha = 2**-13) by more than 4 standard
    errors of the difference, and lies within 4 SE of the optimum from below."""
    runs = 100
    x = pg.short_corridor_features()
    plain = pg.reinforce_config(alpha=2.0**-13, **BOOK)
    base = pg.reinforce_config(alpha=2.0**-9, alpha_w=2.0**-6, baseline=True, **BOOK)
    _, r_plain, _, _, _ = pg.run_reinforce_many(corridor, x, plain, runs=runs, seed=1)
    _, r_base, w, _, _ = pg.run_reinforce_many(corridor, x, base, runs=runs, seed=2)
    m_plain, m_base = r_plain[:, 100:300].mean(axis=1), r_base[:, 100:300].mean(axis=1)
    se_plain = m_plain.std(ddof=1) / math.sqrt(runs)
    se_base = m_base.std(ddof=1) / math.sqrt(runs)
    diff = m_base.mean() - m_plain.mean()
    assert diff > 4 * math.hypot(se_plain, se_base), (diff, se_plain, se_base)
    assert m_base.mean() <= V_STAR + 4 * se_base
    # the baseline learned the value of the start state under a near-optimal policy
    assert np.all(w[:, 3] == 0.0)
    assert abs(w[:, 0].mean() - V_STAR) < 2.0


def test_same_seed_same_arrays_whatever_the_threads(corridor):
    x = pg.short_corridor_features()
    cfg = pg.reinforce_config(alpha=2.0**-9, baseline=True, episodes=50, **BOOK)
    one = pg.run_reinforce_many(corridor, x, cfg, runs=6, seed=11, threads=1)
    two = pg.run_reinforce_many(corridor, x, cfg, runs=6, seed=11, threads=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)
    direct = pg.run_reinforce(corridor, *pg.prepare(corridor, x, cfg), np.random.default_rng(5))
    again = pg.run_reinforce(corridor, *pg.prepare(corridor, x, cfg), np.random.default_rng(5))
    for a, b in zip(direct, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_compiled_matches_python(corridor):
    x = pg.short_corridor_features()
    cfg = pg.reinforce_config(alpha=2.0**-6, baseline=True, episodes=20, min_prob=0.1)
    fast = pg.run_reinforce(corridor, *pg.prepare(corridor, x, cfg), np.random.default_rng(9))
    slow = pg.run_reinforce.py_func(
        corridor, *pg.prepare(corridor, x, cfg), np.random.default_rng(9)
    )
    np.testing.assert_array_equal(fast[1], slow[1])  # same episodes, step for step
    np.testing.assert_array_equal(fast[3], slow[3])
    np.testing.assert_allclose(fast[0], slow[0], rtol=1e-12)
    np.testing.assert_allclose(fast[2], slow[2], rtol=1e-12)


def test_long_episodes_are_cut_and_marked_truncated(corridor):
    x = pg.short_corridor_features()
    stuck = (-30.0, 30.0)  # pi(right) ~ 1e-26: never leaves state 0
    cfg = pg.reinforce_config(episodes=3, max_steps=50, theta0=stuck)
    _, returns, _, lengths, truncated = pg.run_reinforce(
        corridor, *pg.prepare(corridor, x, cfg), np.random.default_rng(0)
    )
    np.testing.assert_array_equal(lengths, [50, 50, 50])
    np.testing.assert_array_equal(returns, [-50.0, -50.0, -50.0])
    assert truncated.all()
    limited = corridor._replace(max_steps=20)  # the env's own time limit, if shorter, wins
    _, returns, _, lengths, truncated = pg.run_reinforce(
        limited, *pg.prepare(limited, x, cfg), np.random.default_rng(0)
    )
    np.testing.assert_array_equal(lengths, [20, 20, 20])
    assert truncated.all()


def test_config_has_one_compiled_type():
    a = pg.reinforce_config(alpha=1, gamma=1, episodes=10.0, theta0=[0, 1])
    b = pg.reinforce_config(alpha=0.5, gamma=0.9, baseline=True, theta0=np.array([2.0, 3.0]))
    c = pg.reinforce_config(returns="total", max_steps=np.int32(5), theta0=(1.0, 1.0))
    assert numba.typeof(a) == numba.typeof(b) == numba.typeof(c)
    assert c.returns == pg.RETURNS_TOTAL and a.returns == pg.RETURNS_REWARD_TO_GO


def test_rejects_bad_config_and_input(corridor):
    x = pg.short_corridor_features()
    with pytest.raises(ValueError, match="returns must be one of 'reward_to_go', 'total'"):
        pg.reinforce_config(returns="mean")
    with pytest.raises(ValueError, match="ReinforceConfig.alpha must be > 0"):
        pg.reinforce_config(alpha=0.0)
    with pytest.raises(ValueError, match=r"ReinforceConfig.gamma must be \[0, 1\]"):
        pg.reinforce_config(gamma=1.5)
    with pytest.raises(ValueError, match="ReinforceConfig.max_steps must be >= 1"):
        pg.reinforce_config(max_steps=0)
    with pytest.raises(ValueError, match="unknown field.*epsilon"):
        pg.reinforce_config(epsilon=0.1)
    with pytest.raises(ValueError, match="baseline=True needs returns='reward_to_go'"):
        pg.reinforce_config(baseline=True, returns="total")
    with pytest.raises(ValueError, match="theta0 must be a flat sequence of finite numbers"):
        pg.reinforce_config(theta0=[np.nan, 0.0])
    with pytest.raises(ValueError, match=r"ReinforceConfig.min_prob must be \[0, 1\)"):
        pg.reinforce_config(min_prob=1.0)
    with pytest.raises(ValueError, match="min_prob must be <= 1/2"):
        pg.run_reinforce_many(corridor, x, pg.reinforce_config(min_prob=0.6), runs=1)
    with pytest.raises(ValueError, match="theta0 must have length d = 2"):
        pg.run_reinforce_many(corridor, x, pg.reinforce_config(theta0=[0.0]), runs=1)
    with pytest.raises(ValueError, match=r"x must have shape \(4, 2, d\)"):
        pg.run_reinforce_many(corridor, x[:3], pg.ReinforceConfig(), runs=1)
    with pytest.raises(TypeError, match="cfg must be a ReinforceConfig"):
        pg.run_reinforce_many(corridor, x, {"alpha": 0.1}, runs=1)
