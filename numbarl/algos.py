"""The table of algorithms reachable by ``numbarl.train`` and ``numbarl train``, one row each.

A row names the module that hosts the algorithm, its config NamedTuple (``"module:Class"``, or a
factory taking the algorithm's name) and the kind of environment it serves; the table lists the
algorithms by hosting module, each group giving those three once. The family module
that runs a row follows from where it lives: ``tabular.*`` runs through ``numbarl.tabular.train``,
``deep.*`` through ``numbarl.deep.train``, ``approx.*`` through ``numbarl.approx.train``. Tuned
per-environment defaults live in `numbarl.tuned`, loaded only when a config is built (so
``import numbarl`` stays light).

This module imports nothing from numbarl: `numbarl.api`, `numbarl.deep.train` and the CLI read it.
To add an algorithm, add its name and summary to its module's group (or add a group).
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


def _hosted(module: str, config: str, env_kind: str, summaries: dict[str, str]) -> list[AlgoSpec]:
    """Rows of the algorithms ``module`` hosts that share one config and one env kind; a
    ``config`` without a module part ("PPOConfig") is a name in ``module``."""
    ref = config if ":" in config else f"{module}:{config}"
    return [AlgoSpec(name, module, ref, env_kind, summary) for name, summary in summaries.items()]


_CONTROL = "tabular.control:ControlConfig"
_PREDICTION = "tabular.train:prediction_config_class"

# fmt: off
_TABLE: list[AlgoSpec] = [
    # Tabular control (Chapters 5-7)
    *_hosted("tabular.control", _CONTROL, "tabular", {
        "q_learning": "Q-learning (S&B 6.5), epsilon-greedy, ties broken at random",
        "sarsa": "Sarsa (S&B 6.4)",
        "expected_sarsa": "Expected Sarsa (S&B 6.6)",
        "n_step_sarsa": "n-step Sarsa (S&B 7.2)",
        "double_q_learning": "Double Q-learning (S&B 6.7)",
        "mc_exploring_starts": "Monte Carlo control with exploring starts (S&B 5.3)",
        "mc_control": "On-policy first-visit MC control, epsilon-soft (S&B 5.4)",
    }),
    *_hosted("tabular.off_policy", _CONTROL, "tabular", {
        "off_policy_mc_control": "Off-policy MC control, weighted importance sampling (S&B 5.7)",
    }),
    # Tabular prediction of the uniform random policy (Chapters 5-7, 12)
    *_hosted("tabular.prediction", _PREDICTION, "tabular", {
        "mc_first_visit": "First-visit MC prediction of the uniform random policy (S&B 5.1)",
        "mc_every_visit": "Every-visit MC prediction (S&B 5.1)",
        "mc": "Constant-alpha MC prediction (S&B 6.1)",
        "td0": "TD(0) prediction (S&B 6.1)",
        "n_step_td": "n-step TD prediction (S&B 7.1)",
        "lambda_return": "Offline lambda-return algorithm (S&B 12.1)",
        "td_lambda": "TD(lambda), accumulating traces (S&B 12.2)",
        "td_lambda_replacing": "TD(lambda), replacing traces (S&B 12.3)",
        "true_online_td_lambda": "True online TD(lambda) (S&B 12.5)",
        "batch_td0": "Batch TD(0) (S&B 6.3)",
        "batch_mc": "Batch constant-alpha MC (S&B 6.3)",
    }),
    *_hosted("tabular.off_policy", "OffPolicyConfig", "tabular", {
        "off_policy_mc_prediction": "Off-policy MC prediction of the optimal policy from uniform "
        "behaviour: ordinary, weighted and per-decision importance sampling (S&B 5.5-5.9)",
    }),
    *_hosted("tabular.policy_gradient", "tabular.train:ReinforceTrainConfig", "tabular", {
        "tabular_reinforce": "REINFORCE with a softmax over linear preferences, optional "
        "learned baseline (S&B 13.3-4)",
    }),
    # Deep RL on classic control (or any Gymnasium env with Box observations)
    *_hosted("deep.ppo", "PPOConfig", "control", {
        "ppo": "PPO-clip (Schulman et al. 2017) with GAE",
        "ppo_kl": "PPO with the adaptive KL penalty (beta doubled/halved around target_kl)",
    }),
    *_hosted("deep.a2c", "A2CConfig", "control", {
        "a2c": "A2C: synchronous advantage actor-critic",
    }),
    *_hosted("deep.trpo", "TRPOConfig", "control", {
        "trpo": "TRPO: natural gradient by conjugate gradient, KL-constrained line search",
    }),
    *_hosted("deep.reinforce", "ReinforceConfig", "control", {
        "reinforce": "REINFORCE on MLP policies: total return or reward-to-go, optional baseline",
    }),
    *_hosted("deep.offpolicy_pg", "OffPolicyPGConfig", "control", {
        "offpolicy_pg": "Off-policy policy gradient: batches of an older policy reused with IS "
        "ratios",
    }),
    *_hosted("deep.dqn", "DQNConfig", "discrete", {
        "dqn": "DQN with double / dueling / n-step / noisy / C51 / prioritised-replay switches",
        "rainbow": "Rainbow: every DQN switch on (Hessel et al. 2018)",
    }),
    *_hosted("deep.ddpg", "DDPGConfig", "continuous", {
        "ddpg": "DDPG: deterministic actor trained through the critic's dQ/da, target nets, "
        "replay",
    }),
    *_hosted("deep.td3", "TD3Config", "continuous", {
        "td3": "TD3: twin critics, delayed actor updates, target policy smoothing",
    }),
    *_hosted("deep.sac", "SACConfig", "continuous", {
        "sac": "SAC: tanh-Gaussian actor, twin soft Q critics, temperature tuned toward -dim(A)",
    }),
    # Linear function approximation with tile coding (Chapters 10, 12) on discrete control envs
    *_hosted("approx.train", "SarsaTilesConfig", "discrete", {
        "sarsa_tiles": "Semi-gradient Sarsa with tile coding (S&B 10.1)",
    }),
    *_hosted("approx.train", "NStepSarsaTilesConfig", "discrete", {
        "n_step_sarsa_tiles": "Semi-gradient n-step Sarsa with tile coding (S&B 10.2)",
    }),
    *_hosted("approx.train", "SarsaLambdaTilesConfig", "discrete", {
        "sarsa_lambda_tiles": "Sarsa(lambda) with tile coding: replacing, accumulating or "
        "clearing traces (S&B 12.7)",
    }),
    *_hosted("approx.train", "TrueOnlineSarsaLambdaTilesConfig", "discrete", {
        "true_online_sarsa_lambda_tiles": "True online Sarsa(lambda) with tile coding (S&B 12.8)",
    }),
]
# fmt: on

ALGOS: dict[str, AlgoSpec] = {spec.name: spec for spec in _TABLE}

__all__ = ["ALGOS", "AlgoSpec"]
