"""The table of algorithms reachable by ``numbarl.train`` and ``numbarl train``, one row each.

A row names the module that hosts the algorithm, its config NamedTuple (``"module:Class"``, or a
factory taking the algorithm's name) and the kind of environment it serves. The family module
that runs a row follows from where it lives: ``tabular.*`` runs through ``numbarl.tabular.train``,
``deep.*`` through ``numbarl.deep.train``, ``approx.*`` through ``numbarl.approx.train``. Tuned
per-environment defaults live in `numbarl.tuned`, loaded only when a config is built (so
``import numbarl`` stays light).

This module imports nothing from numbarl: `numbarl.api`, `numbarl.deep.train` and the CLI read it.
To add an algorithm, append a row.
"""

from __future__ import annotations

from typing import NamedTuple


class AlgoSpec(NamedTuple):
    name: str
    module: str  # module under numbarl that hosts the algorithm, e.g. "deep.ppo"
    config: str  # "module:ClassName" of the config NamedTuple (or of a factory of the name)
    env_kind: str  # "tabular" | "control" | "discrete" | "continuous"
    summary: str

    @property
    def family(self) -> str:
        """The module under numbarl whose ``run``/``evaluate`` serve this algorithm."""
        return f"{self.module.partition('.')[0]}.train"

    @property
    def tuned(self) -> dict | None:
        """{env_id: {field: value}} used where the user sets nothing (``"*"``: every env)."""
        from numbarl.tuned import tuned_table

        return tuned_table(self.name)


_CONTROL = "tabular.control:ControlConfig"
_PREDICTION = "tabular.train:prediction_config_class"

# fmt: off
# name, hosting module, config, env kind, summary
_ROWS: list[tuple[str, str, str, str, str]] = [
    # Tabular control (Chapters 5-7)
    ("q_learning", "tabular.control", _CONTROL, "tabular",
     "Q-learning (S&B 6.5), epsilon-greedy, ties broken at random"),
    ("sarsa", "tabular.control", _CONTROL, "tabular", "Sarsa (S&B 6.4)"),
    ("expected_sarsa", "tabular.control", _CONTROL, "tabular", "Expected Sarsa (S&B 6.6)"),
    ("n_step_sarsa", "tabular.control", _CONTROL, "tabular", "n-step Sarsa (S&B 7.2)"),
    ("double_q_learning", "tabular.control", _CONTROL, "tabular", "Double Q-learning (S&B 6.7)"),
    ("mc_exploring_starts", "tabular.control", _CONTROL, "tabular",
     "Monte Carlo control with exploring starts (S&B 5.3)"),
    ("mc_control", "tabular.control", _CONTROL, "tabular",
     "On-policy first-visit MC control, epsilon-soft (S&B 5.4)"),
    ("off_policy_mc_control", "tabular.off_policy", _CONTROL, "tabular",
     "Off-policy MC control, weighted importance sampling (S&B 5.7)"),
    # Tabular prediction of the uniform random policy (Chapters 5-7, 12)
    ("mc_first_visit", "tabular.prediction", _PREDICTION, "tabular",
     "First-visit MC prediction of the uniform random policy (S&B 5.1)"),
    ("mc_every_visit", "tabular.prediction", _PREDICTION, "tabular",
     "Every-visit MC prediction (S&B 5.1)"),
    ("mc", "tabular.prediction", _PREDICTION, "tabular", "Constant-alpha MC prediction (S&B 6.1)"),
    ("td0", "tabular.prediction", _PREDICTION, "tabular", "TD(0) prediction (S&B 6.1)"),
    ("n_step_td", "tabular.prediction", _PREDICTION, "tabular", "n-step TD prediction (S&B 7.1)"),
    ("lambda_return", "tabular.prediction", _PREDICTION, "tabular",
     "Offline lambda-return algorithm (S&B 12.1)"),
    ("td_lambda", "tabular.prediction", _PREDICTION, "tabular",
     "TD(lambda), accumulating traces (S&B 12.2)"),
    ("td_lambda_replacing", "tabular.prediction", _PREDICTION, "tabular",
     "TD(lambda), replacing traces (S&B 12.3)"),
    ("true_online_td_lambda", "tabular.prediction", _PREDICTION, "tabular",
     "True online TD(lambda) (S&B 12.5)"),
    ("batch_td0", "tabular.prediction", _PREDICTION, "tabular", "Batch TD(0) (S&B 6.3)"),
    ("batch_mc", "tabular.prediction", _PREDICTION, "tabular",
     "Batch constant-alpha MC (S&B 6.3)"),
    ("off_policy_mc_prediction", "tabular.off_policy", "tabular.off_policy:OffPolicyConfig",
     "tabular",
     "Off-policy MC prediction of the optimal policy from uniform behaviour: ordinary, "
     "weighted and per-decision importance sampling (S&B 5.5-5.9)"),
    ("tabular_reinforce", "tabular.policy_gradient", "tabular.train:ReinforceTrainConfig",
     "tabular",
     "REINFORCE with a softmax over linear preferences, optional learned baseline (S&B 13.3-4)"),
    # Deep RL on classic control (or any Gymnasium env with Box observations)
    ("ppo", "deep.ppo", "deep.ppo:PPOConfig", "control",
     "PPO-clip (Schulman et al. 2017) with GAE"),
    ("ppo_kl", "deep.ppo", "deep.ppo:PPOConfig", "control",
     "PPO with the adaptive KL penalty (beta doubled/halved around target_kl)"),
    ("a2c", "deep.a2c", "deep.a2c:A2CConfig", "control",
     "A2C: synchronous advantage actor-critic"),
    ("trpo", "deep.trpo", "deep.trpo:TRPOConfig", "control",
     "TRPO: natural gradient by conjugate gradient, KL-constrained line search"),
    ("reinforce", "deep.reinforce", "deep.reinforce:ReinforceConfig", "control",
     "REINFORCE on MLP policies: total return or reward-to-go, optional baseline"),
    ("offpolicy_pg", "deep.offpolicy_pg", "deep.offpolicy_pg:OffPolicyPGConfig", "control",
     "Off-policy policy gradient: batches of an older policy reused with IS ratios"),
    ("dqn", "deep.dqn", "deep.dqn:DQNConfig", "discrete",
     "DQN with double / dueling / n-step / noisy / C51 / prioritised-replay switches"),
    ("rainbow", "deep.dqn", "deep.dqn:DQNConfig", "discrete",
     "Rainbow: every DQN switch on (Hessel et al. 2018)"),
    ("ddpg", "deep.ddpg", "deep.ddpg:DDPGConfig", "continuous",
     "DDPG: deterministic actor trained through the critic's dQ/da, target nets, replay"),
    ("td3", "deep.td3", "deep.td3:TD3Config", "continuous",
     "TD3: twin critics, delayed actor updates, target policy smoothing"),
    ("sac", "deep.sac", "deep.sac:SACConfig", "continuous",
     "SAC: tanh-Gaussian actor, twin soft Q critics, temperature tuned toward -dim(A)"),
    # Linear function approximation with tile coding (Chapters 10, 12) on discrete control envs
    ("sarsa_tiles", "approx.train", "approx.train:SarsaTilesConfig", "discrete",
     "Semi-gradient Sarsa with tile coding (S&B 10.1)"),
    ("n_step_sarsa_tiles", "approx.train", "approx.train:NStepSarsaTilesConfig", "discrete",
     "Semi-gradient n-step Sarsa with tile coding (S&B 10.2)"),
    ("sarsa_lambda_tiles", "approx.train", "approx.train:SarsaLambdaTilesConfig", "discrete",
     "Sarsa(lambda) with tile coding: replacing, accumulating or clearing traces (S&B 12.7)"),
    ("true_online_sarsa_lambda_tiles", "approx.train",
     "approx.train:TrueOnlineSarsaLambdaTilesConfig", "discrete",
     "True online Sarsa(lambda) with tile coding (S&B 12.8)"),
]
# fmt: on

ALGOS: dict[str, AlgoSpec] = {row[0]: AlgoSpec(*row) for row in _ROWS}

__all__ = ["ALGOS", "AlgoSpec"]
