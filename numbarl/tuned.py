"""Tuned defaults per algorithm and environment, in one readable table (as rl-zoo keeps them).

``tuned_table(algo)[env_id]`` gives config fields used when the user does not set them; ``"*"``
holds an algorithm's defaults on every env (applied before the env's own row). The tabular rows
below are checked by ``tests/benchmarks/test_bench_tuned_tabular.py`` (control: the greedy
policy's exact time-limited value against the DP optimum's, in at least 4 of 5 fresh seeds;
prediction: the RMS error falls; REINFORCE: the learned policy's return) and the FrozenLake-v1
rows by ``tests/test_api_cli.py``. The deep learners' tables live beside each algorithm
(``numbarl.deep.<module>.TUNED``), with the tests that back them.
"""

from __future__ import annotations

# Tabular control: the book's settings (alpha 0.5, epsilon 0.1, gamma 1) suit the deterministic
# gridworlds; the slippery and larger envs need smaller steps and more episodes.
# FrozenLake: with gamma = 1 every non-hole action ties in the limit and the greedy policy can
# wander in the top row until the time limit; gamma = 0.99 and a decaying epsilon fix that.
_FROZEN = {
    "alpha": 0.05,
    "gamma": 0.99,
    "epsilon": 1.0,
    "epsilon_decay": 0.999,
    "epsilon_min": 0.05,
}
_TABULAR_CONTROL = {
    "FrozenLake-v1": _FROZEN | {"episodes": 20_000},
    "FrozenLake8x8-v1": _FROZEN | {"episodes": 50_000},
    "Taxi-v4": {"alpha": 0.5, "episodes": 5_000, "epsilon": 0.1},
    "Blackjack-v1": {"alpha": 0.01, "episodes": 200_000, "epsilon": 0.1},
}
# Sarsa's greedy policy on Taxi-v4 does not reach the DP optimum with these settings (nor with
# 20,000 episodes or a decaying epsilon): no Taxi row for it rather than one that does not learn.
_SARSA = {env: row for env, row in _TABULAR_CONTROL.items() if env != "Taxi-v4"}
# Double Q-learning updates each table half as often: twice the episodes, a slower decay.
_DOUBLE_Q = _TABULAR_CONTROL | {
    "FrozenLake8x8-v1": _FROZEN | {"episodes": 100_000, "epsilon_decay": 0.9995}
}


# Deep learners keep their per-env tables beside the algorithm (as rl-zoo keeps one file per
# algorithm): ``algo -> (module under numbarl.deep, table name)``, imported only when asked for.
_DEEP: dict[str, tuple[str, str]] = {
    "ppo": ("ppo", "TUNED"),
    "a2c": ("a2c", "TUNED"),
    "trpo": ("trpo", "TUNED"),
    "reinforce": ("reinforce", "TUNED"),
    "offpolicy_pg": ("offpolicy_pg", "TUNED"),
    "dqn": ("dqn", "TUNED"),
    "ddpg": ("ddpg", "TUNED"),
    "td3": ("td3", "TUNED"),
    "sac": ("sac", "TUNED"),
}

TABULAR: dict[str, dict[str, dict]] = {
    "q_learning": _TABULAR_CONTROL,
    "sarsa": _SARSA,
    "expected_sarsa": _TABULAR_CONTROL,
    "double_q_learning": _DOUBLE_Q,
    "n_step_sarsa": _SARSA,
    "mc_control": {"Blackjack-v1": {"episodes": 500_000}},
    "mc_exploring_starts": {"Blackjack-v1": {"episodes": 500_000}},
    "off_policy_mc_control": {"Blackjack-v1": {"episodes": 500_000}},
    # Prediction: the book's random-walk settings (Example 6.2 starts from 0.5).
    "td0": {"RandomWalk-v0": {"v0": 0.5}},
    "mc": {"RandomWalk-v0": {"v0": 0.5}},
    "tabular_reinforce": {
        "ShortCorridor-v0": {"features": "action", "min_prob": 0.05, "alpha": 2.0**-12},
    },
}


def _deep(algo: str) -> dict | None:
    if algo not in _DEEP:
        return None
    import importlib

    module, table = _DEEP[algo]
    return getattr(importlib.import_module(f"numbarl.deep.{module}"), table)


def tuned_table(algo: str) -> dict[str, dict] | None:
    """``{env_id: {field: value}}`` for ``algo`` (None if it has no tuned values); a deep
    learner's module is imported only here."""
    if algo in TABULAR:
        return TABULAR[algo]
    if algo.endswith("_tiles"):  # linear learners keep their table beside them
        import importlib

        return importlib.import_module("numbarl.approx.train").TUNED.get(algo)
    if algo == "ppo_kl":
        ppo = _deep("ppo") or {}
        return {"*": {"variant": "kl"}} | {env: row | {"variant": "kl"} for env, row in ppo.items()}
    if algo == "rainbow":
        import importlib

        config = importlib.import_module("numbarl.deep.dqn_config")
        rainbow, untuned = config.RAINBOW, config.RAINBOW_UNTUNED
        dqn = _deep("dqn") or {}
        rows = {env: row | rainbow for env, row in dqn.items() if env not in untuned}
        return {"*": rainbow} | rows
    return _deep(algo)
