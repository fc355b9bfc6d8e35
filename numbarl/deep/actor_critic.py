"""What DDPG, TD3 and SAC share, as data: the actor and Q critics (``ActorCritic``), their
workspaces, the actor/critic kernels and their updates, and the parts of one gradient step
(sampling, critic targets, the critic and actor steps, target averaging; each algorithm's update
puts them together with its own equations). Exploration noise, the env step and the evaluation
of the deterministic actor are ``numbarl.deep.exploration``; the Python training shell (config
merging, checks, the chunked loop, the Gymnasium path, history, divergence) is
``numbarl.deep.ac_train``. The compiled loops ``run_ddpg``/``run_td3`` stay with their
algorithms: njit dispatchers are not passed into cached compiled code, only the env's
function pointers ``ControlEnv.fns``, typed by their signature, so the cache serves every env.

Compile time: Numba compiles each njit function into its own LLVM module and re-optimises
and re-emits every directly called function inside each caller, at every level. So the
kernels below that only the updates and loops call are ``inline="always"`` (merged at Numba's
IR level into their caller: compiled once, inside the update, instead of one module per
kernel re-optimised at each level above it); the inlined kernels with ``error_model="numpy"``
are only inlined into callers with the same error model. The network functions themselves
(``ACFns``) and each learner's update are reached through first-class function pointers: they
compile on their own, in parallel on a cold cache (``numbarl.precompile``), and the update and
loop hold indirect calls (measured: 2-4% of the step time at 64x64, nothing at 400x300).

Networks as data: ``ActorCritic`` (NamedTuple of arrays)
--------------------------------------------------------
- ``actor`` real[Pa] with ``actor_layout`` int64[La, 4] (``numbarl.nn`` MLP): the
  deterministic policy mu_theta(s) = mid + half * tanh(u_theta(s)), where u is the network output
  real[B, A], ``mid = (high + low) / 2`` and ``half = (high - low) / 2`` (CleanRL's
  ``action_bias`` and ``action_scale``), so actions lie inside the env's bounds.
- ``critics`` real[C, Pc] with ``critic_layout``: C Q-networks Q_phi(s, a) real[B, 1] on the
  concatenated input ``[s, a]`` real[B, obs_dim + A]; C = 1 for DDPG, 2 for TD3's twins. Row c
  is a contiguous view, and one Adam state over ``critics.reshape(-1)`` equals C separate Adams.
- ``real`` is the networks' dtype: float32 by default, float64 on request (the configs'
  ``dtype``). Everything that feeds or leaves a network (parameters, targets, activations,
  gradients including dQ/da at the critic's input, Adam's moments, the replay buffer's
  observations and actions, the sampled batch) is in ``real``; the env side (states,
  observations, the action sent to the env, action bounds, observation scaling), rewards,
  targets y and the losses summed over a batch stay float64.
- ``actor_target``, ``critics_target``: the target networks (same shapes), updated by Polyak
  averaging ``target = (1 - tau) target + tau online``.
- ``activation`` int64[1] (``numbarl.nn.TANH``/``RELU``, hidden layers of both networks),
  ``action_low``/``action_high`` float64[A].
- ``obs_shift``/``obs_scale`` float64[obs_dim]: networks see ``(o - obs_shift) * obs_scale``
  (``scale_obs``), an affine map fixed at the start: identity (0, 1) by default, or the
  observation-space box mapped onto [-1, 1] (``obs_scaling``: MountainCar's velocity lives in
  +-0.07). The replay buffer stores scaled observations.

``Workspace`` holds every scratch buffer of one gradient step (built once per run by
``make_workspace``), so the hot path allocates nothing.

Equations (Lillicrap et al. 2016, "DDPG"; Fujimoto et al. 2018, "TD3"):
- critic target  y = r + gamma (1 - terminated) min_c Q'_c(s', a')    (DDPG eq. 5; TD3 eq. 10)
  with a' = mu'(s') for DDPG and a' = clip(mu'(s') + clip(eps, -c, c), low, high),
  eps ~ N(0, sigma^2), for TD3 (target policy smoothing, eq. 14). Only termination stops the
  bootstrap: at a time-limit truncation s' is the real final observation and is bootstrapped.
- critic loss  L(phi_c) = mean_b (Q_c(s, a) - y)^2, summed over critics (as CleanRL logs it).
- actor  grad J = mean_b dQ_1(s, a)/da |_{a = mu(s)} dmu(s)/dtheta   (deterministic policy
  gradient, DDPG eq. 6), taken as the gradient of the loss -mean_b Q_1(s, mu_theta(s)).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import from_dtype, njit, types
from numba.extending import overload
from numpy.typing import DTypeLike

from numbarl.deep.replay import (
    ReplayBuffer,
    replay_gather,
    replay_sample_uniform,
)
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn import (
    AdamState,
    mlp_backward,
    mlp_forward,
    mlp_init,
    mlp_layout,
    mlp_n_params,
    mlp_workspace,
    mlp_workspace_size,
    polyak_update,
)
from numbarl.nn.kernel import pointer_kernel, pointer_variant
from numbarl.nn.mlp import (
    RELU,
    _backward_body,
    _backward_body_relu,
    mlp_backward_into,
    mlp_backward_into_relu,
    mlp_forward_into,
    mlp_forward_into_relu,
    mlp_output,
)
from numbarl.nn.pointers import (
    Pointer,
    adam_step_via,
    backward_via,
    cache_numba_type,
    net_fns,
)
from numbarl.nn.threads import single_threaded_blas  # noqa: F401 (tests/test_sac.py: ac.single_threaded_blas)
from numbarl.validation import all_finite


class ActorCritic(NamedTuple):
    """A deterministic actor, C Q critics and their targets (see the module docstring)."""

    actor: np.ndarray
    actor_target: np.ndarray
    critics: np.ndarray
    critics_target: np.ndarray
    actor_layout: np.ndarray
    critic_layout: np.ndarray
    activation: np.ndarray
    action_low: np.ndarray
    action_high: np.ndarray
    obs_shift: np.ndarray
    obs_scale: np.ndarray


class Workspace(NamedTuple):
    """Scratch for one gradient step on batches of B rows (``make_workspace``).

    ``real`` is the networks' dtype (module docstring). ``actor_ws``/``critic_ws``: MLP
    workspaces kept between a forward and its backward; ``target_ws``: forwards without backward
    (target networks, either layout); ``x`` real[B, obs_dim + A] critic input; ``tanh_out``,
    ``actions`` real[B, A]; ``q_next``, ``y`` float64[B]; ``grad_q`` real[B, 1]; ``grad_x``
    real[B, obs_dim + A]; ``grad_u`` real[B, A]; ``actor_grad`` real[Pa]; ``critic_grad``
    real[C, Pc]; ``noise`` float64[B, A] (target smoothing draws); the
    sampled batch ``idx`` int64[B], ``obs``/``next_obs`` real[B, obs_dim], ``action`` real[B,
    A], ``ret``/``discount`` float64[B] (``numbarl.deep.replay.replay_gather``'s outputs)."""

    actor_ws: np.ndarray
    critic_ws: np.ndarray
    target_ws: np.ndarray
    x: np.ndarray
    tanh_out: np.ndarray
    actions: np.ndarray
    q_next: np.ndarray
    y: np.ndarray
    grad_q: np.ndarray
    grad_x: np.ndarray
    grad_u: np.ndarray
    actor_grad: np.ndarray
    critic_grad: np.ndarray
    noise: np.ndarray
    idx: np.ndarray
    obs: np.ndarray
    action: np.ndarray
    ret: np.ndarray
    discount: np.ndarray
    next_obs: np.ndarray


class RunState(NamedTuple):
    """What the training loop carries from one chunk of env steps to the next.

    ``state`` float64[state_dim] the env's state (``ControlEnv.state_dim``; float64[1], unused,
    on the Gymnasium path); ``obs`` float64[obs_dim] the observation to act on; ``next_obs``
    float64[obs_dim] and ``action`` float64[A] scratch; ``ou`` float64[A] the OU noise state;
    ``t`` int64[1] steps into the episode; ``ep_return`` float64[1] its return so far;
    ``counters`` int64[4] = (env steps, critic updates, actor updates, episodes finished);
    ``metrics`` float64[7] sums since the caller last zeroed them = (critic loss, mean Q,
    critic updates, actor loss, actor updates, finished training-episode returns, episodes
    finished); ``actor_ws`` (the networks' dtype), ``tanh_out``, ``actions`` float64[1, A] and
    ``net_obs`` real[1, obs_dim] (the observation in the networks' dtype) the one-row actor
    forward scratch."""

    state: np.ndarray
    obs: np.ndarray
    next_obs: np.ndarray
    action: np.ndarray
    ou: np.ndarray
    t: np.ndarray
    ep_return: np.ndarray
    counters: np.ndarray
    metrics: np.ndarray
    actor_ws: np.ndarray
    tanh_out: np.ndarray
    actions: np.ndarray
    net_obs: np.ndarray


N_METRICS = 7


@cache_numba_type
class ACFns(NamedTuple):
    """The network functions the compiled updates, loops and evaluation call through
    first-class function pointers, for one network dtype ``dt`` (``ac_fns``): ``forward`` and
    ``adam`` are ``numbarl.nn.pointers.NetFns``'s; ``backward(params, layout, act, cache,
    grad_out dt[B, n_out], grad_params dt[P])`` is ``mlp_backward_into`` with the gradient at
    the output in the networks' dtype; ``input_grad(params, layout, act, cache, grad_out
    dt[B, n_out], grad_x dt[B, n_in])`` is ``mlp_input_grad_into`` (dL/dx only, the actor's
    dQ/da).

    Why pointers: each network function is compiled once, on its own (in parallel with the
    loop on a cold cache, ``numbarl.precompile``), instead of being linked into the update and
    the loop and optimised and emitted again inside each. One indirect call per network pass
    costs nothing measurable against the pass itself."""

    forward: FunctionPointer
    backward: FunctionPointer
    input_grad: FunctionPointer
    adam: FunctionPointer


@cache_numba_type
class TrainState(NamedTuple):
    """What a DDPG/TD3/SAC gradient step and the compiled training loops read and write
    (``ac_train.start`` builds it): the networks, the critics' and the actor's Adam states, the
    replay buffer, the batch workspace, the run state and ``net``, the network functions as
    pointers (``ac_fns``; None: the kernels call them directly, compiled into the caller)."""

    nets: ActorCritic
    critic_adam: AdamState
    actor_adam: AdamState
    buf: ReplayBuffer
    ws: Workspace
    run: RunState
    net: ACFns | None = None


@pointer_kernel(cache=True, error_model="numpy")
def mlp_input_grad_into(
    params: np.ndarray,
    layout: np.ndarray,
    act: int,
    cache: np.ndarray,
    grad_out: np.ndarray,
    grad_x: np.ndarray,
) -> None:
    """``mlp_backward(params, layout, act, cache, grad_out, None, grad_x)`` without its shape
    check: dL/dx only, the form called through ``ACFns.input_grad`` (same arithmetic: both
    inline ``mlp``'s backward body)."""
    _backward_body(params, layout, act, cache, grad_out, None, grad_x)


def _array(dtype: np.dtype, ndim: int) -> types.Array:
    return types.Array(from_dtype(np.dtype(dtype)), ndim, "C")


mlp_input_grad_into_relu = pointer_variant(
    mlp_input_grad_into.py_func,
    "mlp_input_grad_into_relu",
    "``mlp_input_grad_into`` of a ReLU network (``act`` RELU): no tanh code compiled.",
    {"error_model": "numpy"},
    _backward_body=_backward_body_relu,
)

_AC_FNS: dict[tuple[str, bool], ACFns] = {}


def ac_fns(dtype: DTypeLike, activation: int | None = None) -> ACFns:
    """The ``ACFns`` of networks in ``dtype`` (float32 or float64), built once per process,
    dtype and kind (each function compiled, or loaded from Numba's cache, on first use). For
    ``activation`` RELU the passes are compiled without the tanh code
    (``mlp_forward_into_relu``, ``mlp_backward_into_relu``, ``mlp_input_grad_into_relu``: the
    same arithmetic); any other value, or None, gives the passes for every activation."""
    nf = net_fns(dtype)
    dt = np.dtype(dtype)
    relu = activation is not None and int(activation) == RELU
    if (dt.name, relu) not in _AC_FNS:
        p, lay, x = _array(dt, 1), _array(np.int64, 2), _array(dt, 2)
        forward, backward, input_grad = (
            (mlp_forward_into_relu, mlp_backward_into_relu, mlp_input_grad_into_relu)
            if relu
            else (mlp_forward_into, mlp_backward_into, mlp_input_grad_into)
        )
        _AC_FNS[dt.name, relu] = ACFns(
            Pointer(forward, nf.forward.signature()) if relu else nf.forward,
            Pointer(backward, types.none(p, lay, types.int64, p, x, p)),
            Pointer(input_grad, types.none(p, lay, types.int64, p, x, x)),
            nf.adam,
        )
    return _AC_FNS[dt.name, relu]


@njit(cache=True)
def network_output(layout: np.ndarray, batch: int, cache: np.ndarray) -> np.ndarray:
    """``numbarl.nn.mlp.mlp_output`` as a called function: inlined (Numba IR) into the
    inlined kernels below, inside their loops, its loop trips Numba's IR scope check."""
    return mlp_output(layout, batch, cache)


def forward_via(net, params, layout, act, x, cache):  # noqa: ANN001, ANN201
    """``mlp_forward(params, layout, act, x, cache)``, through ``net``'s ``forward`` pointer
    unless ``net`` is None (compiled code only; ``numbarl.nn.pointers.forward_via`` with the
    output read by ``network_output``)."""
    raise NotImplementedError("forward_via is called from compiled code only")


@overload(forward_via, inline="always")
def _forward_via(net, params, layout, act, x, cache):  # noqa: ANN001, ANN202
    if isinstance(net, (types.NoneType, types.Omitted)) or net is None:
        return lambda net, params, layout, act, x, cache: mlp_forward(params, layout, act, x, cache)

    def impl(net, params, layout, act, x, cache):  # noqa: ANN001, ANN202
        net.forward(params, layout, act, x, cache)
        return network_output(layout, x.shape[0], cache)

    return impl


def input_grad_via(net, params, layout, act, cache, grad_out, grad_x):  # noqa: ANN001, ANN201
    """``mlp_backward(params, layout, act, cache, grad_out, None, grad_x)``, through ``net``'s
    ``input_grad`` pointer unless ``net`` is None (compiled code only)."""
    raise NotImplementedError("input_grad_via is called from compiled code only")


@overload(input_grad_via, inline="always")
def _input_grad_via(net, params, layout, act, cache, grad_out, grad_x):  # noqa: ANN001, ANN202
    if isinstance(net, (types.NoneType, types.Omitted)) or net is None:
        return lambda net, params, layout, act, cache, grad_out, grad_x: mlp_backward(
            params, layout, act, cache, grad_out, None, grad_x
        )
    return lambda net, params, layout, act, cache, grad_out, grad_x: net.input_grad(
        params, layout, act, cache, grad_out, grad_x
    )


def make_actor_critic(
    obs_dim: int,
    action_low: np.ndarray,
    action_high: np.ndarray,
    rng: np.random.Generator,
    hidden: Sequence[int] = (256, 256),
    n_critics: int = 1,
    activation: int = 1,
    init: str = "uniform",
    obs_low: np.ndarray | None = None,
    obs_high: np.ndarray | None = None,
    dtype: DTypeLike = np.float64,
    policy_outputs: int | None = None,
) -> ActorCritic:
    """Fresh networks: the actor obs_dim -> hidden -> A, then ``n_critics`` critics
    obs_dim + A -> hidden -> 1, drawn from ``rng`` in that order; targets are copies.

    ``hidden`` lists the hidden layers' widths (SB3's ``net_arch``, e.g. (400, 300)).
    ``init="uniform"`` is PyTorch's nn.Linear default (what CleanRL's and Fujimoto's DDPG/TD3
    use); ``"orthogonal"`` uses gain sqrt(2) on hidden layers and 1.0 on the outputs. With
    ``obs_low``/``obs_high`` float64[obs_dim] (all finite, low < high) the observations are
    mapped affinely onto [-1, 1]; without them they are used as they are. ``dtype`` (float32 or
    float64) is the networks'; the values are drawn in float64 and rounded, so the generator
    advances alike in both. ``policy_outputs``: the actor's output size (A by default; SAC's
    mean and log-std: 2A)."""
    low = np.ascontiguousarray(action_low, dtype=np.float64)
    high = np.ascontiguousarray(action_high, dtype=np.float64)
    n_act = low.shape[0]
    a_layout = mlp_layout([obs_dim, *hidden, policy_outputs or n_act])
    c_layout = mlp_layout([obs_dim + n_act, *hidden, 1])
    actor = mlp_init(a_layout, rng, init=init, dtype=dtype)
    critics = np.stack([mlp_init(c_layout, rng, init=init, dtype=dtype) for _ in range(n_critics)])
    return ActorCritic(
        actor,
        actor.copy(),
        critics,
        critics.copy(),
        a_layout,
        c_layout,
        np.array([activation], dtype=np.int64),
        low.copy(),
        high.copy(),
        *_obs_affine(obs_dim, obs_low, obs_high),
    )


def _obs_affine(obs_dim: int, obs_low: Any, obs_high: Any) -> tuple[np.ndarray, np.ndarray]:
    if obs_low is None or obs_high is None:
        return np.zeros(obs_dim), np.ones(obs_dim)
    lo = np.asarray(obs_low, dtype=np.float64).reshape(-1)
    hi = np.asarray(obs_high, dtype=np.float64).reshape(-1)
    if lo.shape != (obs_dim,) or hi.shape != (obs_dim,):
        raise ValueError(f"obs_low/obs_high must be float64[{obs_dim}]")
    if not (np.isfinite(lo).all() and np.isfinite(hi).all() and (hi > lo).all()):
        raise ValueError(
            "obs_scaling needs a bounded observation space (finite low < high in every "
            f"dimension), got low={lo!r}, high={hi!r}"
        )
    return (hi + lo) / 2.0, 2.0 / (hi - lo)


@njit(cache=True, inline="always")
def scale_obs(nets: ActorCritic, obs: np.ndarray) -> None:
    """obs float64[obs_dim] = (obs - obs_shift) * obs_scale, in place (what networks see)."""
    for i in range(obs.shape[0]):
        obs[i] = (obs[i] - nets.obs_shift[i]) * nets.obs_scale[i]


def actor_critic_arrays(nets: ActorCritic) -> dict[str, np.ndarray]:
    """The networks as a flat ``dict[str, ndarray]`` (what ``train`` returns, .npz holds)."""
    return {name: np.array(value, copy=True) for name, value in nets._asdict().items()}


def actor_critic_from_arrays(arrays: dict[str, Any]) -> ActorCritic:
    """Inverse of ``actor_critic_arrays``; raises ValueError naming a missing or bad entry.

    The networks keep their saved dtype when it is float32 (anything else is read as float64)."""
    missing = [f for f in ActorCritic._fields if f not in arrays]
    if missing:
        raise ValueError(
            f"arrays lack {', '.join(missing)}; needed: {', '.join(ActorCritic._fields)}"
        )
    real = np.float32 if np.asarray(arrays["actor"]).dtype == np.float32 else np.float64
    out = {}
    for f in ActorCritic._fields:
        if f in ("actor_layout", "critic_layout", "activation"):
            dtype = np.int64
        elif f in _NET_FIELDS:
            dtype = real
        else:
            dtype = np.float64
        out[f] = np.ascontiguousarray(arrays[f], dtype=dtype)
    nets = ActorCritic(**out)
    if nets.actor.shape[0] != int(mlp_n_params(nets.actor_layout)):
        raise ValueError("arrays['actor'] does not match arrays['actor_layout']")
    if nets.critics.ndim != 2 or nets.critics.shape[1] != int(mlp_n_params(nets.critic_layout)):
        raise ValueError("arrays['critics'] must be float64[C, Pc] matching 'critic_layout'")
    return nets


_NET_FIELDS = ("actor", "actor_target", "critics", "critics_target")


def make_workspace(nets: ActorCritic, batch: int) -> Workspace:
    """Every scratch buffer of a gradient step on ``batch`` rows (zeros), in the networks'
    dtype where it meets a network (``Workspace``). Plain Python: nothing is compiled for it."""
    real = nets.actor.dtype
    n_act = nets.action_low.shape[0]
    n_in = int(nets.critic_layout[0, 0])
    n_critics, pc = nets.critics.shape
    target_size = max(
        mlp_workspace_size(nets.actor_layout, batch), mlp_workspace_size(nets.critic_layout, batch)
    )
    return Workspace(
        mlp_workspace(nets.actor_layout, batch, real),
        mlp_workspace(nets.critic_layout, batch, real),
        np.zeros(target_size, real),
        np.zeros((batch, n_in), real),
        np.zeros((batch, n_act), real),
        np.zeros((batch, n_act), real),
        np.zeros(batch),
        np.zeros(batch),
        np.zeros((batch, 1), real),
        np.zeros((batch, n_in), real),
        np.zeros((batch, n_act), real),
        np.zeros(nets.actor.shape[0], real),
        np.zeros((n_critics, pc), real),
        np.zeros((batch, n_act)),
        np.zeros(batch, dtype=np.int64),
        np.zeros((batch, n_in - n_act), real),
        np.zeros((batch, n_act), real),
        np.zeros(batch),
        np.zeros(batch),
        np.zeros((batch, n_in - n_act), real),
    )


@njit(cache=True, error_model="numpy", inline="always")
def actor_actions(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    obs: np.ndarray,
    ws: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    tanh_out: np.ndarray,
    actions: np.ndarray,
    net: ACFns | None = None,
) -> None:
    """actions = mid + half * tanh(u_theta(obs)) float64[B, A] for obs float64[B, obs_dim].

    Also writes tanh_out float64[B, A] (needed by ``actor_loss_grad``); ``ws`` keeps the
    actor's activations for its backward pass. ``net``: the network functions as pointers
    (``ACFns``), or None to call them directly (the same for every kernel below)."""
    u = forward_via(net, theta, layout, act, obs, ws)
    for b in range(obs.shape[0]):
        for j in range(low.shape[0]):
            t = np.tanh(u[b, j])
            tanh_out[b, j] = t
            actions[b, j] = 0.5 * (high[j] + low[j]) + 0.5 * (high[j] - low[j]) * t


@njit(cache=True, inline="always")
def critic_input(obs: np.ndarray, actions: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x[:B] = [obs, actions] float64[B, obs_dim + A]; returns the view x[:B]."""
    batch, d = obs.shape
    n_act = actions.shape[1]
    for b in range(batch):
        for i in range(d):
            x[b, i] = obs[b, i]
        for j in range(n_act):
            x[b, d + j] = actions[b, j]
    return x[:batch]


@njit(cache=True, error_model="numpy", inline="always")
def min_target_q(
    critics: np.ndarray,
    layout: np.ndarray,
    act: int,
    x: np.ndarray,
    ws: np.ndarray,
    out: np.ndarray,
    net: ACFns | None = None,
) -> None:
    """out[b] = min_c Q_c(x[b]) float64[B] over the C rows of ``critics`` float64[C, Pc]
    (TD3's clipped double-Q, eq. 10; with C = 1 it is DDPG's Q')."""
    batch = x.shape[0]
    for c in range(critics.shape[0]):
        q = forward_via(net, critics[c], layout, act, x, ws)
        for b in range(batch):
            if c == 0 or q[b, 0] < out[b]:
                out[b] = q[b, 0]


@njit(cache=True, inline="always")
def td_targets(r_t: np.ndarray, discount_t: np.ndarray, q_t: np.ndarray, y: np.ndarray) -> None:
    """y = r_t + discount_t q_t, float64[B] (DDPG eq. 5 / TD3 eq. 10).

    ``discount_t`` float64[B] is gamma (1 - terminated), as ``replay_gather`` gives it: only a
    true termination stops the bootstrap; a transition cut by the time limit keeps gamma, with
    q_t taken at its real final observation."""
    for b in range(r_t.shape[0]):
        y[b] = r_t[b] + discount_t[b] * q_t[b]


@njit(cache=True, inline="always")
def smooth_target_actions(
    mu_next: np.ndarray,
    eps: np.ndarray,
    noise_clip: float,
    low: np.ndarray,
    high: np.ndarray,
    out: np.ndarray,
) -> None:
    """TD3's target policy smoothing (eq. 14), in place-safe: out = clip(mu_next + half *
    clip(eps, -noise_clip, noise_clip), low, high), float64[B, A].

    ``eps`` float64[B, A] is the noise in units of the action half-range ``half`` (CleanRL's
    ``action_scale``), i.e. N(0, 1) * policy_noise."""
    for b in range(mu_next.shape[0]):
        for j in range(low.shape[0]):
            e = min(max(eps[b, j], -noise_clip), noise_clip)
            a = mu_next[b, j] + 0.5 * (high[j] - low[j]) * e
            out[b, j] = min(max(a, low[j]), high[j])


@njit(cache=True, error_model="numpy", inline="always")
def critic_loss_grad(
    phi: np.ndarray,
    layout: np.ndarray,
    act: int,
    x: np.ndarray,
    y: np.ndarray,
    ws: np.ndarray,
    grad_q: np.ndarray,
    grad: np.ndarray,
    net: ACFns | None = None,
) -> tuple[float, float]:
    """Loss mean_b (Q_phi(x_b) - y_b)^2 and its gradient, added into grad float64[Pc].

    x float64[B, obs_dim + A], y float64[B]. Returns (loss, mean Q)."""
    batch = x.shape[0]
    q = forward_via(net, phi, layout, act, x, ws)
    loss = 0.0
    q_sum = 0.0
    for b in range(batch):
        diff = q[b, 0] - y[b]
        loss += diff * diff
        q_sum += q[b, 0]
        grad_q[b, 0] = 2.0 * diff / batch
    backward_via(net, phi, layout, act, ws, grad_q[:batch], grad)
    return loss / batch, q_sum / batch


@njit(cache=True, error_model="numpy", inline="always")
def critics_update(
    critics: np.ndarray,
    layout: np.ndarray,
    act: int,
    x: np.ndarray,
    y: np.ndarray,
    ws: Workspace,
    adam: AdamState,
    lr: float,
    net: ACFns | None = None,
) -> tuple[float, float]:
    """One Adam step on every critic towards the targets y float64[B] (x float64[B, obs+A]).

    Returns (sum of the critics' losses, mean Q_1(x))."""
    grad = ws.critic_grad
    grad[:] = 0.0
    total = 0.0
    q_mean = 0.0
    for c in range(critics.shape[0]):
        loss, qm = critic_loss_grad(
            critics[c], layout, act, x, y, ws.critic_ws, ws.grad_q, grad[c], net
        )
        total += loss
        if c == 0:
            q_mean = qm
    adam_step_via(net, critics.reshape(-1), grad.reshape(-1), adam, lr)
    return total, q_mean


@njit(cache=True, error_model="numpy", inline="always")
def critic_input_grad(
    params: np.ndarray,
    layout: np.ndarray,
    act: int,
    cache: np.ndarray,
    grad_out: np.ndarray,
    grad_x: np.ndarray,
    net: ACFns | None = None,
) -> None:
    """grad_x real[B, n_in] = dL/dx for grad_out = dL/d(output) real[B, n_out], through the
    last forward on ``cache``: ``mlp_backward`` without the parameter gradient the actor's
    update does not use (at 400x300 the skipped weight-gradient products are half of the
    critic's backward pass)."""
    input_grad_via(net, params, layout, act, cache, grad_out, grad_x)


@njit(cache=True, error_model="numpy", inline="always")
def actor_loss_grad(
    nets: ActorCritic, obs: np.ndarray, ws: Workspace, grad: np.ndarray, net: ACFns | None = None
) -> float:
    """The actor loss -mean_b Q_1(s_b, mu_theta(s_b)) for obs float64[B, obs_dim]; its
    gradient with respect to theta is added into grad float64[Pa].

    Chain rule (DDPG eq. 6): dL/da = -(1/B) dQ_1/da from the critic's input gradient
    (``critic_input_grad``, action columns), then dL/du = dL/da * half * (1 - tanh(u)^2)
    through the squashing, then the actor's backward pass."""
    act = nets.activation[0]
    batch, d = obs.shape
    n_act = nets.action_low.shape[0]
    low, high = nets.action_low, nets.action_high
    tanh_out, actions = ws.tanh_out[:batch], ws.actions[:batch]
    actor_actions(
        nets.actor, nets.actor_layout, act, obs, ws.actor_ws, low, high, tanh_out, actions, net
    )
    x = critic_input(obs, actions, ws.x)
    q = forward_via(net, nets.critics[0], nets.critic_layout, act, x, ws.critic_ws)
    q_sum = 0.0
    for b in range(batch):
        q_sum += q[b, 0]
        ws.grad_q[b, 0] = -1.0 / batch
    grad_x = ws.grad_x[:batch]
    critic_input_grad(
        nets.critics[0], nets.critic_layout, act, ws.critic_ws, ws.grad_q[:batch], grad_x, net
    )
    grad_u = ws.grad_u[:batch]
    for b in range(batch):
        for j in range(n_act):
            t = tanh_out[b, j]
            grad_u[b, j] = grad_x[b, d + j] * 0.5 * (high[j] - low[j]) * (1.0 - t * t)
    backward_via(net, nets.actor, nets.actor_layout, act, ws.actor_ws, grad_u, grad)
    return -q_sum / batch


@njit(cache=True, error_model="numpy", inline="always")
def actor_update(
    nets: ActorCritic,
    obs: np.ndarray,
    ws: Workspace,
    adam: AdamState,
    lr: float,
    net: ACFns | None = None,
) -> float:
    """One Adam step on the actor along the deterministic policy gradient; returns the loss."""
    ws.actor_grad[:] = 0.0
    loss = actor_loss_grad(nets, obs, ws, ws.actor_grad, net)
    adam_step_via(net, nets.actor, ws.actor_grad, adam, lr)
    return loss


# What an update returns: OK, or which update left non-finite parameters (nothing after it ran).
OK = 0

CRITIC_DIVERGED = 1

ACTOR_DIVERGED = 2

ALPHA_DIVERGED = 3  # SAC's temperature


@njit(cache=True, inline="always")
def sample_batch(buf: ReplayBuffer, ws: Workspace, gamma: float, rng: np.random.Generator) -> None:
    """B = ``ws.idx.shape[0]`` transitions drawn uniformly from ``buf`` into ``ws.obs``,
    ``ws.action``, ``ws.ret`` (r), ``ws.discount`` (gamma (1 - terminated)), ``ws.next_obs``."""
    replay_sample_uniform(buf, rng, ws.idx)
    replay_gather(buf, ws.idx, 1, gamma, ws.obs, ws.action, ws.ret, ws.discount, ws.next_obs)


@njit(cache=True, inline="always")
def target_actor_actions(nets: ActorCritic, ws: Workspace, net: ACFns | None = None) -> None:
    """ws.actions = mu'(s') float64[B, A] for the sampled ``ws.next_obs`` (target actor)."""
    actor_actions(
        nets.actor_target, nets.actor_layout, nets.activation[0], ws.next_obs, ws.target_ws,
        nets.action_low, nets.action_high, ws.tanh_out, ws.actions, net,
    )  # fmt: skip


@njit(cache=True, inline="always")
def critic_targets(nets: ActorCritic, ws: Workspace, net: ACFns | None = None) -> None:
    """ws.y = r + discount min_c Q'_c(s', a') float64[B], with a' = ``ws.actions`` (DDPG eq. 5,
    TD3 eq. 10; C = 1 makes the min DDPG's single Q')."""
    x_next = critic_input(ws.next_obs, ws.actions, ws.x)
    min_target_q(
        nets.critics_target, nets.critic_layout, nets.activation[0], x_next, ws.target_ws,
        ws.q_next, net,
    )  # fmt: skip
    td_targets(ws.ret, ws.discount, ws.q_next, ws.y)


@njit(cache=True, error_model="numpy", inline="always")
def critic_step(
    nets: ActorCritic,
    adam: AdamState,
    ws: Workspace,
    lr: float,
    run: RunState,
    net: ACFns | None = None,
) -> bool:
    """One Adam step on every critic's mean_b (Q_c(s, a) - ws.y)^2 at the sampled (s, a); counts
    it in ``run.counters[1]``. False (metrics untouched) if it left non-finite parameters;
    else adds (loss, mean Q_1, 1) to ``run.metrics[0:3]`` and returns True."""
    x = critic_input(ws.obs, ws.action, ws.x)
    loss, q_mean = critics_update(
        nets.critics, nets.critic_layout, nets.activation[0], x, ws.y, ws, adam, lr, net
    )
    run.counters[1] += 1
    if not all_finite(nets.critics):
        return False
    run.metrics[0] += loss
    run.metrics[1] += q_mean
    run.metrics[2] += 1.0
    return True


@njit(cache=True, error_model="numpy", inline="always")
def actor_step(
    nets: ActorCritic,
    adam: AdamState,
    ws: Workspace,
    lr: float,
    run: RunState,
    net: ACFns | None = None,
) -> bool:
    """One Adam step on the actor along the deterministic policy gradient at the sampled s
    (``actor_update``); counts it in ``run.counters[2]``. False (metrics untouched) if it left
    non-finite parameters; else adds (loss, 1) to ``run.metrics[3:5]`` and returns True."""
    loss = actor_update(nets, ws.obs, ws, adam, lr, net)
    run.counters[2] += 1
    if not all_finite(nets.actor):
        return False
    run.metrics[3] += loss
    run.metrics[4] += 1.0
    return True


@njit(cache=True, inline="always")
def update_targets(nets: ActorCritic, tau: float) -> None:
    """Polyak averaging of every target network: target <- tau online + (1 - tau) target."""
    polyak_update(nets.actor_target, nets.actor, tau)
    polyak_update(nets.critics_target.reshape(-1), nets.critics.reshape(-1), tau)
