"""Shared policy-gradient machinery: an actor-critic as data, rollouts and greedy evaluation.

Everything here is data plus ``@njit(cache=True)`` functions, so one cached compiled learner
serves every env: envs reach compiled code as data plus ``env.fns``, their functions as
first-class function pointers (``numbarl.envs.control.core``), which keep Numba's cache valid.

Rollout buffer layout: ``Rollout`` (T steps of N env copies)
------------------------------------------------------------
Step ``t`` of copy ``i`` is the transition (s_t, a_t) -> (r_t, s_{t+1}):

- ``obs`` [T, N, obs_dim] in the network dtype (float32 or float64): the policy input at s_t
  (normalised if enabled), as the networks read it;
- ``actions`` float64[T, N, action_dim]: the unclipped Gaussian sample, or the action index as
  a float (``action_dim == 1``) for a categorical head;
- ``log_probs`` float64[T, N]: log pi_old(a_t | s_t); ``values`` float64[T, N]: V_old(s_t);
- ``rewards`` float64[T, N] (raw env rewards); ``terminated``/``truncated`` bool[T, N];
- ``next_values`` float64[T, N]: V(s_{t+1}) for every step: ``values[t + 1]`` inside an
  episode, V(final observation) at a truncation (the bootstrap), 0.0 at a termination, and V of
  the observation after the rollout at ``t = T - 1``. A column ``[:, i]`` is exactly what
  ``numbarl.returns.gae_kernel`` expects (its last step is treated as a cut, bootstrapped from
  ``next_values[T - 1]``);
- ``ended_returns`` float64[T * N], ``ended_lengths`` int64[T * N], ``n_ended`` int64[1]: the
  undiscounted return and length of each episode that ended during the rollout (first
  ``n_ended[0]`` entries; episodes span rollouts).

Env copies: ``VecEnv`` (NamedTuple) holds a ControlEnv's ``fns``/``params``/``max_steps``, the
states of N copies, their step counters and current raw observations, the running episode
return/length, and the forward-pass workspaces. ``make_vec_env(env, n_envs, policy, rng)``
builds and resets one (copies reset in order with draws from ``rng``).

Functions
---------
- ``collect_rollout(vec, policy, buf, rng)``: fill ``buf`` with ``T = buf.rewards.shape[0]``
  steps of every copy (``vec_step`` with same-step autoreset), by the compiled collector of the
  policy's head (``collector(policy)``: ``collect_categorical`` or ``collect_gaussian``, one
  source compiled per head). Per step: update/normalise observations, one ``policy_act``
  (categorical: one ``rng.random()`` per copy; Gaussian: ``action_dim``
  ``rng.standard_normal()`` per copy, copy order), then ``vec_step`` (resets draw from
  ``rng``). ``store_action``, ``store_outcome`` and ``store_next_values`` (njit) write one step
  into the buffer; the Gymnasium path (``numbarl.deep.gym_rollout``) uses them too.
- ``rollout_gae(buf, gamma, lam, reward_scale)`` (njit): GAE advantages and returns per copy
  (float64, like everything in the buffer except ``obs``).
- ``evaluate_greedy(fns, params, max_steps, policy, episodes, rng)``: greedy returns
  float64[episodes] on a ControlEnv (all episodes run side by side, no autoreset).
- ``flat_batch(buf)`` (njit): the rollout's observations and actions as one batch of T * N rows.
- ``count_ended(buf, episode_stats)`` (njit): the training loops' tally of the training
  episodes that ended; ``permutation(rng, n)`` (njit; ``permutation_into`` in place) the
  minibatch shuffle, equal to ``rng.permutation(n)``.

The policy is ``numbarl.deep.policy``; the Python path for Gymnasium envs is
``numbarl.deep.gym_rollout``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import DTypeLike

try:  # Numba's internal bounded-integer draw (NumPy's algorithm); private, so guarded
    from numba.np.random.random_methods import random_interval
except ImportError:  # pragma: no cover - other Numba versions: fall back to rng.permutation
    random_interval = None

from numbarl.deep.env_info import EnvInfo, env_info
from numbarl.deep.policy import (
    CATEGORICAL,
    GAUSSIAN,
    Policy,
    actor_params,
    clip_actions,
    clip_bounds_into,
    clip_into,
    copy_into,
    grad_views,
    greedy_actions,
    input_into,
    make_policy,
    normalize_into,
    normalize_obs,
    params_finite,
    policy_act,
    policy_arrays,
    policy_from_arrays,
    policy_greedy,
    policy_value,
    sample_categorical_into,
    sample_gaussian_into,
    sample_into,
    update_obs_stats,
)
from numbarl.envs.control import ControlEnv
from numbarl.nn import mlp_workspace, net_dtype
from numbarl.nn.kernel import PointerDispatcher, pointer_kernel, pointer_variant, python_kernel
from numbarl.nn.mlp import mlp_output
from numbarl.nn.pointers import NetFns, cache_numba_type, net_fns, step_fns, vec_step_fns
from numbarl.returns import gae_kernel

__all__ = [
    "CATEGORICAL",
    "actor_params",
    "GAUSSIAN",
    "EnvInfo",
    "Policy",
    "Rollout",
    "VecEnv",
    "clip_actions",
    "collect_rollout",
    "count_ended",
    "episode_columns",
    "env_info",
    "evaluate_greedy",
    "EvalWork",
    "eval_work",
    "evaluate_greedy_call",
    "flat_batch",
    "grad_views",
    "make_policy",
    "make_rollout",
    "make_vec_env",
    "normalize_obs",
    "params_finite",
    "permutation",
    "permutation_into",
    "policy_act",
    "policy_arrays",
    "policy_from_arrays",
    "policy_greedy",
    "policy_value",
    "reset_vec_env",
    "rollout_gae",
    "store_action",
    "store_next_values",
    "store_outcome",
    "update_obs_stats",
]


@cache_numba_type  # typed once per object from Python (the Gymnasium path's calls)
class Rollout(NamedTuple):
    """T steps of N copies (see the module docstring for each field's meaning)."""

    obs: np.ndarray
    actions: np.ndarray
    log_probs: np.ndarray
    rewards: np.ndarray
    values: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_values: np.ndarray
    ended_returns: np.ndarray
    ended_lengths: np.ndarray
    n_ended: np.ndarray


@cache_numba_type
class VecEnv(NamedTuple):
    """N copies of a ControlEnv and the collector's scratch (built by ``make_vec_env``).

    ``states`` float64[N, state_dim], ``t`` int64[N], ``obs``/``final_obs`` float64[N, obs_dim]
    raw observations, ``x`` [N, obs_dim] policy input (the network dtype), ``env_actions``
    float64[N, action_dim] (clipped), ``step_rewards`` float64[N],
    ``step_terminated``/``step_truncated`` bool[N], ``ep_return`` float64[N], ``ep_length``
    int64[N], ``actor_ws``/``critic_ws`` workspaces for batches of N, ``act_buf``
    float64[N, action_dim], ``logp_buf``/``value_buf`` float64[N]; ``net`` the network
    functions as pointers (``numbarl.nn.pointers``) for the policy's dtype."""

    fns: Any  # VecStepFns: the env's functions as pointers (numbarl.nn.pointers.vec_step_fns)
    params: np.ndarray
    max_steps: int
    states: np.ndarray
    t: np.ndarray
    obs: np.ndarray
    final_obs: np.ndarray
    x: np.ndarray
    env_actions: np.ndarray
    step_rewards: np.ndarray
    step_terminated: np.ndarray
    step_truncated: np.ndarray
    ep_return: np.ndarray
    ep_length: np.ndarray
    actor_ws: np.ndarray
    critic_ws: np.ndarray
    act_buf: np.ndarray
    logp_buf: np.ndarray
    value_buf: np.ndarray
    net: NetFns


def make_rollout(
    n_steps: int, n_envs: int, obs_dim: int, action_dim: int, dtype: DTypeLike = np.float64
) -> Rollout:
    """A zeroed ``Rollout`` for ``n_steps`` steps of ``n_envs`` copies; ``obs`` in ``dtype``
    (the policy's ``params.dtype``), the rest float64/bool/int64."""
    t, n = n_steps, n_envs
    return Rollout(
        np.zeros((t, n, obs_dim), dtype=net_dtype(dtype)),
        np.zeros((t, n, action_dim)),
        np.zeros((t, n)),
        np.zeros((t, n)),
        np.zeros((t, n)),
        np.zeros((t, n), dtype=np.bool_),
        np.zeros((t, n), dtype=np.bool_),
        np.zeros((t, n)),
        np.zeros(t * n),
        np.zeros(t * n, dtype=np.int64),
        np.zeros(1, dtype=np.int64),
    )


def make_vec_env(env: ControlEnv, n_envs: int, policy: Policy, rng: np.random.Generator) -> VecEnv:
    """``n_envs`` copies of ``env``, reset in copy order with draws from ``rng``."""
    if not isinstance(env, ControlEnv):
        raise ValueError(f"make_vec_env needs a numbarl ControlEnv, got {type(env).__name__}")
    n = int(n_envs)
    action_dim = int(policy.head[2])
    dt = policy.params.dtype
    vec = VecEnv(
        vec_step_fns(env.fns),
        np.asarray(env.params, dtype=np.float64).copy(),
        int(env.max_steps),
        np.zeros((n, env.state_dim)),
        np.zeros(n, dtype=np.int64),
        np.zeros((n, env.obs_dim)),
        np.zeros((n, env.obs_dim)),
        np.zeros((n, env.obs_dim), dtype=dt),
        np.zeros((n, action_dim)),
        np.zeros(n),
        np.zeros(n, dtype=np.bool_),
        np.zeros(n, dtype=np.bool_),
        np.zeros(n),
        np.zeros(n, dtype=np.int64),
        mlp_workspace(policy.actor_layout, n, dt),
        mlp_workspace(policy.critic_layout, n, dt),
        np.zeros((n, action_dim)),
        np.zeros(n),
        np.zeros(n),
        net_fns(dt),
    )
    reset_vec_env(vec, rng)
    return vec


def reset_vec_env(vec: VecEnv, rng: np.random.Generator) -> None:
    """Reset every copy (draws from ``rng`` in copy order); zero the episode bookkeeping.

    Python calling the env's compiled ``reset`` and ``observe`` (the functions behind
    ``vec.fns``, already compiled for these types): a compiled loop taking the whole ``VecEnv``
    cost ~0.3 s of every cold start for a few calls."""
    reset, observe = vec.fns.reset.dispatcher, vec.fns.observe.dispatcher
    for i in range(vec.states.shape[0]):
        reset(vec.params, vec.states[i], rng)
        observe(vec.params, vec.states[i], vec.obs[i])
    vec.t[:] = 0
    vec.ep_return[:] = 0.0
    vec.ep_length[:] = 0


def collect_rollout(vec: VecEnv, policy: Policy, buf: Rollout, rng: np.random.Generator) -> None:
    """Fill ``buf`` with T = ``buf.rewards.shape[0]`` steps of every copy in ``vec`` (see the
    module docstring for the layout and the order of random draws): the compiled collector
    of the policy's head (``collector``)."""
    collector(policy)(vec, policy, buf, rng)


def collector(policy: Policy) -> PointerDispatcher:
    """The compiled rollout collector for ``policy``'s head: ``collect_categorical`` or
    ``collect_gaussian``."""
    return collect_categorical if int(policy.head[0]) == CATEGORICAL else collect_gaussian


def _collect(vec: VecEnv, policy: Policy, buf: Rollout, rng: np.random.Generator) -> None:
    """The collectors' code (``collect_categorical`` and ``collect_gaussian`` compile it with
    ``sample_into`` and ``clip_into`` bound to their head's forms: a CartPole run compiles no
    Gaussian draw: ~0.35 s of the collector's ~3 s cold compile).

    ``policy_act`` step by step, with the networks called through ``vec.net``'s pointers (they
    are compiled once, not again inside the collector). The records' arrays are unpacked once
    and the array forms of the helpers called (``numbarl.deep.policy.merge_obs_stats``): an
    inlined helper that takes a whole record copies it in Numba's IR at every call site."""
    n_steps, n = buf.rewards.shape
    buf.n_ended[0] = 0
    forward, vec_step = vec.net.forward, vec.fns.vec_step
    actor, actor_layout, critic, critic_layout = (
        policy.actor, policy.actor_layout, policy.critic, policy.critic_layout
    )  # fmt: skip
    head, log_std, low, high = policy.head, policy.log_std, policy.action_low, policy.action_high
    norm, mean, var, count = policy.obs_norm, policy.obs_mean, policy.obs_var, policy.obs_count
    act = head[3]
    x, obs, final_obs = vec.x, vec.obs, vec.final_obs
    actor_ws, critic_ws = vec.actor_ws, vec.critic_ws
    act_buf, logp_buf, value_buf = vec.act_buf, vec.logp_buf, vec.value_buf
    env_actions = vec.env_actions
    rewards, terminated, truncated = vec.step_rewards, vec.step_terminated, vec.step_truncated
    b_obs, b_actions, b_log_probs, b_values = buf.obs, buf.actions, buf.log_probs, buf.values
    b_rewards, b_terminated, b_truncated, b_next = (
        buf.rewards, buf.terminated, buf.truncated, buf.next_values
    )  # fmt: skip
    for t in range(n_steps):
        input_into(norm, mean, var, count, obs, x)
        forward(actor, actor_layout, act, x, actor_ws)
        sample_into(head, log_std, mlp_output(actor_layout, n, actor_ws), rng, act_buf, logp_buf)
        critic_values(forward, critic, critic_layout, act, x, critic_ws, value_buf)
        clip_into(head, low, high, act_buf, env_actions)
        _store_action(
            b_obs, b_actions, b_log_probs, b_values, b_next, b_terminated, b_truncated, t, x,
            act_buf, logp_buf, value_buf,
        )  # fmt: skip
        # the env's generated batched step (``dispatch.vec_step`` without its shape checks:
        # ``make_vec_env`` sized every array; a separate compiled function less per cold start)
        vec_step(
            vec.params, vec.states, env_actions, rewards, terminated, truncated, vec.t,
            vec.max_steps, rng, True, obs, final_obs,
        )  # fmt: skip
        if _store_outcome(
            b_rewards, b_terminated, b_truncated, b_next, buf.ended_returns, buf.ended_lengths,
            buf.n_ended, t, rewards, terminated, truncated, vec.ep_return, vec.ep_length,
        ):  # fmt: skip
            normalize_into(norm, mean, var, final_obs, x)
            critic_values(forward, critic, critic_layout, act, x, critic_ws, value_buf)
            _set_next_values(b_terminated, b_truncated, b_next, t, value_buf, True)
    normalize_into(norm, mean, var, obs, x)
    critic_values(forward, critic, critic_layout, act, x, critic_ws, value_buf)
    _set_next_values(b_terminated, b_truncated, b_next, n_steps - 1, value_buf, False)


@njit(cache=True, inline="always")
def critic_values(
    forward,  # noqa: ANN001
    critic: np.ndarray,
    layout: np.ndarray,
    act: int,
    x: np.ndarray,
    ws: np.ndarray,
    out: np.ndarray,
) -> None:
    """out float64[B] = V(x) (``policy_value``) with the critic called through the ``forward``
    pointer (``NetFns.forward``)."""
    batch = x.shape[0]
    forward(critic, layout, act, x, ws)
    v = mlp_output(layout, batch, ws)
    for i in range(batch):
        out[i] = v[i, 0]


@njit(cache=True, inline="always")
def store_action(
    buf: Rollout,
    t: int,
    x: np.ndarray,
    actions: np.ndarray,
    log_probs: np.ndarray,
    values: np.ndarray,
) -> None:
    """Record step t's policy inputs, actions, log-probabilities and values (every copy), and
    V(s_t) as step t - 1's next value for the copies whose episode went on."""
    _store_action(
        buf.obs, buf.actions, buf.log_probs, buf.values, buf.next_values, buf.terminated,
        buf.truncated, t, x, actions, log_probs, values,
    )  # fmt: skip


@njit(cache=True, inline="always")
def _store_action(
    b_obs, b_actions, b_log_probs, b_values, b_next, b_terminated, b_truncated, t, x, actions,
    log_probs, values,
):  # fmt: skip  # noqa: ANN001, ANN202
    """``store_action`` on the buffer's arrays (``collect_rollout``'s docstring says why)."""
    for i in range(b_log_probs.shape[1]):
        for j in range(x.shape[1]):
            b_obs[t, i, j] = x[i, j]
        for a in range(actions.shape[1]):
            b_actions[t, i, a] = actions[i, a]
        b_log_probs[t, i] = log_probs[i]
        b_values[t, i] = values[i]
        if t > 0 and not (b_terminated[t - 1, i] or b_truncated[t - 1, i]):
            b_next[t - 1, i] = values[i]


@njit(cache=True, inline="always")
def store_outcome(
    buf: Rollout,
    t: int,
    rewards: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    ep_return: np.ndarray,
    ep_length: np.ndarray,
) -> bool:
    """Record step t's rewards and flags (a step both terminated and truncated counts as
    terminated) with next value 0, add to the running episode returns/lengths and move the
    episodes that ended into ``ended_returns``/``ended_lengths`` (copy order). Returns whether
    a copy was truncated (its next value is then V(final observation): ``store_next_values``)."""
    return _store_outcome(
        buf.rewards, buf.terminated, buf.truncated, buf.next_values, buf.ended_returns,
        buf.ended_lengths, buf.n_ended, t, rewards, terminated, truncated, ep_return, ep_length,
    )  # fmt: skip


@njit(cache=True, inline="always")
def _store_outcome(
    b_rewards, b_terminated, b_truncated, b_next, ended_returns, ended_lengths, n_ended, t,
    rewards, terminated, truncated, ep_return, ep_length,
):  # fmt: skip  # noqa: ANN001, ANN202
    """``store_outcome`` on the buffer's arrays."""
    any_trunc = False
    for i in range(b_rewards.shape[1]):
        term = terminated[i]
        trunc = truncated[i] and not term
        b_rewards[t, i] = rewards[i]
        b_terminated[t, i] = term
        b_truncated[t, i] = trunc
        b_next[t, i] = 0.0
        any_trunc = any_trunc or trunc
        ep_return[i] += rewards[i]
        ep_length[i] += 1
        if term or trunc:
            k = n_ended[0]
            ended_returns[k] = ep_return[i]
            ended_lengths[k] = ep_length[i]
            n_ended[0] = k + 1
            ep_return[i] = 0.0
            ep_length[i] = 0
    return any_trunc


@njit(cache=True, inline="always")
def store_next_values(
    policy: Policy,
    buf: Rollout,
    t: int,
    obs: np.ndarray,
    x: np.ndarray,
    critic_ws: np.ndarray,
    values: np.ndarray,
    truncated_only: bool,
) -> None:
    """Step t's next values V(obs) (raw observations float64[N, obs_dim], normalised with the
    current statistics, which are not updated): for the truncated copies (``truncated_only``:
    V of the final observation) or for every copy whose episode goes on (after the rollout's
    last step: V of the observation the next rollout starts from)."""
    normalize_obs(policy, obs, x)
    policy_value(policy, x, critic_ws, values)
    set_next_values(buf, t, values, truncated_only)


@njit(cache=True, inline="always")
def set_next_values(buf: Rollout, t: int, values: np.ndarray, truncated_only: bool) -> None:
    """``store_next_values`` after V: step t's next values from ``values`` float64[N]."""
    _set_next_values(buf.terminated, buf.truncated, buf.next_values, t, values, truncated_only)


@njit(cache=True, inline="always")
def _set_next_values(b_terminated, b_truncated, b_next, t, values, truncated_only):  # noqa: ANN001, ANN202
    """``set_next_values`` on the buffer's arrays."""
    for i in range(b_terminated.shape[1]):
        ended = b_terminated[t, i] or b_truncated[t, i]
        if b_truncated[t, i] if truncated_only else not ended:
            b_next[t, i] = values[i]


@njit(cache=True)
def permutation(rng: np.random.Generator, n: int) -> np.ndarray:
    """int64[n]: ``rng.permutation(n)``, the same draws bit for bit (NumPy's Fisher-Yates over
    ``random_interval``). Numba's own ``permutation`` goes through its N-d ``shuffle`` (swapaxes,
    transpose, shape-error formatting), which cost ~5 s of every cold compile of a caller."""
    if random_interval is None:
        return rng.permutation(n)
    perm = np.arange(n)
    _shuffle(rng, perm)
    return perm


@pointer_kernel(cache=True)
def permutation_into(rng: np.random.Generator, perm: np.ndarray) -> None:
    """``perm`` int64[n] = ``permutation(rng, n)`` (the same draws), written in place: a caller
    that shuffles every epoch compiles no allocation for it."""
    if random_interval is None:
        p = rng.permutation(perm.shape[0])
        for i in range(perm.shape[0]):
            perm[i] = p[i]
        return
    for i in range(perm.shape[0]):
        perm[i] = i
    _shuffle(rng, perm)


@njit(cache=True, inline="always")
def _shuffle(rng: np.random.Generator, perm: np.ndarray) -> None:
    """NumPy's Fisher-Yates over ``random_interval``, in place."""
    for i in range(perm.shape[0] - 1, 0, -1):
        j = np.int64(random_interval(rng.bit_generator, i))
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp


@njit(cache=True, inline="always")
def flat_batch(buf: Rollout) -> tuple[np.ndarray, np.ndarray]:
    """(obs [T * N, obs_dim], actions float64[T * N, action_dim]): views of ``buf``'s steps as one
    batch, row ``t * N + i`` for step t of copy i (the order of ``rewards.reshape(T * N)``)."""
    n_steps, n = buf.rewards.shape
    batch = n_steps * n
    return buf.obs.reshape((batch, buf.obs.shape[2])), buf.actions.reshape(
        (batch, buf.actions.shape[2])
    )


@njit(cache=True, inline="always")
def count_ended(buf: Rollout, episode_stats: np.ndarray) -> None:
    """Add the episodes that ended in ``buf``'s rollout to ``episode_stats`` float64[2] =
    (episodes ended, sum of their returns), one return at a time."""
    for e in range(buf.n_ended[0]):
        episode_stats[0] += 1.0
        episode_stats[1] += buf.ended_returns[e]


@njit(cache=True, inline="always")
def episode_columns(buf: Rollout, reward_scale: float) -> tuple:
    """``buf`` with each env copy's time axis as a contiguous row, the form the kernels of
    ``numbarl.returns`` take: (rewards times ``reward_scale``, V_old(s_t), V_old(s_t+1))
    float64[N, T] and (terminated, truncated) bool[N, T]; row i is copy i."""
    n_steps, n = buf.rewards.shape
    r, v, nv = np.empty((n, n_steps)), np.empty((n, n_steps)), np.empty((n, n_steps))
    term = np.empty((n, n_steps), dtype=np.bool_)
    trunc = np.empty((n, n_steps), dtype=np.bool_)
    for i in range(n):
        for t in range(n_steps):
            r[i, t] = buf.rewards[t, i] * reward_scale
            v[i, t] = buf.values[t, i]
            nv[i, t] = buf.next_values[t, i]
            term[i, t] = buf.terminated[t, i]
            trunc[i, t] = buf.truncated[t, i]
    return r, v, nv, term, trunc


@njit(cache=True, inline="always")
def rollout_gae(
    buf: Rollout, gamma: float, lam: float, reward_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """GAE(gamma, lambda) per env copy of ``buf`` (GAE paper eq. 16; ``numbarl.returns.
    gae_kernel`` on each copy's column, rewards times ``reward_scale``): (advantages, returns)
    float64[T, N]."""
    n_steps, n = buf.rewards.shape
    adv = np.empty((n_steps, n))
    ret = np.empty((n_steps, n))
    r, v, nv, term, trunc = episode_columns(buf, reward_scale)
    for i in range(n):
        a, g = gae_kernel(r[i], v[i], nv[i], term[i], trunc[i], gamma, lam)
        for t in range(n_steps):
            adv[t, i] = a[t]
            ret[t, i] = g[t]
    return adv, ret


def evaluate_greedy(
    fns: Any,
    params: np.ndarray,
    max_steps: int,
    state_dim: int,
    policy: Policy,
    episodes: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Undiscounted returns float64[episodes] of greedy episodes on the ControlEnv whose
    functions are ``fns`` (``env.fns``; ``params`` and ``state_dim`` its data).

    Episodes run side by side (one batched forward per step); start states are drawn from
    ``rng`` in episode order; each runs until termination or ``max_steps``. (Compiled:
    ``evaluate_greedy_net``, with the actor called through ``numbarl.nn.pointers``.)"""
    kernel, args = evaluate_greedy_call(fns, params, max_steps, state_dim, policy, episodes, rng)
    return kernel(*args)


def evaluate_greedy_call(
    fns: Any,
    params: np.ndarray,
    max_steps: int,
    state_dim: int,
    policy: Policy,
    episodes: int,
    rng: np.random.Generator,
) -> tuple[Any, tuple]:
    """The compiled call ``evaluate_greedy`` makes, as ``(kernel, args)`` (for
    ``numbarl.precompile.compile_calls`` to compile ahead)."""
    args = (
        step_fns(fns), params, max_steps, policy, rng, net_fns(policy.params.dtype),
        eval_work(policy, int(episodes), int(state_dim)),
    )  # fmt: skip
    return evaluate_greedy_net, args


class EvalWork(NamedTuple):
    """``evaluate_greedy_net``'s arrays for ``n`` episodes side by side (``eval_work``), zeroed:
    ``states`` float64[n, state_dim], raw ``obs`` float64[n, obs_dim], the policy input ``x``
    [n, obs_dim] (the network's dtype), ``done`` bool[n], ``returns`` float64[n], ``actions``
    float64[n, action_dim] and the actor's workspace ``ws``.

    Allocated by NumPy in Python, not inside the kernel: there the allocations compiled Numba's
    ``np.zeros`` (and its ``np.empty`` and fill) for six array types and ``mlp_workspace``,
    about half of the evaluation's ~2 s cold compile."""

    states: np.ndarray
    obs: np.ndarray
    x: np.ndarray
    done: np.ndarray
    returns: np.ndarray
    actions: np.ndarray
    ws: np.ndarray


def eval_work(policy: Policy, episodes: int, state_dim: int) -> EvalWork:
    """A zeroed ``EvalWork`` for ``episodes`` greedy episodes of ``policy`` on an env whose
    state has ``state_dim`` numbers."""
    n, d, dt = episodes, policy.obs_mean.shape[0], policy.params.dtype
    return EvalWork(
        np.zeros((n, state_dim)),
        np.zeros((n, d)),
        np.zeros((n, d), dt),
        np.zeros(n, dtype=np.bool_),
        np.zeros(n),
        np.zeros((n, int(policy.head[2]))),
        mlp_workspace(policy.actor_layout, n, dt),  # from Python: NumPy, nothing compiled
    )


@python_kernel(cache=True)
def evaluate_greedy_net(
    fns: Any,
    params: np.ndarray,
    max_steps: int,
    policy: Policy,
    rng: np.random.Generator,
    net: NetFns,
    work: EvalWork,
) -> np.ndarray:
    """``evaluate_greedy`` with the network functions ``net`` (pointers) on the arrays of
    ``work`` (``eval_work``; one episode per row); returns ``work.returns``."""
    states, obs, x, done = work.states, work.obs, work.x, work.done
    returns, acts, ws = work.returns, work.actions, work.ws
    n = returns.shape[0]
    for i in range(n):
        fns.reset(params, states[i], rng)
        fns.observe(params, states[i], obs[i])
    t = 0
    remaining = n
    while remaining > 0:
        normalize_obs(policy, obs, x)
        net.forward(policy.actor, policy.actor_layout, policy.head[3], x, ws)
        greedy_actions(policy, mlp_output(policy.actor_layout, n, ws), acts)
        t += 1
        for i in range(n):
            if done[i]:
                continue
            r, term = fns.step(params, states[i], acts[i], rng)
            fns.observe(params, states[i], obs[i])
            returns[i] += r
            if term or (max_steps > 0 and t >= max_steps):
                done[i] = True
                remaining -= 1
    return returns


# The collectors, compiled from ``_collect``'s code with the head's sampling and clipping
# (``pointer_variant``: after every name ``_collect`` uses is defined).
collect_categorical = pointer_variant(
    _collect,
    "collect_categorical",
    "``collect_rollout`` for a categorical head.",
    sample_into=sample_categorical_into,
    clip_into=copy_into,
)
collect_gaussian = pointer_variant(
    _collect,
    "collect_gaussian",
    "``collect_rollout`` for a Gaussian head.",
    sample_into=sample_gaussian_into,
    clip_into=clip_bounds_into,
)
