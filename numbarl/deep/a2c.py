"""Advantage actor-critic, synchronous (A2C; Mnih et al. 2016, "A3C", run in lockstep).

Many env copies step together (``numbarl.deep.rollout``); each rollout of ``n_steps`` steps
gives one gradient step on

    L = -E[A_t log pi(a_t | s_t)] - ent_coef * H[pi] + vf_coef * 0.5 E[(V(s_t) - R_t)^2]

where R_t is the n-step return bootstrapped from the value after the rollout (or after a time
limit), R_t = sum_{k<m} gamma^k r_{t+k} + gamma^m V(s_{t+m}) (A3C paper, Algorithm S3), and
A_t = R_t - V(s_t). With ``gae_lambda < 1`` the advantages are GAE(gamma, lambda) instead
(``gae_lambda = 1`` is exactly the n-step return). Adam with global-norm clipping.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit, typeof, types

from numbarl.config import merge_config
from numbarl.deep.pg_common import (
    categorical_score_entropy_grad,
    gaussian_score_entropy_grad,
    standardize,
)
from numbarl.deep.pg_train import evaluate, hyper_record, train_policy_gradient
from numbarl.deep.rollout import (
    CATEGORICAL,
    Policy,
    Rollout,
    flat_batch,
    grad_views,
    rollout_gae,
)
from numbarl.deep.train import Progress, TrainOutput
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn import AdamState, adam_init, clip_by_global_norm, mlp_workspace
from numbarl.nn.kernel import pointer_kernel
from numbarl.nn.mlp import DTYPES, mlp_output
from numbarl.nn.pointers import NetFns, Pointer, cache_numba_type, net_fns
from numbarl.validation import AT_LEAST_ONE as _ONE
from numbarl.validation import NON_NEGATIVE as _NONNEG
from numbarl.validation import POSITIVE as _POS

# Tuned configs per env id (as rl-zoo keeps them), used when the user sets nothing.
TUNED: dict[str, dict[str, Any]] = {
    "CartPole-v1": dict(
        total_steps=300_000,
        n_envs=16,
        n_steps=8,
        lr=1e-3,
        gamma=0.99,
        gae_lambda=1.0,
        ent_coef=0.0,
        norm_adv=True,
        hidden=64,
        eval_every=8192,
        stop_at_return=495.0,  # margin over the 475 threshold for a fresh evaluation
    ),
    # As rl-zoo3's A2C row: observations normalised by running statistics, 16 envs. A small
    # entropy bonus let the seed that sat at -500 for 300k steps without it find the swing-up
    # (4 of 5 seeds reach -100 on fresh episodes, with or without it).
    "Acrobot-v1": dict(
        total_steps=400_000,
        n_envs=16,
        n_steps=8,
        lr=1e-3,
        gamma=0.99,
        gae_lambda=0.95,
        ent_coef=0.01,
        norm_adv=True,
        obs_norm=True,
        hidden=64,
        eval_every=8192,
        stop_at_return=-85.0,  # margin over the -100 goal for a fresh evaluation
    ),
}

METRICS = ("policy_loss", "value_loss", "entropy")


class A2CConfig(NamedTuple):
    """A2C hyperparameters (SB3's defaults, with Adam instead of RMSprop); fields are CSV
    columns. ``eval_every``, ``stop_at_return``, ``reward_scale``, ``dtype`` and the network
    fields as in ``PPOConfig``."""

    total_steps: int = 500_000
    n_envs: int = 16
    n_steps: int = 5
    lr: float = 7e-4
    anneal_lr: bool = False
    gamma: float = 0.99
    gae_lambda: float = 1.0
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    norm_adv: bool = False
    hidden: int = 64
    n_layers: int = 2
    activation: str = "tanh"
    log_std_init: float = 0.0
    obs_norm: bool = False
    reward_scale: float = 1.0
    eval_every: int = 10_000
    eval_episodes: int = 20
    stop_at_return: float = math.inf
    dtype: str = "float32"

    _choices = {"activation": ("tanh", "relu"), "dtype": DTYPES}
    _ranges = {
        "n_envs": _ONE,
        "n_steps": _ONE,
        "ent_coef": _NONNEG,
        "vf_coef": _NONNEG,
        "max_grad_norm": _POS,
        "hidden": _ONE,
        "n_layers": _NONNEG,
        "reward_scale": _POS,
        "eval_every": _ONE,
        "eval_episodes": _ONE,
    }


class A2CHyper(NamedTuple):
    """The numeric hyperparameters compiled code reads."""

    lr: float
    anneal_lr: bool
    gamma: float
    gae_lambda: float
    ent_coef: float
    vf_coef: float
    max_grad_norm: float
    norm_adv: bool
    reward_scale: float
    total_updates: int


@njit(cache=True)
def a2c_loss_grad(
    kind: int,
    out: np.ndarray,
    log_std: np.ndarray,
    actions: np.ndarray,
    adv: np.ndarray,
    v: np.ndarray,
    returns: np.ndarray,
    ent_coef: float,
    vf_coef: float,
    grad_out: np.ndarray,
    grad_log_std: np.ndarray,
    grad_v: np.ndarray,
) -> tuple[float, float, float]:
    """The A2C loss on a batch of B samples and its gradient.

    ``out`` [B, n_out] (logits or Gaussian means, either dtype), ``actions`` float64[B, action_dim],
    ``adv``/``v``/``returns`` float64[B]. Accumulates (+=) into grad_out and grad_log_std
    float64[A]; writes grad_v float64[B] = vf_coef * dL_V/dV. Returns (policy loss
    -mean(A log pi), value loss 0.5 mean((V - R)^2), mean entropy)."""
    args = (out, log_std, actions, adv, v, returns, ent_coef, vf_coef, grad_out, grad_log_std)
    if kind == CATEGORICAL:
        return a2c_loss_categorical(*args, grad_v)
    return a2c_loss_gaussian(*args, grad_v)


@njit(cache=True, inline="always")
def _score_weights(adv: np.ndarray) -> np.ndarray:
    """w float64[B] = d(-mean A log pi)/d log pi_i."""
    b = adv.shape[0]
    w = np.empty(b)
    for i in range(b):
        w[i] = -adv[i] / b
    return w


@njit(cache=True, inline="always")
def _categorical_policy_loss(out: np.ndarray, actions: np.ndarray, adv: np.ndarray) -> float:
    """-sum_i A_i log pi(a_i), log pi from a stable log-softmax of the logits ``out``."""
    pl = 0.0
    for i in range(out.shape[0]):
        mx = out[i].max()
        lse = mx + np.log(np.exp(out[i] - mx).sum())
        pl -= adv[i] * (out[i, int(actions[i, 0])] - lse)
    return pl


@njit(cache=True, inline="always")
def _gaussian_policy_loss(
    out: np.ndarray, log_std: np.ndarray, actions: np.ndarray, adv: np.ndarray
) -> float:
    """-sum_i A_i log pi(a_i) for Gaussian means ``out`` and ``log_std``."""
    pl = 0.0
    for i in range(out.shape[0]):
        lp = 0.0
        for a in range(out.shape[1]):
            z = (actions[i, a] - out[i, a]) * np.exp(-log_std[a])
            lp += -0.5 * z * z - log_std[a] - 0.5 * np.log(2.0 * np.pi)
        pl -= adv[i] * lp
    return pl


@njit(cache=True, inline="always")
def _value_loss_grad(
    v: np.ndarray, returns: np.ndarray, vf_coef: float, grad_v: np.ndarray
) -> float:
    """sum_i 0.5 (V_i - R_i)^2; writes grad_v = vf_coef * dL_V/dV."""
    b = v.shape[0]
    vl = 0.0
    for i in range(b):
        d = v[i] - returns[i]
        vl += 0.5 * d * d
        grad_v[i] = vf_coef * d / b
    return vl


# ``a2c_loss_grad`` for one head each, compiled apart: the update calls the run's through a
# pointer (``A2CFns.loss``), so a categorical run compiles no Gaussian kernels;
# ``a2c_loss_grad`` calls them by kind. Arguments as ``a2c_loss_grad``'s after ``kind``.


@pointer_kernel(cache=True)
def a2c_loss_categorical(
    out, log_std, actions, adv, v, returns, ent_coef, vf_coef, grad_out, grad_log_std, grad_v
):  # noqa: ANN001, ANN201
    """``a2c_loss_grad`` of a categorical head."""
    b = out.shape[0]
    w = _score_weights(adv)
    pl = _categorical_policy_loss(out, actions, adv)
    entropy = categorical_score_entropy_grad(out, actions, w, ent_coef, grad_out)
    vl = _value_loss_grad(v, returns, vf_coef, grad_v)
    return pl / b, vl / b, entropy


@pointer_kernel(cache=True)
def a2c_loss_gaussian(
    out, log_std, actions, adv, v, returns, ent_coef, vf_coef, grad_out, grad_log_std, grad_v
):  # noqa: ANN001, ANN201
    """``a2c_loss_grad`` of a Gaussian head."""
    b = out.shape[0]
    w = _score_weights(adv)
    pl = _gaussian_policy_loss(out, log_std, actions, adv)
    entropy = gaussian_score_entropy_grad(
        out, log_std, actions, w, ent_coef, grad_out, grad_log_std
    )
    vl = _value_loss_grad(v, returns, vf_coef, grad_v)
    return pl / b, vl / b, entropy


@cache_numba_type
class A2CFns(NamedTuple):
    """What ``a2c_update`` calls through pointers: the network functions and the head's loss."""

    net: NetFns
    loss: FunctionPointer


def update_fns(policy: Policy) -> A2CFns:
    """``A2CFns`` for ``policy``'s dtype and head."""
    net = typeof(policy.params)
    mat, f8 = types.Array(net.dtype, 2, "C"), types.float64
    v64, m64 = types.Array(f8, 1, "C"), types.Array(f8, 2, "C")
    # v is the critic's column in the network dtype; adv, returns and the gradients float64
    sig = types.UniTuple(f8, 3)(mat, net, m64, v64, net, v64, f8, f8, m64, net, v64)
    loss = a2c_loss_categorical if int(policy.head[0]) == CATEGORICAL else a2c_loss_gaussian
    return A2CFns(net_fns(policy.params.dtype), Pointer(loss, sig))


@pointer_kernel(cache=True)
def a2c_update(
    policy: Policy,
    buf: Rollout,
    adam: AdamState,
    hp: A2CHyper,
    fns: A2CFns,
    update: int,
    rng: np.random.Generator,
    metrics: np.ndarray,
) -> None:
    """One A2C gradient step on the whole rollout ``buf``; ``metrics`` float64[3] receives
    (policy loss, value loss, entropy); ``fns`` from ``update_fns`` (the networks and the loss
    are called through its pointers). A2C draws nothing from ``rng`` (it is there so every
    policy-gradient update has the shared loop's signature)."""
    obs, actions = flat_batch(buf)
    batch = obs.shape[0]
    act = policy.head[3]
    adv2, ret2 = rollout_gae(buf, hp.gamma, hp.gae_lambda, hp.reward_scale)
    adv = adv2.reshape(batch)
    ret = ret2.reshape(batch)
    if hp.norm_adv:
        standardize(adv, True)
    dt = policy.params.dtype
    grad = np.zeros(policy.params.shape[0], dt)
    g_actor, g_log_std, g_critic = grad_views(policy, grad)
    ws_a = mlp_workspace(policy.actor_layout, batch, dt)
    ws_c = mlp_workspace(policy.critic_layout, batch, dt)
    net = fns.net
    net.forward(policy.actor, policy.actor_layout, act, obs, ws_a)
    out = mlp_output(policy.actor_layout, batch, ws_a)
    net.forward(policy.critic, policy.critic_layout, act, obs, ws_c)
    v = mlp_output(policy.critic_layout, batch, ws_c)
    grad_out = np.zeros(out.shape)  # float64: the loss's terms summed before the backward cast
    grad_v = np.zeros((batch, 1))
    vcol = v[:, 0].copy()
    gv = np.zeros(batch)
    pl, vl, ent = fns.loss(
        out, policy.log_std, actions, adv, vcol, ret, hp.ent_coef, hp.vf_coef, grad_out,
        g_log_std, gv,
    )  # fmt: skip
    # element copy: ``grad_v[:, 0] = gv`` compiles Numba's shape-error formatting
    for i in range(batch):
        grad_v[i, 0] = gv[i]
    net.backward(policy.actor, policy.actor_layout, act, ws_a, grad_out, g_actor)
    net.backward(policy.critic, policy.critic_layout, act, ws_c, grad_v, g_critic)
    clip_by_global_norm(grad, hp.max_grad_norm)
    lr = hp.lr * (1.0 - update / hp.total_updates) if hp.anneal_lr else hp.lr
    net.adam(policy.params, grad, adam, lr, 0.9, 0.999, 1e-5, 0.0)
    metrics[0] = pl
    metrics[1] = vl
    metrics[2] = ent


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def make_a2c_config(env: Any = None, cfg: A2CConfig | dict | None = None, **overrides: Any):
    """A checked ``A2CConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a dict
    (dict values and ``overrides`` win)."""
    return merge_config(A2CConfig, TUNED, env, cfg, overrides)


def _init(
    cfg: A2CConfig,
    policy: Policy,
    total_updates: int,
    batch: int,  # unused here: pg_train passes every learner the rollout size
) -> tuple:
    """(adam, hp, fns): what a2c_update takes between the buffer and the update index."""
    adam = adam_init(policy.params.shape[0], policy.params.dtype)
    return adam, hyper_record(A2CHyper, cfg, total_updates=total_updates), update_fns(policy)


def train(
    env: Any, cfg: A2CConfig | dict | None = None, seed: int = 0, progress: Progress = None
) -> TrainOutput:
    """Train A2C on a ControlEnv (compiled) or a Gymnasium env (Python rollouts). Returns
    ``(arrays, history)`` as ``numbarl.deep.ppo.train`` does (metrics: policy_loss,
    value_loss, entropy); raises TrainingDiverged naming the update on non-finite parameters."""
    return train_policy_gradient(
        "A2C", env, cfg, seed, progress, make_a2c_config, _init, a2c_update, METRICS
    )


__all__ = [
    "METRICS",
    "TUNED",
    "A2CConfig",
    "A2CFns",
    "A2CHyper",
    "a2c_loss_grad",
    "a2c_update",
    "evaluate",
    "make_a2c_config",
    "train",
    "update_fns",
]
