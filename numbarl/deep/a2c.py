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
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import make_config
from numbarl.deep.ppo import advantages, params_finite
from numbarl.deep.rollout import (
    CATEGORICAL,
    GymVec,
    Policy,
    Rollout,
    VecEnv,
    collect_rollout,
    collect_rollout_gym,
    env_info,
    evaluate_policy,
    grad_views,
    make_policy,
    make_rollout,
    make_vec_env,
    policy_arrays,
    policy_from_arrays,
)
from numbarl.errors import TrainingDiverged
from numbarl.nn import (
    AdamState,
    adam_init,
    adam_step,
    categorical_entropy,
    categorical_entropy_grad,
    categorical_log_prob_grad,
    clip_by_global_norm,
    gaussian_entropy,
    gaussian_entropy_grad,
    gaussian_log_prob_grad,
    mlp_backward,
    mlp_forward,
    mlp_workspace,
)

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
}

_POS = (0.0, None, False, True)
_NONNEG = (0.0, None, True, True)
_ONE = (1.0, None, True, True)
METRICS = ("policy_loss", "value_loss", "entropy")


class A2CConfig(NamedTuple):
    """A2C hyperparameters (SB3's defaults, with Adam instead of RMSprop); fields are CSV
    columns. ``eval_every``, ``stop_at_return``, ``reward_scale`` and the network fields as in
    ``PPOConfig``."""

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

    _choices = {"activation": ("tanh", "relu")}
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

    ``out`` float64[B, n_out] (logits or Gaussian means), ``actions`` float64[B, action_dim],
    ``adv``/``v``/``returns`` float64[B]. Accumulates (+=) into grad_out and grad_log_std
    float64[A]; writes grad_v float64[B] = vf_coef * dL_V/dV. Returns (policy loss
    -mean(A log pi), value loss 0.5 mean((V - R)^2), mean entropy)."""
    b = out.shape[0]
    w = np.empty(b)
    for i in range(b):
        w[i] = -adv[i] / b  # d(-mean A log pi)/d log pi_i
    if kind == CATEGORICAL:
        a_idx = np.empty(b, dtype=np.int64)
        for i in range(b):
            a_idx[i] = int(actions[i, 0])
        logits_lp = out.copy()
        categorical_log_prob_grad(out, a_idx, w, grad_out)
        # log pi(a_i) from a stable log-softmax
        pl = 0.0
        for i in range(b):
            mx = logits_lp[i].max()
            lse = mx + np.log(np.exp(logits_lp[i] - mx).sum())
            pl -= adv[i] * (logits_lp[i, a_idx[i]] - lse)
        entropy = categorical_entropy(out).mean()
        for i in range(b):
            w[i] = -ent_coef / b
        categorical_entropy_grad(out, w, grad_out)
    else:
        gaussian_log_prob_grad(out, log_std, actions, w, grad_out, grad_log_std)
        pl = 0.0
        for i in range(b):
            lp = 0.0
            for a in range(out.shape[1]):
                z = (actions[i, a] - out[i, a]) * np.exp(-log_std[a])
                lp += -0.5 * z * z - log_std[a] - 0.5 * np.log(2.0 * np.pi)
            pl -= adv[i] * lp
        entropy = gaussian_entropy(log_std)
        gaussian_entropy_grad(log_std, -ent_coef, grad_log_std)
    vl = 0.0
    for i in range(b):
        d = v[i] - returns[i]
        vl += 0.5 * d * d
        grad_v[i] = vf_coef * d / b
    return pl / b, vl / b, entropy


@njit(cache=True)
def a2c_update(
    policy: Policy,
    buf: Rollout,
    adam: AdamState,
    hp: A2CHyper,
    update: int,
    metrics: np.ndarray,
) -> None:
    """One A2C gradient step on the whole rollout ``buf``; ``metrics`` float64[3] receives
    (policy loss, value loss, entropy)."""
    n_steps, n = buf.rewards.shape
    batch = n_steps * n
    d = buf.obs.shape[2]
    act = policy.head[3]
    adv2, ret2 = advantages(buf, hp.gamma, hp.gae_lambda, hp.reward_scale)
    obs = buf.obs.reshape((batch, d))
    actions = buf.actions.reshape((batch, buf.actions.shape[2]))
    adv = adv2.reshape(batch).copy()
    ret = ret2.reshape(batch)
    if hp.norm_adv and batch > 1:
        mean = adv.mean()
        std = np.sqrt(((adv - mean) ** 2).sum() / (batch - 1))
        adv = (adv - mean) / (std + 1e-8)
    grad = np.zeros(policy.params.shape[0])
    g_actor, g_log_std, g_critic = grad_views(policy, grad)
    ws_a = mlp_workspace(policy.actor_layout, batch)
    ws_c = mlp_workspace(policy.critic_layout, batch)
    out = mlp_forward(policy.actor, policy.actor_layout, act, obs, ws_a)
    v = mlp_forward(policy.critic, policy.critic_layout, act, obs, ws_c)
    grad_out = np.zeros_like(out)
    grad_v = np.zeros((batch, 1))
    vcol = v[:, 0].copy()
    gv = np.zeros(batch)
    pl, vl, ent = a2c_loss_grad(
        policy.head[0], out, policy.log_std, actions, adv, vcol, ret, hp.ent_coef,
        hp.vf_coef, grad_out, g_log_std, gv,
    )  # fmt: skip
    grad_v[:, 0] = gv
    mlp_backward(policy.actor, policy.actor_layout, act, ws_a, grad_out, g_actor)
    mlp_backward(policy.critic, policy.critic_layout, act, ws_c, grad_v, g_critic)
    clip_by_global_norm(grad, hp.max_grad_norm)
    lr = hp.lr * (1.0 - update / hp.total_updates) if hp.anneal_lr else hp.lr
    adam_step(policy.params, grad, adam, lr, 0.9, 0.999, 1e-5)
    metrics[0] = pl
    metrics[1] = vl
    metrics[2] = ent


@njit(cache=True)
def run_a2c(
    vec: VecEnv,
    policy: Policy,
    buf: Rollout,
    adam: AdamState,
    hp: A2CHyper,
    first_update: int,
    n_updates: int,
    rng: np.random.Generator,
    metrics: np.ndarray,
    episode_stats: np.ndarray,
) -> int:
    """Run updates ``first_update ..`` (collect a rollout, one gradient step) as ``run_ppo``;
    returns the updates completed (fewer than ``n_updates``: parameters became non-finite)."""
    for k in range(n_updates):
        collect_rollout(vec, policy, buf, rng)
        for e in range(buf.n_ended[0]):
            episode_stats[0] += 1.0
            episode_stats[1] += buf.ended_returns[e]
        a2c_update(policy, buf, adam, hp, first_update + k, metrics[k])
        if not params_finite(policy):
            return k + 1
    return n_updates


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def _env_id(env: Any) -> str | None:
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or getattr(env, "id", None)


def make_a2c_config(env: Any = None, cfg: A2CConfig | dict | None = None, **overrides: Any):
    """A checked ``A2CConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a dict
    (dict values and ``overrides`` win)."""
    if isinstance(cfg, A2CConfig):
        values = cfg._asdict()
    else:
        if cfg is not None and not isinstance(cfg, dict):
            raise TypeError(f"cfg must be an A2CConfig, a dict or None, got {type(cfg).__name__}")
        values = dict(TUNED.get(_env_id(env) or "", {}))
        values.update(cfg or {})
    values.update(overrides)
    return make_config(A2CConfig, values)


def train(
    env: Any,
    cfg: A2CConfig | dict | None = None,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Train A2C on a ControlEnv (compiled) or a Gymnasium env (Python rollouts). Returns
    ``(arrays, history)`` as ``numbarl.deep.ppo.train`` does (metrics: policy_loss,
    value_loss, entropy); raises TrainingDiverged naming the update on non-finite parameters."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    info = env_info(env)
    cfg = make_a2c_config(env, cfg)
    n_envs = cfg.n_envs if info.is_control else info.n_envs
    batch = n_envs * cfg.n_steps
    total_updates = max(1, -(-cfg.total_steps // batch))
    per_chunk = max(1, -(-cfg.eval_every // batch))
    init_seq, train_seq, eval_seq = np.random.SeedSequence(seed).spawn(3)
    policy = make_policy(
        info,
        np.random.default_rng(init_seq),
        hidden=(cfg.hidden,) * cfg.n_layers,
        activation=cfg.activation,
        log_std_init=cfg.log_std_init,
        obs_norm=cfg.obs_norm,
    )
    rng = np.random.default_rng(train_seq)
    eval_rng = np.random.default_rng(eval_seq)
    hp = A2CHyper(
        float(cfg.lr),
        bool(cfg.anneal_lr),
        float(cfg.gamma),
        float(cfg.gae_lambda),
        float(cfg.ent_coef),
        float(cfg.vf_coef),
        float(cfg.max_grad_norm),
        bool(cfg.norm_adv),
        float(cfg.reward_scale),
        int(total_updates),
    )
    adam = adam_init(policy.params.shape[0])
    buf = make_rollout(cfg.n_steps, n_envs, info.obs_dim, info.action_dim)
    if info.is_control:
        vec = make_vec_env(env, n_envs, policy, rng)
    else:
        gym_vec = GymVec(env, policy, seed=seed)
    columns: dict[str, list[float]] = {"step": [], "eval_return": [], "episode_return": []}
    for name in METRICS:
        columns[name] = []

    def history() -> dict[str, np.ndarray]:
        return {
            k: np.array(v, dtype=np.int64 if k == "step" else np.float64)
            for k, v in columns.items()
        }

    done = 0
    while done < total_updates:
        n = min(per_chunk, total_updates - done)
        metrics = np.zeros((n, len(METRICS)))
        stats = np.zeros(2)
        if info.is_control:
            completed = run_a2c(vec, policy, buf, adam, hp, done, n, rng, metrics, stats)
        else:
            completed = 0
            for k in range(n):
                collect_rollout_gym(gym_vec, policy, buf, rng)
                stats += (buf.n_ended[0], buf.ended_returns[: buf.n_ended[0]].sum())
                a2c_update(policy, buf, adam, hp, done + k, metrics[k])
                completed = k + 1
                if not params_finite(policy):
                    break
        done += completed
        step = done * batch
        if not params_finite(policy):
            raise TrainingDiverged(
                f"A2C diverged: non-finite parameters after update {done} of {total_updates} "
                f"(step {step}); arrays hold those parameters, history the rows recorded before",
                arrays=policy_arrays(policy),
                history=history(),
            )
        returns = evaluate_policy(policy, env, info, cfg.eval_episodes, eval_rng)
        if not info.is_control and getattr(env, "spec", None) is None:
            gym_vec = GymVec(env, policy)  # evaluation used the training env: start afresh
        columns["step"].append(step)
        columns["eval_return"].append(float(returns.mean()))
        columns["episode_return"].append(stats[1] / stats[0] if stats[0] > 0 else math.nan)
        for c, name in enumerate(METRICS):
            columns[name].append(float(metrics[completed - 1, c]))
        if progress is not None:
            progress(done / total_updates)
        if returns.mean() >= cfg.stop_at_return:
            break
    return policy_arrays(policy), history()


def evaluate(arrays: dict[str, np.ndarray], env: Any, episodes: int, seed: int) -> np.ndarray:
    """Greedy undiscounted returns float64[episodes] of the policy in ``arrays``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    policy = policy_from_arrays(arrays)
    info = env_info(env)
    if info.obs_dim != policy.obs_mean.shape[0] or info.n_actions != int(policy.head[1]):
        raise ValueError("the policy in arrays does not fit env's observation/action spaces")
    return evaluate_policy(policy, env, info, int(episodes), np.random.default_rng(int(seed)))


def run(algo: str, env: Any, cfg: A2CConfig, seed: int, progress=None):
    """``numbarl.api`` family entry point: ``train(env, cfg, seed, progress)``."""
    return train(env, cfg, seed, progress)


__all__ = [
    "METRICS",
    "TUNED",
    "A2CConfig",
    "A2CHyper",
    "a2c_loss_grad",
    "a2c_update",
    "evaluate",
    "make_a2c_config",
    "run",
    "run_a2c",
    "train",
]
