"""PPO: loss gradients against finite differences, the adaptive-beta rule, rollout parity with
Gymnasium, validation, divergence, determinism and (slow) learning on control tasks."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from numbarl import nn
from numbarl.deep import ppo
from numbarl.deep.gym_rollout import GymVec, collect_rollout_gym
from numbarl.deep.rollout import (
    CATEGORICAL,
    GAUSSIAN,
    collect_rollout,
    env_info,
    make_policy,
    make_rollout,
    make_vec_env,
    policy_arrays,
)
from numbarl.envs import make
from numbarl.errors import TrainingDiverged
from numbarl.testing import assert_learns
from tests.gradcheck import central_diff, rel_err

RTOL = 1e-6


def _batch(kind: int, rng: np.random.Generator, m: int = 7, n: int = 3):
    """Outputs, old outputs, actions and old log-probs for a small minibatch whose ratios stay
    clear of the clip boundaries (the surrogate has kinks there)."""
    out = rng.normal(size=(m, n))
    old_out = out + 0.3 * rng.normal(size=(m, n))
    log_std = rng.normal(scale=0.3, size=n)
    old_log_std = log_std + 0.1 * rng.normal(size=n)
    if kind == CATEGORICAL:
        actions = rng.integers(0, n, size=(m, 1)).astype(np.float64)
        logp_new = out[np.arange(m), actions[:, 0].astype(int)] - np.log(np.exp(out).sum(axis=1))
    else:
        actions = out + np.exp(log_std) * rng.normal(size=(m, n))
        z = (actions - out) / np.exp(log_std)
        logp_new = (-0.5 * z * z - log_std - 0.5 * np.log(2 * np.pi)).sum(axis=1)
    # old log-probs: ratios spread over both sides of the clip range, 0.05 away from its ends
    ratios = rng.choice([0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.6], size=m)
    old_logp = logp_new - np.log(ratios)
    adv = rng.normal(size=m)
    return out, log_std, old_out, old_log_std, actions, old_logp, adv


@pytest.mark.parametrize("kind", [CATEGORICAL, GAUSSIAN])
@pytest.mark.parametrize("variant", [ppo.CLIP, ppo.KL])
def test_policy_loss_gradient_matches_finite_differences(kind, variant):
    rng = np.random.default_rng(3 + kind + 2 * variant)
    out, log_std, old_out, old_log_std, actions, old_logp, adv = _batch(kind, rng)
    clip, beta, ent = 0.2, 0.7, 0.05

    def loss() -> float:
        go, gs = np.zeros_like(out), np.zeros_like(log_std)
        pl, h, _, _ = ppo.policy_loss_grad(
            kind, out, log_std, old_out, old_log_std, actions, old_logp, adv, variant,
            clip, beta, ent, go, gs,
        )  # fmt: skip
        return pl - ent * h

    grad_out, grad_std = np.zeros_like(out), np.zeros_like(log_std)
    pl, h, clip_frac, approx_kl = ppo.policy_loss_grad(
        kind, out, log_std, old_out, old_log_std, actions, old_logp, adv, variant, clip, beta,
        ent, grad_out, grad_std,
    )  # fmt: skip
    assert rel_err(grad_out, central_diff(loss, out)) < RTOL
    if kind == GAUSSIAN:
        assert rel_err(grad_std, central_diff(loss, log_std)) < RTOL
    assert approx_kl > 0.0
    if variant == ppo.CLIP:
        assert 0.0 < clip_frac < 1.0  # some samples clipped, some not: both branches tested


def test_clip_surrogate_by_hand():
    # ratios 1.5 (A=+1: clipped at 1.2, no gradient), 0.5 (A=+1: unclipped min), 1.5 (A=-1:
    # max(-1.5, -1.2)... loss = max(1.5, 1.2) = 1.5, gradient flows)
    new = np.log(np.array([1.5, 0.5, 1.5]))
    old = np.zeros(3)
    adv = np.array([1.0, 1.0, -1.0])
    g = np.zeros(3)
    loss, frac, _ = ppo.clip_surrogate_grad(new, old, adv, 0.2, g)
    assert loss == pytest.approx((-1.2 - 0.5 + 1.5) / 3)
    np.testing.assert_allclose(g, [0.0, -0.5 / 3, 1.5 / 3])
    assert frac == pytest.approx(1.0)


@pytest.mark.parametrize("clip_vloss", [False, True])
def test_value_loss_gradient_matches_finite_differences(clip_vloss):
    rng = np.random.default_rng(11)
    old_v = rng.normal(size=9)
    v = old_v + np.array([-0.5, -0.3, -0.1, 0.05, 0.12, 0.25, 0.4, -0.15, 0.33])
    ret = rng.normal(size=9)
    g = np.zeros(9)
    ppo.value_loss_grad(v, old_v, ret, 0.2, clip_vloss, g)

    def loss() -> float:
        return ppo.value_loss_grad(v, old_v, ret, 0.2, clip_vloss, np.zeros(9))

    assert rel_err(g, central_diff(loss, v)) < RTOL


def test_adaptive_beta_rule_on_hand_made_kls():
    target = 0.01
    assert ppo.adapt_beta(1.0, 0.001, target) == 0.5  # d < d_targ / 1.5: halve
    assert ppo.adapt_beta(1.0, 0.006, target) == 0.5
    assert ppo.adapt_beta(1.0, 0.007, target) == 1.0  # within [d_targ / 1.5, 1.5 d_targ]
    assert ppo.adapt_beta(1.0, 0.01, target) == 1.0
    assert ppo.adapt_beta(1.0, 0.015, target) == 1.0
    assert ppo.adapt_beta(1.0, 0.016, target) == 2.0  # d > 1.5 d_targ: double
    assert ppo.adapt_beta(0.25, 1.0, target) == 0.5


def test_compiled_rollout_equals_gymnasium_rollout():
    """Same start state and the same rng: the same actions, rewards, flags and observations
    (Gymnasium's float32 observations to 1e-6) up to the first episode end."""
    env = make("CartPole-v1")
    policy = make_policy(env_info(env), np.random.default_rng(0), hidden=(16,))
    genv = gymnasium.make("CartPole-v1")
    gvec = GymVec(genv, policy, seed=5)
    start = genv.unwrapped.state.copy()
    gbuf = make_rollout(60, 1, 4, 1)
    collect_rollout_gym(gvec, policy, gbuf, np.random.default_rng(3))

    vec = make_vec_env(env, 1, policy, np.random.default_rng(0))
    vec.states[0] = start
    vec.obs[0] = start
    cbuf = make_rollout(60, 1, 4, 1)
    collect_rollout(vec, policy, cbuf, np.random.default_rng(3))

    ends = np.flatnonzero(cbuf.terminated[:, 0] | cbuf.truncated[:, 0])
    assert ends.size >= 1 and cbuf.terminated[ends[0], 0]
    e = ends[0] + 1
    np.testing.assert_array_equal(cbuf.actions[:e], gbuf.actions[:e])
    np.testing.assert_array_equal(cbuf.rewards[:e], gbuf.rewards[:e])
    np.testing.assert_array_equal(cbuf.terminated[:e], gbuf.terminated[:e])
    np.testing.assert_array_equal(cbuf.truncated[:e], gbuf.truncated[:e])
    np.testing.assert_allclose(cbuf.obs[:e], gbuf.obs[:e], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cbuf.log_probs[:e], gbuf.log_probs[:e], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cbuf.values[:e], gbuf.values[:e], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cbuf.next_values[:e], gbuf.next_values[:e], rtol=1e-6, atol=1e-7)
    assert cbuf.next_values[ends[0], 0] == 0.0  # terminated: no bootstrap
    assert cbuf.ended_returns[0] == gbuf.ended_returns[0] == e


def test_rollout_bootstraps_at_truncation():
    env = make("Pendulum-v1")  # always truncated at 200 steps
    policy = make_policy(env_info(env), np.random.default_rng(1), hidden=(8,))
    rng = np.random.default_rng(2)
    vec = make_vec_env(env, 3, policy, rng)
    buf = make_rollout(250, 3, 3, 1)
    collect_rollout(vec, policy, buf, rng)
    assert buf.truncated[199].all() and buf.truncated.sum() == 3 and not buf.terminated.any()
    assert np.all(buf.next_values[199] != 0.0)
    np.testing.assert_array_equal(buf.next_values[:198], buf.values[1:199])  # inside episodes
    assert buf.n_ended[0] == 3
    np.testing.assert_allclose(buf.ended_returns[:3], buf.rewards[:200].sum(axis=0)[[0, 1, 2]])


def _float32_signatures(dispatcher) -> int:
    return sum("float32" in str(sig) for sig in dispatcher.signatures)


@pytest.mark.parametrize("variant", ["clip", "kl"])
def test_same_seed_gives_identical_bytes(variant):
    """The default float32 networks: float32 parameters, same seed -> same bytes, one compiled
    update (no float64 twin)."""
    env = make("CartPole-v1")
    cfg = dict(variant=variant, total_steps=2048, eval_every=512, eval_episodes=3)
    a1, h1 = ppo.train(env, cfg, seed=7)
    a2, h2 = ppo.train(env, cfg, seed=7)
    a3, _ = ppo.train(env, cfg, seed=8)
    assert a1["params"].dtype == np.float32
    assert a1["actor"].dtype == a1["critic"].dtype == a1["log_std"].dtype == np.float32
    for k in a1:
        assert a1[k].tobytes() == a2[k].tobytes(), k
    for k in h1:
        assert h1[k].tobytes() == h2[k].tobytes(), k
    assert a1["params"].tobytes() != a3["params"].tobytes()
    assert len({len(v) for v in h1.values()}) == 1 and len(h1["step"]) == 4
    assert _float32_signatures(ppo.ppo_update) == 1


def test_saved_float32_policy_loads_and_evaluates(tmp_path):
    import numbarl

    res = numbarl.train("ppo", "CartPole-v1", seed=0, total_steps=512, eval_every=512)
    assert res.arrays["params"].dtype == np.float32 and res.history["dtype"].iloc[0] == "float32"
    path = res.save(tmp_path / "ppo.npz")
    loaded = numbarl.Result.load(path)
    assert loaded.arrays["params"].dtype == np.float32 and loaded.config.dtype == "float32"
    np.testing.assert_array_equal(
        numbarl.evaluate(path, episodes=3, seed=4), numbarl.evaluate(res, episodes=3, seed=4)
    )


def test_kl_variant_records_beta():
    env = make("CartPole-v1")
    _, h = ppo.train(env, dict(variant="kl", total_steps=1024, eval_every=256), seed=0)
    assert "beta" in h and len(h["beta"]) == 4 and np.all(h["beta"] > 0.0)
    _, h = ppo.train(env, dict(total_steps=1024, eval_every=256), seed=0)
    assert "beta" not in h


def categorical_kl_np(logits_p, logits_q):
    lp = logits_p - np.log(np.exp(logits_p).sum(axis=1, keepdims=True))
    lq = logits_q - np.log(np.exp(logits_q).sum(axis=1, keepdims=True))
    return (np.exp(lp) * (lp - lq)).sum(axis=1)


@pytest.mark.parametrize("target_kl", [1e-6, 1e-3, 10.0])
def test_kl_variant_adapts_beta_to_the_measured_kl(target_kl):
    """After each ``ppo_update`` of the KL variant, beta doubled if KL(pi_old || pi_new), measured
    in NumPy from the actor before and after the update, exceeded 1.5 target_kl, halved if it
    was below target_kl / 1.5, else stayed (PPO paper, section 4)."""
    env = make("CartPole-v1")
    cfg = ppo.make_ppo_config(
        env, dict(variant="kl", n_envs=2, n_steps=64, n_minibatches=2, target_kl=target_kl)
    )
    info = env_info(env)
    rng = np.random.default_rng(3)
    policy = make_policy(info, rng, hidden=(16, 16))
    vec = make_vec_env(env, cfg.n_envs, policy, rng)
    buf = make_rollout(cfg.n_steps, cfg.n_envs, info.obs_dim, info.action_dim)
    adam = nn.adam_init(policy.params.size)
    hp = ppo._hyper(cfg, 10)
    beta = np.array([1.0])
    metrics = np.zeros(len(ppo.METRICS))
    moves = set()
    for update in range(4):
        collect_rollout(vec, policy, buf, rng)
        obs = buf.obs.reshape(-1, info.obs_dim)
        ws = nn.mlp_workspace(policy.actor_layout, obs.shape[0])
        old = nn.mlp_forward(policy.actor, policy.actor_layout, nn.TANH, obs, ws).copy()
        before = beta[0]
        ppo.ppo_update(
            policy, buf, adam, hp, beta, ppo.update_fns(policy, "kl"), update, rng, metrics
        )
        new = nn.mlp_forward(policy.actor, policy.actor_layout, nn.TANH, obs, ws).copy()
        d = categorical_kl_np(old, new).mean()
        if d > 1.5 * target_kl:
            assert beta[0] == 2.0 * before, (update, d)
            moves.add("up")
        elif d < target_kl / 1.5:
            assert beta[0] == 0.5 * before, (update, d)
            moves.add("down")
        else:
            assert beta[0] == before, (update, d)
            moves.add("stay")
        assert metrics[ppo.METRICS.index("beta")] == beta[0]
    # A tiny target makes beta rise at every update, a huge one makes it fall.
    if target_kl == 1e-6:
        assert moves == {"up"}
    elif target_kl == 10.0:
        assert moves == {"down"}


def test_non_finite_parameters_raise_training_diverged_naming_the_update():
    env = make("CartPole-v1")
    with pytest.raises(TrainingDiverged, match=r"update 1 of 16 \(step 256\)") as info:
        ppo.train(env, dict(lr=1e300, total_steps=4096, eval_every=1024), seed=0)
    assert not np.all(np.isfinite(info.value.arrays["params"]))
    assert set(info.value.history) >= {"step", "eval_return", "policy_loss"}


@pytest.mark.parametrize(
    "bad, field",
    [
        (dict(variant="trust"), "variant"),
        (dict(gamma=1.5), "gamma"),
        (dict(lr=-1.0), "lr"),
        (dict(clip_coef=0.0), "clip_coef"),
        (dict(n_minibatches=3), "n_minibatches"),
        (dict(activation="sigmoid"), "activation"),
        (dict(dtype="float16"), r"PPOConfig.dtype.*float32.*float64"),
        (dict(no_such_field=1), "no_such_field"),
    ],
)
def test_bad_config_raises_value_error_naming_the_field(bad, field):
    with pytest.raises(ValueError, match=field):
        ppo.train(make("CartPole-v1"), bad, seed=0)


def test_unsupported_gymnasium_spaces_are_rejected():
    class MultiDiscreteEnv(gymnasium.Env):
        observation_space = gymnasium.spaces.Box(-1.0, 1.0, (3,))
        action_space = gymnasium.spaces.MultiDiscrete([2, 3])

    with pytest.raises(ValueError, match="MultiDiscrete.*allowed: gymnasium.spaces.Discrete"):
        ppo.train(MultiDiscreteEnv(), None, seed=0)

    class DictObsEnv(gymnasium.Env):
        observation_space = gymnasium.spaces.Dict({"a": gymnasium.spaces.Discrete(2)})
        action_space = gymnasium.spaces.Discrete(2)

    with pytest.raises(ValueError, match="observation_space"):
        ppo.train(DictObsEnv(), None, seed=0)


def test_evaluate_returns_one_return_per_episode():
    env = make("CartPole-v1")
    arrays, _ = ppo.train(env, dict(total_steps=512, eval_every=512, eval_episodes=2), seed=0)
    r = ppo.evaluate(arrays, env, 6, seed=1)
    assert r.shape == (6,) and r.dtype == np.float64 and np.all((r >= 8) & (r <= 500))
    np.testing.assert_array_equal(r, ppo.evaluate(arrays, env, 6, seed=1))
    g = ppo.evaluate(arrays, gymnasium.make("CartPole-v1"), 3, seed=1)
    assert g.shape == (3,) and np.all(g >= 8)


# --------------------------------------------------------------------------------------------
# Learning (slow)
# --------------------------------------------------------------------------------------------


def _solves_cartpole(arrays) -> float:
    return float(ppo.evaluate(arrays, make("CartPole-v1"), 20, seed=12345).mean())


@pytest.mark.slow
def test_ppo_clip_solves_cartpole_with_tuned_defaults():
    env = make("CartPole-v1")
    for seed in range(5):
        arrays, h = ppo.train(env, None, seed)
        assert h["eval_return"][-1] >= 475.0, seed
        assert _solves_cartpole(arrays) >= 475.0, seed


@pytest.mark.slow
def test_ppo_kl_solves_cartpole():
    # every one of 3 seeds: mean greedy return >= 475 over 20 fresh episodes
    assert_learns("ppo_kl", "CartPole-v1", threshold=475.0, seeds=3)


@pytest.mark.slow
def test_ppo_reaches_minus_250_on_pendulum():
    env = make("Pendulum-v1")
    arrays, h = ppo.train(env, None, seed=0)
    assert float(ppo.evaluate(arrays, env, 20, seed=99).mean()) >= -250.0


@pytest.mark.slow
def test_ppo_reaches_minus_100_on_acrobot():
    env = make("Acrobot-v1")
    arrays, h = ppo.train(env, None, seed=0)
    assert float(ppo.evaluate(arrays, env, 20, seed=99).mean()) >= -100.0


@pytest.mark.slow
def test_python_path_learns_on_gymnasium_cartpole():
    env = gymnasium.make("CartPole-v1")
    cfg = dict(ppo.TUNED["CartPole-v1"], n_steps=256, total_steps=20_480, eval_episodes=5)
    untrained = make_policy(env_info(env), np.random.default_rng(0), hidden=(32, 32))
    before = ppo.evaluate(policy_arrays(untrained), env, 10, seed=1).mean()
    arrays, h = ppo.train(env, cfg, seed=0)
    after = ppo.evaluate(arrays, env, 10, seed=1).mean()
    assert before < 100.0 and after >= 300.0, (before, after)
