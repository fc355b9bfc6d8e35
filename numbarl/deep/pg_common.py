"""What the policy-gradient learners share (REINFORCE, the off-policy IS gradient, TRPO; A2C and
PPO take GAE from ``numbarl.deep.rollout.rollout_gae``).

Policies are flat parameter vectors ``theta`` [P_actor] in the network dtype (float32 or float64;
``obs`` batches and gradient buffers share it): an MLP (``numbarl.nn``) from
observations to logits (categorical) or to means (Gaussian), followed for a Gaussian policy by
a state-independent log-std [A] stored at ``theta[P_mlp:]``. Log-probabilities, weights,
returns and the losses summed over a batch are float64 whatever the network dtype.
``continuous`` selects the head. Actions are float64[T, action_dim]: the index as a float for
categorical policies (as ``numbarl.envs`` takes them), the action vector for Gaussian ones.
(``numbarl.deep.policy``'s ``Policy.params`` = ``[actor | log_std | critic]`` starts with
exactly this vector.)

- log-probabilities and their gradient, in chunks of ``CHUNK`` rows: ``policy_log_prob``,
  ``policy_log_prob_grad`` (the score function), ``policy_workspace``, ``int_actions``;
- the score-function weights Psi_t of a rollout (``reinforce_weights``: total return or
  reward-to-go, minus no baseline, the batch mean or V(s));
- the score-function and entropy terms of a loss on the head's outputs, one kernel per head
  (``categorical_score_entropy_grad``, ``gaussian_score_entropy_grad``: PPO's and A2C's),
  batch standardisation of advantages or weights (``standardize``);
- a rollout as a weighted batch (``weighted_batch``: observations, actions, Psi_t, value
  targets);
- the critic's fit to value targets (``fit_value``, ``fit_critic``), ``mean_entropy``, and the
  Adam states of actor and critic (``Optimizers``, ``make_optimizers``);
- ``ScoreFns`` (``score_fns``): the log-probability, score-gradient, critic-fit and weight
  kernels as pointers, what REINFORCE's and the off-policy gradient's updates call.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, typeof, types

from numbarl.deep.rollout import (
    GAUSSIAN,
    Policy,
    Rollout,
    actor_params,
    episode_columns,
    flat_batch,
    make_rollout,
    permutation_into,
)
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn import (
    AdamState,
    adam_init,
    categorical_entropy,
    categorical_entropy_grad,
    categorical_log_prob,
    categorical_log_prob_grad,
    gaussian_entropy,
    gaussian_entropy_grad,
    gaussian_log_prob,
    gaussian_log_prob_grad,
    mlp_n_params,
    mlp_workspace,
)
from numbarl.nn.dual import dual
from numbarl.nn.kernel import pointer_kernel
from numbarl.nn.mlp import mlp_output
from numbarl.nn.pointers import (
    NetFns,
    Pointer,
    adam_step_via,
    backward_via,
    cache_numba_type,
    forward_via,
    net_fns,
)
from numbarl.returns import discounted_returns_kernel, total_return_kernel

RETURNS_TOTAL = 0
RETURNS_REWARD_TO_GO = 1
RETURNS = {"total": RETURNS_TOTAL, "reward_to_go": RETURNS_REWARD_TO_GO}
BASELINE_NONE = 0
BASELINE_MEAN = 1
BASELINE_VALUE = 2
BASELINES = {"none": BASELINE_NONE, "mean": BASELINE_MEAN, "value": BASELINE_VALUE}
# Rows per matrix product. OpenBLAS runs a dgemm with M * N * K <= 262144 on one thread: 64
# rows of a 64-wide layer stay below that. Measured on a loaded 2-core machine, whole-batch
# products (2000 x 64 x 64) on OpenBLAS's threads made an update ~10x slower.
CHUNK = 64


@cache_numba_type
class Optimizers(NamedTuple):
    """Adam states of the actor (actor MLP and log-std, [Pa + A]) and of the critic, in the
    parameters' dtype, and ``net``: the network functions as pointers for that dtype
    (``numbarl.nn.pointers``), which the updates pass to the kernels below (``net=``) so that
    the networks are compiled once rather than linked into every kernel."""

    actor: AdamState
    critic: AdamState
    net: NetFns


def make_optimizers(policy: Policy) -> Optimizers:
    """Fresh Adam states for ``policy``'s actor (MLP and log-std) and critic."""
    pa = policy.actor.shape[0] + policy.log_std.shape[0]
    dt = policy.params.dtype
    return Optimizers(adam_init(pa, dt), adam_init(policy.critic.shape[0], dt), net_fns(dt))


@njit(cache=True, inline="always")
def int_actions(actions: np.ndarray) -> np.ndarray:
    """Categorical action indices int64[T] from float64[T, 1]."""
    out = np.empty(actions.shape[0], dtype=np.int64)
    for t in range(actions.shape[0]):
        out[t] = int(actions[t, 0])
    return out


@njit(cache=True, inline="always")
def head_log_prob(
    continuous: bool, head: np.ndarray, log_std: np.ndarray, actions: np.ndarray
) -> np.ndarray:
    """log pi(a_t | s_t) float64[T] from the head's output [T, n_out] (logits, or Gaussian means
    with ``log_std``), actions float64[T, action_dim] (the index as a float if categorical)."""
    if continuous:
        return gaussian_log_prob(head, log_std, actions)
    return categorical_log_prob(head, int_actions(actions))


@njit(cache=True, inline="always")
def head_log_prob_grad(
    continuous: bool,
    head: np.ndarray,
    log_std: np.ndarray,
    actions: np.ndarray,
    w: np.ndarray,
    grad_head: np.ndarray,
    grad_log_std: np.ndarray,
) -> None:
    """grad_head [T, n_out] += sum_t w_t d log pi(a_t | s_t) / d head, and for a Gaussian head
    grad_log_std [A] += the same with respect to the log-std (``head_log_prob``'s gradient)."""
    if continuous:
        gaussian_log_prob_grad(head, log_std, actions, w, grad_head, grad_log_std)
    else:
        categorical_log_prob_grad(head, int_actions(actions), w, grad_head)


@dual
def policy_workspace(layout: np.ndarray, batch: int, dtype=np.float64) -> np.ndarray:  # noqa: ANN001
    """An MLP workspace for the chunked passes below on batches of ``batch`` rows, in the
    parameters' dtype (``theta.dtype``); from Python, NumPy (``numbarl.nn.dual``)."""
    return mlp_workspace(layout, min(batch, CHUNK), dtype)


@njit(cache=True)
def policy_log_prob(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    ws: np.ndarray,
    net: NetFns | None = None,
) -> np.ndarray:
    """log pi_theta(a_t | s_t) float64[T] for obs [T, obs_dim], actions float64[T, adim].

    ws: a ``policy_workspace(layout, T)`` (forward passes run on ``CHUNK`` rows at a time);
    ``net``: call the network through these pointers (``Optimizers.net``) instead of directly."""
    p = mlp_n_params(layout)
    batch = obs.shape[0]
    logp = np.empty(batch)
    for start in range(0, batch, CHUNK):
        end = min(start + CHUNK, batch)
        out = forward_via(net, theta[:p], layout, act, obs[start:end], ws)
        lp = head_log_prob(continuous, out, theta[p:], actions[start:end])
        # element copy: ``logp[start:end] = lp`` compiles Numba's shape-error formatting
        for i in range(end - start):
            logp[start + i] = lp[i]
    return logp


@njit(cache=True)
def policy_log_prob_grad(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    w: np.ndarray,
    ws: np.ndarray,
    grad: np.ndarray,
    net: NetFns | None = None,
) -> None:
    """grad [P_actor] (theta's dtype) += sum_t w_t * grad_theta log pi_theta(a_t | s_t)
    (accumulates).

    w float64[T] are the per-step weights; ws a ``policy_workspace(layout, T)``; ``net`` as
    in ``policy_log_prob``."""
    p = mlp_n_params(layout)
    batch = obs.shape[0]
    for start in range(0, batch, CHUNK):
        end = min(start + CHUNK, batch)
        out = forward_via(net, theta[:p], layout, act, obs[start:end], ws)
        grad_out = np.zeros(out.shape)
        head_log_prob_grad(
            continuous, out, theta[p:], actions[start:end], w[start:end], grad_out, grad[p:]
        )
        backward_via(net, theta[:p], layout, act, ws, grad_out, grad[:p])


@njit(cache=True, inline="always")
def categorical_score_entropy_grad(
    out: np.ndarray, actions: np.ndarray, w: np.ndarray, ent_coef: float, grad_out: np.ndarray
) -> float:
    """Accumulate (+=) the gradient of sum_b w_b log pi(a_b | out_b) - ent_coef * mean_b H_b
    into grad_out float64[M, n_out] for a categorical head; returns the mean entropy.

    ``out`` [M, n_out] the logits, ``actions`` float64[M, 1] (index as float), ``w`` float64[M]
    the weights dL/d log pi_b (the score-function term of PPO's and A2C's losses). One kernel
    per head, so an update compiles only its head's."""
    m = out.shape[0]
    categorical_log_prob_grad(out, int_actions(actions), w, grad_out)
    entropy = categorical_entropy(out).mean()
    categorical_entropy_grad(out, np.full(m, -ent_coef / m), grad_out)
    return entropy


@njit(cache=True, inline="always")
def gaussian_score_entropy_grad(
    out: np.ndarray,
    log_std: np.ndarray,
    actions: np.ndarray,
    w: np.ndarray,
    ent_coef: float,
    grad_out: np.ndarray,
    grad_log_std: np.ndarray,
) -> float:
    """``categorical_score_entropy_grad`` for a Gaussian head: ``out`` the means with
    ``log_std``, ``actions`` float64[M, action_dim]; the log-std gradient goes to
    ``grad_log_std`` [A]."""
    gaussian_log_prob_grad(out, log_std, actions, w, grad_out, grad_log_std)
    entropy = gaussian_entropy(log_std)
    gaussian_entropy_grad(log_std, -ent_coef, grad_log_std)
    return entropy


@njit(cache=True, inline="always")
def standardize(x: np.ndarray, center: bool) -> None:
    """In place: x = (x - mean) / (std + 1e-8) (``center``) or x / (std + 1e-8), std the
    unbiased (n - 1) standard deviation, as torch's ``std``; nothing for fewer than 2 entries."""
    n = x.shape[0]
    if n < 2:
        return
    mean = x.mean()
    std = np.sqrt(((x - mean) ** 2).sum() / (n - 1))
    for j in range(n):
        x[j] = ((x[j] - mean) if center else x[j]) / (std + 1e-8)


@pointer_kernel(cache=True)
def reinforce_weights(
    buf: Rollout, returns: int, baseline: int, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """(Psi float64[T * N], value targets float64[T * N]) for a rollout, flattened like
    ``buf.obs.reshape(T * N, -1)``.

    Per env copy: R(tau) of the step's episode (``RETURNS_TOTAL``) or the discounted
    reward-to-go G_t; then minus the batch mean (``BASELINE_MEAN``) or V_old(s_t) =
    ``buf.values`` (``BASELINE_VALUE``). Value targets are G_t. G_t is bootstrapped from
    ``buf.next_values`` at cuts only with ``BASELINE_VALUE`` (the critic is untrained otherwise)."""
    n_steps, n = buf.rewards.shape
    psi = np.empty((n_steps, n))
    targets = np.empty((n_steps, n))
    r, _, next_values, term, trunc = episode_columns(buf, 1.0)
    no_bootstrap = np.zeros(n_steps)
    for i in range(n):
        nv = next_values[i] if baseline == BASELINE_VALUE else no_bootstrap
        g = discounted_returns_kernel(r[i], nv, term[i], trunc[i], gamma)
        if returns == RETURNS_TOTAL:
            w, _ = total_return_kernel(r[i], term[i], trunc[i])
        else:
            w = g
        for t in range(n_steps):
            psi[t, i] = w[t]
            targets[t, i] = g[t]
    if baseline == BASELINE_MEAN:
        psi -= psi.mean()
    elif baseline == BASELINE_VALUE:
        psi -= buf.values
    return psi.reshape(n_steps * n), targets.reshape(n_steps * n)


@njit(cache=True, inline="always")
def weighted_batch(buf: Rollout, returns: int, hp, weights):  # noqa: ANN001, ANN201
    """(obs, actions, Psi float64[T * N], value targets float64[T * N]) of a rollout for the
    score-function learners: ``flat_batch(buf)`` and ``weights`` (``reinforce_weights``, or
    ``ScoreFns.weights``) with ``hp``'s ``baseline`` and ``gamma``, Psi divided by its batch
    standard deviation if ``hp.norm_weights``."""
    obs, actions = flat_batch(buf)
    psi, targets = weights(buf, returns, hp.baseline, hp.gamma)
    if hp.norm_weights:
        standardize(psi, False)
    return obs, actions, psi, targets


class FitWork(NamedTuple):
    """``fit_value``'s arrays for a batch of ``batch`` rows in minibatches of
    ``mb = max(1, batch // minibatches)`` (``fit_work``): the critic's workspace ``ws`` for
    ``min(mb, CHUNK)`` rows, the minibatch ``xb`` [mb, obs_dim] (the network's dtype) and
    ``yb`` float64[mb], the critic's gradient ``grad`` (its dtype), ``grad_v`` float64[mb, 1]
    and the shuffle ``perm`` int64[batch].

    Allocated once per run by NumPy in Python (``fit_work``): allocating them in ``fit_value``
    compiled Numba's allocations and ``mlp_workspace`` into it at every cold start."""

    ws: np.ndarray
    xb: np.ndarray
    yb: np.ndarray
    grad: np.ndarray
    grad_v: np.ndarray
    perm: np.ndarray


def fit_work(policy: Policy, batch: int, minibatches: int) -> FitWork:
    """A ``FitWork`` for fits of ``policy``'s critic on ``batch`` rows in ``minibatches``."""
    mb = max(1, batch // minibatches)
    dt, d = policy.critic.dtype, policy.obs_mean.shape[0]
    return FitWork(  # NumPy in Python (the workspace is dual): nothing compiled here
        policy_workspace(policy.critic_layout, mb, dt),
        np.zeros((mb, d), policy.params.dtype),
        np.zeros(mb),
        np.zeros(policy.critic.shape[0], dt),
        np.zeros((mb, 1)),
        np.zeros(batch, dtype=np.int64),
    )


@pointer_kernel(cache=True)
def fit_value(
    policy: Policy,
    obs: np.ndarray,
    targets: np.ndarray,
    adam: AdamState,
    lr: float,
    epochs: int,
    minibatches: int,
    rng: np.random.Generator,
    work: FitWork,
    net: NetFns | None = None,
) -> float:
    """Fit the critic V(s) to ``targets`` float64[B] on obs [B, obs_dim]: ``epochs``
    passes over ``minibatches`` shuffled minibatches (``rng.permutation``), one Adam step on
    0.5 mean (V - target)^2 each. Returns the mean loss over the steps. ``work`` from
    ``fit_work(policy, B, minibatches)`` (for another B: no fit, NaN returned); ``net`` as in
    ``policy_log_prob`` (the network and Adam through pointers)."""
    batch, d = obs.shape
    mb = max(1, batch // minibatches)
    act = policy.head[3]
    ws, xb, yb, grad, grad_v, perm = work.ws, work.xb, work.yb, work.grad, work.grad_v, work.perm
    if perm.shape[0] != batch or xb.shape[0] != mb or grad.shape[0] != policy.critic.shape[0]:
        return np.nan  # a work for another batch: no fit (a pointer kernel cannot raise)
    total = 0.0
    count = 0
    for _ in range(epochs):
        permutation_into(rng, perm)
        for k in range(batch // mb):
            for j in range(mb):
                s = perm[k * mb + j]
                for c in range(d):  # element loop: ``xb[j] = obs[s]`` costs ~3 s of cold compile
                    xb[j, c] = obs[s, c]
                yb[j] = targets[s]
            grad[:] = 0.0
            loss = 0.0
            for c0 in range(0, mb, CHUNK):
                c1 = min(c0 + CHUNK, mb)
                v = forward_via(net, policy.critic, policy.critic_layout, act, xb[c0:c1], ws)
                for j in range(c0, c1):
                    diff = v[j - c0, 0] - yb[j]
                    loss += 0.5 * diff * diff
                    grad_v[j, 0] = diff / mb
                backward_via(net, policy.critic, policy.critic_layout, act, ws, grad_v[c0:c1], grad)
            adam_step_via(net, policy.critic, grad, adam, lr)
            total += loss / mb
            count += 1
    return total / max(count, 1)


@njit(cache=True, inline="always")
def fit_critic(
    policy: Policy,
    obs: np.ndarray,
    targets: np.ndarray,
    opt: Optimizers,
    hp,
    rng,
    fit,  # noqa: ANN001
    work: FitWork,
) -> float:
    """The score-function learners' critic step: ``fit`` (``fit_value``, or
    ``ScoreFns.fit_value``) with ``hp``'s ``lr_value``, ``value_epochs`` and
    ``value_minibatches`` on ``work`` when ``hp.baseline`` is ``BASELINE_VALUE`` (its mean
    loss), else 0.0 (no critic to fit, no draws from ``rng``)."""
    if hp.baseline != BASELINE_VALUE:
        return 0.0
    return fit(
        policy, obs, targets, opt.critic, hp.lr_value, hp.value_epochs, hp.value_minibatches, rng,
        work, opt.net,
    )  # fmt: skip


class ScoreWork(NamedTuple):
    """The score-function updates' arrays (REINFORCE, the off-policy gradient; ``score_work``):
    the actor's workspace ``ws`` for the chunked passes (``policy_workspace``), its gradient
    ``grad`` (the parameters' dtype) and the critic fit's ``fit`` (``FitWork``). Allocated once
    per run by NumPy in Python, as ``FitWork``."""

    ws: np.ndarray
    grad: np.ndarray
    fit: FitWork


def score_work(policy: Policy, batch: int, minibatches: int) -> ScoreWork:
    """A ``ScoreWork`` for updates on ``batch`` steps (the critic fit in ``minibatches``)."""
    theta = actor_params.py_func(policy)[0]  # NumPy in Python: nothing compiled here
    return ScoreWork(
        policy_workspace(policy.actor_layout, batch, theta.dtype),
        np.zeros_like(theta),
        fit_work(policy, batch, minibatches),
    )


@njit(cache=True, inline="always")
def mean_entropy(policy: Policy, obs: np.ndarray, net: NetFns, ws: np.ndarray) -> float:
    """Mean entropy of pi(.|s) over obs [B, obs_dim] (the Gaussian's is state-free); the actor
    called through ``net`` (``Optimizers.net``) on the workspace ``ws``
    (``policy_workspace(layout, B)``)."""
    if policy.head[0] == GAUSSIAN:
        return gaussian_entropy(policy.log_std)
    batch = obs.shape[0]
    total = 0.0
    for start in range(0, batch, CHUNK):
        end = min(start + CHUNK, batch)
        net.forward(policy.actor, policy.actor_layout, policy.head[3], obs[start:end], ws)
        total += categorical_entropy(mlp_output(policy.actor_layout, end - start, ws)).sum()
    return total / batch


@cache_numba_type
class ScoreFns(NamedTuple):
    """The score-function learners' (REINFORCE, the off-policy gradient) big kernels as
    pointers, so each compiles once, on its own and alongside the others on a cold cache
    (``numbarl.precompile``), instead of inside every update that calls it: ``log_prob`` is
    ``policy_log_prob``, ``log_prob_grad`` ``policy_log_prob_grad`` (both with ``net``
    given), ``fit_value`` and ``weights`` (``reinforce_weights``) themselves. Built by
    ``score_fns``; one call each per update."""

    log_prob: FunctionPointer
    log_prob_grad: FunctionPointer
    fit_value: FunctionPointer
    weights: FunctionPointer


def direct_score_fns() -> ScoreFns:
    """``ScoreFns`` holding the kernels themselves (called directly, compiled into the caller):
    what ``score_fns`` points to, for a caller without a ``Policy`` (the gradient tests)."""
    return ScoreFns(policy_log_prob, policy_log_prob_grad, fit_value, reinforce_weights)


def score_fns(policy: Policy, opt: Optimizers) -> ScoreFns:
    """``ScoreFns`` compiled for the argument types the updates pass: ``policy``'s dtype and
    records, the batch ``flat_batch`` gives of its rollouts, ``opt``'s ``net`` and critic
    state."""
    f8, i8 = types.float64, types.int64
    dt = typeof(policy.params).dtype
    # a rollout's Numba type holds its dtypes and ranks, not its sizes
    one = make_rollout(1, 1, policy.obs_mean.shape[0], int(policy.head[2]), policy.params.dtype)
    theta, v64 = types.Array(dt, 1, "C"), types.Array(f8, 1, "C")
    obs, actions = types.Array(dt, 2, "C"), types.Array(f8, 2, "C")
    layout, net = typeof(policy.actor_layout), typeof(opt.net)
    rng = types.NumPyRandomGeneratorType("NumPyRandomGeneratorType")
    head = (theta, layout, i8, types.boolean, obs, actions)
    fit = typeof(fit_work(policy, 1, 1))  # its Numba type holds dtypes and ranks, not sizes
    return ScoreFns(
        Pointer(policy_log_prob, v64(*head, theta, net)),
        Pointer(policy_log_prob_grad, types.none(*head, v64, theta, theta, net)),
        Pointer(
            fit_value,
            f8(typeof(policy), obs, v64, typeof(opt.critic), f8, i8, i8, rng, fit, net),
        ),
        Pointer(reinforce_weights, types.UniTuple(v64, 2)(typeof(one), i8, i8, f8)),
    )
