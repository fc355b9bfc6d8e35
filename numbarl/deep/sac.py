"""Soft Actor-Critic with automatic entropy tuning (Haarnoja et al. 2018, "Soft Actor-Critic
Algorithms and Applications", the version SB3 and CleanRL implement).

Reads top to bottom like CleanRL's ``sac_continuous_action.py``: config, the policy's kernels
(sample, log-probability, their backward pass), one gradient step, the compiled training loop,
then the Python shell ``train``/``evaluate``. The pieces shared with DDPG/TD3 come from
``numbarl.deep.actor_critic`` (networks as arrays, critic kernels, batch sampling),
``numbarl.deep.exploration`` (the env step, episode book-keeping) and ``numbarl.deep.ac_train``
(config checks and the training shell: building the networks, replay and run state, the chunked
loop with evaluation, history and divergence); replay from ``numbarl.deep.replay``; the tanh
log-det-Jacobian from ``numbarl.nn.heads``. Networks, their gradients and Adam states are in the
config's ``dtype`` (float32 by default; ``real`` below); the temperature, the policy's per-action
quantities (u, log-std, log-probabilities) and the losses stay float64.

Networks (an ``actor_critic.ActorCritic`` of arrays)
---------------------------------------------------
- ``actor`` real[Pa]: obs -> hidden -> 2A, the first A outputs the Gaussian mean m(s), the
  last A a raw r(s) mapped to log sigma(s) = lmin + (lmax - lmin) (tanh(r) + 1) / 2 in
  [lmin, lmax] = [-5, 2] (CleanRL's bounded log-std). ``actor_target`` is a copy of the
  initial actor kept only so the arrays have DDPG/TD3's layout (SAC has no target actor).
- ``critics`` real[2, Pc]: twin Q networks on ``[s, a]``; ``critics_target``: their Polyak
  averages.
- The policy: u = m(s) + sigma(s) eps, eps ~ N(0, I); a = mid + half tanh(u) inside the action
  box (``mid = (high + low) / 2``, ``half = (high - low) / 2``). Its log-density is that of the
  squashed action tanh(u) in (-1, 1)^A, as SB3 computes it (eq. 26 of the paper):
  log pi(a|s) = sum_j [log N(u_j; m_j, sigma_j) - log(1 - tanh(u_j)^2)]. The constant
  -sum_j log(half_j) of the rescaling is left out, so the target entropy -dim(A) means what it
  means in SB3 whatever the action bounds. The deterministic (evaluation) action is
  mid + half tanh(m(s)): ``actor_critic.evaluate`` reads the first A outputs, so it serves SAC.

One gradient step (SB3's ``SAC.train`` order), on a batch (s, a, r, s', d = gamma (1 - term)):
1. reparameterised sample at s: u = m + sigma eps, a~ = mid + half tanh(u), log pi(a~|s);
2. temperature (eq. 18): J(alpha) = -mean_b log(alpha) (log pi(a~_b|s_b) + target_entropy),
   one Adam step on log(alpha) (target_entropy = ``target_entropy_per_dim`` * dim(A), -dim(A) by
   default); this step uses the alpha from before the update. With ``autotune`` False alpha
   stays ``alpha``;
3. soft Bellman target (eq. 3, 5 with the clipped double-Q of TD3): a' ~ pi(.|s'),
   y = r + d (min_c Q'_c(s', a') - alpha log pi(a'|s')); one Adam step on both critics'
   mean_b (Q_c(s, a) - y)^2;
4. actor (eq. 7, 13): J(theta) = mean_b [alpha log pi(a~_b|s_b) - min_c Q_c(s_b, a~_b)] through
   the updated critics' dQ/da and the reparameterisation (the same eps as step 1);
5. critics' targets: phi' <- tau phi + (1 - tau) phi'.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import DTypeLike

from numbarl.config import merge_config
from numbarl.deep.ac_train import (
    CONFIG_RANGES,
    check_env,
    gym_chunk,
    mean_or_nan,
    run_chunks,
    start,
    update_pointer,
)
from numbarl.deep.ac_train import evaluate as _evaluate_actor
from numbarl.deep.actor_critic import (
    ACTOR_DIVERGED,
    ALPHA_DIVERGED,
    CRITIC_DIVERGED,
    OK,
    ACFns,
    ActorCritic,
    RunState,
    TrainState,
    Workspace,
    actor_critic_arrays,
    all_finite,
    critic_input,
    critic_input_grad,
    critic_loss_grad,
    forward_via,
    make_actor_critic,
    min_target_q,
    sample_batch,
)
from numbarl.deep.exploration import store_step
from numbarl.deep.train import Progress, TrainOutput
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn import (
    DTYPES,
    AdamState,
    adam_init,
    adam_step,
    polyak_update,
    tanh_log_det_jacobian,
    tanh_log_det_jacobian_grad,
)
from numbarl.nn.kernel import pointer_kernel, python_kernel
from numbarl.nn.pointers import StepFns, adam_step_via, backward_via, step_fns
from numbarl.nn.threads import single_threaded_blas
from numbarl.validation import AT_LEAST_ONE, NON_NEGATIVE, check_seed

# Tuned configs per env id (as rl-zoo keeps them), used when the user sets nothing.
# Pendulum: rl-zoo3's row (Adam 1e-3, 20k steps) on 64-wide networks with batch 64 (the
# DDPG/TD3 rows' size: 256-wide layers cost 10x per update and learn no faster here).
_SMALL = dict(learning_starts=1_000, batch_size=64, hidden=64, actor_lr=1e-3, critic_lr=1e-3)
TUNED: dict[str, dict[str, Any]] = {
    "Pendulum-v1": dict(
        total_steps=15_000,
        **_SMALL,
        alpha_lr=1e-3,
        eval_every=1_000,
        stop_at_return=-170.0,  # margin over the -200 goal for a fresh evaluation
    ),
}

LOG_STD_MIN = -5.0
LOG_STD_MAX = 2.0


class SACConfig(NamedTuple):
    """SAC hyperparameters (SB3's / CleanRL's defaults unless noted); fields are CSV columns.

    ``alpha``: the entropy temperature's start value when ``autotune`` (SB3's "auto_1.0"), its
    fixed value otherwise. ``alpha_lr``: Adam step size on log(alpha). ``target_entropy_per_dim``:
    the target entropy is this times dim(A) (-dim(A), the paper's heuristic, by default).
    ``hidden``/``n_layers``: width and number of hidden layers of actor and critics;
    ``hidden2`` > 0 gives the second and later hidden layers that width. ``dtype``: the
    networks' (and replay's) float type, "float32" or "float64" (the temperature stays float64).
    ``gradient_steps``: updates per env step once ``learning_starts`` uniform-random steps have
    been taken. ``eval_every``: env steps between deterministic evaluations (history rows).
    ``stop_at_return``: stop once an evaluation's mean return reaches it. ``obs_scaling``: map
    the (bounded) observation space onto [-1, 1] before the networks see it."""

    total_steps: int = 1_000_000
    learning_starts: int = 5_000
    buffer_size: int = 1_000_000
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    alpha_lr: float = 3e-4
    alpha: float = 1.0
    autotune: bool = True
    target_entropy_per_dim: float = -1.0
    hidden: int = 256
    hidden2: int = 0
    n_layers: int = 2
    activation: str = "relu"
    init: str = "uniform"
    obs_scaling: bool = False
    gradient_steps: int = 1
    eval_every: int = 5_000
    eval_episodes: int = 10
    stop_at_return: float = math.inf
    dtype: str = "float32"

    _choices = {"activation": ("tanh", "relu"), "init": ("uniform", "orthogonal"), "dtype": DTYPES}
    _ranges = CONFIG_RANGES | {
        "alpha_lr": (0.0, None, False, True),
        "alpha": (0.0, None, False, False),
        "target_entropy_per_dim": (None, None, True, True),
        "gradient_steps": AT_LEAST_ONE,
        "learning_starts": NON_NEGATIVE,
    }


class SACHyper(NamedTuple):
    """The numeric hyperparameters compiled code reads (``target_entropy`` already times
    dim(A))."""

    learning_starts: int
    batch_size: int
    gamma: float
    tau: float
    actor_lr: float
    critic_lr: float
    alpha_lr: float
    autotune: bool
    target_entropy: float
    gradient_steps: int


class SACState(NamedTuple):
    """What SAC adds to the shared networks and workspace (``make_sac_state``).

    ``log_alpha`` float64[1] the temperature's logarithm (the parameter Adam moves), its Adam
    state ``alpha_adam`` and gradient ``alpha_grad`` float64[1]. The actor's sample at s (steps
    1 and 4): ``eps`` (standard normals), ``u`` (pre-squash), ``log_std``, ``ls_tanh`` (tanh of
    the raw log-std output) float64[B, A], ``logp`` float64[B]; its backward pass: ``w_logp``
    float64[B] (dL/dlogp), ``grad_q2`` float64[B, 1] (the second critic's upstream gradient),
    ``grad_x2`` float64[B, obs_dim + A] (its input gradient), ``grad_out`` float64[B, 2A] (at
    the actor's output). The sample at s' (step 3): ``next_eps``, ``next_u``,
    ``next_log_std``, ``next_ls_tanh``, ``next_actions`` float64[B, A], ``next_logp``
    float64[B]. One behaviour action: ``act_eps``, ``act_u``, ``act_log_std``,
    ``act_ls_tanh`` float64[1, A], ``act_logp`` float64[1]."""

    log_alpha: np.ndarray
    alpha_adam: AdamState
    alpha_grad: np.ndarray
    eps: np.ndarray
    u: np.ndarray
    log_std: np.ndarray
    ls_tanh: np.ndarray
    logp: np.ndarray
    w_logp: np.ndarray
    grad_q2: np.ndarray
    grad_x2: np.ndarray
    grad_out: np.ndarray
    next_eps: np.ndarray
    next_u: np.ndarray
    next_log_std: np.ndarray
    next_ls_tanh: np.ndarray
    next_actions: np.ndarray
    next_logp: np.ndarray
    act_eps: np.ndarray
    act_u: np.ndarray
    act_log_std: np.ndarray
    act_ls_tanh: np.ndarray
    act_logp: np.ndarray


# Sums in ``run.metrics`` (float64[N_METRICS]) since the caller last zeroed them. Slots 5 and 6
# are ``actor_critic.end_episode``'s (finished training-episode returns, their count).
Q1_LOSS, Q2_LOSS, CRITIC_UPDATES, ACTOR_LOSS, ACTOR_UPDATES = 0, 1, 2, 3, 4
ALPHA, ENTROPY, ALPHA_LOSS, Q_MEAN = 7, 8, 9, 10
N_METRICS = 11

# What an update returns: ``actor_critic``'s OK, CRITIC_DIVERGED, ACTOR_DIVERGED or
# ALPHA_DIVERGED (which update left non-finite parameters; nothing after it ran).


# ---------------------------------------------------------------------------------------------
# Building (Python)
# ---------------------------------------------------------------------------------------------


def make_sac_nets(
    obs_dim: int,
    action_low: np.ndarray,
    action_high: np.ndarray,
    rng: np.random.Generator,
    hidden: tuple[int, ...] = (256, 256),
    activation: int = 1,
    init: str = "uniform",
    obs_low: np.ndarray | None = None,
    obs_high: np.ndarray | None = None,
    dtype: DTypeLike = np.float64,
) -> ActorCritic:
    """Fresh networks drawn from ``rng``: the actor obs_dim -> hidden -> 2A (mean, raw log-std),
    then two critics obs_dim + A -> hidden -> 1; targets are copies. ``init``/``obs_low``/
    ``obs_high``/``dtype`` as in ``actor_critic.make_actor_critic``."""
    n_act = np.asarray(action_low).reshape(-1).shape[0]
    return make_actor_critic(
        obs_dim, action_low, action_high, rng, hidden, 2, activation, init, obs_low, obs_high,
        dtype, policy_outputs=2 * n_act,
    )  # fmt: skip


def make_sac_state(
    n_act: int,
    obs_dim: int,
    batch: int,
    alpha: float,
    dtype=np.float64,  # noqa: ANN001
) -> SACState:
    """A fresh ``SACState`` for batches of ``batch`` rows, log(alpha) = log(``alpha``);
    ``dtype`` is the networks' (``nets.actor.dtype``, not a string): the gradients that enter a
    network's backward pass (``grad_q2``, ``grad_x2``, ``grad_out``) are in it."""
    return SACState(
        np.full(1, math.log(alpha)),  # libm, as compiled np.log
        adam_init(1),
        np.zeros(1),
        np.zeros((batch, n_act)),
        np.zeros((batch, n_act)),
        np.zeros((batch, n_act)),
        np.zeros((batch, n_act)),
        np.zeros(batch),
        np.zeros(batch),
        np.zeros((batch, 1), dtype),
        np.zeros((batch, obs_dim + n_act), dtype),
        np.zeros((batch, 2 * n_act), dtype),
        np.zeros((batch, n_act)),
        np.zeros((batch, n_act)),
        np.zeros((batch, n_act)),
        np.zeros((batch, n_act)),
        np.zeros((batch, n_act)),
        np.zeros(batch),
        np.zeros((1, n_act)),
        np.zeros((1, n_act)),
        np.zeros((1, n_act)),
        np.zeros((1, n_act)),
        np.zeros(1),
    )


# ---------------------------------------------------------------------------------------------
# The squashed Gaussian policy: sample, log-probability, backward pass
# ---------------------------------------------------------------------------------------------

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True, error_model="numpy", inline="always")
def policy_sample(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    obs: np.ndarray,
    ws: np.ndarray,
    eps: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    u: np.ndarray,
    log_std: np.ndarray,
    ls_tanh: np.ndarray,
    actions: np.ndarray,
    logp: np.ndarray,
    net: ACFns | None = None,
) -> None:
    """Reparameterised actions of the policy at obs float64[B, obs_dim] for given standard
    normals eps float64[B, A]: u = m + sigma eps, actions = mid + half tanh(u) float64[B, A],
    and logp float64[B] = log pi of tanh(u) (module docstring). Also writes u, log_std and
    ls_tanh (tanh of the raw log-std output) float64[B, A] for ``policy_backward``; ``ws``
    keeps the actor's activations. ``net``: the actor's forward through this pointer
    (``actor_critic.ACFns``), or called directly (None; the same in the kernels below)."""
    n_act = low.shape[0]
    out = forward_via(net, theta, layout, act, obs, ws)
    batch = obs.shape[0]
    for b in range(batch):
        lp = 0.0
        for j in range(n_act):
            t = np.tanh(out[b, n_act + j])
            ls = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (t + 1.0)
            ls_tanh[b, j] = t
            log_std[b, j] = ls
            uj = out[b, j] + np.exp(ls) * eps[b, j]
            u[b, j] = uj
            actions[b, j] = 0.5 * (high[j] + low[j]) + 0.5 * (high[j] - low[j]) * np.tanh(uj)
            lp += -0.5 * eps[b, j] * eps[b, j] - ls - _HALF_LOG_2PI  # log N(u; m, sigma)
        logp[b] = lp
    # minus sum_j log(1 - tanh(u_j)^2): the change of variables through tanh (eq. 26); an
    # element loop (a slice's ``-=`` compiles Numba's shape-error formatting)
    log_det = tanh_log_det_jacobian(u[:batch])
    for b in range(batch):
        logp[b] -= log_det[b]


@njit(cache=True, error_model="numpy", inline="always")
def policy_backward(
    eps: np.ndarray,
    u: np.ndarray,
    log_std: np.ndarray,
    ls_tanh: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    w_logp: np.ndarray,
    grad_a: np.ndarray,
    grad_out: np.ndarray,
) -> None:
    """The gradient at the actor's output float64[B, 2A] (written into ``grad_out``) of a loss
    L with dL/dlogp_b = w_logp[b] float64[B] and dL/da = grad_a float64[B, A], through the
    reparameterised sample of ``policy_sample`` (eps held fixed).

    With u = m + sigma eps, a = mid + half tanh(u) and logp = sum_j (-eps_j^2 / 2 - log sigma_j
    - log(2 pi) / 2 - log(1 - tanh(u_j)^2)):
    dL/du_j = grad_a_j half_j (1 - tanh(u_j)^2) + w_logp 2 tanh(u_j);
    dL/dm_j = dL/du_j; dL/dlog sigma_j = dL/du_j sigma_j eps_j - w_logp;
    dL/dr_j = dL/dlog sigma_j (lmax - lmin) / 2 (1 - tanh(r_j)^2)."""
    batch, n_act = u.shape
    grad_u = grad_out[:, :n_act]
    for b in range(batch):
        for j in range(n_act):
            t = np.tanh(u[b, j])
            grad_u[b, j] = grad_a[b, j] * 0.5 * (high[j] - low[j]) * (1.0 - t * t)
    # the log-det-Jacobian's share: d/du of -log(1 - tanh(u)^2), weighted by w_logp (the
    # weights negated in a loop: an array's negation would compile Numba's ufunc machinery)
    neg_w = np.empty(batch)
    for b in range(batch):
        neg_w[b] = -w_logp[b]
    tanh_log_det_jacobian_grad(u, neg_w, grad_u)
    for b in range(batch):
        for j in range(n_act):
            g_ls = grad_u[b, j] * np.exp(log_std[b, j]) * eps[b, j] - w_logp[b]
            tr = ls_tanh[b, j]
            grad_out[b, n_act + j] = g_ls * 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (1.0 - tr * tr)


# ---------------------------------------------------------------------------------------------
# Losses and their gradients
# ---------------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def alpha_loss_grad(log_alpha: float, logp: np.ndarray, target_entropy: float) -> tuple:
    """SAC's temperature loss (eq. 18, as SB3 writes it) J = -mean_b log_alpha (logp_b +
    target_entropy) for logp float64[B] (no gradient into the policy), and dJ/dlog_alpha =
    -mean_b (logp_b + target_entropy). Returns (loss, grad)."""
    total = 0.0
    for b in range(logp.shape[0]):
        total += logp[b] + target_entropy
    mean = total / logp.shape[0]
    return -log_alpha * mean, -mean


@njit(cache=True, inline="always")
def soft_targets(
    r_t: np.ndarray,
    discount_t: np.ndarray,
    q_t: np.ndarray,
    logp_t: np.ndarray,
    alpha: float,
    y: np.ndarray,
) -> None:
    """The soft Bellman target y = r_t + discount_t (q_t - alpha logp_t), float64[B] (eq. 3, 5):
    q_t = min_c Q'_c(s', a'), a' ~ pi(.|s') with log-probability logp_t. ``discount_t`` is gamma
    (1 - terminated): a time-limit cut keeps gamma and bootstraps from the real final s'."""
    for b in range(r_t.shape[0]):
        y[b] = r_t[b] + discount_t[b] * (q_t[b] - alpha * logp_t[b])


@njit(cache=True, error_model="numpy", inline="always")
def actor_loss_grad(
    nets: ActorCritic,
    obs: np.ndarray,
    alpha: float,
    ws: Workspace,
    sac: SACState,
    grad: np.ndarray,
    net: ACFns | None = None,
) -> float:
    """The actor loss mean_b [alpha logp_b - min(Q_1, Q_2)(s_b, a~_b)] (eq. 7 with the twin
    minimum) for obs float64[B, obs_dim], at the sample already written by ``policy_sample``
    into ``sac`` (u, log_std, ls_tanh, logp, eps) and ``ws.actions`` (a~), with ``ws.actor_ws``
    holding that forward. Its gradient wrt theta is added into grad float64[Pa].

    dL/da comes from the input gradient of whichever critic is the smaller at each row
    (``actor_critic.critic_input_grad``, action columns). Returns the loss."""
    act = nets.activation[0]
    batch, d = obs.shape
    n_act = nets.action_low.shape[0]
    x = critic_input(obs, ws.actions[:batch], ws.x)
    q1 = forward_via(net, nets.critics[0], nets.critic_layout, act, x, ws.critic_ws)
    q2 = forward_via(net, nets.critics[1], nets.critic_layout, act, x, ws.target_ws)
    loss = 0.0
    w_logp, grad_q2 = sac.w_logp[:batch], sac.grad_q2[:batch]
    for b in range(batch):
        first = q1[b, 0] <= q2[b, 0]
        q_min = q1[b, 0] if first else q2[b, 0]
        loss += alpha * sac.logp[b] - q_min
        ws.grad_q[b, 0] = -1.0 / batch if first else 0.0
        grad_q2[b, 0] = 0.0 if first else -1.0 / batch
        w_logp[b] = alpha / batch
    grad_x, grad_x2 = ws.grad_x[:batch], sac.grad_x2[:batch]
    critic_input_grad(
        nets.critics[0], nets.critic_layout, act, ws.critic_ws, ws.grad_q[:batch], grad_x, net
    )
    critic_input_grad(nets.critics[1], nets.critic_layout, act, ws.target_ws, grad_q2, grad_x2, net)
    grad_a = ws.grad_u[:batch]
    for b in range(batch):
        for j in range(n_act):
            grad_a[b, j] = grad_x[b, d + j] + grad_x2[b, d + j]
    grad_out = sac.grad_out[:batch]
    policy_backward(
        sac.eps[:batch], sac.u[:batch], sac.log_std[:batch], sac.ls_tanh[:batch],
        nets.action_low, nets.action_high, w_logp, grad_a, grad_out,
    )  # fmt: skip
    backward_via(net, nets.actor, nets.actor_layout, act, ws.actor_ws, grad_out, grad)
    return loss / batch


# ---------------------------------------------------------------------------------------------
# One gradient step and the compiled loop
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True, error_model="numpy")
def sac_update(ts: TrainState, sac: SACState, hp: SACHyper, rng: np.random.Generator) -> int:
    """One SAC gradient step on a batch sampled uniformly from ``ts.buf`` (steps 1-5 of the
    module docstring). Returns OK, or CRITIC_DIVERGED / ACTOR_DIVERGED / ALPHA_DIVERGED when
    that update left non-finite parameters (nothing after it is done). Adds to
    ``ts.run.metrics`` (slots named at the top of this module) and counts updates in
    ``ts.run.counters`` [1] (critic) and [2] (actor)."""
    nets, ws, run = ts.nets, ts.ws, ts.run
    act = nets.activation[0]
    low, high = nets.action_low, nets.action_high
    batch = hp.batch_size
    n_act = low.shape[0]
    # The kernels get ``ts.net`` at each call: passing a local ``net = ts.net`` to the inlined
    # kernels instead gave other numbers (every golden run changed; Numba's IR inlining).
    sample_batch(ts.buf, ws, hp.gamma, rng)

    # 1. Reparameterised sample at s (eps kept for the actor's backward pass in step 4).
    for b in range(batch):
        for j in range(n_act):
            sac.eps[b, j] = rng.standard_normal()
    policy_sample(
        nets.actor, nets.actor_layout, act, ws.obs, ws.actor_ws, sac.eps, low, high, sac.u,
        sac.log_std, sac.ls_tanh, ws.actions, sac.logp, ts.net,
    )  # fmt: skip

    # 2. Temperature, eq. 18: one Adam step on log(alpha); this step uses the alpha before it.
    alpha = np.exp(sac.log_alpha[0])
    alpha_loss, sac.alpha_grad[0] = alpha_loss_grad(sac.log_alpha[0], sac.logp, hp.target_entropy)
    if hp.autotune:
        adam_step(sac.log_alpha, sac.alpha_grad, sac.alpha_adam, hp.alpha_lr)
        if not np.isfinite(sac.log_alpha[0]):
            return ALPHA_DIVERGED
    entropy = 0.0
    for b in range(batch):
        entropy -= sac.logp[b]
    run.metrics[ALPHA] += alpha
    run.metrics[ENTROPY] += entropy / batch
    run.metrics[ALPHA_LOSS] += alpha_loss

    # 3. Soft Bellman target, eq. 3/5: y = r + d (min_c Q'_c(s', a') - alpha log pi(a'|s')),
    # a' ~ pi(.|s') with its own draws (the actor's activations at s stay in ws.actor_ws).
    for b in range(batch):
        for j in range(n_act):
            sac.next_eps[b, j] = rng.standard_normal()
    policy_sample(
        nets.actor, nets.actor_layout, act, ws.next_obs, ws.target_ws, sac.next_eps, low, high,
        sac.next_u, sac.next_log_std, sac.next_ls_tanh, sac.next_actions, sac.next_logp, ts.net,
    )  # fmt: skip
    x_next = critic_input(ws.next_obs, sac.next_actions, ws.x)
    min_target_q(
        nets.critics_target, nets.critic_layout, act, x_next, ws.target_ws, ws.q_next, ts.net
    )
    soft_targets(ws.ret, ws.discount, ws.q_next, sac.next_logp, alpha, ws.y)

    # Both critics: minimise sum_c mean_b (Q_c(s, a) - y)^2.
    x = critic_input(ws.obs, ws.action, ws.x)
    grad = ws.critic_grad
    grad[:] = 0.0
    l1, q_mean = critic_loss_grad(
        nets.critics[0], nets.critic_layout, act, x, ws.y, ws.critic_ws, ws.grad_q, grad[0], ts.net
    )
    l2, _ = critic_loss_grad(
        nets.critics[1], nets.critic_layout, act, x, ws.y, ws.critic_ws, ws.grad_q, grad[1], ts.net
    )
    adam_step_via(ts.net, nets.critics.reshape(-1), grad.reshape(-1), ts.critic_adam, hp.critic_lr)
    run.counters[1] += 1
    if not all_finite(nets.critics):
        return CRITIC_DIVERGED
    run.metrics[Q1_LOSS] += l1
    run.metrics[Q2_LOSS] += l2
    run.metrics[Q_MEAN] += q_mean
    run.metrics[CRITIC_UPDATES] += 1.0

    # 4. Actor, eq. 7: mean_b [alpha log pi(a~|s) - min_c Q_c(s, a~)] at step 1's sample
    # (a~ still in ws.actions, the actor's activations at s in ws.actor_ws).
    ws.actor_grad[:] = 0.0
    loss = actor_loss_grad(nets, ws.obs, alpha, ws, sac, ws.actor_grad, ts.net)
    adam_step_via(ts.net, nets.actor, ws.actor_grad, ts.actor_adam, hp.actor_lr)
    run.counters[2] += 1
    if not all_finite(nets.actor):
        return ACTOR_DIVERGED
    run.metrics[ACTOR_LOSS] += loss
    run.metrics[ACTOR_UPDATES] += 1.0

    # 5. Slowly tracking critic targets: phi' <- tau phi + (1 - tau) phi'.
    polyak_update(nets.critics_target.reshape(-1), nets.critics.reshape(-1), hp.tau)
    return OK


@njit(cache=True, inline="always")
def sac_action(
    nets: ActorCritic,
    sac: SACState,
    run: RunState,
    obs: np.ndarray,
    uniform: bool,
    rng: np.random.Generator,
    net: ACFns | None = None,
) -> None:
    """Write the behaviour action for obs float64[obs_dim] into ``run.action`` float64[A]:
    U(low, high) while ``uniform`` (before learning starts), else a sample of the policy
    (``net`` as in ``policy_sample``)."""
    low, high = nets.action_low, nets.action_high
    if uniform:
        for j in range(low.shape[0]):
            run.action[j] = rng.uniform(low[j], high[j])
        return
    for j in range(low.shape[0]):
        sac.act_eps[0, j] = rng.standard_normal()
    for i in range(obs.shape[0]):  # in the networks' dtype: one compiled forward for all
        run.net_obs[0, i] = obs[i]
    policy_sample(
        nets.actor, nets.actor_layout, nets.activation[0], run.net_obs, run.actor_ws,
        sac.act_eps, low, high, sac.act_u, sac.act_log_std, sac.act_ls_tanh, run.actions,
        sac.act_logp, net,
    )  # fmt: skip
    for j in range(low.shape[0]):
        run.action[j] = run.actions[0, j]


@python_kernel(cache=True)
def run_sac(
    fns: StepFns,
    env_params: np.ndarray,
    max_steps: int,
    ts: TrainState,
    sac: SACState,
    hp: SACHyper,
    n_steps: int,
    rng: np.random.Generator,
    update: FunctionPointer,
) -> tuple[int, int]:
    """``n_steps`` env steps of SAC on the control env ``fns`` (constants ``env_params``;
    ``ControlEnv.fns``/``.params``), each followed (once ``learning_starts`` steps have been
    taken) by ``hp.gradient_steps`` updates.

    At a time-limit cut the stored row has truncated True and next_obs the real final
    observation (the critics bootstrap from it). Returns ``(status, step)``: ``(OK, -1)``, or
    the divergence code and the env step (0-based) whose update produced non-finite parameters
    (the loop stops there).

    ``update`` is ``sac_update`` as a first-class function pointer
    (``ac_train.update_pointer``): compiled on its own, in parallel with this loop on a cold
    cache (``numbarl.precompile``), instead of inside it. The call costs step time: measured
    on the tuned 64x64 Pendulum row, the pointers (this one and the networks') make a step
    about 2% slower."""
    nets, run = ts.nets, ts.run
    for _ in range(n_steps):
        step = run.counters[0]
        uniform = step < hp.learning_starts
        sac_action(nets, sac, run, run.obs, uniform, rng, ts.net)
        store_step(fns, env_params, max_steps, nets, run, ts.buf, rng)
        if uniform:
            continue
        for _ in range(hp.gradient_steps):
            status = update(ts, sac, hp, rng)
            if status != OK:
                return status, step
    return OK, -1


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def make_sac_config(env: Any = None, cfg: SACConfig | dict | None = None, **overrides: Any):
    """A checked ``SACConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a dict
    (dict values and ``overrides`` win). A ``SACConfig`` given is re-checked as is."""
    return merge_config(SACConfig, TUNED, env, cfg, overrides)


def make_hyper(cfg: SACConfig, action_dim: int) -> SACHyper:
    """The compiled hyperparameters of ``cfg`` for an env with ``action_dim`` action dimensions,
    each cast to its declared type (one compiled signature)."""
    return SACHyper(
        int(cfg.learning_starts),
        int(cfg.batch_size),
        float(cfg.gamma),
        float(cfg.tau),
        float(cfg.actor_lr),
        float(cfg.critic_lr),
        float(cfg.alpha_lr),
        bool(cfg.autotune),
        float(cfg.target_entropy_per_dim) * float(action_dim),
        int(cfg.gradient_steps),
    )


HISTORY_COLUMNS = (
    "step",
    "eval_return",
    "episode_return",
    "q1_loss",
    "q2_loss",
    "actor_loss",
    "alpha",
    "alpha_loss",
    "entropy",
    "q_mean",
    "critic_updates",
    "actor_updates",
)


def _check_env(env: Any):
    try:
        return check_env(env)
    except ValueError as err:  # the shared check names DDPG/TD3
        raise ValueError(str(err).replace("DDPG/TD3", "SAC")) from None


def evaluate(arrays: dict[str, np.ndarray], env: Any, episodes: int, seed: int) -> np.ndarray:
    """Undiscounted returns float64[episodes] of SAC's deterministic action mid + half
    tanh(m(s)) (the policy's mean, squashed) on a continuous-action ControlEnv (start states
    from ``default_rng(seed)``) or a single Gymnasium env (episode k reset with ``seed + k``)."""
    _check_env(env)
    return _evaluate_actor(arrays, env, episodes, seed)


def train(
    env: Any, cfg: SACConfig | dict | None = None, seed: int = 0, progress: Progress = None
) -> TrainOutput:
    """Train SAC on ``env``: a numbarl ``ControlEnv`` with continuous actions (compiled loop
    ``run_sac``) or a Gymnasium env with Box observations and Box actions (Python env loop,
    compiled ``sac_update``). Discrete-action envs raise ValueError.

    Networks come from the first of three ``SeedSequence(seed)`` children, training draws from
    the second, evaluation start states from the third. Runs ``eval_every`` env steps at a time,
    then evaluates the deterministic action over ``eval_episodes`` episodes and records a row;
    stops at ``cfg.stop_at_return`` (the shell DDPG and TD3 share: ``ac_train.start`` and
    ``ac_train.run_chunks``).

    Returns ``(arrays, history)``: ``arrays`` holds the networks (``ActorCritic`` fields, with
    ``critics`` real[2, Pc]) plus ``log_alpha`` float64[1]; ``history`` has equal-length
    columns ``step``, ``eval_return``, ``episode_return`` (mean return of training episodes
    ended since the previous row, NaN if none), ``q1_loss``, ``q2_loss``, ``actor_loss``,
    ``alpha`` (the temperature used), ``alpha_loss``, ``entropy`` (mean -log pi of the actor's
    samples), ``q_mean`` (of Q_1; all means over the updates since the previous row, NaN before
    learning starts), ``critic_updates`` and ``actor_updates`` (totals). Raises TrainingDiverged
    (naming the update and step, with the arrays and history so far) if an update leaves
    non-finite parameters."""
    cfg = make_sac_config(env, cfg)
    seed = check_seed(seed)
    info = _check_env(env)
    with single_threaded_blas():
        setup = start(env, info, cfg, seed, 2, 2 * info.action_dim, N_METRICS)
        ts, rng, _ = setup
        nets, run = ts.nets, ts.run
        hp = make_hyper(cfg, info.action_dim)
        sac = make_sac_state(info.action_dim, info.obs_dim, hp.batch_size, float(cfg.alpha),
                             nets.actor.dtype)  # fmt: skip

        def chunk(n: int) -> tuple[int, int]:
            if info.is_control:
                return run_sac(
                    step_fns(env.fns), env.params, int(env.max_steps), ts, sac, hp, n, rng, update
                )  # fmt: skip
            return gym_chunk(
                env, nets, run, ts.buf, n, hp.learning_starts, hp.gradient_steps,
                lambda uniform: sac_action(nets, sac, run, run.obs, uniform, rng),
                lambda: sac_update(ts, sac, hp, rng),
            )  # fmt: skip

        def row(m: np.ndarray) -> dict[str, float]:
            updates = m[CRITIC_UPDATES]
            return {
                "q1_loss": mean_or_nan(m[Q1_LOSS], updates),
                "q2_loss": mean_or_nan(m[Q2_LOSS], updates),
                "actor_loss": mean_or_nan(m[ACTOR_LOSS], m[ACTOR_UPDATES]),
                "alpha": mean_or_nan(m[ALPHA], updates),
                "alpha_loss": mean_or_nan(m[ALPHA_LOSS], updates),
                "entropy": mean_or_nan(m[ENTROPY], updates),
                "q_mean": mean_or_nan(m[Q_MEAN], updates),
            }

        def arrays() -> dict[str, np.ndarray]:
            return actor_critic_arrays(nets) | {"log_alpha": sac.log_alpha.copy()}

        update = update_pointer(sac_update, ts, sac, hp, rng)
        loop_call = None
        if info.is_control:  # a Gymnasium env has no fns: the Python loop, nothing to compile
            args = (step_fns(env.fns), env.params, int(env.max_steps), ts, sac, hp, 1, rng, update)
            loop_call = (run_sac, args)
        return run_chunks("SAC", env, info, cfg, setup, chunk, HISTORY_COLUMNS, row, arrays,
                          progress, loop_call)  # fmt: skip


__all__ = [
    "LOG_STD_MAX",
    "LOG_STD_MIN",
    "TUNED",
    "SACConfig",
    "SACHyper",
    "SACState",
    "actor_loss_grad",
    "alpha_loss_grad",
    "evaluate",
    "make_sac_config",
    "make_sac_nets",
    "make_sac_state",
    "policy_backward",
    "policy_sample",
    "run_sac",
    "sac_update",
    "soft_targets",
    "train",
]
