"""Off-policy policy gradient with importance sampling (CS285 lecture 5; Degris et al. 2012).

A batch is collected by the policy theta' of the moment and then reused for ``reuse`` gradient
updates of theta. After the first update theta != theta', so each step is reweighted by the
per-step importance ratio rho_t(theta) = pi_theta(a_t|s_t) / pi_theta'(a_t|s_t) (the first-order
approximation of the trajectory ratio that drops the product over earlier steps):

    J(theta) ~= (1/T) sum_t min(rho_t(theta), c) Psi_t
    grad J    = (1/T) sum_t [rho_t < c] rho_t Psi_t grad log pi_theta(a_t|s_t)

with Psi_t the reward-to-go minus a baseline (``baseline``: batch mean or a learned V(s)), and c
= ``max_ratio`` the truncation of the ratio (truncated importance sampling, Ionides 2008;
``max_ratio = inf`` for plain IS): a step whose ratio reached c contributes c Psi_t, and no
gradient, so a few steps that became very likely cannot dominate the update. At theta = theta'
all ratios are 1 and the gradient is REINFORCE's on-policy gradient.

Per batch (``numbarl.deep.rollout``, ``n_steps`` steps of ``n_envs`` copies): Psi_t as
REINFORCE's reward-to-go weights (``numbarl.deep.pg_common.reinforce_weights``), then ``reuse``
full-batch Adam steps on the loss -J(theta) with the behaviour log-probabilities log pi_theta'
fixed, then the critic's fit (``baseline="value"``).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import merge_config
from numbarl.deep.pg_common import (
    BASELINES,
    RETURNS_REWARD_TO_GO,
    Optimizers,
    ScoreFns,
    ScoreWork,
    fit_critic,
    make_optimizers,
    mean_entropy,
    score_fns,
    score_work,
    weighted_batch,
)
from numbarl.deep.pg_train import evaluate, hyper_record, train_policy_gradient
from numbarl.deep.rollout import (
    Policy,
    Rollout,
    actor_params,
)
from numbarl.deep.train import Progress, TrainOutput
from numbarl.nn import clip_by_global_norm
from numbarl.nn.kernel import pointer_kernel
from numbarl.nn.mlp import DTYPES
from numbarl.nn.pointers import adam_step_via
from numbarl.validation import AT_LEAST_ONE as _ONE
from numbarl.validation import NON_NEGATIVE as _NONNEG
from numbarl.validation import POSITIVE as _POS

# Tuned configs per env id (as rl-zoo keeps them), used when the user sets nothing.
TUNED: dict[str, dict[str, Any]] = {
    "CartPole-v1": dict(
        total_steps=100_000,
        n_envs=4,
        n_steps=500,
        reuse=4,
        max_ratio=2.0,
        lr=1e-3,
        eval_every=8000,
        stop_at_return=490.0,
    ),
}


class OffPolicyPGConfig(NamedTuple):
    """Off-policy IS policy-gradient hyperparameters; fields are CSV columns.

    ``reuse``: gradient updates per collected batch (1 = on-policy REINFORCE with reward-to-go).
    ``max_ratio``: truncation c of the importance ratio (> 1; ``inf`` = plain IS).
    ``baseline``: subtracted from the reward-to-go (batch mean or learned V(s); the critic is
    fitted once per batch). ``lr``: the policy's Adam step. ``norm_weights``: divide Psi by its
    batch standard deviation. Other fields (``dtype`` among them) as ``ReinforceConfig``."""

    reuse: int = 4
    max_ratio: float = 2.0
    baseline: str = "value"
    total_steps: int = 200_000
    n_envs: int = 4
    n_steps: int = 500
    gamma: float = 0.99
    lr: float = 1e-3
    max_grad_norm: float = 1.0
    norm_weights: bool = True
    lr_value: float = 1e-3
    value_epochs: int = 5
    value_minibatches: int = 8
    hidden: int = 64
    n_layers: int = 2
    activation: str = "tanh"
    log_std_init: float = 0.0
    obs_norm: bool = False
    eval_every: int = 10_000
    eval_episodes: int = 20
    stop_at_return: float = math.inf
    dtype: str = "float32"

    _choices = {
        "baseline": tuple(BASELINES),
        "activation": ("tanh", "relu"),
        "dtype": DTYPES,
    }
    _ranges = {
        "reuse": _ONE,
        "max_ratio": (1.0, None, False, True),
        "n_envs": _ONE,
        "n_steps": _ONE,
        "max_grad_norm": _POS,
        "value_epochs": _ONE,
        "value_minibatches": _ONE,
        "hidden": _ONE,
        "n_layers": _NONNEG,
        "eval_every": _ONE,
        "eval_episodes": _ONE,
    }


class OffPolicyPGHyper(NamedTuple):
    """The numeric hyperparameters compiled code reads (strings mapped to integer codes)."""

    reuse: int
    max_ratio: float
    baseline: int
    gamma: float
    lr: float
    max_grad_norm: float
    norm_weights: bool
    lr_value: float
    value_epochs: int
    value_minibatches: int


# Columns of the per-update metrics array (IS terms from the batch's last reuse step).
METRICS = ("is_loss", "mean_ratio", "truncated_fraction", "value_loss", "entropy", "grad_norm")

# ---------------------------------------------------------------------------------------------
# The importance-weighted loss and its gradient
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def is_loss_grad(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    behaviour_log_probs: np.ndarray,
    psi: np.ndarray,
    max_ratio: float,
    ws: np.ndarray,
    grad: np.ndarray,
    net,
    fns,  # noqa: ANN001
) -> tuple[float, float, float]:
    """L(theta) = -(1/T) sum_t min(rho_t, max_ratio) Psi_t, rho_t = exp(log pi_theta(a_t|s_t) -
    behaviour_log_probs_t), and its gradient: grad [P_actor] (theta's dtype) += dL/dtheta =
    -(1/T) sum_{t: rho_t < c} rho_t Psi_t grad log pi. obs [T, obs_dim], actions
    float64[T, adim], psi float64[T].

    Returns (L, mean rho_t, fraction of steps with rho_t >= max_ratio). ``net``:
    ``Optimizers.net`` (the network through pointers); ``fns``: the ``ScoreFns`` whose
    ``log_prob`` and ``log_prob_grad`` compute the terms."""
    logp = fns.log_prob(theta, layout, act, continuous, obs, actions, ws, net)
    batch = logp.shape[0]
    w = np.zeros(batch)
    total = 0.0
    ratio_sum = 0.0
    n_clipped = 0
    for t in range(batch):
        rho = np.exp(logp[t] - behaviour_log_probs[t])
        ratio_sum += rho
        if rho < max_ratio:
            w[t] = -rho * psi[t] / batch
            total += rho * psi[t]
        else:
            total += max_ratio * psi[t]
            n_clipped += 1
    fns.log_prob_grad(theta, layout, act, continuous, obs, actions, w, ws, grad, net)
    return -total / batch, ratio_sum / batch, n_clipped / batch


# ---------------------------------------------------------------------------------------------
# One batch's updates and the compiled training loop
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True)
def offpolicy_pg_update(
    policy: Policy,
    buf: Rollout,
    opt: Optimizers,
    hp: OffPolicyPGHyper,
    fns: ScoreFns,
    work: ScoreWork,
    update: int,
    rng: np.random.Generator,
    metrics: np.ndarray,
) -> None:
    """``hp.reuse`` importance-weighted Adam steps on one batch collected by theta' (the policy
    at entry), then the critic's fit, the big kernels through ``fns``
    (``pg_common.score_fns``), on the arrays of ``work`` (``pg_common.score_work`` for this
    buffer's batch; for another batch nothing is updated and the metrics are NaN: a pointer
    kernel cannot raise). ``metrics`` float64[6] receives ``METRICS``."""
    obs, actions, psi, targets = weighted_batch(buf, RETURNS_REWARD_TO_GO, hp, fns.weights)
    theta, layout, act, continuous = actor_params(policy)
    ws, grad = work.ws, work.grad
    if work.fit.perm.shape[0] != obs.shape[0] or grad.shape[0] != theta.shape[0]:
        metrics[:] = np.nan  # a work for another batch: no update
        return
    behaviour = fns.log_prob(theta, layout, act, continuous, obs, actions, ws, opt.net).copy()
    metrics[4] = mean_entropy(policy, obs, opt.net, ws)
    for _ in range(hp.reuse):
        grad[:] = 0.0
        loss, mean_ratio, truncated = is_loss_grad(
            theta, layout, act, continuous, obs, actions, behaviour, psi, hp.max_ratio, ws, grad,
            opt.net, fns,
        )  # fmt: skip
        metrics[0] = loss
        metrics[1] = mean_ratio
        metrics[2] = truncated
        metrics[5] = clip_by_global_norm(grad, hp.max_grad_norm)
        adam_step_via(opt.net, theta, grad, opt.actor, hp.lr)
    metrics[3] = fit_critic(policy, obs, targets, opt, hp, rng, fns.fit_value, work.fit)


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def make_offpolicy_pg_config(
    env: Any = None, cfg: OffPolicyPGConfig | dict | None = None, **overrides: Any
) -> OffPolicyPGConfig:
    """A checked ``OffPolicyPGConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or
    a dict (dict values and ``overrides`` win)."""
    return merge_config(OffPolicyPGConfig, TUNED, env, cfg, overrides)


def _init(
    cfg: OffPolicyPGConfig,
    policy: Policy,
    total_updates: int,
    batch: int,
) -> tuple:
    """(opt, hp, fns, work): the Adam states, the numbers, the kernels (``ScoreFns``) and the
    arrays (``ScoreWork``) the compiled update takes for rollouts of ``batch`` steps."""
    opt = make_optimizers(policy)
    hp = hyper_record(OffPolicyPGHyper, cfg, baseline=BASELINES[cfg.baseline])
    return opt, hp, score_fns(policy, opt), score_work(policy, batch, cfg.value_minibatches)


def train(
    env: Any, cfg: OffPolicyPGConfig | dict | None = None, seed: int = 0, progress: Progress = None
) -> TrainOutput:
    """Train the off-policy IS policy gradient on ``env`` (a numbarl ``ControlEnv``: compiled
    rollouts; or a Gymnasium env with Box observations and Discrete/Box actions).

    Returns ``(arrays, history)`` as ``numbarl.deep.ppo.train`` does: the policy arrays (for
    ``evaluate``) and columns ``step``, ``eval_return``, ``episode_return`` and ``METRICS`` of
    each row's last batch, one row every ``eval_every`` steps. Raises TrainingDiverged (with the
    arrays and history so far) on non-finite parameters, ValueError/TypeError for a bad config
    or env."""
    return train_policy_gradient(
        "Off-policy PG",
        env,
        cfg,
        seed,
        progress,
        make_offpolicy_pg_config,
        _init,
        offpolicy_pg_update,
        METRICS,
    )


__all__ = [
    "METRICS",
    "TUNED",
    "OffPolicyPGConfig",
    "OffPolicyPGHyper",
    "evaluate",
    "is_loss_grad",
    "make_offpolicy_pg_config",
    "offpolicy_pg_update",
    "train",
]
