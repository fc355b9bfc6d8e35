"""Off-policy policy gradient: the importance-weighted loss, its gradient, and learning."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl import nn
from numbarl.deep import offpolicy_pg as opg
from numbarl.deep import reinforce as rf
from numbarl.deep.pg_common import direct_score_fns, policy_log_prob
from numbarl.deep.reinforce import reinforce_loss_grad
from numbarl.deep.rollout import env_info, make_policy, policy_arrays
from numbarl.envs import make
from numbarl.errors import TrainingDiverged
from tests.faulty_env import nan_reward_cartpole
from tests.tiny_policy import tiny_policy as make_tiny_policy

H = 1e-6
DIRECT = direct_score_fns()  # the kernels the updates reach through pointers


def tiny_policy(continuous: bool, seed: int = 0):
    """A 3-6-n policy, a batch of 7 and weights Psi."""
    layout, theta, obs, actions, rng = make_tiny_policy((3, 6), continuous, (-0.2, 0.3), 7, seed)
    return layout, theta, obs, actions, rng.standard_normal(7), rng


@pytest.mark.parametrize("continuous", [False, True], ids=["categorical", "gaussian"])
@pytest.mark.parametrize("max_ratio", [np.inf, 1.1], ids=["plain", "truncated"])
def test_is_gradient_matches_finite_differences(continuous, max_ratio):
    layout, theta, obs, actions, psi, rng = tiny_policy(continuous)
    ws = nn.mlp_workspace(layout, obs.shape[0])
    # Behaviour policy theta' = a perturbed theta, so ratios spread around 1.
    theta_b = theta + 0.3 * rng.standard_normal(theta.size)
    logp_b = policy_log_prob(theta_b, layout, nn.TANH, continuous, obs, actions, ws).copy()

    def loss(th):
        scratch = np.zeros(th.size)
        return opg.is_loss_grad(
            th, layout, nn.TANH, continuous, obs, actions, logp_b, psi, max_ratio, ws, scratch,
            None, DIRECT,
        )[0]  # fmt: skip

    grad = np.full(theta.size, 0.25)  # accumulates
    value, mean_ratio, clipped = opg.is_loss_grad(
        theta, layout, nn.TANH, continuous, obs, actions, logp_b, psi, max_ratio, ws, grad,
        None, DIRECT,
    )  # fmt: skip
    numeric = np.array(
        [(loss(theta + H * e) - loss(theta - H * e)) / (2 * H) for e in np.eye(theta.size)]
    )
    np.testing.assert_allclose(grad - 0.25, numeric, rtol=1e-6, atol=1e-9)
    assert value == pytest.approx(loss(theta), rel=1e-12)
    logp = policy_log_prob(theta, layout, nn.TANH, continuous, obs, actions, ws)
    rho = np.exp(logp - logp_b)
    assert mean_ratio == pytest.approx(rho.mean(), rel=1e-12)
    assert clipped == pytest.approx(np.mean(rho >= max_ratio))
    if np.isfinite(max_ratio):
        assert 0.0 < clipped < 1.0  # the test exercises both branches
        assert value == pytest.approx(-np.mean(np.minimum(rho, max_ratio) * psi), rel=1e-12)


@pytest.mark.parametrize("continuous", [False, True], ids=["categorical", "gaussian"])
def test_is_gradient_at_behaviour_policy_equals_on_policy_gradient(continuous):
    layout, theta, obs, actions, psi, _ = tiny_policy(continuous, seed=5)
    ws = nn.mlp_workspace(layout, obs.shape[0])
    logp = policy_log_prob(theta, layout, nn.TANH, continuous, obs, actions, ws).copy()
    g_is = np.zeros(theta.size)
    _, mean_ratio, clipped = opg.is_loss_grad(
        theta, layout, nn.TANH, continuous, obs, actions, logp, psi, 2.0, ws, g_is, None, DIRECT
    )
    g_pg = np.zeros(theta.size)
    reinforce_loss_grad(
        theta, layout, nn.TANH, continuous, obs, actions, psi, ws, g_pg, None, DIRECT
    )
    np.testing.assert_allclose(g_is, g_pg, rtol=1e-12, atol=1e-15)
    assert mean_ratio == pytest.approx(1.0) and clipped == 0.0


def test_reuse_one_equals_reinforce_with_reward_to_go():
    # One IS step per batch at theta == theta' is exactly REINFORCE's step with the same weights.
    env = make("CartPole-v1")
    common = dict(total_steps=2000, n_steps=250, eval_every=1000, eval_episodes=2, lr=3e-3)
    a_is, _ = opg.train(env, dict(common, reuse=1), seed=2)
    a_rf, _ = rf.train(env, dict(common, returns="reward_to_go", baseline="value"), seed=2)
    np.testing.assert_allclose(a_is["params"], a_rf["params"], rtol=1e-9, atol=1e-12)


def test_gaussian_history_and_ratios():
    # same seed, same bytes (this config on Pendulum): tests/test_pg_dtype.py
    env = make("Pendulum-v1")
    cfg = dict(total_steps=1000, n_envs=2, n_steps=250, eval_every=500, eval_episodes=2)
    _, h1 = opg.train(env, cfg, seed=5)
    assert set(h1) == {"step", "eval_return", "episode_return", *opg.METRICS}
    # After `reuse` steps the policy moved away from the behaviour policy: ratios differ from 1.
    assert np.all(h1["mean_ratio"] != 1.0) and np.all(h1["truncated_fraction"] < 0.5)


def test_nan_rewards_raise_training_diverged():
    env = nan_reward_cartpole()
    cfg = dict(total_steps=2000, n_steps=200, eval_every=200, eval_episodes=1)
    with pytest.raises(TrainingDiverged, match=r"update 2 of 10 \(step 400\)") as info:
        opg.train(env, cfg, seed=0)
    assert info.value.history["step"].tolist() == [200]


@pytest.mark.parametrize(
    "field, value", [("reuse", 0), ("max_ratio", 1.0), ("baseline", "learned"), ("gamma", 1.5)]
)
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"OffPolicyPGConfig.{field}"):
        opg.train(make("CartPole-v1"), {field: value}, seed=0)


@pytest.mark.slow
def test_offpolicy_pg_improves_cartpole_markedly():
    env = make("CartPole-v1")
    seed = 0
    init = make_policy(
        env_info(env), np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])
    )
    before = rf.evaluate(policy_arrays(init), env, 20, seed=1).mean()
    arrays, hist = opg.train(env, dict(total_steps=40_000), seed=seed)  # TUNED otherwise
    after = opg.evaluate(arrays, env, 20, seed=1).mean()
    assert before < 100.0  # the untrained policy (as train builds it) falls within 100 steps
    assert after >= 300.0  # reuse=4 IS updates on 20 batches of 2000 steps
