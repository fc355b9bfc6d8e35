"""The table of algorithms reachable by ``numbarl.train`` and ``numbarl train``.

Each entry names the config NamedTuple (reference defaults) and the family module that runs it.
``tuned`` holds per-environment defaults (as rl-zoo keeps them), used for fields the user does
not set; the key ``"*"`` applies on every env. The tuned values themselves live in
`numbarl.tuned`, one readable table.
"""

from __future__ import annotations

from .api import AlgoSpec, register_algo
from .tuned import TUNED

_TABULAR = "tabular.train"
_CONTROL_CFG = "tabular.control:ControlConfig"

_CONTROL = {
    "q_learning": "Q-learning (S&B 6.5), epsilon-greedy, ties broken at random",
    "sarsa": "Sarsa (S&B 6.4)",
    "expected_sarsa": "Expected Sarsa (S&B 6.6)",
    "n_step_sarsa": "n-step Sarsa (S&B 7.2)",
    "double_q_learning": "Double Q-learning (S&B 6.7)",
    "mc_exploring_starts": "Monte Carlo control with exploring starts (S&B 5.3)",
    "mc_control": "On-policy first-visit MC control, epsilon-soft (S&B 5.4)",
    "off_policy_mc_control": "Off-policy MC control, weighted importance sampling (S&B 5.7)",
}
_PREDICTION = {
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
}

for _name, _summary in _CONTROL.items():
    register_algo(AlgoSpec(_name, _TABULAR, _CONTROL_CFG, "tabular", _summary, TUNED.get(_name)))
for _name, _summary in _PREDICTION.items():
    register_algo(
        AlgoSpec(
            _name,
            _TABULAR,
            "tabular.train:prediction_config_class",
            "tabular",
            _summary,
            TUNED.get(_name),
        )
    )
register_algo(
    AlgoSpec(
        "off_policy_mc_prediction",
        _TABULAR,
        "tabular.off_policy:OffPolicyConfig",
        "tabular",
        "Off-policy MC prediction of the optimal policy from uniform behaviour: ordinary, "
        "weighted and per-decision importance sampling (S&B 5.5-5.9)",
        TUNED.get("off_policy_mc_prediction"),
    )
)
register_algo(
    AlgoSpec(
        "tabular_reinforce",
        _TABULAR,
        "tabular.train:ReinforceTrainConfig",
        "tabular",
        "REINFORCE with a softmax over linear preferences, optional learned baseline (S&B 13.3-4)",
        TUNED.get("tabular_reinforce"),
    )
)

# Deep RL on classic control (or any Gymnasium env with Box observations).
_DEEP = "deep.train"
_DEEP_ALGOS = [
    ("ppo", "deep.ppo:PPOConfig", "control", "PPO-clip (Schulman et al. 2017) with GAE", "ppo"),
    (
        "ppo_kl",
        "deep.ppo:PPOConfig",
        "control",
        "PPO with the adaptive KL penalty (beta doubled/halved around target_kl)",
        "ppo_kl",
    ),
    ("a2c", "deep.a2c:A2CConfig", "control", "A2C: synchronous advantage actor-critic", "a2c"),
    (
        "trpo",
        "deep.trpo:TRPOConfig",
        "control",
        "TRPO: natural gradient by conjugate gradient, KL-constrained line search",
        "trpo",
    ),
    (
        "reinforce",
        "deep.reinforce:ReinforceConfig",
        "control",
        "REINFORCE on MLP policies: total return or reward-to-go, optional baseline",
        "reinforce",
    ),
    (
        "offpolicy_pg",
        "deep.offpolicy_pg:OffPolicyPGConfig",
        "control",
        "Off-policy policy gradient: batches of an older policy reused with IS ratios",
        "offpolicy_pg",
    ),
    (
        "dqn",
        "deep.dqn:DQNConfig",
        "discrete",
        "DQN with double / dueling / n-step / noisy / C51 / prioritised-replay switches",
        "dqn",
    ),
    (
        "rainbow",
        "deep.dqn:DQNConfig",
        "discrete",
        "Rainbow: every DQN switch on (Hessel et al. 2018)",
        "rainbow",
    ),
    (
        "ddpg",
        "deep.ddpg:DDPGConfig",
        "continuous",
        "DDPG: deterministic actor trained through the critic's dQ/da, target nets, replay",
        "ddpg",
    ),
    (
        "td3",
        "deep.td3:TD3Config",
        "continuous",
        "TD3: twin critics, delayed actor updates, target policy smoothing",
        "td3",
    ),
]
for _name, _cfg, _kind, _summary, _tuned_key in _DEEP_ALGOS:
    register_algo(AlgoSpec(_name, _DEEP, _cfg, _kind, _summary, TUNED.get(_tuned_key)))

__all__ = ["AlgoSpec"]
