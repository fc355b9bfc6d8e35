"""Off-policy Monte Carlo: Figure 5.3's blackjack state, per-decision importance sampling on a
chain with intermediate rewards, exact identities, determinism and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl import dp
from numbarl.envs import from_transitions, make
from numbarl.envs.toy_text import BLACKJACK_N_OBS, blackjack_decode, blackjack_state
from numbarl.runs import run_many
from numbarl.tabular.off_policy import (
    OffPolicyConfig,
    make_off_policy_config,
    off_policy_prediction,
    run_off_policy_prediction,
)
from numbarl.tabular.policies import uniform_policy

BOOK_VALUE = -0.27726  # Figure 5.3: dealer 2, player 13, usable ace


@pytest.fixture(scope="module")
def blackjack():
    return make("Blackjack-v1", sab=False, natural=False)


@pytest.fixture(scope="module")
def stick_on_20(blackjack):
    """Target of Figure 5.3 as float64[S, 2]: stick (0) on 20 or 21, else hit (1)."""
    pi = np.zeros((blackjack.n_states, 2))
    for s in range(blackjack.n_states):
        player_sum = blackjack_decode(s)[0] if s < BLACKJACK_N_OBS else 21
        pi[s, 0 if player_sum >= 20 else 1] = 1.0
    return pi


@pytest.fixture(scope="module")
def figure_5_3(blackjack, stick_on_20):
    """100 runs of 10,000 episodes from the Figure 5.3 state with the 0.5/0.5 behaviour."""
    s0 = blackjack_state(13, 2, 1)
    cfg = make_off_policy_config(blackjack, episodes=10_000, start_state=s0)
    behaviour = uniform_policy(blackjack)
    out = run_many(run_off_policy_prediction, 100, 53, blackjack, stick_on_20, behaviour, cfg)
    true_value = dp.state_values(blackjack, stick_on_20, 1.0)[s0]
    return out, true_value


def test_figure_5_3_true_value(figure_5_3):
    _, true_value = figure_5_3
    assert true_value == pytest.approx(BOOK_VALUE, abs=2e-4)  # the book's is an MC estimate


def test_figure_5_3_weighted_converges(figure_5_3):
    """Weighted IS: MSE after 10,000 episodes averaged over 100 runs below 0.003 (about 0.001
    expected: the estimator's variance is ~10 per episode), and falling ~1/n from 1,000."""
    (_, _, _, _, weighted, _, n_done), true_value = figure_5_3
    assert np.all(n_done == 10_000)
    mse = ((weighted - true_value) ** 2).mean(axis=0)
    assert mse[-1] < 0.003
    assert mse[-1] < mse[999] / 4


def test_figure_5_3_ordinary_unbiased(figure_5_3):
    """Ordinary IS is unbiased: mean final estimate over 100 runs within 4 standard errors."""
    (_, _, _, ordinary, _, _, _), true_value = figure_5_3
    final = ordinary[:, -1]
    se = final.std(ddof=1) / np.sqrt(len(final))
    assert abs(final.mean() - true_value) < 4 * se
    # and after one episode too: E[rho G] = v_pi (its variance is large, hence many runs)
    first = ordinary[:, 0]
    assert abs(first.mean() - true_value) < 4 * first.std(ddof=1) / np.sqrt(len(first))


def test_figure_5_3_weighted_better_early(blackjack, stick_on_20, figure_5_3):
    """The book's point: early on weighted IS has the lower mean squared error. After 1, 10
    and 100 episodes, over 2,000 runs, the paired difference of squared errors (ordinary minus
    weighted) is positive by more than 4 standard errors."""
    (_, _, _, ordinary, _, per_decision, _), true_value = figure_5_3
    # rewards come only at the end (gamma = 1): per-decision IS equals ordinary IS
    np.testing.assert_allclose(per_decision, ordinary, rtol=1e-12, atol=1e-12)
    s0 = blackjack_state(13, 2, 1)
    cfg = make_off_policy_config(blackjack, episodes=100, start_state=s0)
    out = run_many(
        run_off_policy_prediction, 2000, 7, blackjack, stick_on_20, uniform_policy(blackjack), cfg
    )
    for episode in (0, 9, 99):
        d = (out[3][:, episode] - true_value) ** 2 - (out[4][:, episode] - true_value) ** 2
        assert d.mean() > 4 * d.std(ddof=1) / np.sqrt(len(d))


def reward_chain(gamma_target=0.9):
    """States 0..3 in a row, then terminal 4; both actions move right, action 0 pays 1 and
    action 1 pays 0. Target mostly takes action 0, behaviour is uniform."""
    P = {s: {a: [(1.0, s + 1, 1.0 - a, s == 3)] for a in (0, 1)} for s in range(4)}
    P[4] = {a: [(1.0, 4, 0.0, True)] for a in (0, 1)}
    mdp = from_transitions(P, 5, 2, [1.0, 0, 0, 0, 0])
    target = np.tile([gamma_target, 1 - gamma_target], (5, 1))
    return mdp, target, uniform_policy(mdp)


def test_per_decision_unbiased_and_lower_variance():
    """Per-decision IS (5.9) on a chain with a reward each step, gamma 0.9, 400 runs of 20
    episodes: unbiased (within 4 standard errors of the exact value) and of lower variance than
    ordinary IS (ratio below 0.7; the estimated ratio's standard error is ~7%)."""
    mdp, target, behaviour = reward_chain()
    cfg = OffPolicyConfig(gamma=0.9, episodes=20)
    out = run_many(run_off_policy_prediction, 400, 9, mdp, target, behaviour, cfg)
    ordinary, per_decision = out[3][:, -1], out[5][:, -1]
    true_value = dp.state_values(mdp, target, 0.9)[0]
    for est in (ordinary, per_decision):
        assert abs(est.mean() - true_value) < 4 * est.std(ddof=1) / np.sqrt(400)
    assert per_decision.var(ddof=1) < 0.7 * ordinary.var(ddof=1)


def test_on_policy_case_all_estimators_agree():
    """target == behaviour: every ratio is 1 and the three estimators are the same first-visit
    MC average, bit for bit; the start-distribution curve is the start state's estimate."""
    mdp, _, behaviour = reward_chain()
    res = off_policy_prediction(mdp, behaviour, behaviour, 3, gamma=0.9, episodes=200)
    np.testing.assert_array_equal(res.v_ordinary, res.v_weighted)
    np.testing.assert_array_equal(res.v_ordinary, res.v_per_decision)
    np.testing.assert_array_equal(res.ordinary, res.weighted)
    assert res.ordinary[-1] == res.v_ordinary[0]
    # each episode visits every state once; from state 0 the return is sum_k 0.9^k X_k with
    # X_k ~ Bernoulli(0.5) independent: sd = 0.5 * sqrt(sum_k 0.81^k), the largest over states
    exact = dp.state_values(mdp, behaviour, 0.9)
    se = 0.5 * np.sqrt(sum(0.81**k for k in range(4))) / np.sqrt(200)
    assert np.all(np.abs(res.v_ordinary[:4] - exact[:4]) < 4 * se)


def test_one_step_estimates_exact():
    """One decision, target always action 0 (reward 1), behaviour 0.5/0.5 (action 1 pays 2):
    after k episodes ordinary IS = 2 * (# action 0) / k and weighted IS is 1 once action 0 has
    been seen (0 before)."""
    P = {0: {0: [(1.0, 1, 1.0, True)], 1: [(1.0, 1, 2.0, True)]}, 1: {0: [], 1: []}}
    mdp = from_transitions(P, 2, 2, [1.0, 0.0])
    target = np.array([[1.0, 0.0], [0.0, 0.0]])
    behaviour = np.array([[0.5, 0.5], [0.0, 0.0]])
    res = off_policy_prediction(mdp, target, behaviour, 0, episodes=500, start_state=0)
    k = np.arange(1, 501)
    n0 = np.rint(res.ordinary * k / 2.0)
    np.testing.assert_allclose(res.ordinary, 2.0 * n0 / k, rtol=1e-12)
    assert set(np.diff(np.concatenate([[0], n0]))) <= {0.0, 1.0}
    np.testing.assert_array_equal(res.weighted, np.where(n0 > 0, 1.0, 0.0))
    assert abs(n0[-1] / 500 - 0.5) < 4 * np.sqrt(0.25 / 500)


def test_same_seed_same_bytes_and_compiled_equals_python(blackjack, stick_on_20):
    behaviour = uniform_policy(blackjack)
    cfg = OffPolicyConfig(episodes=30)
    a = run_off_policy_prediction(blackjack, stick_on_20, behaviour, cfg, np.random.default_rng(1))
    b = run_off_policy_prediction(blackjack, stick_on_20, behaviour, cfg, np.random.default_rng(1))
    c = run_off_policy_prediction.py_func(
        blackjack, stick_on_20, behaviour, cfg, np.random.default_rng(1)
    )
    for x, y, z in zip(a, b, c, strict=True):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()
        np.testing.assert_array_equal(x, z)


def test_off_policy_control_compiled_equals_python():
    from numbarl.tabular.control import ControlConfig, run_off_policy_mc_control

    mdp = make("CliffWalking-v1")
    cfg = ControlConfig(episodes=5, epsilon=0.3, max_episode_steps=40)
    fast = run_off_policy_mc_control(mdp, cfg, np.random.default_rng(4))
    slow = run_off_policy_mc_control.py_func(mdp, cfg, np.random.default_rng(4))
    for x, y in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(x, y)


def test_bad_input(blackjack, stick_on_20):
    behaviour = uniform_policy(blackjack)
    greedy_b = stick_on_20.copy()
    greedy_b[:, :] = [1.0, 0.0]
    with pytest.raises(ValueError, match="coverage"):
        off_policy_prediction(blackjack, stick_on_20, greedy_b)
    with pytest.raises(ValueError, match="shape"):
        off_policy_prediction(blackjack, stick_on_20[:10], behaviour)
    with pytest.raises(ValueError, match="sums to"):
        off_policy_prediction(blackjack, stick_on_20 * 0.5, behaviour)
    with pytest.raises(ValueError, match="start_state"):
        off_policy_prediction(blackjack, stick_on_20, behaviour, start_state=10_000)
    with pytest.raises(ValueError, match="start_state"):
        off_policy_prediction(blackjack, stick_on_20, behaviour, start_state=704)  # terminal
    with pytest.raises(ValueError, match="gamma"):
        off_policy_prediction(blackjack, stick_on_20, behaviour, gamma=2.0)
    with pytest.raises(ValueError, match="episodes"):
        off_policy_prediction(blackjack, stick_on_20, behaviour, episodes=0)
    with pytest.raises(ValueError, match="unknown field"):
        off_policy_prediction(blackjack, stick_on_20, behaviour, alpha=0.1)
