"""The shared compiled loop of the policy-gradient learners (``numbarl.deep.loop``): calling the
collector and the update through function pointers gives the bytes direct calls give, and the
loop stops after the update that made the parameters non-finite."""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.deep import a2c, ppo, rollout
from numbarl.deep.loop import loop_fns, run_updates
from numbarl.deep.rollout import (
    collect_rollout,
    count_ended,
    env_info,
    make_policy,
    make_rollout,
    make_vec_env,
)
from numbarl.envs import make


def _setup(module, cfg, seed=3):
    env = make("CartPole-v1")
    rng = np.random.default_rng(seed)
    policy = make_policy(env_info(env), rng, hidden=(8,), dtype=np.float32)
    buf = make_rollout(cfg.n_steps, cfg.n_envs, env.obs_dim, 1, policy.params.dtype)
    vec = make_vec_env(env, cfg.n_envs, policy, rng)
    return policy, buf, vec, module._init(cfg, policy, 10, cfg.n_envs * cfg.n_steps), rng


def test_pointer_loop_gives_the_bytes_of_direct_calls():
    for module, cfg in (
        (ppo, ppo.make_ppo_config(None, dict(n_envs=2, n_steps=16, n_minibatches=2))),
        (a2c, a2c.make_a2c_config(None, dict(n_envs=2, n_steps=8))),
    ):
        update = ppo.ppo_update if module is ppo else a2c.a2c_update
        n_metrics = len(module.METRICS)
        policy, buf, vec, state, rng = _setup(module, cfg)
        metrics, stats = np.zeros((3, n_metrics)), np.zeros(2)
        fns = loop_fns(update, vec, policy, buf, state, rng, np.zeros(n_metrics))
        assert run_updates(vec, policy, buf, state, 0, 3, rng, metrics, stats, fns) == 3

        policy2, buf2, vec2, state2, rng2 = _setup(module, cfg)
        metrics2, stats2 = np.zeros((3, n_metrics)), np.zeros(2)
        for k in range(3):
            collect_rollout(vec2, policy2, buf2, rng2)
            count_ended(buf2, stats2)
            update(policy2, buf2, *state2, k, rng2, metrics2[k])
        assert policy.params.tobytes() == policy2.params.tobytes()
        assert metrics.tobytes() == metrics2.tobytes() and stats.tobytes() == stats2.tobytes()
        assert rng.random() == rng2.random()


@njit
def _poison(policy, buf, marker, update, rng, metrics):
    """An 'update' that writes NaN into the parameters on its second call."""
    metrics[0] = update
    if update == 1:
        policy.params[0] = np.nan
    marker[0] += 1


def test_loop_stops_after_the_update_that_made_parameters_non_finite():
    policy, buf, vec, _, rng = _setup(a2c, a2c.make_a2c_config(None, dict(n_envs=2, n_steps=4)))
    marker = np.zeros(1)
    metrics, stats = np.zeros((5, 1)), np.zeros(2)
    fns = loop_fns(_poison, vec, policy, buf, (marker,), rng, np.zeros(1))
    assert run_updates(vec, policy, buf, (marker,), 0, 5, rng, metrics, stats, fns) == 2
    assert marker[0] == 2 and metrics[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]


def test_the_loop_collects_with_the_collector_of_the_policy_head():
    """A categorical policy's loop calls ``collect_categorical``, a Gaussian one's
    ``collect_gaussian`` (each compiles only its head's sampling and clipping)."""
    for env_id, expected in (
        ("CartPole-v1", rollout.collect_categorical),
        ("Pendulum-v1", rollout.collect_gaussian),
    ):
        env = make(env_id)
        rng = np.random.default_rng(0)
        policy = make_policy(env_info(env), rng, hidden=(4,), dtype=np.float32)
        buf = make_rollout(2, 1, env.obs_dim, env_info(env).action_dim, policy.params.dtype)
        vec = make_vec_env(env, 1, policy, rng)
        fns = loop_fns(_poison, vec, policy, buf, (np.zeros(1),), rng, np.zeros(1))
        assert rollout.collector(policy) is expected
        assert fns.collect.dispatcher is expected
