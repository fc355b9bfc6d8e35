"""REINFORCE (Williams 1992) on MLP policies, with the weights of Spinning Up's "Part 3".

The policy gradient estimator over a batch of T steps from N whole-or-cut episodes is

    g = (1/T) sum_t Psi_t grad log pi_theta(a_t | s_t)

with Psi_t one of (``returns`` x ``baseline``):

- ``returns="total"``:         Psi_t = R(tau), the undiscounted return of t's episode (eq. 3 of
  Spinning Up's "Intro to Policy Optimization"; Williams' original estimator);
- ``returns="reward_to_go"``:  Psi_t = G_t = sum_{k >= t} gamma^(k-t) r_k within the episode
  ("don't let the past distract you");
- ``baseline="mean"``:  minus the mean of Psi over the batch; ``baseline="value"``: minus a
  learned V_phi(s_t) (Sutton & Barto eq. 13.11), fitted by Adam on the mean squared error to
  the same returns; ``"none"``: nothing subtracted.

The loss whose gradient is -g is -(1/T) sum_t Psi_t log pi(a_t | s_t) (``reinforce_loss_grad``
returns it and adds its gradient).

Policies are flat parameter vectors ``theta`` float64[P_actor] (MLP, then a Gaussian head's
log-std), as ``numbarl.deep.pg_common`` describes them.

Batches come from ``numbarl.deep.rollout`` (``n_steps`` steps of ``n_envs`` copies). An episode
cut by the end of a batch is weighted by its part inside the batch; with ``baseline="value"``
reward-to-go is bootstrapped from V(s) where an episode was cut (batch end or time limit),
otherwise it is the plain sum of the rewards that follow inside the batch. One Adam step on the
policy per batch (the Spinning Up VPG convention), then ``value_epochs`` passes of minibatch Adam
on the critic.

The log-probability kernels, the weights Psi_t, ``Optimizers`` and the critic's fit live in
``numbarl.deep.pg_common`` (TRPO and the off-policy IS gradient use them too); the Python
shell (chunks, evaluation, history) is ``numbarl.deep.pg_train.train_policy_gradient``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import merge_config
from numbarl.deep.pg_common import (
    BASELINES,
    CHUNK,
    RETURNS,
    Optimizers,
    ScoreFns,
    ScoreWork,
    fit_critic,
    fit_value,
    make_optimizers,
    mean_entropy,
    policy_log_prob,
    policy_log_prob_grad,
    policy_workspace,
    reinforce_weights,
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
        total_steps=150_000,
        n_envs=4,
        n_steps=500,
        lr=3e-3,
        eval_every=8000,
        stop_at_return=490.0,
    ),
}


class ReinforceConfig(NamedTuple):
    """REINFORCE hyperparameters; fields are CSV columns.

    ``returns``: Psi_t from the episode's total return or the discounted reward-to-go;
    ``baseline``: none, the batch mean of Psi, or a learned V(s). ``lr``: the policy's Adam step
    (one step per batch of ``n_envs * n_steps`` steps); ``lr_value``, ``value_epochs``,
    ``value_minibatches``: the critic's fit (``baseline="value"`` only). ``norm_weights``: divide
    Psi by its batch standard deviation (a per-batch step-size scale). ``hidden``/``n_layers``:
    width and number of hidden layers of actor and critic. ``eval_every``: env steps between
    greedy evaluations (history rows), whole updates. ``stop_at_return``: stop once a greedy
    evaluation's mean reaches it. ``dtype``: the networks' precision (parameters, gradients,
    Adam's moments, the rollout's observations); Psi, returns and losses stay float64."""

    returns: str = "reward_to_go"
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
        "returns": tuple(RETURNS),
        "baseline": tuple(BASELINES),
        "activation": ("tanh", "relu"),
        "dtype": DTYPES,
    }
    _ranges = {
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


class ReinforceHyper(NamedTuple):
    """The numeric hyperparameters compiled code reads (strings mapped to integer codes)."""

    returns: int
    baseline: int
    gamma: float
    lr: float
    max_grad_norm: float
    norm_weights: bool
    lr_value: float
    value_epochs: int
    value_minibatches: int


# Columns of the per-update metrics array.
METRICS = ("policy_loss", "value_loss", "entropy", "grad_norm")


@njit(cache=True, inline="always")
def reinforce_loss_grad(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    psi: np.ndarray,
    ws: np.ndarray,
    grad: np.ndarray,
    net,
    fns,  # noqa: ANN001
) -> float:
    """Returns the loss L(theta) = -(1/T) sum_t Psi_t log pi_theta(a_t | s_t) (psi float64[T]
    held fixed) and adds its gradient -(1/T) sum_t Psi_t grad log pi(a_t | s_t) to grad
    [P_actor] (theta's dtype). ``net``: ``Optimizers.net`` (the network through pointers);
    ``fns``: the ``ScoreFns`` whose ``log_prob`` and ``log_prob_grad`` compute the terms."""
    logp = fns.log_prob(theta, layout, act, continuous, obs, actions, ws, net)
    total = 0.0
    for t in range(logp.shape[0]):
        total += psi[t] * logp[t]
    w = -psi / psi.shape[0]
    fns.log_prob_grad(theta, layout, act, continuous, obs, actions, w, ws, grad, net)
    return -total / logp.shape[0]


# ---------------------------------------------------------------------------------------------
# One REINFORCE update and the compiled training loop
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True)
def reinforce_update(
    policy: Policy,
    buf: Rollout,
    opt: Optimizers,
    hp: ReinforceHyper,
    fns: ScoreFns,
    work: ScoreWork,
    update: int,
    rng: np.random.Generator,
    metrics: np.ndarray,
) -> None:
    """One REINFORCE update on ``buf``: one Adam step along the policy gradient g = (1/T)
    sum_t Psi_t grad log pi(a_t|s_t), then (``BASELINE_VALUE``) the critic's fit, the big
    kernels through ``fns`` (``pg_common.score_fns``), on the arrays of ``work``
    (``pg_common.score_work`` for this buffer's batch; for another batch nothing is updated and
    the metrics are NaN: a pointer kernel cannot raise). ``metrics`` float64[4] receives
    ``METRICS``. ``update`` (0-based) is unused (uniform driver signature)."""
    obs, actions, psi, targets = weighted_batch(buf, hp.returns, hp, fns.weights)
    theta, layout, act, continuous = actor_params(policy)
    ws, grad = work.ws, work.grad
    if work.fit.perm.shape[0] != obs.shape[0] or grad.shape[0] != theta.shape[0]:
        metrics[:] = np.nan  # a work for another batch: no update
        return
    grad[:] = 0.0
    metrics[2] = mean_entropy(policy, obs, opt.net, ws)
    metrics[0] = reinforce_loss_grad(
        theta, layout, act, continuous, obs, actions, psi, ws, grad, opt.net, fns
    )
    metrics[3] = clip_by_global_norm(grad, hp.max_grad_norm)
    adam_step_via(opt.net, theta, grad, opt.actor, hp.lr)
    metrics[1] = fit_critic(policy, obs, targets, opt, hp, rng, fns.fit_value, work.fit)


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def make_reinforce_config(
    env: Any = None, cfg: ReinforceConfig | dict | None = None, **overrides: Any
) -> ReinforceConfig:
    """A checked ``ReinforceConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a
    dict (dict values and ``overrides`` win)."""
    return merge_config(ReinforceConfig, TUNED, env, cfg, overrides)


def _init(
    cfg: ReinforceConfig,
    policy: Policy,
    total_updates: int,
    batch: int,
) -> tuple:
    """(opt, hp, fns, work): the Adam states, the numbers, the kernels (``ScoreFns``) and the
    arrays (``ScoreWork``) the compiled update takes for rollouts of ``batch`` steps."""
    opt = make_optimizers(policy)
    hp = hyper_record(
        ReinforceHyper, cfg, returns=RETURNS[cfg.returns], baseline=BASELINES[cfg.baseline]
    )
    return opt, hp, score_fns(policy, opt), score_work(policy, batch, cfg.value_minibatches)


def train(
    env: Any, cfg: ReinforceConfig | dict | None = None, seed: int = 0, progress: Progress = None
) -> TrainOutput:
    """Train REINFORCE on ``env`` (a numbarl ``ControlEnv``: compiled rollouts; or a Gymnasium
    env with Box observations and Discrete/Box actions: Python rollouts, compiled updates).

    Returns ``(arrays, history)``: ``arrays`` is the policy (``rollout.policy_arrays``) for
    ``evaluate``; ``history`` has equal-length columns ``step``, ``eval_return`` (mean greedy
    return over ``cfg.eval_episodes``), ``episode_return`` (mean return of training episodes
    ended since the last row, NaN if none) and ``METRICS`` of the row's last update, one row
    every ``eval_every`` steps. Raises TrainingDiverged (with the arrays and history so far) if
    the parameters become non-finite, ValueError/TypeError for a bad config or env."""
    return train_policy_gradient(
        "REINFORCE",
        env,
        cfg,
        seed,
        progress,
        make_reinforce_config,
        _init,
        reinforce_update,
        METRICS,
    )


__all__ = [
    "BASELINES",
    "METRICS",
    "RETURNS",
    "TUNED",
    "Optimizers",
    "ReinforceConfig",
    "ReinforceHyper",
    "evaluate",
    "fit_value",
    "make_reinforce_config",
    "CHUNK",
    "policy_log_prob",
    "policy_log_prob_grad",
    "policy_workspace",
    "reinforce_loss_grad",
    "reinforce_update",
    "reinforce_weights",
    "train",
]
