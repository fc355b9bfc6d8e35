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

All switches on is Rainbow (``RAINBOW``). The Q network (torso, plain or noisy heads, dueling,
C51 logits) is ``numbarl.nn.qnet``, a flat parameter array; the noisy layer is
``numbarl.nn.noisy`` and the C51 projection and loss ``numbarl.nn.distributional``.

Precision (``dtype``, float32 by default): the online and target parameters, gradients, Adam's
moments, every activation and workspace, the noise and the replay buffer's observations are in
the network's dtype; the env computes in float64 and its observations are rounded where they
enter the buffer or the net. Returns, TD targets y, the C51 target distributions, the losses and
their sums over a batch stay float64; only dL/dQ is rounded to the net's dtype for the backward
pass. ``dtype="float64"`` gives the float64 network.

Compiling only what a config uses (a newcomer's first run compiles everything on an empty Numba
cache). Prioritized replay and noisy nets are compile-time switches: without them the sum tree
is None and ``DQNState.noise``/``noise_target`` are None, and the kernels, compiled per argument
type, hold no sum-tree, noise or noisy-layer code; scalar Q and C51 are two updates
(``dqn_update_q``, ``dqn_update_c51``) chosen in Python. Double Q, dueling, n-step and the loss
are runtime switches of one compiled loop. The loop reaches the update, and the update, the
acting step and the greedy evaluation reach the Q net's forward and backward, through
first-class function pointers (``update_fns``, ``numbarl.nn.qnet.QNetFns``): each is compiled
once, on its own, and on a cold cache the loop, the update, the forward and the backward
compile in parallel (``numbarl.precompile``).

This file reads top to bottom as the algorithm: the one-step target and loss kernels, the
training state, the update, acting and storing, the compiled loop on a numbarl env and the Python
shell (``train``/``evaluate``). The tuned rows and the config (``TUNED``, ``RAINBOW``,
``DQNConfig``, re-exported here) are ``numbarl.deep.dqn_config``; the Python loop for Gymnasium
envs is ``numbarl.deep.dqn_gym``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit, typeof, types
from numba.extending import overload

from numbarl.deep.dqn_config import (
    HUBER,
    MSE,
    RAINBOW,
    TUNED,
    DQNConfig,
    DQNHyper,
    hyper,
    make_dqn_config,
)
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
from numbarl.deep.train import Progress, TrainOutput
from numbarl.envs.control.core import FunctionPointer
from numbarl.errors import TrainingDiverged
from numbarl.nn.distributional import categorical_cross_entropy, categorical_projection, softmax
from numbarl.nn.kernel import pointer_kernel, python_kernel
from numbarl.nn.mlp import ACTIVATIONS, DTYPES, net_dtype
from numbarl.nn.optim import AdamState, adam_init, adam_step, clip_by_global_norm, polyak_update
from numbarl.nn.pointers import Pointer, StepFns, cache_numba_type, step_fns
from numbarl.nn.qnet import (
    QNet,
    QNetFns,
    QWork,
    make_qnet,
    q_values,
    qnet_fns,
    qnet_init,
    qnet_output,
    qnet_work,
    sample_noise,
)
from numbarl.precompile import compile_calls
from numbarl.validation import all_finite as _all_finite

# ---------------------------------------------------------------------------------------------
# One-step kernels
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def linear_schedule(start: float, end: float, duration: int, t: int) -> float:
    """start -> end linearly over ``duration`` steps, then ``end`` (epsilon's schedule)."""
    frac = t / duration
    if frac >= 1.0:
        return end
    return start + frac * (end - start)


@njit(cache=True, inline="always")
def q_learning_target(r_t: float, discount_t: float, q_t: np.ndarray) -> float:
    """r_t + discount_t max_a q_t[a], q_t [A] from the target net (Mnih et al. 2015); float64."""
    return r_t + discount_t * q_t.max()


@njit(cache=True, inline="always")
def double_q_target(
    r_t: float, discount_t: float, q_t_online: np.ndarray, q_t_target: np.ndarray
) -> float:
    """r_t + discount_t q_t_target[argmax_a q_t_online[a]] (van Hasselt et al. 2016, eq. 4).

    q_t_online, q_t_target [A] (the net's dtype): the online net selects, the target net
    evaluates; the target is float64."""
    return r_t + discount_t * q_t_target[np.argmax(q_t_online)]


@njit(cache=True, inline="always")
def q_learning_targets(
    r_t: np.ndarray, discount_t: np.ndarray, q_t: np.ndarray, out: np.ndarray
) -> None:
    """Batch form of ``q_learning_target``: out float64[B] for float64[B] r_t, discount_t and
    q_t [B, A] (the target net's Q values at s_{t+n}, the net's dtype)."""
    for b in range(r_t.shape[0]):
        out[b] = q_learning_target(r_t[b], discount_t[b], q_t[b])


@njit(cache=True, inline="always")
def double_q_targets(
    r_t: np.ndarray,
    discount_t: np.ndarray,
    q_t_online: np.ndarray,
    q_t_target: np.ndarray,
    out: np.ndarray,
) -> None:
    """Batch form of ``double_q_target``: out float64[B] for float64[B] r_t, discount_t and the
    online and target nets' Q values [B, A] at s_{t+n} (the net's dtype)."""
    for b in range(r_t.shape[0]):
        out[b] = double_q_target(r_t[b], discount_t[b], q_t_online[b], q_t_target[b])


@njit(cache=True, inline="always")
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


# ---------------------------------------------------------------------------------------------
# Training state and the update
# ---------------------------------------------------------------------------------------------


@cache_numba_type  # typed once per run, not at every chunk's call from Python
class DQNState(NamedTuple):
    """Everything the compiled loop carries between chunks (built by ``_make_state``).

    ``env_state`` float64[state_dim] the control env's state (``ControlEnv.state_dim``;
    float64[1], unused, on the Gymnasium path). ``counters`` int64[4] indexed by ``STEPS``,
    ``EPISODE_STEPS``, ``UPDATES``, ``EPISODES``; ``ep_return`` float64[1] the current episode's
    return so far. Batch arrays have B rows:
    ``index`` int64[2, B] = (sampled rows, C51's greedy next actions a*), ``batch`` float64[5, B] =
    (n-step return G, discount, importance weight, TD error (C51: loss), target y), ``b_obs``,
    ``b_next`` [B, obs_dim], ``b_action`` [B, 1], ``target_dist`` float64[B, K]
    (projected C51 targets), ``g_out`` [B, A*K]; ``q`` float64[A] and ``p`` float64[K]
    one row's Q values and probabilities; ``noise``/``noise_target`` [n_noise] (None for a net
    without noisy heads: its kernels compile no noise code). ``params``, ``target``, ``grad``,
    ``adam``, the noise,
    the workspaces, ``x_act`` ([1, obs_dim], the acting net's input), ``b_obs``, ``b_action``,
    ``b_next`` and ``g_out`` are in the net's dtype; ``obs``/``next_obs`` hold the env's float64
    observations."""

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
    noise: np.ndarray | None
    noise_target: np.ndarray | None
    work_act: QWork
    x_act: np.ndarray
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
# Slots of DQNState.counters: env steps so far, steps into the current episode, gradient
# updates so far, episodes finished.
STEPS, EPISODE_STEPS, UPDATES, EPISODES = range(4)


def _is_none(value: Any) -> bool:
    return isinstance(value, types.NoneType | types.Omitted)


def _sample_rows(buf, tree, rng, beta, rows, weight):  # noqa: ANN001, ANN202
    """Fill rows int64[B] and importance weights float64[B]: uniform (``tree`` None, weights 1)
    or proportional to priority (Schaul et al. 2016). Compiled code only: the branch is chosen
    by the type of ``tree`` when the caller compiles (Numba prunes ``tree is None`` only where
    it holds, so a prioritized run would compile the uniform draw too)."""
    raise NotImplementedError("_sample_rows is called from compiled code only")


@overload(_sample_rows, inline="always")
def _sample_rows_typed(buf, tree, rng, beta, rows, weight):  # noqa: ANN001, ANN202
    if _is_none(tree):

        def uniform(buf, tree, rng, beta, rows, weight):  # noqa: ANN001, ANN202
            replay_sample_uniform(buf, rng, rows)
            weight[:] = 1.0

        return uniform

    def prioritized(buf, tree, rng, beta, rows, weight):  # noqa: ANN001, ANN202
        sumtree_sample(tree, rng, rows)
        per_weights(tree, rows, replay_size(buf), beta, weight)

    return prioritized


def _fresh_noise(net, rng, noise):  # noqa: ANN001, ANN202
    """``sample_noise(net, rng, noise)``, nothing at all for ``noise`` None (compiled code only;
    chosen by type, so a net without noisy heads compiles no call)."""
    raise NotImplementedError("_fresh_noise is called from compiled code only")


@overload(_fresh_noise, inline="always")
def _fresh_noise_typed(net, rng, noise):  # noqa: ANN001, ANN202
    if _is_none(noise):
        return lambda net, rng, noise: None
    return lambda net, rng, noise: sample_noise(net, rng, noise)


@njit(cache=True, inline="always")
def _sample_batch(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree | None,
    rng: np.random.Generator,
    beta: float,
) -> None:
    """Sample B rows into ``st.index``/``st.batch`` and gather them as n-step transitions:
    uniform (``tree`` None) or proportional to priority with importance weights (Schaul et al.
    2016); then fresh noise for the online and the target net (noisy nets; Fortunato et al.)."""
    rows, weight = st.index[_ROWS], st.batch[_WEIGHT]
    _sample_rows(buf, tree, rng, beta, rows, weight)
    replay_gather(
        buf, rows, hp.n_step, hp.gamma, st.b_obs, st.b_action, st.batch[_RET],
        st.batch[_DISCOUNT], st.b_next,
    )  # fmt: skip
    _fresh_noise(net, rng, st.noise)  # None (no noisy heads): nothing drawn
    _fresh_noise(net, rng, st.noise_target)


@njit(cache=True, inline="always")
def _apply_gradient(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    tree: SumTree | None,
    g_out: np.ndarray,
    qfns: QNetFns,
) -> None:
    """Backpropagate g_out = dL/d(outputs) of the online forward on ``st.work``, clip, take an
    Adam step, and set the sampled rows' priorities from their TD errors (``tree`` not None)."""
    st.grad[:] = 0.0
    qfns.backward(st.params, net, st.noise, st.work, g_out, st.grad)
    if hp.max_grad_norm > 0.0:
        clip_by_global_norm(st.grad, hp.max_grad_norm)
    adam_step(st.params, st.grad, st.adam, hp.lr, 0.9, 0.999, hp.adam_eps)
    if tree is not None:
        rows, td = st.index[_ROWS], st.batch[_TD]
        for b in range(hp.batch_size):
            sumtree_update(tree, rows[b], per_priority(td[b], hp.per_alpha, hp.per_eps))


@pointer_kernel(cache=True)  # called through its pointer only
def dqn_update_q(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree | None,
    rng: np.random.Generator,
    beta: float,
    qfns: QNetFns,
) -> tuple[float, float]:
    """One gradient step of a scalar-Q net (DQN, double Q-learning) on a sampled batch; returns
    (loss, mean Q(s_t, a_t) of the batch). ``tree`` None: uniform replay."""
    n_b = hp.batch_size
    ret, discount, weight = st.batch[_RET], st.batch[_DISCOUNT], st.batch[_WEIGHT]
    td, y = st.batch[_TD], st.batch[_Y]
    _sample_batch(hp, net, st, buf, tree, rng, beta)
    # Targets y = G + discount Q_target(s', a*), a* greedy for the target net (DQN) or for the
    # online net (double Q-learning).
    qfns.forward(st.target, net, st.b_next, st.noise_target, st.work_target)
    out_t = qnet_output(net, n_b, st.work_target)
    if hp.double:
        qfns.forward(st.params, net, st.b_next, st.noise, st.work_next)
        double_q_targets(ret, discount, qnet_output(net, n_b, st.work_next), out_t, y)
    else:
        q_learning_targets(ret, discount, out_t, y)
    # Online forward, importance-weighted loss and its gradient w.r.t. the outputs.
    qfns.forward(st.params, net, st.b_obs, st.noise, st.work)
    out = qnet_output(net, n_b, st.work)
    g_out = st.g_out
    g_out[:] = 0.0
    loss = 0.0
    q_sum = 0.0
    for b in range(n_b):
        a = int(st.b_action[b, 0])
        scale = weight[b] / n_b
        delta = out[b, a] - y[b]
        l_b, dl = td_loss(delta, hp.loss)
        td[b] = delta
        g_out[b, a] = scale * dl
        q_sum += out[b, a]
        loss += scale * l_b
    _apply_gradient(hp, net, st, tree, g_out, qfns)
    return loss, q_sum / n_b


@pointer_kernel(cache=True)  # called through its pointer only
def dqn_update_c51(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree | None,
    rng: np.random.Generator,
    beta: float,
    qfns: QNetFns,
) -> tuple[float, float]:
    """One gradient step of a C51 net (Bellemare et al. 2017) on a sampled batch; returns
    (cross-entropy loss, mean Q(s_t, a_t) of the batch). ``tree`` None: uniform replay."""
    n_b = hp.batch_size
    k_atoms = net.n_atoms
    a_star = st.index[_A_STAR]
    ret, discount, weight = st.batch[_RET], st.batch[_DISCOUNT], st.batch[_WEIGHT]
    td = st.batch[_TD]
    _sample_batch(hp, net, st, buf, tree, rng, beta)
    # The projected distribution of G + discount Z(s', a*), a* greedy for the target net or
    # (double) for the online net.
    qfns.forward(st.target, net, st.b_next, st.noise_target, st.work_target)
    out_t = qnet_output(net, n_b, st.work_target)
    out_sel = out_t
    if hp.double:
        qfns.forward(st.params, net, st.b_next, st.noise, st.work_next)
        out_sel = qnet_output(net, n_b, st.work_next)
    for b in range(n_b):
        q_values(net, out_sel, b, st.q)
        a = np.argmax(st.q)
        a_star[b] = a
        softmax(out_t[b, a * k_atoms : (a + 1) * k_atoms], st.p)
        categorical_projection(net.support, ret[b], discount[b], st.p, st.target_dist[b])
    # Online forward, importance-weighted cross-entropy and its gradient w.r.t. the logits.
    qfns.forward(st.params, net, st.b_obs, st.noise, st.work)
    out = qnet_output(net, n_b, st.work)
    g_out = st.g_out
    g_out[:] = 0.0
    loss = 0.0
    q_sum = 0.0
    for b in range(n_b):
        a = int(st.b_action[b, 0])
        scale = weight[b] / n_b
        g_row = g_out[b, a * k_atoms : (a + 1) * k_atoms]
        l_b = categorical_cross_entropy(
            out[b, a * k_atoms : (a + 1) * k_atoms], st.target_dist[b], g_row
        )
        for i in range(k_atoms):  # g_row = p - m, so p = g_row + m
            q_sum += net.support[i] * (g_row[i] + st.target_dist[b, i])
            g_row[i] *= scale
        td[b] = l_b
        loss += scale * l_b
    _apply_gradient(hp, net, st, tree, g_out, qfns)
    return loss, q_sum / n_b


def dqn_update(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree | None,
    rng: np.random.Generator,
    beta: float,
) -> tuple[float, float]:
    """One gradient step on a sampled batch; returns (loss, mean Q(s_t, a_t) of the batch).

    ``dqn_update_c51`` for a C51 net, else ``dqn_update_q``: the compiled loops call the one
    their net needs through ``update_fns``. ``tree``: the priorities' SumTree, or None for
    uniform replay; ``st.noise``/``st.noise_target`` None for a net without noisy heads (each
    function is compiled for the switches it is given: plain DQN compiles no sum tree, noise,
    C51 or noisy-layer code)."""
    return _update_once(update_fns(hp, net, st, buf, tree, rng), hp, net, st, buf, tree, rng, beta)


@njit(cache=True)
def _update_once(
    update: UpdateFns,
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree | None,
    rng: np.random.Generator,
    beta: float,
) -> tuple[float, float]:
    """``dqn_update`` from Python: the update has no CPython wrapper (a compiled loop calls it
    through its pointer; the wrapper unboxing ``DQNState`` cost ~0.5 s of a cold compile)."""
    return update.update(hp, net, st, buf, tree, rng, beta, update.net_fns)


def _update_for(net: QNet) -> Any:
    return dqn_update_c51 if net.n_atoms > 1 else dqn_update_q


@njit(cache=True, inline="always")  # one compiled caller (dqn_run_control); the Gym path calls it
def dqn_act(
    net: QNet,
    params: np.ndarray,
    noisy: bool,
    noise: np.ndarray | None,
    work: QWork,
    q: np.ndarray,
    obs: np.ndarray,
    x: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
    forward: FunctionPointer,
) -> int:
    """Epsilon-greedy action for obs float64[obs_dim]; noisy nets draw fresh noise (into
    ``noise``) and act greedily. ``work``: a ``qnet_work(net, 1, params.dtype)``; q float64[A]
    and x [1, obs_dim] (the net's dtype: the net only ever sees inputs in its own dtype, so one
    forward pass compiles) scratch. ``forward``: ``QNetFns.forward``, the update's (a pointer
    call costs ~10 ns against a forward's ~750 ns on CartPole's net; the loop then compiles no
    network code)."""
    if noisy:
        _fresh_noise(net, rng, noise)
    elif rng.random() < epsilon:
        return int(rng.random() * net.n_actions)
    for i in range(obs.shape[0]):
        x[0, i] = obs[i]
    forward(params, net, x, noise, work)
    q_values(net, qnet_output(net, 1, work), 0, q)
    return int(np.argmax(q))


@njit(cache=True, inline="always")
def dqn_epsilon(hp: DQNHyper, step: int) -> float:
    """Exploration rate at env step ``step`` (0 with noisy nets)."""
    if hp.noisy:
        return 0.0
    return linear_schedule(hp.epsilon_start, hp.epsilon_end, hp.exploration_steps, step)


@cache_numba_type
class UpdateFns(NamedTuple):
    """What the loops call for a gradient step (``update_fns``): ``update(hp, net, st, buf,
    tree, rng, beta, net_fns)`` is ``dqn_update_q`` or ``dqn_update_c51``, and ``net_fns`` the
    Q net's forward and backward it calls."""

    update: FunctionPointer
    net_fns: QNetFns


def update_fns(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree | None,
    rng: np.random.Generator,
) -> UpdateFns:
    """The update ``dqn_update`` would run (``dqn_update_q`` or ``dqn_update_c51``) and the Q
    net's forward and backward, compiled for these arguments' types, as first-class function
    pointers.

    Numba links every directly called njit function into its caller's LLVM module and
    optimises and emits it again there: ``dqn_run_control`` calling the update directly
    compiled the update twice, and the update calling the network directly compiled the
    network's code into the update. Through pointers each is compiled once, on its own: on a
    cold cache the update, the forward, the backward and the loop compile in parallel
    (``numbarl.precompile``); the loop's and the update's cache keys hold signatures only.
    Per gradient step: one indirect call to the update, two or three to the forward and one
    to the backward."""
    net_fns = qnet_fns(st.params, net, st.noise, st.work)
    sig = types.UniTuple(types.float64, 2)(
        typeof(hp), typeof(net), typeof(st), typeof(buf), typeof(tree), typeof(rng),
        types.float64, typeof(net_fns),
    )  # fmt: skip
    return UpdateFns(Pointer(_update_for(net), sig), net_fns)


# Inlined (Numba IR) into dqn_run_control; the Gym path calls it as usual.
@njit(cache=True, inline="always")
def dqn_observe(
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree | None,
    rng: np.random.Generator,
    obs: np.ndarray,
    action: np.ndarray,
    reward: float,
    next_obs: np.ndarray,
    terminated: bool,
    truncated: bool,
    metrics: np.ndarray,
    update: UpdateFns,
) -> int:
    """Store one transition, then run the updates (``update``: the update and the Q net's
    functions as pointers, from ``update_fns``) and target update that are due.

    ``next_obs`` is the observation reached (the final one at an episode end). Adds the losses
    and mean Qs of updates to metrics[0], metrics[1] and their count to metrics[2]. Returns -1,
    or the update number whose parameters stopped being finite."""
    i = replay_add(buf, obs, action, reward, next_obs, terminated, truncated)
    if tree is not None:  # prioritized replay
        sumtree_update(tree, i, tree.max_priority[0])
    st.counters[STEPS] += 1
    step = st.counters[STEPS]
    if (
        step > hp.learning_starts
        and step % hp.train_frequency == 0
        and replay_size(buf) >= hp.batch_size
    ):
        beta = hp.per_beta0 + (1.0 - hp.per_beta0) * min(1.0, step / hp.total_steps)
        for _ in range(hp.gradient_steps):
            loss, q_mean = update.update(hp, net, st, buf, tree, rng, beta, update.net_fns)
            st.counters[UPDATES] += 1
            metrics[0] += loss
            metrics[1] += q_mean
            metrics[2] += 1.0
            if not (math.isfinite(loss) and _all_finite(st.params)):
                return st.counters[UPDATES]
    if step % hp.target_update_every == 0:
        polyak_update(st.target, st.params, hp.tau)
    return -1


@python_kernel(cache=True)
def dqn_run_control(
    fns: StepFns,
    env_params: np.ndarray,
    max_steps: int,
    hp: DQNHyper,
    net: QNet,
    st: DQNState,
    buf: ReplayBuffer,
    tree: SumTree | None,
    rng: np.random.Generator,
    n_steps: int,
    metrics: np.ndarray,
    update: UpdateFns,
) -> int:
    """Run ``n_steps`` env steps of DQN on the control env ``fns`` with constants
    ``env_params`` (``ControlEnv.fns``/``.params``; state in ``st``, resumable); ``update`` is
    the update and the Q net's functions as pointers (``update_fns``).

    metrics float64[5] accumulates (loss sum, mean-Q sum, updates, episode-return sum, episodes
    finished). Returns -1, or the update number at which the parameters became non-finite."""
    for _ in range(n_steps):
        epsilon = dqn_epsilon(hp, st.counters[STEPS])
        a = dqn_act(
            net,
            st.params,
            hp.noisy,
            st.noise,
            st.work_act,
            st.q,
            st.obs,
            st.x_act,
            epsilon,
            rng,
            update.net_fns.forward,
        )
        st.action[0] = float(a)
        reward, terminated = fns.step(env_params, st.env_state, st.action, rng)
        st.counters[EPISODE_STEPS] += 1
        truncated = st.counters[EPISODE_STEPS] >= max_steps
        fns.observe(env_params, st.env_state, st.next_obs)
        st.ep_return[0] += reward
        status = dqn_observe(
            hp, net, st, buf, tree, rng, st.obs, st.action, reward, st.next_obs, terminated,
            truncated, metrics, update,
        )  # fmt: skip
        if terminated or truncated:
            metrics[3] += st.ep_return[0]
            metrics[4] += 1.0
            st.counters[EPISODES] += 1
            st.ep_return[0] = 0.0
            st.counters[EPISODE_STEPS] = 0
            fns.reset(env_params, st.env_state, rng)
            fns.observe(env_params, st.env_state, st.obs)
        else:  # element copy: ``st.obs[:] = st.next_obs`` compiles Numba's shape-error formatting
            for i in range(st.obs.shape[0]):
                st.obs[i] = st.next_obs[i]
        if status >= 0:
            return status
    return -1


@python_kernel(cache=True)
def greedy_returns(
    fns: StepFns,
    env_params: np.ndarray,
    state_dim: int,
    max_steps: int,
    net: QNet,
    params: np.ndarray,
    episodes: int,
    rng: np.random.Generator,
    forward: FunctionPointer,
    noise: np.ndarray | None,
    work: QWork,
) -> np.ndarray:
    """Undiscounted returns float64[episodes] of the greedy policy (noisy nets: mean weights)
    on the control env ``fns`` with constants ``env_params`` and a float64[state_dim] state
    (``ControlEnv.fns``/``.params``/``.state_dim``); start states drawn from ``rng``.
    ``forward``: ``QNetFns.forward`` for ``noise`` (zeros [n_noise] for a noisy net, its mean
    weights, through the training forward; None without noisy heads) and ``work`` a
    ``qnet_work(net, 1, params.dtype)`` (``_greedy_net``)."""
    q = np.zeros(net.n_actions)
    state = np.zeros(state_dim)
    obs = np.zeros(net.obs_dim)
    x = np.zeros((1, net.obs_dim), params.dtype)  # obs rounded to the net's dtype
    action = np.zeros(1)
    returns = np.zeros(episodes)
    for ep in range(episodes):
        fns.reset(env_params, state, rng)
        fns.observe(env_params, state, obs)
        for _ in range(max_steps):
            for i in range(obs.shape[0]):
                x[0, i] = obs[i]
            forward(params, net, x, noise, work)
            q_values(net, qnet_output(net, 1, work), 0, q)
            action[0] = float(np.argmax(q))
            reward, terminated = fns.step(env_params, state, action, rng)
            returns[ep] += reward
            if terminated:
                break
            fns.observe(env_params, state, obs)
    return returns


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def _make_state(
    net: QNet, cfg: DQNConfig, params: np.ndarray, state_dim: int, obs_dim: int
) -> DQNState:
    b = cfg.batch_size
    m = net.n_actions * net.n_atoms
    dt = params.dtype  # the net's: float32 or float64
    return DQNState(
        params=params,
        target=params.copy(),
        grad=np.zeros(net.n_params, dt),
        adam=adam_init(net.n_params, dt),
        env_state=np.zeros(state_dim),
        obs=np.zeros(obs_dim),
        next_obs=np.zeros(obs_dim),
        action=np.zeros(1),
        counters=np.zeros(4, dtype=np.int64),
        ep_return=np.zeros(1),
        noise=np.zeros(net.n_noise, dt) if net.noisy else None,
        noise_target=np.zeros(net.n_noise, dt) if net.noisy else None,
        work_act=_work(net, 1, dt),
        x_act=np.zeros((1, obs_dim), dt),
        work=_work(net, b, dt),
        work_next=_work(net, b, dt),
        work_target=_work(net, b, dt),
        q=np.zeros(net.n_actions),
        p=np.zeros(net.n_atoms),
        index=np.zeros((2, b), dtype=np.int64),
        batch=np.zeros((5, b)),
        b_obs=np.zeros((b, obs_dim), dt),
        b_action=np.zeros((b, 1), dt),
        b_next=np.zeros((b, obs_dim), dt),
        target_dist=np.zeros((b, net.n_atoms)),
        g_out=np.zeros((b, m), dt),
    )


def _work(net: QNet, batch: int, dtype: np.dtype) -> QWork:
    """``qnet_work`` run by NumPy in Python: nothing compiled before the parallel compile."""
    return qnet_work.py_func(net, batch, dtype)


def _sumtree(capacity: int) -> SumTree:
    """``sumtree_init`` run by NumPy in Python."""
    return sumtree_init.py_func(capacity)


def _env_spaces(env: Any) -> tuple[int, int, bool]:
    """(obs_dim, n_actions, is_control) of a discrete-action ControlEnv or Gymnasium env."""
    from numbarl.deep.env_info import env_info

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
    obs_dim, hidden, depth, n_actions, n_atoms, dueling, noisy, act = (
        int(v) for v in arrays["net"]
    )  # as _net_arrays writes them
    support = np.asarray(arrays["support"], dtype=np.float64)
    activation = {v: k for k, v in ACTIVATIONS.items()}[act]
    net = make_qnet(
        obs_dim, n_actions, hidden, depth, activation, bool(dueling), bool(noisy), n_atoms
    )
    net = net._replace(support=support.copy())
    params = np.asarray(arrays["params"])
    if params.shape != (net.n_params,) or params.dtype.name not in DTYPES:
        raise ValueError(
            f"arrays['params'] must be float32[{net.n_params}] or float64[{net.n_params}] for "
            f"this network, got {params.dtype}{list(params.shape)}"
        )
    return net


def train(
    env: Any,
    cfg: DQNConfig | dict[str, Any] | None = None,
    seed: int = 0,
    progress: Progress = None,
) -> TrainOutput:
    """Train DQN (with the switches ``cfg`` turns on) on ``env``; returns (arrays, history).

    ``env``: a discrete-action numbarl ``ControlEnv`` (compiled loop) or a Gymnasium env with a
    1-D Box observation space and a Discrete action space (Python loop, same compiled update).
    ``cfg``: a DQNConfig, or a dict of overrides of ``TUNED[env id]`` (None: that row). ``arrays``:
    ``params``/``target_params`` [P] in ``cfg.dtype`` (float32 by default), ``net`` int64[8] and
    ``support`` float64[K] (what ``evaluate`` needs). ``history``: columns ``step``,
    ``eval_return`` (mean greedy return over ``eval_episodes``), ``loss``, ``q_mean`` (means
    over the chunk's updates; NaN before the first), ``epsilon``, ``episodes`` and
    ``train_return`` (mean return of the training episodes that ended in the chunk), one row
    every ``eval_every`` steps. Same seed, same bytes.
    Raises TrainingDiverged (with the arrays and history so far) when parameters become
    non-finite."""
    obs_dim, n_actions, is_control = _env_spaces(env)
    cfg = make_dqn_config(env, cfg)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {progress!r}")
    init_seq, train_seq, eval_seq = np.random.SeedSequence(int(seed)).spawn(3)
    dt = net_dtype(cfg.dtype)
    net = _net_for(cfg, obs_dim, n_actions)
    params = qnet_init(net, np.random.default_rng(init_seq), cfg.noisy_sigma0, dt)
    hp = hyper(cfg)
    state_dim = env.state_dim if is_control else 1
    st = _make_state(net, cfg, params, state_dim, obs_dim)
    buf = replay_init(cfg.buffer_size, obs_dim, 1, dt)
    tree = _sumtree(cfg.buffer_size) if cfg.prioritized else None
    rng = np.random.default_rng(train_seq)
    eval_rng = np.random.default_rng(eval_seq)
    if not is_control:
        from numbarl.deep.dqn_gym import GymLoop, separate_env
    eval_env = env if is_control else separate_env(env)
    kernels = (dqn_epsilon, dqn_act, dqn_observe, STEPS, EPISODES)
    gym = None if is_control else GymLoop(env, int(np.random.SeedSequence(seed).entropy), kernels)
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

    update = update_fns(hp, net, st, buf, tree, rng)
    greedy = _greedy_net(net, st.params) if is_control else None
    if is_control:  # a cold Numba cache: compile the loop's kernels on every core at once
        fns = step_fns(env.fns)
        compile_calls([
            (dqn_run_control, (fns, env.params, env.max_steps, hp, net, st, buf, tree, rng,
                               min(cfg.eval_every, cfg.total_steps), np.zeros(5), update)),
            (greedy_returns, (fns, env.params, env.state_dim, env.max_steps, net, st.params,
                              cfg.eval_episodes, eval_rng, *greedy)),
        ])  # fmt: skip
    done = 0
    while done < cfg.total_steps:
        n = min(cfg.eval_every, cfg.total_steps - done)
        metrics = np.zeros(5)
        if is_control:
            status = dqn_run_control(
                step_fns(env.fns), env.params, env.max_steps, hp, net, st, buf, tree, rng, n,
                metrics, update,
            )  # fmt: skip
        else:
            status = gym.run(hp, net, st, buf, tree, rng, n, metrics, update)
        if status >= 0:
            raise TrainingDiverged(
                f"DQN diverged: parameters became non-finite at update {status} "
                f"(env step {int(st.counters[STEPS])})",
                arrays(),
                history(),
            )
        done = int(st.counters[STEPS])
        returns = _evaluate_with(
            net, st.params, eval_env, cfg.eval_episodes, eval_rng, is_control, greedy
        )
        updates = metrics[2]
        cols["step"].append(done)
        cols["eval_return"].append(float(returns.mean()))
        cols["loss"].append(metrics[0] / updates if updates else math.nan)
        cols["q_mean"].append(metrics[1] / updates if updates else math.nan)
        cols["epsilon"].append(_epsilon_py(hp, done))
        cols["episodes"].append(metrics[4])
        cols["train_return"].append(metrics[3] / metrics[4] if metrics[4] else math.nan)
        if progress is not None:
            progress(done / cfg.total_steps)
        if returns.mean() >= cfg.stop_at_return:
            break
    return arrays(), history()


_HISTORY = ("step", "eval_return", "loss", "q_mean", "epsilon", "episodes", "train_return")


def _epsilon_py(hp: DQNHyper, step: int) -> float:
    """``dqn_epsilon`` run by Python (the history's column; the same float64 arithmetic), so
    nothing compiles for it after the parallel compile."""
    if hp.noisy:
        return 0.0
    return float(
        linear_schedule.py_func(hp.epsilon_start, hp.epsilon_end, hp.exploration_steps, step)
    )


def _greedy_net(net: QNet, params: np.ndarray) -> tuple[FunctionPointer, np.ndarray | None, QWork]:
    """``greedy_returns``'s forward, noise and workspace: a noisy net acts with its mean weights
    as zero noise through the forward its training compiled (not a second forward for
    ``noise=None``: 1.3-1.9 s of a cold Rainbow compile)."""
    work = _work(net, 1, params.dtype)
    noise = np.zeros(net.n_noise, params.dtype) if net.noisy else None
    return qnet_fns(params, net, noise, work).forward, noise, work


def _evaluate_with(
    net: QNet,
    params: np.ndarray,
    env: Any,
    episodes: int,
    rng: np.random.Generator,
    is_control: bool,
    greedy: tuple | None = None,
) -> np.ndarray:
    """``greedy``: ``_greedy_net(net, params)`` when the caller keeps one (~0.2 ms to build)."""
    if is_control:
        return greedy_returns(
            step_fns(env.fns), env.params, env.state_dim, env.max_steps, net, params,
            episodes, rng, *(greedy or _greedy_net(net, params)),
        )  # fmt: skip
    from numbarl.deep.dqn_gym import gym_greedy_returns

    return gym_greedy_returns(net, params, env, episodes, int(rng.integers(2**31)))


def evaluate(
    arrays: dict[str, np.ndarray], env: Any, episodes: int = 20, seed: int = 0
) -> np.ndarray:
    """Greedy returns float64[episodes] of the trained network in ``arrays`` (from ``train``) on
    ``env`` (ControlEnv or Gymnasium env), in the parameters' dtype (float32 or float64); noisy
    nets act with their mean weights."""
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
    params = np.ascontiguousarray(arrays["params"])  # float32 or float64, as trained
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    return _evaluate_with(net, params, env, int(episodes), rng, is_control)


def run(algo: str, env: Any, cfg: DQNConfig, seed: int, progress=None):
    """``numbarl.api`` family entry point: ``train(env, cfg, seed, progress)``."""
    return train(env, cfg, seed, progress)


__all__ = [
    "DQNConfig",
    "DQNHyper",
    "DQNState",
    "HUBER",
    "MSE",
    "RAINBOW",
    "TUNED",
    "make_dqn_config",
    "double_q_target",
    "dqn_act",
    "dqn_observe",
    "dqn_run_control",
    "dqn_update",
    "update_fns",
    "UpdateFns",
    "evaluate",
    "greedy_returns",
    "hyper",
    "linear_schedule",
    "q_learning_target",
    "td_loss",
    "run",
    "train",
]
