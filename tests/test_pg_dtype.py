"""The policy-gradient family's network precision (``dtype`` in every config): float32 by
default, float64 on request, a ValueError naming the field for anything else; same seed, same
bytes in each dtype; a float32 run compiles one update (no float64 twin)."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl.deep import a2c, offpolicy_pg, ppo, reinforce, trpo
from numbarl.envs import make

SMALL = dict(total_steps=1000, n_envs=2, n_steps=250, eval_every=500, eval_episodes=2)
# (module, its compiled update, env, a short config, config class name)
LEARNERS = [
    (ppo, ppo.ppo_update, "CartPole-v1", dict(SMALL, n_minibatches=2), "PPOConfig"),
    (ppo, ppo.ppo_update, "Pendulum-v1", dict(SMALL, variant="kl", n_minibatches=2), "PPOConfig"),
    (a2c, a2c.a2c_update, "CartPole-v1", dict(SMALL, n_steps=8), "A2CConfig"),
    (trpo, trpo.trpo_update, "Pendulum-v1", SMALL, "TRPOConfig"),
    (reinforce, reinforce.reinforce_update, "Pendulum-v1", SMALL, "ReinforceConfig"),
    (offpolicy_pg, offpolicy_pg.offpolicy_pg_update, "Pendulum-v1", SMALL, "OffPolicyPGConfig"),
]


@pytest.mark.parametrize(
    "module, update, env_id, cfg, config_name",
    LEARNERS,
    ids=[f"{m.__name__.rsplit('.', 1)[1]}-{e}" for m, _, e, _, _ in LEARNERS],
)
def test_float32_by_default_float64_on_request(module, update, env_id, cfg, config_name):
    env = make(env_id)
    a1, h1 = module.train(env, cfg, seed=2)
    a2, h2 = module.train(env, cfg, seed=2)
    for k in ("params", "actor", "log_std", "critic"):
        assert a1[k].dtype == np.float32, k
    assert a1["obs_mean"].dtype == np.float64  # normalisation statistics stay float64
    assert all(a1[k].tobytes() == a2[k].tobytes() for k in a1)
    assert all(h1[k].tobytes() == h2[k].tobytes() for k in h1)
    assert np.isfinite(h1["eval_return"]).all()
    assert sum("float32" in str(sig) for sig in update.signatures) == 1
    a64, h64 = module.train(env, dict(cfg, dtype="float64"), seed=2)
    assert a64["params"].dtype == np.float64 and np.isfinite(h64["eval_return"]).all()
    # the float32 network starts as the rounded float64 one: the same draws, then training
    assert a64["params"].shape == a1["params"].shape
    assert module.evaluate(a64, env, 2, seed=0).shape == (2,)
    with pytest.raises(ValueError, match=rf"{config_name}.dtype.*'float32', 'float64'"):
        module.train(env, dict(cfg, dtype="half"), seed=2)


def test_float32_policy_evaluates_through_the_gymnasium_path():
    import gymnasium

    arrays, _ = reinforce.train(make("CartPole-v1"), SMALL, seed=0)
    r = reinforce.evaluate(arrays, gymnasium.make("CartPole-v1"), 2, seed=0)
    assert r.shape == (2,) and np.all(r >= 8.0)
