"""DQN (Mnih et al. 2015) and the Rainbow switches (Hessel et al. 2018), compiled end to end.

The whole training loop (acting, storing, sampling, the update, target updates) is one ``@njit``
driver over arrays; Python validates, builds the arrays, calls the driver in chunks of
``eval_every`` steps (for a progress callback and a greedy evaluation) and records history.

The update, for a batch of n-step transitions (s_t, a_t, G_t, discount_t, s_{t+n}) from replay:

- **DQN**: y = G_t + discount_t max_a Q_target(s_{t+n}, a); loss = Huber (or squared) of
  Q(s_t, a_t) - y, averaged over the batch (Mnih et al. 2015).
- ``double``: y = G_t + discount_t Q_target(s', argmax_a Q_online(s', a)) (van Hasselt et al.
  2016, eq. 4): the online net selects, the target net evaluates.
- ``dueling``: Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a') (Wang et al. 2016, eq. 9), built as
  two linear heads (value: H -> K, advantage: H -> A*K) on one shared ReLU torso.
- ``n_step``: G_t = sum_{k<n} gamma^k r_{t+k}, discount_t = gamma^n, stopping at episode ends
  (``numbarl.deep.replay``; truncation bootstraps, termination does not).
- ``noisy``: the heads are factorised-Gaussian noisy linear layers (Fortunato et al. 2018,
  eqs. 9-11): w = mu_w + sigma_w * f(e_in) f(e_out)^T, b = mu_b + sigma_b * f(e_out),
  f(x) = sign(x) sqrt(|x|); noise is redrawn for every action and, independently for the online
  and the target net, for every update; epsilon-greedy is switched off (epsilon = 0) and greedy
  evaluation uses the mean weights. The torso stays deterministic (noise in the heads only).
- ``distributional`` (C51, Bellemare et al. 2017): each action's output is K = ``n_atoms``
  logits over the support z_i = v_min + i (v_max - v_min) / (K - 1); the target distribution
  of G_t + discount_t z under the (double-)greedy next action is projected on the support
  (Algorithm 1) and the loss is the cross-entropy -sum_i m_i log p_i(s_t, a_t).
- ``prioritized``: proportional prioritised replay (Schaul et al. 2016) with priorities
  (|delta| + eps)^alpha, delta the TD error (C51: the cross-entropy), importance weights
  annealed from ``per_beta0`` to 1 over ``total_steps``.

All switches on is Rainbow (``RAINBOW``). Networks are flat float64 parameter arrays (see
``QNet``): ``params = [torso MLP | advantage (or only) head | value head]``. A plain head h -> m
is W float64[h*m] (C-ordered [h, m]) then b float64[m]; a noisy head is mu_W, mu_b, sigma_W,
sigma_b in that order (so its first h*m + m numbers are laid out as a plain head).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl.config import make_config
from numbarl.deep.replay import (
    ReplayBuffer,
    SumTree,
    per_priority,
    per_weights,
    replay_add,
    replay_gather,
    replay_init,
    replay_sample_uniform,
    replay_size,
    sumtree_init,
    sumtree_sample,
    sumtree_update,
)
from numbarl.envs.control import EnvFns
from numbarl.errors import TrainingDiverged
from numbarl.nn.mlp import ACTIVATIONS, RELU, mlp_backward, mlp_forward, mlp_init, mlp_layout
from numbarl.nn.mlp import mlp_workspace as _mlp_workspace
from numbarl.nn.optim import AdamState, adam_init, adam_step, clip_by_global_norm, polyak_update

# ---------------------------------------------------------------------------------------------
# Tuned configs (overrides of DQNConfig's defaults), per env id
# ---------------------------------------------------------------------------------------------

TUNED: dict[str, dict[str, Any]] = {
    "CartPole-v1": {
        "total_steps": 40_000,
        "buffer_size": 10_000,
        "batch_size": 32,
        "learning_starts": 1_000,
        "train_frequency": 1,
        "lr": 2.5e-3,
        "target_update_every": 100,
        "exploration_fraction": 0.1,
        "epsilon_end": 0.02,
        "eval_every": 500,
        "eval_episodes": 20,
        "stop_at_return": 500.0,
        "n_atoms": 21,
        "v_min": 0.0,
        "v_max": 100.0,
    },
    "Acrobot-v1": {
        "total_steps": 50_000,
        "buffer_size": 50_000,
        "batch_size": 32,
        "learning_starts": 1_000,
        "n_step": 3,
        "lr": 2.5e-3,
        "target_update_every": 100,
        "exploration_fraction": 0.1,
        "epsilon_end": 0.02,
        "eval_every": 2_500,
        "eval_episodes": 20,
        "stop_at_return": -85.0,
        "n_atoms": 51,
        "v_min": -100.0,
        "v_max": 0.0,
    },
    # The discrete example env written through the public door (examples/catch.py); the row
    # applies once a user's module registers it.
    "Catch-v0": {
        "total_steps": 10_000,
        "buffer_size": 10_000,
        "batch_size": 32,
        "learning_starts": 500,
        "lr": 1e-3,
        "target_update_every": 100,
        "exploration_fraction": 0.2,
        "epsilon_end": 0.02,
        "eval_every": 1_000,
        "eval_episodes": 20,
        "stop_at_return": 1.0,
    },
}

# Every switch on (Rainbow). The C51 support (v_min, v_max, n_atoms) depends on the env's returns
# and lives in its TUNED entry: use {**TUNED[env_id], **RAINBOW}.
RAINBOW: dict[str, Any] = {
    "double": True,
    "dueling": True,
    "n_step": 3,
    "noisy": True,
    "distributional": True,
    "prioritized": True,
}


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


class DQNConfig(NamedTuple):
    """DQN hyperparameters (defaults: CleanRL's ``dqn.py`` scaled to classic control).

    Steps count environment steps. ``epsilon`` decays linearly from ``epsilon_start`` to
    ``epsilon_end`` over ``exploration_fraction * total_steps`` steps. The target net is updated
    every ``target_update_every`` steps by ``target = (1 - tau) target + tau online`` (tau = 1:
    a copy). Every ``train_frequency`` steps after ``learning_starts``, ``gradient_steps``
    updates run. ``max_grad_norm`` 0 disables clipping. ``loss``: "huber" (smooth L1, delta 1)
    or "mse" (mean of delta^2). Training stops early once a greedy evaluation (every
    ``eval_every`` steps, ``eval_episodes`` episodes) averages at least ``stop_at_return``."""

    total_steps: int = 50_000
    buffer_size: int = 10_000
    batch_size: int = 64
    learning_starts: int = 1_000
    train_frequency: int = 1
    gradient_steps: int = 1
    lr: float = 1e-3
    adam_eps: float = 1e-8
    gamma: float = 0.99
    hidden: int = 64
    depth: int = 2
    activation: str = "relu"
    loss: str = "huber"
    max_grad_norm: float = 10.0
    target_update_every: int = 500
    tau: float = 1.0
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    exploration_fraction: float = 0.1
    double: bool = False
    dueling: bool = False
    n_step: int = 1
    noisy: bool = False
    noisy_sigma0: float = 0.5
    distributional: bool = False
    n_atoms: int = 51
    v_min: float = -10.0
    v_max: float = 10.0
    prioritized: bool = False
    per_alpha: float = 0.6
    per_beta0: float = 0.4
    per_eps: float = 1e-6
    eval_every: int = 1_000
    eval_episodes: int = 10
    stop_at_return: float = math.inf


_AT_LEAST_ONE = (1.0, None, True, True)
_UNIT = (0.0, 1.0, True, True)
_POSITIVE = (0.0, None, False, True)
DQNConfig._ranges = {
    "buffer_size": _AT_LEAST_ONE,
    "learning_starts": (0.0, None, True, True),
    "train_frequency": _AT_LEAST_ONE,
    "gradient_steps": _AT_LEAST_ONE,
    "adam_eps": _POSITIVE,
    "hidden": _AT_LEAST_ONE,
    "depth": _AT_LEAST_ONE,
    "max_grad_norm": (0.0, None, True, True),
    "target_update_every": _AT_LEAST_ONE,
    "tau": (0.0, 1.0, False, True),
    "epsilon_start": _UNIT,
    "epsilon_end": _UNIT,
    "exploration_fraction": _UNIT,
    "n_step": _AT_LEAST_ONE,
    "noisy_sigma0": _POSITIVE,
    "n_atoms": (2.0, None, True, True),
    "per_alpha": (0.0, None, True, True),
    "per_beta0": _UNIT,
    "per_eps": _POSITIVE,
    "eval_every": _AT_LEAST_ONE,
    "eval_episodes": _AT_LEAST_ONE,
}
DQNConfig._choices = {"activation": tuple(ACTIVATIONS), "loss": ("huber", "mse")}

HUBER = 0
MSE = 1
LOSSES = {"huber": HUBER, "mse": MSE}


class DQNHyper(NamedTuple):
    """The compiled driver's view of a ``DQNConfig``: numbers only (strings as codes), the
    exploration schedule in steps."""

    total_steps: int
    batch_size: int
    learning_starts: int
    train_frequency: int
    gradient_steps: int
    lr: float
    adam_eps: float
    gamma: float
    loss: int
    max_grad_norm: float
    target_update_every: int
    tau: float
    epsilon_start: float
    epsilon_end: float
    exploration_steps: int
    double: bool
    n_step: int
    noisy: bool
    distributional: bool
    prioritized: bool
    per_alpha: float
    per_beta0: float
    per_eps: float


def _env_id(env: Any) -> str | None:
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or getattr(env, "id", None)


def make_dqn_config(
    env: Any = None, cfg: DQNConfig | dict[str, Any] | None = None, **overrides: Any
) -> DQNConfig:
    """A checked ``DQNConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a dict
    (dict values and ``overrides`` win). A ``DQNConfig`` given is re-checked as is.

    Raises ValueError/TypeError naming the field and what is allowed."""
    if isinstance(cfg, DQNConfig):
        values = cfg._asdict()
    else:
        if cfg is not None and not isinstance(cfg, dict):
            raise TypeError(f"cfg must be a DQNConfig, a dict or None, got {type(cfg).__name__}")
        values = dict(TUNED.get(_env_id(env) or "", {}))
        values.update(cfg or {})
    values.update(overrides)
    cfg = make_config(DQNConfig, values)
    if cfg.buffer_size < cfg.batch_size:
        raise ValueError(
            f"DQNConfig.buffer_size must be >= batch_size ({cfg.batch_size}), got {cfg.buffer_size}"
        )
    if cfg.distributional and not cfg.v_min < cfg.v_max:
        raise ValueError(
            f"DQNConfig.v_min must be < v_max for the C51 support, got v_min={cfg.v_min}, "
            f"v_max={cfg.v_max}"
        )
    for name in ("v_min", "v_max", "lr", "max_grad_norm"):
        if not math.isfinite(getattr(cfg, name)):
            raise ValueError(f"DQNConfig.{name} must be finite, got {getattr(cfg, name)!r}")
    return cfg


def hyper(cfg: DQNConfig) -> DQNHyper:
    """The compiled record for a checked config (one Numba signature for every config)."""
    return DQNHyper(
        int(cfg.total_steps),
        int(cfg.batch_size),
        int(cfg.learning_starts),
        int(cfg.train_frequency),
        int(cfg.gradient_steps),
        float(cfg.lr),
        float(cfg.adam_eps),
        float(cfg.gamma),
        LOSSES[cfg.loss],
        float(cfg.max_grad_norm),
        int(cfg.target_update_every),
        float(cfg.tau),
        float(cfg.epsilon_start),
        float(cfg.epsilon_end),
        max(1, int(cfg.exploration_fraction * cfg.total_steps)),
        bool(cfg.double),
        int(cfg.n_step),
        bool(cfg.noisy),
        bool(cfg.distributional),
        bool(cfg.prioritized),
        float(cfg.per_alpha),
        float(cfg.per_beta0),
        float(cfg.per_eps),
    )


# ---------------------------------------------------------------------------------------------
# One-step kernels
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def linear_schedule(start: float, end: float, duration: int, t: int) -> float:
    """start -> end linearly over ``duration`` steps, then ``end`` (epsilon's schedule)."""
    frac = t / duration
    if frac >= 1.0:
        return end
    return start + frac * (end - start)


@njit(cache=True)
def q_learning_target(r_t: float, discount_t: float, q_t: np.ndarray) -> float:
    """r_t + discount_t max_a q_t[a], q_t float64[A] from the target net (Mnih et al. 2015)."""
    return r_t + discount_t * q_t.max()


@njit(cache=True)
def double_q_target(
    r_t: float, discount_t: float, q_t_online: np.ndarray, q_t_target: np.ndarray
) -> float:
    """r_t + discount_t q_t_target[argmax_a q_t_online[a]] (van Hasselt et al. 2016, eq. 4).

    q_t_online, q_t_target float64[A]: the online net selects, the target net evaluates."""
    return r_t + discount_t * q_t_target[np.argmax(q_t_online)]


@njit(cache=True)
def q_learning_targets(
    r_t: np.ndarray, discount_t: np.ndarray, q_t: np.ndarray, out: np.ndarray
) -> None:
    """Batch form of ``q_learning_target``: out[b] for float64[B] r_t, discount_t and
    q_t float64[B, A] (the target net's Q values at s_{t+n})."""
    for b in range(r_t.shape[0]):
        out[b] = q_learning_target(r_t[b], discount_t[b], q_t[b])


@njit(cache=True)
def double_q_targets(
    r_t: np.ndarray,
    discount_t: np.ndarray,
    q_t_online: np.ndarray,
    q_t_target: np.ndarray,
    out: np.ndarray,
) -> None:
    """Batch form of ``double_q_target``: out[b] for float64[B] r_t, discount_t and the online
    and target nets' Q values float64[B, A] at s_{t+n}."""
    for b in range(r_t.shape[0]):
        out[b] = double_q_target(r_t[b], discount_t[b], q_t_online[b], q_t_target[b])


@njit(cache=True)
def td_loss(delta: float, loss: int) -> tuple[float, float]:
    """(loss, dloss/ddelta) of a TD error delta = Q(s, a) - y.

    HUBER: 0.5 delta^2 if |delta| <= 1 else |delta| - 0.5 (smooth L1, derivative clip(delta));
    MSE: delta^2 (derivative 2 delta)."""
    if loss == MSE:
        return delta * delta, 2.0 * delta
    if abs(delta) <= 1.0:
        return 0.5 * delta * delta, delta
    if delta > 0.0:
        return delta - 0.5, 1.0
    return -delta - 0.5, -1.0


@njit(cache=True)
def dueling_aggregate(v: np.ndarray, adv: np.ndarray, n_atoms: int, out: np.ndarray) -> None:
    """Q = V + A - mean_a A (Wang et al. 2016, eq. 9), per atom.

    v float64[B, K]; adv, out float64[B, A*K] (action a's K outputs at columns a*K .. a*K+K-1;
    K = 1 for scalar Q)."""
    k_atoms = n_atoms
    n_act = adv.shape[1] // k_atoms
    for b in range(adv.shape[0]):
        for i in range(k_atoms):
            mean = 0.0
            for a in range(n_act):
                mean += adv[b, a * k_atoms + i]
            mean /= n_act
            for a in range(n_act):
                out[b, a * k_atoms + i] = v[b, i] + adv[b, a * k_atoms + i] - mean


@njit(cache=True)
def dueling_backward(g_out: np.ndarray, n_atoms: int, g_v: np.ndarray, g_adv: np.ndarray) -> None:
    """Gradients of ``dueling_aggregate``: g_v[b, i] = sum_a g_out[b, a*K+i] and
    g_adv[b, a*K+i] = g_out[b, a*K+i] - (1/A) sum_a' g_out[b, a'*K+i] (overwritten)."""
    k_atoms = n_atoms
    n_act = g_out.shape[1] // k_atoms
    for b in range(g_out.shape[0]):
        for i in range(k_atoms):
            total = 0.0
            for a in range(n_act):
                total += g_out[b, a * k_atoms + i]
            g_v[b, i] = total
            mean = total / n_act
            for a in range(n_act):
                g_adv[b, a * k_atoms + i] = g_out[b, a * k_atoms + i] - mean


@njit(cache=True)
def categorical_projection(
    z: np.ndarray, r_t: float, discount_t: float, p_t: np.ndarray, out: np.ndarray
) -> None:
    """Project the distribution of r_t + discount_t Z on the support z (Bellemare et al. 2017,
    Algorithm 1).

    z float64[K] evenly spaced from v_min to v_max; p_t float64[K] the next state's
    probabilities (under the greedy next action); out float64[K] receives m. Shifted atoms are
    clipped to [v_min, v_max]; atom j's mass goes to its neighbours l = floor(b_j), u = ceil(b_j)
    in proportion to closeness (all of it to l when b_j is an atom). Termination: discount_t = 0
    puts all mass at r_t."""
    k_atoms = z.shape[0]
    v_min, v_max = z[0], z[k_atoms - 1]
    dz = (v_max - v_min) / (k_atoms - 1)
    out[:] = 0.0
    for j in range(k_atoms):
        tz = min(max(r_t + discount_t * z[j], v_min), v_max)
        bj = min((tz - v_min) / dz, k_atoms - 1.0)
        lo = int(math.floor(bj))
        up = int(math.ceil(bj))
        if lo == up:
            out[lo] += p_t[j]
        else:
            out[lo] += p_t[j] * (up - bj)
            out[up] += p_t[j] * (bj - lo)


@njit(cache=True)
def categorical_cross_entropy(logits: np.ndarray, m: np.ndarray, g_logits: np.ndarray) -> float:
    """-sum_i m_i log softmax(logits)_i for logits, m float64[K] (m sums to 1); writes its
    gradient softmax(logits) - m into g_logits float64[K]."""
    mx = logits.max()
    total = 0.0
    for i in range(logits.shape[0]):
        total += math.exp(logits[i] - mx)
    log_z = mx + math.log(total)
    loss = 0.0
    for i in range(logits.shape[0]):
        logp = logits[i] - log_z
        loss -= m[i] * logp
        g_logits[i] = math.exp(logp) - m[i]
    return loss


@njit(cache=True)
def softmax(logits: np.ndarray, out: np.ndarray) -> None:
    """out = softmax(logits), both float64[K]."""
    mx = logits.max()
    total = 0.0
    for i in range(logits.shape[0]):
        out[i] = math.exp(logits[i] - mx)
        total += out[i]
    for i in range(logits.shape[0]):
        out[i] /= total


@njit(cache=True)
def scaled_noise(rng: np.random.Generator, out: np.ndarray) -> None:
    """out[i] = f(e_i), e_i ~ N(0, 1), f(x) = sign(x) sqrt(|x|) (Fortunato et al. 2018, eq. 11)."""
    for i in range(out.shape[0]):
        e = rng.standard_normal()
        out[i] = math.sqrt(e) if e >= 0.0 else -math.sqrt(-e)


@njit(cache=True)
def noisy_linear_forward(
    mu_w: np.ndarray,
    sigma_w: np.ndarray,
    mu_b: np.ndarray,
    sigma_b: np.ndarray,
    f_in: np.ndarray,
    f_out: np.ndarray,
    x: np.ndarray,
    out: np.ndarray,
    scratch_in: np.ndarray,
    scratch_out: np.ndarray,
) -> None:
    """Factorised noisy linear layer: out = x (mu_w + sigma_w * f_in f_out^T) + mu_b +
    sigma_b * f_out (Fortunato et al. 2018, eqs. 9-11), without forming the noisy weight:
    x (sigma_w * f_in f_out^T) = ((x * f_in) sigma_w) * f_out.

    mu_w, sigma_w float64[n_in, n_out]; mu_b, sigma_b, f_out float64[n_out]; f_in float64[n_in];
    x float64[B, n_in]; out float64[B, n_out]; scratch_in float64[B, n_in] and scratch_out
    float64[B, n_out] (C-contiguous). f_in = f_out = 0 gives the mean network."""
    np.dot(x, mu_w, out)
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            scratch_in[r, i] = x[r, i] * f_in[i]
    np.dot(scratch_in, sigma_w, scratch_out)
    for r in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[r, j] += scratch_out[r, j] * f_out[j] + mu_b[j] + sigma_b[j] * f_out[j]


@njit(cache=True)
def noisy_linear_backward(
    mu_w: np.ndarray,
    sigma_w: np.ndarray,
    f_in: np.ndarray,
    f_out: np.ndarray,
    x: np.ndarray,
    g: np.ndarray,
    g_mu_w: np.ndarray,
    g_sigma_w: np.ndarray,
    g_mu_b: np.ndarray,
    g_sigma_b: np.ndarray,
    g_x: np.ndarray,
    scratch_in: np.ndarray,
    scratch_out: np.ndarray,
    scratch_w: np.ndarray,
    scratch_x: np.ndarray,
) -> None:
    """Backward of ``noisy_linear_forward`` for g = dL/dout float64[B, n_out].

    Accumulates dL/dmu_w = x^T g, dL/dsigma_w = (x * f_in)^T (g * f_out), dL/dmu_b = sum_r g,
    dL/dsigma_b = sum_r g * f_out into the g_* arrays (shapes of the parameters) and
    dL/dx = g mu_w^T + ((g * f_out) sigma_w^T) * f_in into g_x float64[B, n_in]. Scratch:
    scratch_in [B, n_in], scratch_out [B, n_out], scratch_w [n_in, n_out], scratch_x [B, n_in]."""
    n_rows, n_in = x.shape
    n_out = g.shape[1]
    np.dot(x.T, g, scratch_w)
    for i in range(n_in):
        for j in range(n_out):
            g_mu_w[i, j] += scratch_w[i, j]
    for r in range(n_rows):
        for i in range(n_in):
            scratch_in[r, i] = x[r, i] * f_in[i]
        for j in range(n_out):
            scratch_out[r, j] = g[r, j] * f_out[j]
            g_mu_b[j] += g[r, j]
            g_sigma_b[j] += scratch_out[r, j]
    np.dot(scratch_in.T, scratch_out, scratch_w)
    for i in range(n_in):
        for j in range(n_out):
            g_sigma_w[i, j] += scratch_w[i, j]
    np.dot(g, mu_w.T, scratch_x)
    for r in range(n_rows):
        for i in range(n_in):
            g_x[r, i] += scratch_x[r, i]
    np.dot(scratch_out, sigma_w.T, scratch_x)
    for r in range(n_rows):
        for i in range(n_in):
            g_x[r, i] += scratch_x[r, i] * f_in[i]


# ---------------------------------------------------------------------------------------------
# The Q network: ReLU torso (numbarl.nn MLP) + linear or noisy heads, optional dueling, C51
# ---------------------------------------------------------------------------------------------


class QNet(NamedTuple):
    """Shape of a Q network; its parameters are a separate float64[n_params].

    ``torso`` int64[L, 4] is an ``mlp_layout((obs_dim, hidden, ..., hidden))`` whose output
    layer is also passed through the activation (so every torso layer is a hidden layer);
    ``n_atoms`` K = 1 for scalar Q; ``support`` float64[K] the C51 atoms (``[0.0]`` if K = 1).
    The output is float64[B, n_actions * K]: Q values (K = 1) or per-action logits over atoms.
    Noise arrays for noisy heads are float64[n_noise] = (f_in adv [H], f_out adv [A*K],
    f_in value [H], f_out value [K])."""

    torso: np.ndarray
    act: int
    obs_dim: int
    hidden: int
    n_actions: int
    n_atoms: int
    dueling: bool
    noisy: bool
    n_torso: int
    adv_off: int
    val_off: int
    n_params: int
    n_noise: int
    support: np.ndarray


class QWork(NamedTuple):
    """Scratch for forward/backward of a QNet on batches of up to B rows (``qnet_work``).

    ``torso`` is the MLP workspace; ``buf`` float64 holds the other buffers back to back, buffer
    k starting at ``off[k]`` (k = _H, _ADV, ...), each viewed as [b, width] for b rows. Few
    arrays on purpose: Numba passes every array of a NamedTuple as separate arguments, and
    compile time grows with their number."""

    torso: np.ndarray
    buf: np.ndarray
    off: np.ndarray


# Buffers in QWork.buf: torso output h [B, H], advantage (or only) head [B, A*K], value head
# [B, K], dueling output [B, A*K], noisy/backward scratch ([B, H], [B, A*K], [B, H], [H, A*K]),
# gradients w.r.t. h [B, H], the advantage head [B, A*K] and the value head [B, K].
_H, _ADV, _VAL, _OUT, _S_IN, _S_OUT, _S_X, _S_W, _G_H, _G_ADV, _G_VAL = range(11)


def _head_size(n_in: int, n_out: int, noisy: bool) -> int:
    return (2 if noisy else 1) * (n_in * n_out + n_out)


def make_qnet(
    obs_dim: int,
    n_actions: int,
    hidden: int = 64,
    depth: int = 2,
    activation: str = "relu",
    dueling: bool = False,
    noisy: bool = False,
    n_atoms: int = 1,
    v_min: float = 0.0,
    v_max: float = 1.0,
) -> QNet:
    """The shape of a Q network obs_dim -> hidden x depth -> heads -> n_actions * n_atoms."""
    torso = mlp_layout([obs_dim] + [hidden] * depth)
    n_torso = int(torso[-1, 3] + torso[-1, 1])
    m = n_actions * n_atoms
    adv_off = n_torso
    val_off = adv_off + _head_size(hidden, m, noisy)
    n_params = val_off + (_head_size(hidden, n_atoms, noisy) if dueling else 0)
    support = np.linspace(v_min, v_max, n_atoms) if n_atoms > 1 else np.zeros(1)
    return QNet(
        torso,
        ACTIVATIONS[activation],
        int(obs_dim),
        int(hidden),
        int(n_actions),
        int(n_atoms),
        bool(dueling),
        bool(noisy),
        n_torso,
        int(adv_off),
        int(val_off),
        int(n_params),
        2 * hidden + m + n_atoms,
        support,
    )


def qnet_init(net: QNet, rng: np.random.Generator, sigma0: float = 0.5) -> np.ndarray:
    """Parameters float64[n_params]: PyTorch's nn.Linear default for the torso and plain heads
    (U(-1/sqrt(n_in), 1/sqrt(n_in))), Fortunato et al.'s factorised init for noisy heads
    (mu as before, sigma = sigma0 / sqrt(n_in))."""
    params = np.zeros(net.n_params)
    params[: net.n_torso] = mlp_init(net.torso, rng, init="uniform")
    heads = [(net.adv_off, net.n_actions * net.n_atoms)]
    if net.dueling:
        heads.append((net.val_off, net.n_atoms))
    h = net.hidden
    bound = 1.0 / math.sqrt(h)
    for off, m in heads:
        params[off : off + h * m] = rng.uniform(-bound, bound, size=(m, h)).T.ravel()
        params[off + h * m : off + h * m + m] = rng.uniform(-bound, bound, size=m)
        if net.noisy:
            params[off + h * m + m : off + 2 * (h * m + m)] = sigma0 / math.sqrt(h)
    return params


@njit(cache=True)
def qnet_work(net: QNet, batch: int) -> QWork:
    """Scratch for batches of up to ``batch`` rows."""
    h = net.hidden
    k = net.n_atoms
    m = net.n_actions * k
    sizes = np.array([h, m, k, m, h, m, h, 0, h, m, k], dtype=np.int64) * batch
    sizes[_S_W] = h * m
    off = np.zeros(12, dtype=np.int64)
    for i in range(11):
        off[i + 1] = off[i] + sizes[i]
    return QWork(_mlp_workspace(net.torso, batch), np.zeros(off[11]), off)


@njit(cache=True, inline="always")  # called with 11 literal ``k``: one compile each if not inlined
def _view(work: QWork, k: int, rows: int, width: int) -> np.ndarray:
    """Buffer k of ``work`` as a C-contiguous float64[rows, width]."""
    start = work.off[k]
    return work.buf[start : start + rows * width].reshape((rows, width))


@njit(cache=True)
def _head_forward(params, off, n_in, n_out, noisy, x, f_in, f_out, out, work):
    b = x.shape[0]
    hm = n_in * n_out
    w = params[off : off + hm].reshape((n_in, n_out))
    bias = params[off + hm : off + hm + n_out]
    if noisy:
        sigma_w = params[off + hm + n_out : off + 2 * hm + n_out].reshape((n_in, n_out))
        sigma_b = params[off + 2 * hm + n_out : off + 2 * hm + 2 * n_out]
        noisy_linear_forward(
            w,
            sigma_w,
            bias,
            sigma_b,
            f_in,
            f_out,
            x,
            out,
            _view(work, _S_IN, b, n_in),
            _view(work, _S_OUT, b, n_out),
        )
    else:
        np.dot(x, w, out)
        for r in range(b):
            for j in range(n_out):
                out[r, j] += bias[j]


@njit(cache=True)
def _head_backward(params, off, n_in, n_out, noisy, x, f_in, f_out, g, grad, g_x, work):
    b = x.shape[0]
    hm = n_in * n_out
    w = params[off : off + hm].reshape((n_in, n_out))
    g_w = grad[off : off + hm].reshape((n_in, n_out))
    g_b = grad[off + hm : off + hm + n_out]
    s_w = _view(work, _S_W, n_in, n_out)
    s_x = _view(work, _S_X, b, n_in)
    if noisy:
        sigma_w = params[off + hm + n_out : off + 2 * hm + n_out].reshape((n_in, n_out))
        g_sigma_w = grad[off + hm + n_out : off + 2 * hm + n_out].reshape((n_in, n_out))
        g_sigma_b = grad[off + 2 * hm + n_out : off + 2 * hm + 2 * n_out]
        noisy_linear_backward(
            w,
            sigma_w,
            f_in,
            f_out,
            x,
            g,
            g_w,
            g_sigma_w,
            g_b,
            g_sigma_b,
            g_x,
            _view(work, _S_IN, b, n_in),
            _view(work, _S_OUT, b, n_out),
            s_w,
            s_x,
        )
    else:
        np.dot(x.T, g, s_w)
        for i in range(n_in):
            for j in range(n_out):
                g_w[i, j] += s_w[i, j]
        for r in range(b):
            for j in range(n_out):
                g_b[j] += g[r, j]
        np.dot(g, w.T, s_x)
        for r in range(b):
            for i in range(n_in):
                g_x[r, i] += s_x[r, i]


@njit(cache=True)
def qnet_forward(
    params: np.ndarray, net: QNet, x: np.ndarray, noise: np.ndarray, work: QWork
) -> np.ndarray:
    """Outputs float64[B, n_actions * n_atoms] for x float64[B, obs_dim] (B <= the work's batch):
    Q values, or C51 logits (action a's atoms at columns a*K .. a*K + K - 1).

    ``noise`` float64[n_noise] (used by noisy heads; zeros = mean network). The result is a view
    into ``work``; ``work`` keeps what ``qnet_backward`` needs."""
    b = x.shape[0]
    h_dim = net.hidden
    k_atoms = net.n_atoms
    m = net.n_actions * k_atoms
    t = mlp_forward(params[: net.n_torso], net.torso, net.act, x, work.torso)
    h = _view(work, _H, b, h_dim)
    for r in range(b):  # the MLP's last layer is linear: apply the torso's activation here
        for i in range(h_dim):
            v = t[r, i]
            if net.act == RELU:
                h[r, i] = 0.0 if v <= 0.0 else v  # NaN stays NaN
            else:
                h[r, i] = math.tanh(v)
    adv = _view(work, _ADV, b, m)
    _head_forward(
        params, net.adv_off, h_dim, m, net.noisy, h, noise[:h_dim], noise[h_dim : h_dim + m],
        adv, work,
    )  # fmt: skip
    if not net.dueling:
        return adv
    val = _view(work, _VAL, b, k_atoms)
    _head_forward(
        params, net.val_off, h_dim, k_atoms, net.noisy, h, noise[h_dim + m : 2 * h_dim + m],
        noise[2 * h_dim + m : 2 * h_dim + m + k_atoms], val, work,
    )  # fmt: skip
    out = _view(work, _OUT, b, m)
    dueling_aggregate(val, adv, k_atoms, out)
    return out


@njit(cache=True)
def qnet_backward(
    params: np.ndarray,
    net: QNet,
    noise: np.ndarray,
    work: QWork,
    g_out: np.ndarray,
    grad: np.ndarray,
) -> None:
    """Backpropagate g_out = dL/d(output) float64[B, n_actions * n_atoms] through the last
    ``qnet_forward`` on ``work``; accumulates dL/dparams into grad float64[n_params]."""
    b = g_out.shape[0]
    h_dim = net.hidden
    k_atoms = net.n_atoms
    m = net.n_actions * k_atoms
    h = _view(work, _H, b, h_dim)
    g_h = _view(work, _G_H, b, h_dim)
    g_h[:] = 0.0
    g_adv = g_out
    if net.dueling:
        g_adv = _view(work, _G_ADV, b, m)
        g_val = _view(work, _G_VAL, b, k_atoms)
        dueling_backward(g_out, k_atoms, g_val, g_adv)
        _head_backward(
            params, net.val_off, h_dim, k_atoms, net.noisy, h, noise[h_dim + m : 2 * h_dim + m],
            noise[2 * h_dim + m : 2 * h_dim + m + k_atoms], g_val, grad, g_h, work,
        )  # fmt: skip
    _head_backward(
        params, net.adv_off, h_dim, m, net.noisy, h, noise[:h_dim], noise[h_dim : h_dim + m],
        g_adv, grad, g_h, work,
    )  # fmt: skip
    for r in range(b):  # through the torso's output activation
        for i in range(h_dim):
            if net.act == RELU:
                if h[r, i] <= 0.0:
                    g_h[r, i] = 0.0
            else:
                g_h[r, i] *= 1.0 - h[r, i] * h[r, i]
    mlp_backward(params[: net.n_torso], net.torso, net.act, work.torso, g_h, grad[: net.n_torso])


@njit(cache=True)
def sample_noise(net: QNet, rng: np.random.Generator, noise: np.ndarray) -> None:
    """Fresh factorised noise f(e) for every noisy head (noise float64[n_noise])."""
    scaled_noise(rng, noise)


@njit(cache=True)
def q_values(net: QNet, out: np.ndarray, row: int, q: np.ndarray) -> None:
    """q float64[A] = Q(s_row, .) from a forward's output: the output itself (K = 1) or the
    C51 expectation sum_i z_i p_i(s, a)."""
    k_atoms = net.n_atoms
    if k_atoms == 1:
        for a in range(net.n_actions):
            q[a] = out[row, a]
        return
    for a in range(net.n_actions):
        logits = out[row, a * k_atoms : (a + 1) * k_atoms]
        mx = logits.max()
        total = 0.0
        acc = 0.0
        for i in range(k_atoms):
            e = math.exp(logits[i] - mx)
            total += e
            acc += e * net.support[i]
        q[a] = acc / total


# ---------------------------------------------------------------------------------------------
# Training state and the update
# ---------------------------------------------------------------------------------------------


class DQNState(NamedTuple):
    """Everything the compiled loop carries between chunks (built by ``_make_state``).

    ``env_state`` float64[state_dim] the control env's state (``ControlEnv.state_dim``;
    float64[1], unused, on the Gymnasium path). ``counters`` int64[4] = (env steps, steps in
    the current episode, updates, episodes); ``ep_return`` float64[1] the current episode's
    return so far. Batch arrays have B rows:
    ``index`` int64[2, B] = (sampled rows, C51's greedy next actions a*), ``batch`` float64[5, B] =
    (n-step return G, discount, importance weight, TD error (C51: loss), target y), ``b_obs``,
    ``b_next`` float64[B, obs_dim], ``b_action`` float64[B, 1], ``target_dist`` float64[B, K]
    (projected C51 targets), ``g_out`` float64[B, A*K]; ``q`` float64[A] and ``p`` float64[K]
    one row's Q values and probabilities."""

    params: np.ndarray
    target: np.ndarray
    grad: np.ndarray
    adam: AdamState
    env_state: np.ndarray
    obs: np.ndarray
    next_obs: np.ndarray
    action: np.ndarray
    counters: np.ndarray
    ep_return: np.ndarray
    noise: np.ndarray
    noise_target: np.ndarray
    work_act: QWork
    work: QWork
    work_next: QWork
    work_target: QWork
    q: np.ndarray
    p: np.ndarray
    index: np.ndarray
    batch: np.ndarray
    b_obs: np.ndarray
    b_action: np.ndarray
    b_next: np.ndarray
    target_dist: np.ndarray
    g_out: np.ndarray


# Rows of DQNState.index and DQNState.batch.
_ROWS, _A_STAR = 0, 1
_RET, _DISCOUNT, _WEIGHT, _TD, _Y = range(5)


@njit(cache=True)
def _all_finite(x: np.ndarray) -> bool:
    total = 0.0
    for k in range(x.shape[0]):
        total += x[k] * 0.0  # NaN or inf anywhere makes this NaN
    return total == 0.0


@njit(cache=True)
def dqn_update(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree,
    rng: np.random.Generator,
    beta: float,
) -> tuple[float, float]:
    """One gradient step on a sampled batch; returns (loss, mean Q(s_t, a_t) of the batch)."""
    n_b = hp.batch_size
    k_atoms = net.n_atoms
    rows, a_star = st.index[_ROWS], st.index[_A_STAR]
    ret, discount, weight = st.batch[_RET], st.batch[_DISCOUNT], st.batch[_WEIGHT]
    td, y = st.batch[_TD], st.batch[_Y]
    # Sample: uniform, or proportional to priority with importance weights (Schaul et al. 2016).
    if hp.prioritized:
        sumtree_sample(tree, rng, rows)
        per_weights(tree, rows, replay_size(buf), beta, weight)
    else:
        replay_sample_uniform(buf, rng, rows)
        weight[:] = 1.0
    replay_gather(buf, rows, hp.n_step, hp.gamma, st.b_obs, st.b_action, ret, discount, st.b_next)
    if hp.noisy:  # independent noise for the online and the target net (Fortunato et al.)
        sample_noise(net, rng, st.noise)
        sample_noise(net, rng, st.noise_target)

    # Targets y = G + discount Q_target(s', a*), a* greedy for the target net (DQN) or for the
    # online net (double Q-learning); C51: the projected distribution under a*.
    out_t = qnet_forward(st.target, net, st.b_next, st.noise_target, st.work_target)
    out_sel = out_t
    if hp.double:
        out_sel = qnet_forward(st.params, net, st.b_next, st.noise, st.work_next)
    if k_atoms == 1:
        if hp.double:
            double_q_targets(ret, discount, out_sel, out_t, y)
        else:
            q_learning_targets(ret, discount, out_t, y)
    else:
        for b in range(n_b):
            q_values(net, out_sel, b, st.q)
            a = np.argmax(st.q)
            a_star[b] = a
            softmax(out_t[b, a * k_atoms : (a + 1) * k_atoms], st.p)
            categorical_projection(net.support, ret[b], discount[b], st.p, st.target_dist[b])

    # Online forward, importance-weighted loss and its gradient w.r.t. the outputs.
    out = qnet_forward(st.params, net, st.b_obs, st.noise, st.work)
    g_out = st.g_out
    g_out[:] = 0.0
    loss = 0.0
    q_sum = 0.0
    for b in range(n_b):
        a = int(st.b_action[b, 0])
        scale = weight[b] / n_b
        if k_atoms == 1:
            delta = out[b, a] - y[b]
            l_b, dl = td_loss(delta, hp.loss)
            td[b] = delta
            g_out[b, a] = scale * dl
            q_sum += out[b, a]
        else:
            g_row = g_out[b, a * k_atoms : (a + 1) * k_atoms]
            l_b = categorical_cross_entropy(
                out[b, a * k_atoms : (a + 1) * k_atoms], st.target_dist[b], g_row
            )
            for i in range(k_atoms):  # g_row = p - m, so p = g_row + m
                q_sum += net.support[i] * (g_row[i] + st.target_dist[b, i])
                g_row[i] *= scale
            td[b] = l_b
        loss += scale * l_b
    st.grad[:] = 0.0
    qnet_backward(st.params, net, st.noise, st.work, g_out, st.grad)
    if hp.max_grad_norm > 0.0:
        clip_by_global_norm(st.grad, hp.max_grad_norm)
    adam_step(st.params, st.grad, st.adam, hp.lr, 0.9, 0.999, hp.adam_eps)
    if hp.prioritized:
        for b in range(n_b):
            sumtree_update(tree, rows[b], per_priority(td[b], hp.per_alpha, hp.per_eps))
    return loss, q_sum / n_b


@njit(cache=True)
def dqn_act(
    net: QNet,
    params: np.ndarray,
    noisy: bool,
    noise: np.ndarray,
    work: QWork,
    q: np.ndarray,
    obs: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
) -> int:
    """Epsilon-greedy action for obs float64[obs_dim]; noisy nets draw fresh noise (into
    ``noise``) and act greedily. ``work``: a ``qnet_work(net, 1)``; q float64[A] scratch."""
    if noisy:
        sample_noise(net, rng, noise)
    elif rng.random() < epsilon:
        return int(rng.random() * net.n_actions)
    out = qnet_forward(params, net, obs.reshape((1, obs.shape[0])), noise, work)
    q_values(net, out, 0, q)
    return int(np.argmax(q))


@njit(cache=True)
def dqn_epsilon(hp: DQNHyper, step: int) -> float:
    """Exploration rate at env step ``step`` (0 with noisy nets)."""
    if hp.noisy:
        return 0.0
    return linear_schedule(hp.epsilon_start, hp.epsilon_end, hp.exploration_steps, step)


# Inlined (Numba IR) into dqn_run_control: as a separate compiled function its LLVM module
# re-optimises all of dqn_update again (~3 s of a cold compile); the Gym path calls it as usual.
@njit(cache=True, inline="always")
def dqn_observe(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree,
    rng: np.random.Generator,
    obs: np.ndarray,
    action: np.ndarray,
    reward: float,
    next_obs: np.ndarray,
    terminated: bool,
    truncated: bool,
    metrics: np.ndarray,
) -> int:
    """Store one transition, then run the updates and target update that are due.

    ``next_obs`` is the observation reached (the final one at an episode end). Adds the losses
    and mean Qs of updates to metrics[0], metrics[1] and their count to metrics[2]. Returns -1,
    or the update number whose parameters stopped being finite."""
    i = replay_add(buf, obs, action, reward, next_obs, terminated, truncated)
    if hp.prioritized:
        sumtree_update(tree, i, tree.max_priority[0])
    st.counters[0] += 1
    step = st.counters[0]
    if (
        step > hp.learning_starts
        and step % hp.train_frequency == 0
        and replay_size(buf) >= hp.batch_size
    ):
        beta = hp.per_beta0 + (1.0 - hp.per_beta0) * min(1.0, step / hp.total_steps)
        for _ in range(hp.gradient_steps):
            loss, q_mean = dqn_update(hp, net, st, buf, tree, rng, beta)
            st.counters[2] += 1
            metrics[0] += loss
            metrics[1] += q_mean
            metrics[2] += 1.0
            if not (math.isfinite(loss) and _all_finite(st.params)):
                return st.counters[2]
    if step % hp.target_update_every == 0:
        polyak_update(st.target, st.params, hp.tau)
    return -1


@njit(cache=True)
def dqn_run_control(
    fns: EnvFns,
    env_params: np.ndarray,
    max_steps: int,
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree,
    rng: np.random.Generator,
    n_steps: int,
    metrics: np.ndarray,
) -> int:
    """Run ``n_steps`` env steps of DQN on the control env ``fns`` with constants
    ``env_params`` (``ControlEnv.fns``/``.params``; state in ``st``, resumable).

    metrics float64[5] accumulates (loss sum, mean-Q sum, updates, episode-return sum, episodes
    finished). Returns -1, or the update number at which the parameters became non-finite."""
    for _ in range(n_steps):
        epsilon = dqn_epsilon(hp, st.counters[0])
        a = dqn_act(net, st.params, hp.noisy, st.noise, st.work_act, st.q, st.obs, epsilon, rng)
        st.action[0] = float(a)
        reward, terminated = fns.step(env_params, st.env_state, st.action, rng)
        st.counters[1] += 1
        truncated = st.counters[1] >= max_steps
        fns.observe(env_params, st.env_state, st.next_obs)
        st.ep_return[0] += reward
        status = dqn_observe(
            hp, net, st, buf, tree, rng, st.obs, st.action, reward, st.next_obs, terminated,
            truncated, metrics,
        )  # fmt: skip
        if terminated or truncated:
            metrics[3] += st.ep_return[0]
            metrics[4] += 1.0
            st.counters[3] += 1
            st.ep_return[0] = 0.0
            st.counters[1] = 0
            fns.reset(env_params, st.env_state, rng)
            fns.observe(env_params, st.env_state, st.obs)
        else:
            st.obs[:] = st.next_obs
        if status >= 0:
            return status
    return -1


@njit(cache=True)
def greedy_returns(
    fns: EnvFns,
    env_params: np.ndarray,
    state_dim: int,
    max_steps: int,
    net: QNet,
    params: np.ndarray,
    episodes: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Undiscounted returns float64[episodes] of the greedy policy (noisy nets: mean weights)
    on the control env ``fns`` with constants ``env_params`` and a float64[state_dim] state
    (``ControlEnv.fns``/``.params``/``.state_dim``); start states drawn from ``rng``."""
    work = qnet_work(net, 1)
    noise = np.zeros(net.n_noise)
    q = np.zeros(net.n_actions)
    state = np.zeros(state_dim)
    obs = np.zeros((1, net.obs_dim))
    action = np.zeros(1)
    returns = np.zeros(episodes)
    for ep in range(episodes):
        fns.reset(env_params, state, rng)
        fns.observe(env_params, state, obs[0])
        for _ in range(max_steps):
            out = qnet_forward(params, net, obs, noise, work)
            q_values(net, out, 0, q)
            action[0] = float(np.argmax(q))
            reward, terminated = fns.step(env_params, state, action, rng)
            returns[ep] += reward
            if terminated:
                break
            fns.observe(env_params, state, obs[0])
    return returns


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def _make_state(
    net: QNet, cfg: DQNConfig, params: np.ndarray, state_dim: int, obs_dim: int
) -> DQNState:
    b = cfg.batch_size
    m = net.n_actions * net.n_atoms
    return DQNState(
        params,
        params.copy(),
        np.zeros(net.n_params),
        adam_init(net.n_params),
        np.zeros(state_dim),
        np.zeros(obs_dim),
        np.zeros(obs_dim),
        np.zeros(1),
        np.zeros(4, dtype=np.int64),
        np.zeros(1),
        np.zeros(net.n_noise),
        np.zeros(net.n_noise),
        qnet_work(net, 1),
        qnet_work(net, b),
        qnet_work(net, b),
        qnet_work(net, b),
        np.zeros(net.n_actions),
        np.zeros(net.n_atoms),
        np.zeros((2, b), dtype=np.int64),
        np.zeros((5, b)),
        np.zeros((b, obs_dim)),
        np.zeros((b, 1)),
        np.zeros((b, obs_dim)),
        np.zeros((b, net.n_atoms)),
        np.zeros((b, m)),
    )


def _env_spaces(env: Any) -> tuple[int, int, bool]:
    """(obs_dim, n_actions, is_control) of a discrete-action ControlEnv or Gymnasium env."""
    from numbarl.deep.rollout import env_info

    info = env_info(env)
    if info.n_actions < 1:
        raise ValueError(
            f"DQN needs a discrete action space (Discrete(n)), got a continuous one for {env!r}"
        )
    if info.n_envs != 1 or (not info.is_control and hasattr(env, "num_envs")):
        raise ValueError("DQN takes a single env, not a gymnasium.vector env")
    return info.obs_dim, info.n_actions, info.is_control


def _net_for(cfg: DQNConfig, obs_dim: int, n_actions: int) -> QNet:
    return make_qnet(
        obs_dim,
        n_actions,
        cfg.hidden,
        cfg.depth,
        cfg.activation,
        cfg.dueling,
        cfg.noisy,
        cfg.n_atoms if cfg.distributional else 1,
        cfg.v_min,
        cfg.v_max,
    )


def _net_arrays(net: QNet) -> dict[str, np.ndarray]:
    desc = [net.obs_dim, net.hidden, net.torso.shape[0], net.n_actions, net.n_atoms]
    desc += [int(net.dueling), int(net.noisy), net.act]
    return {"net": np.array(desc, dtype=np.int64), "support": net.support.copy()}


def _net_from_arrays(arrays: dict[str, np.ndarray]) -> QNet:
    for key in ("params", "net", "support"):
        if key not in arrays:
            raise ValueError(f"arrays must hold {key!r} (as returned by dqn.train)")
    d = [int(v) for v in arrays["net"]]
    support = np.asarray(arrays["support"], dtype=np.float64)
    activation = {v: k for k, v in ACTIVATIONS.items()}[d[7]]
    net = make_qnet(d[0], d[3], d[1], d[2], activation, bool(d[5]), bool(d[6]), d[4])
    net = net._replace(support=support.copy())
    if np.asarray(arrays["params"]).shape != (net.n_params,):
        raise ValueError(f"arrays['params'] must be float64[{net.n_params}] for this network")
    return net


def train(
    env: Any,
    cfg: DQNConfig | dict[str, Any] | None = None,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Train DQN (with the switches ``cfg`` turns on) on ``env``; returns (arrays, history).

    ``env``: a discrete-action numbarl ``ControlEnv`` (compiled loop) or a Gymnasium env with a
    1-D Box observation space and a Discrete action space (Python loop, same compiled update).
    ``cfg``: a DQNConfig, or a dict of overrides of ``TUNED[env id]`` (None: that row). ``arrays``:
    ``params``/``target_params`` float64[P], ``net`` int64[8] and ``support`` float64[K] (what
    ``evaluate`` needs). ``history``: columns ``step``, ``eval_return`` (mean greedy return over
    ``eval_episodes``), ``loss``, ``q_mean`` (means over the chunk's updates; NaN before the
    first), ``epsilon``, ``episodes`` and ``train_return`` (mean return of the training episodes
    that ended in the chunk), one row every ``eval_every`` steps. Same seed, same bytes.
    Raises TrainingDiverged (with the arrays and history so far) when parameters become
    non-finite."""
    obs_dim, n_actions, is_control = _env_spaces(env)
    cfg = make_dqn_config(env, cfg)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {progress!r}")
    init_seq, train_seq, eval_seq = np.random.SeedSequence(int(seed)).spawn(3)
    net = _net_for(cfg, obs_dim, n_actions)
    params = qnet_init(net, np.random.default_rng(init_seq), cfg.noisy_sigma0)
    hp = hyper(cfg)
    state_dim = env.state_dim if is_control else 1
    st = _make_state(net, cfg, params, state_dim, obs_dim)
    buf = replay_init(cfg.buffer_size, obs_dim, 1)
    tree = sumtree_init(cfg.buffer_size if cfg.prioritized else 1)
    rng = np.random.default_rng(train_seq)
    eval_rng = np.random.default_rng(eval_seq)
    eval_env = env if is_control else _separate_env(env)
    gym = None if is_control else _GymLoop(env, int(np.random.SeedSequence(seed).entropy))
    if is_control:
        env.reset(st.env_state, rng)
        env.observe(st.env_state, st.obs)
    else:
        st.obs[:] = gym.reset()

    cols: dict[str, list[float]] = {k: [] for k in _HISTORY}

    def arrays() -> dict[str, np.ndarray]:
        out = {"params": st.params.copy(), "target_params": st.target.copy()}
        out.update(_net_arrays(net))
        return out

    def history() -> dict[str, np.ndarray]:
        out = {k: np.array(v, dtype=np.float64) for k, v in cols.items()}
        out["step"] = out["step"].astype(np.int64)
        out["episodes"] = out["episodes"].astype(np.int64)
        return out

    done = 0
    while done < cfg.total_steps:
        n = min(cfg.eval_every, cfg.total_steps - done)
        metrics = np.zeros(5)
        if is_control:
            status = dqn_run_control(
                env.fns, env.params, env.max_steps, hp, net, st, buf, tree, rng, n, metrics
            )
        else:
            status = gym.run(hp, net, st, buf, tree, rng, n, metrics)
        if status >= 0:
            raise TrainingDiverged(
                f"DQN diverged: parameters became non-finite at update {status} "
                f"(env step {int(st.counters[0])})",
                arrays(),
                history(),
            )
        done = int(st.counters[0])
        returns = _evaluate_with(net, st.params, eval_env, cfg.eval_episodes, eval_rng, is_control)
        updates = metrics[2]
        cols["step"].append(done)
        cols["eval_return"].append(float(returns.mean()))
        cols["loss"].append(metrics[0] / updates if updates else math.nan)
        cols["q_mean"].append(metrics[1] / updates if updates else math.nan)
        cols["epsilon"].append(float(dqn_epsilon(hp, done)))
        cols["episodes"].append(metrics[4])
        cols["train_return"].append(metrics[3] / metrics[4] if metrics[4] else math.nan)
        if progress is not None:
            progress(done / cfg.total_steps)
        if returns.mean() >= cfg.stop_at_return:
            break
    return arrays(), history()


_HISTORY = ("step", "eval_return", "loss", "q_mean", "epsilon", "episodes", "train_return")


def _evaluate_with(
    net: QNet,
    params: np.ndarray,
    env: Any,
    episodes: int,
    rng: np.random.Generator,
    is_control: bool,
) -> np.ndarray:
    if is_control:
        return greedy_returns(
            env.fns, env.params, env.state_dim, env.max_steps, net, params, episodes, rng
        )
    return _gym_greedy_returns(net, params, env, episodes, int(rng.integers(2**31)))


def _separate_env(env: Any) -> Any:
    """A second instance of a Gymnasium env, so evaluation never disturbs a training episode."""
    import copy

    import gymnasium

    spec = getattr(env, "spec", None)
    return gymnasium.make(spec) if spec is not None else copy.deepcopy(env)


def evaluate(
    arrays: dict[str, np.ndarray], env: Any, episodes: int = 20, seed: int = 0
) -> np.ndarray:
    """Greedy returns float64[episodes] of the trained network in ``arrays`` (from ``train``) on
    ``env`` (ControlEnv or Gymnasium env); noisy nets act with their mean weights."""
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    obs_dim, n_actions, is_control = _env_spaces(env)
    net = _net_from_arrays(arrays)
    if (net.obs_dim, net.n_actions) != (obs_dim, n_actions):
        raise ValueError(
            f"the network takes obs_dim={net.obs_dim}, n_actions={net.n_actions}; the env has "
            f"obs_dim={obs_dim}, n_actions={n_actions}"
        )
    params = np.ascontiguousarray(arrays["params"], dtype=np.float64)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    return _evaluate_with(net, params, env, int(episodes), rng, is_control)


# ---------------------------------------------------------------------------------------------
# Gymnasium envs: a Python loop feeding the same compiled act/observe/update
# ---------------------------------------------------------------------------------------------


class _GymLoop:
    """Steps a Gymnasium env from Python; transitions go through ``dqn_observe``."""

    def __init__(self, env: Any, seed: int) -> None:
        self.env = env
        self.seed = seed % 2**31
        self.ep_return = 0.0

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self.seed)
        return np.asarray(obs, dtype=np.float64)

    def run(self, hp, net, st, buf, tree, rng, n_steps: int, metrics: np.ndarray) -> int:
        for _ in range(n_steps):
            epsilon = dqn_epsilon(hp, int(st.counters[0]))
            a = dqn_act(net, st.params, hp.noisy, st.noise, st.work_act, st.q, st.obs, epsilon, rng)
            st.action[0] = float(a)
            obs, reward, terminated, truncated, _ = self.env.step(a)
            st.next_obs[:] = obs
            self.ep_return += float(reward)
            status = dqn_observe(
                hp, net, st, buf, tree, rng, st.obs, st.action, float(reward), st.next_obs,
                bool(terminated), bool(truncated), metrics,
            )  # fmt: skip
            if terminated or truncated:
                metrics[3] += self.ep_return
                metrics[4] += 1.0
                st.counters[3] += 1
                self.ep_return = 0.0
                obs, _ = self.env.reset()
                st.obs[:] = obs
            else:
                st.obs[:] = st.next_obs
            if status >= 0:
                return status
        return -1


def _gym_greedy_returns(
    net: QNet, params: np.ndarray, env: Any, episodes: int, seed: int
) -> np.ndarray:
    work = qnet_work(net, 1)
    noise = np.zeros(net.n_noise)
    q = np.zeros(net.n_actions)
    x = np.zeros((1, net.obs_dim))
    returns = np.zeros(episodes)
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        while True:
            x[0] = obs
            q_values(net, qnet_forward(params, net, x, noise, work), 0, q)
            obs, reward, terminated, truncated, _ = env.step(int(np.argmax(q)))
            returns[ep] += float(reward)
            if terminated or truncated:
                break
    return returns


def run(algo: str, env: Any, cfg: DQNConfig, seed: int, progress=None):
    """``numbarl.api`` family entry point: ``train(env, cfg, seed, progress)``."""
    return train(env, cfg, seed, progress)


__all__ = [
    "DQNConfig",
    "DQNHyper",
    "DQNState",
    "HUBER",
    "MSE",
    "QNet",
    "QWork",
    "RAINBOW",
    "TUNED",
    "categorical_cross_entropy",
    "categorical_projection",
    "make_dqn_config",
    "double_q_target",
    "dqn_act",
    "dqn_observe",
    "dqn_run_control",
    "dqn_update",
    "dueling_aggregate",
    "dueling_backward",
    "evaluate",
    "greedy_returns",
    "hyper",
    "linear_schedule",
    "make_qnet",
    "noisy_linear_backward",
    "noisy_linear_forward",
    "q_learning_target",
    "q_values",
    "qnet_backward",
    "qnet_forward",
    "qnet_init",
    "qnet_work",
    "sample_noise",
    "scaled_noise",
    "softmax",
    "td_loss",
    "run",
    "train",
]
