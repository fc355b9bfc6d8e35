"""Toy RLHF's configuration, the models PPO trains as data, and the metrics' columns."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from numbarl.config import make_config
from numbarl.nn import DTYPES, AdamState
from numbarl.validation import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, UNIT, Range

_TWO: Range = (2.0, None, True, True)


def _each(names: str, rng: Range) -> dict[str, Range]:
    """{name: rng} for each space-separated name."""
    return dict.fromkeys(names.split(), rng)


class RLHFConfig(NamedTuple):
    """Toy RLHF hyperparameters; every field is a CSV column.

    Task: ``vocab`` tokens, completions of ``seq_len``, prompts uniform on {0..n_prompts-1};
    the policy sees the last ``window`` tokens. Networks: ``hidden`` units x 2 tanh layers
    (actor, critic), ``rm_hidden`` x 1 (reward model).
    SFT: ``sft_demos`` demonstrations, ``sft_epochs`` passes in minibatches of ``sft_batch``;
    ``demo_noise``: the largest per-demonstration probability of a random token.
    Reward model: ``rm_pairs`` training and ``rm_eval_pairs`` held-out pairs, ``rm_epochs``
    passes in minibatches of ``rm_batch``, L2 ``rm_weight_decay``.
    PPO: ``ppo_steps`` updates, each on ``batch_prompts`` sampled completions (batch_prompts *
    seq_len tokens) with ``n_epochs`` x ``n_minibatches`` Adam steps; ``kl_coef`` is beta (its
    start value if ``adaptive_kl``), ``kl_target`` the controller's target sequence KL in nats,
    ``k_beta`` its gain. ``eval_samples`` completions from each of pi_ref and pi for the final
    comparison. ``dtype``: the four networks' precision ("float32" or "float64"): parameters,
    activations, gradients and Adam's moments; features, log-probabilities, rewards, GAE, losses
    and KL estimates stay float64 (the features are cast where they enter a network)."""

    vocab: int = 12
    seq_len: int = 8
    n_prompts: int = 4
    window: int = 2
    hidden: int = 64
    rm_hidden: int = 64
    sft_demos: int = 4096
    sft_epochs: int = 10
    sft_batch: int = 256
    sft_lr: float = 3e-3
    demo_noise: float = 1.0
    rm_pairs: int = 4096
    rm_eval_pairs: int = 512
    rm_epochs: int = 40
    rm_batch: int = 128
    rm_lr: float = 3e-3
    rm_weight_decay: float = 0.0
    ppo_steps: int = 150
    batch_prompts: int = 64
    n_epochs: int = 4
    n_minibatches: int = 4
    lr: float = 1e-3
    critic_lr: float = 1e-3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    ent_coef: float = 0.0
    max_grad_norm: float = 1.0
    kl_coef: float = 0.5
    adaptive_kl: bool = True
    kl_target: float = 2.0
    k_beta: float = 0.1
    eval_samples: int = 512
    dtype: str = "float32"

    _choices = {"dtype": DTYPES}
    # Ranges by kind (gamma, gae_lambda and lr: implied by their names, numbarl.config).
    _ranges = {
        **_each("vocab eval_samples", _TWO),
        **_each("seq_len n_prompts window hidden rm_hidden sft_demos sft_batch", AT_LEAST_ONE),
        **_each("rm_pairs rm_eval_pairs rm_epochs rm_batch", AT_LEAST_ONE),
        **_each("batch_prompts n_epochs n_minibatches", AT_LEAST_ONE),
        **_each("sft_epochs ppo_steps rm_weight_decay ent_coef kl_coef", NON_NEGATIVE),
        **_each("sft_lr rm_lr critic_lr clip_coef max_grad_norm kl_target", POSITIVE),
        **_each("demo_noise k_beta", UNIT),
    }


class RLHFModels(NamedTuple):
    """Everything PPO reads and writes: parameters [P_*] in the config's dtype, layouts
    int64[L, 4] (actor and reference share ``policy_layout``), the reward model's normalisation
    (mean, std) float64[2], beta float64[1] and the two Adam states."""

    actor: np.ndarray
    ref: np.ndarray
    critic: np.ndarray
    reward: np.ndarray
    policy_layout: np.ndarray
    critic_layout: np.ndarray
    reward_layout: np.ndarray
    reward_norm: np.ndarray
    beta: np.ndarray
    actor_adam: AdamState
    critic_adam: AdamState


# Columns of the per-step metrics array, in order.
METRICS = (
    "rm_score",
    "true_score",
    "kl",
    "kl_exact",
    "entropy",
    "beta",
    "policy_loss",
    "value_loss",
    "clip_fraction",
    "approx_kl",
)


def make_rlhf_config(cfg: RLHFConfig | dict | None = None, **overrides: Any) -> RLHFConfig:
    """A checked ``RLHFConfig`` (defaults, then ``cfg``, then ``overrides``). Raises ValueError
    or TypeError naming the field and the allowed values."""
    if isinstance(cfg, RLHFConfig):
        values = cfg._asdict()
    elif cfg is None or isinstance(cfg, dict):
        values = dict(cfg or {})
    else:
        raise TypeError(f"cfg must be an RLHFConfig, a dict or None, got {type(cfg).__name__}")
    values.update(overrides)
    out = make_config(RLHFConfig, values)
    if out.n_prompts - 1 + out.seq_len > out.vocab - 1:
        raise ValueError(
            "RLHFConfig: a strictly ascending completion must exist for every prompt: need "
            f"n_prompts - 1 + seq_len <= vocab - 1, got n_prompts={out.n_prompts}, "
            f"seq_len={out.seq_len}, vocab={out.vocab}"
        )
    if out.window > out.seq_len:
        raise ValueError(f"RLHFConfig.window must be <= seq_len ({out.seq_len}), got {out.window}")
    tokens = out.batch_prompts * out.seq_len
    if tokens % out.n_minibatches != 0 or tokens // out.n_minibatches < 2:
        raise ValueError(
            "RLHFConfig.n_minibatches must divide batch_prompts * seq_len = "
            f"{tokens} into minibatches of at least 2 tokens, got {out.n_minibatches}"
        )
    return out
