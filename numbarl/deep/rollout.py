"""Shared policy-gradient machinery: an actor-critic as data, rollouts and greedy evaluation.

Everything here is data plus ``@njit(cache=True)`` functions, so one cached compiled learner
serves every env: envs reach compiled code as data plus ``env.fns``, their functions as
first-class function pointers (``numbarl.envs.control.core``), which keep Numba's cache valid.

Actor-critic as data: ``Policy`` (NamedTuple of arrays)
--------------------------------------------------------
- ``params`` float64[P]: every trainable number, ``[actor | log_std | critic]``; ``actor``,
  ``log_std`` and ``critic`` are contiguous views of it, so one Adam state and one gradient
  buffer (``grad_views(policy, grad)`` gives the matching views) serve both networks and
  global-norm clipping covers them jointly (as CleanRL does).
- ``actor`` float64[Pa] with ``actor_layout`` int64[La, 4] (``numbarl.nn`` MLP): the logits
  float64[B, n_actions] of a categorical head, or the mean float64[B, action_dim] of a diagonal
  Gaussian whose state-independent ``log_std`` is float64[action_dim] (length 0 if discrete).
- ``critic`` float64[Pc] with ``critic_layout``: V(s) float64[B, 1].
- ``head`` int64[4] = ``(kind, n_actions, action_dim, activation)``: kind ``CATEGORICAL`` (0)
  or ``GAUSSIAN`` (1); activation ``numbarl.nn.TANH``/``RELU`` for hidden layers.
- ``action_low``/``action_high`` float64[action_dim]: Gaussian samples are clipped to these
  when stepping the env; the unclipped sample is stored and used for log-probabilities.
- Observation normalisation (running mean/var, as SB3's ``VecNormalize``): ``obs_mean``,
  ``obs_var`` float64[obs_dim], ``obs_count`` float64[1], ``obs_norm`` float64[2] =
  ``(enabled 0/1, clip)``. When enabled, each observation batch about to be acted on first
  updates the statistics, then is normalised: ``clip((o - mean) / sqrt(var + 1e-8), -clip,
  clip)``. Evaluation uses the statistics without updating them.

``make_policy(info, rng, ...)`` builds one, ``policy_arrays``/``policy_from_arrays`` convert to
and from a flat ``dict[str, ndarray]`` (what ``train`` returns and ``.npz`` files hold).

Rollout buffer layout: ``Rollout`` (T steps of N env copies)
------------------------------------------------------------
Step ``t`` of copy ``i`` is the transition (s_t, a_t) -> (r_t, s_{t+1}):

- ``obs`` float64[T, N, obs_dim]: the policy input at s_t (normalised if enabled);
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
- ``collect_rollout(vec, policy, buf, rng)`` (njit): fill ``buf`` with ``T = buf.rewards.shape[0]``
  steps of every copy (``vec_step`` with same-step autoreset). Per step: update/normalise
  observations, one ``policy_act`` (categorical: one ``rng.random()`` per copy; Gaussian:
  ``action_dim`` ``rng.standard_normal()`` per copy, copy order), then ``vec_step`` (resets draw
  from ``rng``).
- ``policy_act(policy, x, actor_ws, critic_ws, rng, actions, log_probs, values)`` (njit): sample
  actions for a batch of policy inputs ``x`` float64[B, obs_dim]; ``policy_greedy`` the argmax /
  Gaussian mean; ``policy_value`` V(x); ``normalize_obs`` / ``update_obs_stats``.
- ``evaluate_greedy(fns, params, max_steps, policy, episodes, rng)`` (njit): greedy returns
  float64[episodes] on a ControlEnv (all episodes run side by side, no autoreset).
- Python path for any Gymnasium env with a 1-D ``Box`` observation space and a ``Discrete`` or
  ``Box`` action space (other spaces raise ValueError): ``GymVec(env, seed)`` wraps a single env
  or a ``gymnasium.vector`` env (``AutoresetMode.SAME_STEP``); ``collect_rollout_gym(vec,
  policy, buf, rng)`` fills the same ``Rollout`` with the same draws from ``rng`` as the compiled
  path (except resets, which the Gymnasium env draws itself), so one compiled update serves both;
  ``evaluate_gym(policy, env, episodes, seed)`` is the greedy evaluation;
  ``evaluate_policy(policy, env, info, episodes, rng)`` picks the compiled or the Python one;
  ``evaluation_env(env, info)`` the env to evaluate on (a fresh ``gymnasium.make(env.spec)``).
- ``params_finite(policy)`` (njit): the divergence check the training loops run per update;
  ``count_ended(buf, episode_stats)`` (njit) their tally of the training episodes that ended;
  ``permutation(rng, n)`` (njit) the minibatch shuffle, equal to ``rng.permutation(n)``.
- ``env_info(env)`` -> ``EnvInfo`` (obs_dim, n_actions, action_dim, bounds, is_control) for a
  ControlEnv or a Gymnasium env, validating the spaces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import njit

try:  # Numba's internal bounded-integer draw (NumPy's algorithm); private, so guarded
    from numba.np.random.random_methods import random_interval
except ImportError:  # pragma: no cover - other Numba versions: fall back to rng.permutation
    random_interval = None

from numbarl.envs.control import ControlEnv
from numbarl.envs.control.dispatch import vec_step
from numbarl.nn import (
    activation_code,
    mlp_forward,
    mlp_init,
    mlp_layout,
    mlp_n_params,
    mlp_workspace,
)
from numbarl.returns import gae_kernel

CATEGORICAL = 0
GAUSSIAN = 1
_LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


class EnvInfo(NamedTuple):
    """What a policy needs to know about an env's spaces."""

    obs_dim: int
    n_actions: int  # > 0: discrete (categorical head); 0: continuous (Gaussian head)
    action_dim: int
    action_low: np.ndarray  # float64[action_dim]
    action_high: np.ndarray  # float64[action_dim]
    is_control: bool  # a numbarl ControlEnv (compiled path) rather than a Gymnasium env
    n_envs: int  # copies a Gymnasium vector env already holds (1 otherwise)


class Policy(NamedTuple):
    """An actor-critic as arrays (see the module docstring)."""

    params: np.ndarray
    actor: np.ndarray
    actor_layout: np.ndarray
    log_std: np.ndarray
    critic: np.ndarray
    critic_layout: np.ndarray
    head: np.ndarray
    action_low: np.ndarray
    action_high: np.ndarray
    obs_mean: np.ndarray
    obs_var: np.ndarray
    obs_count: np.ndarray
    obs_norm: np.ndarray


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


class VecEnv(NamedTuple):
    """N copies of a ControlEnv and the collector's scratch (built by ``make_vec_env``).

    ``states`` float64[N, state_dim], ``t`` int64[N], ``obs``/``final_obs`` float64[N, obs_dim]
    raw observations, ``x`` float64[N, obs_dim] policy input, ``env_actions``
    float64[N, action_dim] (clipped), ``step_rewards`` float64[N],
    ``step_terminated``/``step_truncated`` bool[N], ``ep_return`` float64[N], ``ep_length``
    int64[N], ``actor_ws``/``critic_ws`` workspaces for batches of N, ``act_buf``
    float64[N, action_dim], ``logp_buf``/``value_buf`` float64[N]."""

    fns: Any  # EnvFns: the env's functions as pointers
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


# ---------------------------------------------------------------------------------------------
# Building (Python)
# ---------------------------------------------------------------------------------------------


def env_info(env: Any) -> EnvInfo:
    """Spaces of a numbarl ``ControlEnv`` or a Gymnasium env (single or ``gymnasium.vector``).

    Raises ValueError for tabular envs, non-1-D ``Box`` observations and action spaces other
    than ``Discrete`` / ``Box``."""
    if isinstance(env, ControlEnv):
        low = np.asarray(env.action_low, dtype=np.float64).copy()
        high = np.asarray(env.action_high, dtype=np.float64).copy()
        return EnvInfo(env.obs_dim, env.n_actions, env.action_dim, low, high, True, 1)
    try:
        import gymnasium
        from gymnasium import spaces
    except ImportError:  # pragma: no cover - gymnasium is a dependency
        msg = f"env must be a numbarl ControlEnv or a Gymnasium env, got {env!r}"
        raise ValueError(msg) from None
    is_vector = isinstance(env, gymnasium.vector.VectorEnv)
    if not is_vector and not isinstance(env, gymnasium.Env):
        raise ValueError(
            f"env must be a numbarl ControlEnv (numbarl.envs.make) or a Gymnasium env with a "
            f"Box observation space, got {type(env).__name__}"
        )
    obs_space = env.single_observation_space if is_vector else env.observation_space
    act_space = env.single_action_space if is_vector else env.action_space
    if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
        raise ValueError(
            f"observation_space must be a 1-D gymnasium.spaces.Box, got {obs_space!r}; "
            "allowed: Box with shape (obs_dim,)"
        )
    if isinstance(act_space, spaces.Discrete):
        if int(act_space.start) != 0:
            raise ValueError(f"Discrete action spaces must start at 0, got {act_space!r}")
        n = int(act_space.n)
        lo, hi = np.zeros(1), np.array([n - 1.0])
        info = EnvInfo(int(obs_space.shape[0]), n, 1, lo, hi, False, 1)
    elif isinstance(act_space, spaces.Box) and len(act_space.shape) == 1:
        lo = np.asarray(act_space.low, dtype=np.float64).copy()
        hi = np.asarray(act_space.high, dtype=np.float64).copy()
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError(f"Box action space must have finite bounds, got {act_space!r}")
        info = EnvInfo(int(obs_space.shape[0]), 0, int(act_space.shape[0]), lo, hi, False, 1)
    else:
        raise ValueError(
            f"action_space {act_space!r} is not supported; allowed: gymnasium.spaces.Discrete "
            "or a 1-D gymnasium.spaces.Box"
        )
    if is_vector:
        from gymnasium.vector import AutoresetMode

        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                "gymnasium.vector envs must use autoreset_mode=AutoresetMode.SAME_STEP (got "
                f"{mode!r}), so that final observations can be bootstrapped"
            )
        info = info._replace(n_envs=int(env.num_envs))
    return info


def make_policy(
    info: EnvInfo,
    rng: np.random.Generator,
    hidden: Sequence[int] = (64, 64),
    critic_hidden: Sequence[int] | None = None,
    activation: str = "tanh",
    log_std_init: float = 0.0,
    obs_norm: bool = False,
    obs_clip: float = 10.0,
) -> Policy:
    """A fresh actor-critic for ``info`` (orthogonal init as CleanRL: hidden gain sqrt(2), policy
    output 0.01, value output 1.0). The actor is drawn from ``rng`` first, then the critic."""
    act = activation_code(activation)
    critic_hidden = tuple(hidden) if critic_hidden is None else tuple(critic_hidden)
    kind = CATEGORICAL if info.n_actions > 0 else GAUSSIAN
    n_out = info.n_actions if kind == CATEGORICAL else info.action_dim
    a_layout = mlp_layout([info.obs_dim, *hidden, n_out])
    c_layout = mlp_layout([info.obs_dim, *critic_hidden, 1])
    actor = mlp_init(a_layout, rng, output_gain=0.01)
    critic = mlp_init(c_layout, rng, output_gain=1.0)
    n_std = info.action_dim if kind == GAUSSIAN else 0
    params = np.concatenate([actor, np.full(n_std, float(log_std_init)), critic])
    return _assemble(
        params,
        a_layout,
        c_layout,
        np.array([kind, info.n_actions, info.action_dim, act], dtype=np.int64),
        info.action_low,
        info.action_high,
        np.zeros(info.obs_dim),
        np.ones(info.obs_dim),
        np.array([1e-4]),
        np.array([1.0 if obs_norm else 0.0, float(obs_clip)]),
    )


def _assemble(params, a_layout, c_layout, head, low, high, mean, var, count, norm) -> Policy:
    pa = int(mlp_n_params(a_layout))
    pc = int(mlp_n_params(c_layout))
    n_std = int(head[2]) if int(head[0]) == GAUSSIAN else 0
    if params.shape != (pa + n_std + pc,):
        raise ValueError(f"params must be float64[{pa + n_std + pc}], got shape {params.shape}")
    return Policy(
        params,
        params[:pa],
        a_layout,
        params[pa : pa + n_std],
        params[pa + n_std :],
        c_layout,
        head,
        np.ascontiguousarray(low, dtype=np.float64),
        np.ascontiguousarray(high, dtype=np.float64),
        mean,
        var,
        count,
        norm,
    )


def policy_arrays(policy: Policy) -> dict[str, np.ndarray]:
    """The policy as independent arrays: ``params``, ``actor``, ``actor_layout``, ``log_std``,
    ``critic``, ``critic_layout``, ``head``, ``action_low``, ``action_high``, ``obs_mean``,
    ``obs_var``, ``obs_count``, ``obs_norm``."""
    return {k: np.array(v, copy=True) for k, v in policy._asdict().items()}


def policy_from_arrays(arrays: dict[str, np.ndarray]) -> Policy:
    """Rebuild a ``Policy`` (views into a fresh copy of ``params``) from ``policy_arrays``."""
    missing = [f for f in Policy._fields if f not in arrays]
    if missing:
        raise ValueError(f"arrays lack the policy field(s) {', '.join(missing)}")

    def f64(k: str) -> np.ndarray:
        return np.array(arrays[k], dtype=np.float64, copy=True)

    def i64(k: str) -> np.ndarray:
        return np.array(arrays[k], dtype=np.int64, copy=True)

    return _assemble(
        f64("params"),
        i64("actor_layout"),
        i64("critic_layout"),
        i64("head"),
        f64("action_low"),
        f64("action_high"),
        f64("obs_mean"),
        f64("obs_var"),
        f64("obs_count"),
        f64("obs_norm"),
    )


def make_rollout(n_steps: int, n_envs: int, obs_dim: int, action_dim: int) -> Rollout:
    """A zeroed ``Rollout`` for ``n_steps`` steps of ``n_envs`` copies."""
    t, n = n_steps, n_envs
    return Rollout(
        np.zeros((t, n, obs_dim)),
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
    vec = VecEnv(
        env.fns,
        np.asarray(env.params, dtype=np.float64).copy(),
        int(env.max_steps),
        np.zeros((n, env.state_dim)),
        np.zeros(n, dtype=np.int64),
        np.zeros((n, env.obs_dim)),
        np.zeros((n, env.obs_dim)),
        np.zeros((n, env.obs_dim)),
        np.zeros((n, action_dim)),
        np.zeros(n),
        np.zeros(n, dtype=np.bool_),
        np.zeros(n, dtype=np.bool_),
        np.zeros(n),
        np.zeros(n, dtype=np.int64),
        mlp_workspace(policy.actor_layout, n),
        mlp_workspace(policy.critic_layout, n),
        np.zeros((n, action_dim)),
        np.zeros(n),
        np.zeros(n),
    )
    reset_vec_env(vec, rng)
    return vec


# ---------------------------------------------------------------------------------------------
# Compiled kernels
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def reset_vec_env(vec: VecEnv, rng: np.random.Generator) -> None:
    """Reset every copy (draws from ``rng`` in copy order); zero the episode bookkeeping."""
    for i in range(vec.states.shape[0]):
        vec.fns.reset(vec.params, vec.states[i], rng)
        vec.fns.observe(vec.params, vec.states[i], vec.obs[i])
        vec.t[i] = 0
        vec.ep_return[i] = 0.0
        vec.ep_length[i] = 0


@njit(cache=True)
def grad_views(policy: Policy, grad: np.ndarray):
    """(g_actor, g_log_std, g_critic): views of ``grad`` float64[P] laid out like ``params``."""
    pa = policy.actor.shape[0]
    ps = policy.log_std.shape[0]
    return grad[:pa], grad[pa : pa + ps], grad[pa + ps :]


@njit(cache=True)
def params_finite(policy: Policy) -> bool:
    """Whether every parameter and observation-normalisation statistic is finite."""
    for k in range(policy.params.shape[0]):
        if not np.isfinite(policy.params[k]):
            return False
    for j in range(policy.obs_mean.shape[0]):
        if not (np.isfinite(policy.obs_mean[j]) and np.isfinite(policy.obs_var[j])):
            return False
    return True


@njit(cache=True)
def update_obs_stats(policy: Policy, obs: np.ndarray) -> None:
    """Merge the batch ``obs`` float64[B, D] into the running mean/var (parallel algorithm,
    as SB3's RunningMeanStd)."""
    b, d = obs.shape
    n = policy.obs_count[0]
    tot = n + b
    for j in range(d):
        m = 0.0
        for i in range(b):
            m += obs[i, j]
        m /= b
        v = 0.0
        for i in range(b):
            v += (obs[i, j] - m) ** 2
        v /= b
        delta = m - policy.obs_mean[j]
        m2 = policy.obs_var[j] * n + v * b + delta * delta * n * b / tot
        policy.obs_mean[j] += delta * b / tot
        policy.obs_var[j] = m2 / tot
    policy.obs_count[0] = tot


@njit(cache=True)
def normalize_obs(policy: Policy, obs: np.ndarray, out: np.ndarray) -> None:
    """out float64[B, D] = the policy input for raw ``obs`` (a copy if normalisation is off)."""
    b, d = obs.shape
    if policy.obs_norm[0] == 0.0:
        for i in range(b):
            for j in range(d):
                out[i, j] = obs[i, j]
        return
    clip = policy.obs_norm[1]
    for j in range(d):
        scale = 1.0 / np.sqrt(policy.obs_var[j] + 1e-8)
        for i in range(b):
            out[i, j] = min(max((obs[i, j] - policy.obs_mean[j]) * scale, -clip), clip)


@njit(cache=True)
def policy_value(policy: Policy, x: np.ndarray, critic_ws: np.ndarray, out: np.ndarray) -> None:
    """out float64[B] = V(x) for policy inputs x float64[B, D]."""
    v = mlp_forward(policy.critic, policy.critic_layout, policy.head[3], x, critic_ws)
    for i in range(x.shape[0]):
        out[i] = v[i, 0]


@njit(cache=True)
def policy_act(
    policy: Policy,
    x: np.ndarray,
    actor_ws: np.ndarray,
    critic_ws: np.ndarray,
    rng: np.random.Generator,
    actions: np.ndarray,
    log_probs: np.ndarray,
    values: np.ndarray,
) -> None:
    """Sample a_i ~ pi(. | x_i) for x float64[B, D]: writes actions float64[B, action_dim]
    (unclipped; the index as a float if categorical), log_probs float64[B], values float64[B].

    Draws: categorical one ``rng.random()`` per row (inverse CDF); Gaussian ``action_dim``
    ``rng.standard_normal()`` per row, in row order."""
    batch = x.shape[0]
    out = mlp_forward(policy.actor, policy.actor_layout, policy.head[3], x, actor_ws)
    if policy.head[0] == CATEGORICAL:
        n = out.shape[1]
        for i in range(batch):
            mx = out[i, 0]
            for a in range(1, n):
                mx = max(mx, out[i, a])
            total = 0.0
            for a in range(n):
                total += np.exp(out[i, a] - mx)
            u = rng.random() * total
            acc = 0.0
            chosen = n - 1
            for a in range(n - 1):
                acc += np.exp(out[i, a] - mx)
                if u < acc:
                    chosen = a
                    break
            actions[i, 0] = float(chosen)
            log_probs[i] = out[i, chosen] - mx - np.log(total)
    else:
        n = out.shape[1]
        for i in range(batch):
            lp = 0.0
            for a in range(n):
                eps = rng.standard_normal()
                actions[i, a] = out[i, a] + np.exp(policy.log_std[a]) * eps
                lp += -0.5 * eps * eps - policy.log_std[a] - 0.5 * _LOG_2PI
            log_probs[i] = lp
    policy_value(policy, x, critic_ws, values)


@njit(cache=True)
def policy_greedy(policy: Policy, x: np.ndarray, actor_ws: np.ndarray, actions: np.ndarray):
    """Greedy actions float64[B, action_dim] for x float64[B, D]: argmax of the logits (lowest
    index on ties) or the Gaussian mean clipped to the action bounds."""
    out = mlp_forward(policy.actor, policy.actor_layout, policy.head[3], x, actor_ws)
    for i in range(x.shape[0]):
        if policy.head[0] == CATEGORICAL:
            best = 0
            for a in range(1, out.shape[1]):
                if out[i, a] > out[i, best]:
                    best = a
            actions[i, 0] = float(best)
        else:
            for a in range(out.shape[1]):
                actions[i, a] = min(max(out[i, a], policy.action_low[a]), policy.action_high[a])


@njit(cache=True)
def clip_actions(policy: Policy, actions: np.ndarray, out: np.ndarray) -> None:
    """out = actions clipped to the action bounds (categorical indices are copied)."""
    for i in range(actions.shape[0]):
        for a in range(actions.shape[1]):
            v = actions[i, a]
            if policy.head[0] == GAUSSIAN:
                v = min(max(v, policy.action_low[a]), policy.action_high[a])
            out[i, a] = v


@njit(cache=True)
def collect_rollout(vec: VecEnv, policy: Policy, buf: Rollout, rng: np.random.Generator) -> None:
    """Fill ``buf`` with T = ``buf.rewards.shape[0]`` steps of every copy in ``vec`` (see the
    module docstring for the layout and the order of random draws)."""
    n_steps, n = buf.rewards.shape
    buf.n_ended[0] = 0
    for t in range(n_steps):
        if policy.obs_norm[0] != 0.0:
            update_obs_stats(policy, vec.obs)
        normalize_obs(policy, vec.obs, vec.x)
        policy_act(
            policy, vec.x, vec.actor_ws, vec.critic_ws, rng, vec.act_buf, vec.logp_buf,
            vec.value_buf,
        )  # fmt: skip
        clip_actions(policy, vec.act_buf, vec.env_actions)
        for i in range(n):
            for j in range(vec.x.shape[1]):
                buf.obs[t, i, j] = vec.x[i, j]
            for a in range(vec.act_buf.shape[1]):
                buf.actions[t, i, a] = vec.act_buf[i, a]
            buf.log_probs[t, i] = vec.logp_buf[i]
            buf.values[t, i] = vec.value_buf[i]
            if t > 0 and not (buf.terminated[t - 1, i] or buf.truncated[t - 1, i]):
                buf.next_values[t - 1, i] = vec.value_buf[i]
        vec_step(
            vec.fns, vec.params, vec.states, vec.env_actions, vec.step_rewards,
            vec.step_terminated, vec.step_truncated, vec.t, vec.max_steps, rng, True, vec.obs,
            vec.final_obs,
        )  # fmt: skip
        any_trunc = False
        for i in range(n):
            term = vec.step_terminated[i]
            trunc = vec.step_truncated[i] and not term
            buf.rewards[t, i] = vec.step_rewards[i]
            buf.terminated[t, i] = term
            buf.truncated[t, i] = trunc
            buf.next_values[t, i] = 0.0
            any_trunc = any_trunc or trunc
            vec.ep_return[i] += vec.step_rewards[i]
            vec.ep_length[i] += 1
            if term or trunc:
                k = buf.n_ended[0]
                buf.ended_returns[k] = vec.ep_return[i]
                buf.ended_lengths[k] = vec.ep_length[i]
                buf.n_ended[0] = k + 1
                vec.ep_return[i] = 0.0
                vec.ep_length[i] = 0
        if any_trunc:  # bootstrap from V(final observation), with the current statistics
            normalize_obs(policy, vec.final_obs, vec.x)
            policy_value(policy, vec.x, vec.critic_ws, vec.value_buf)
            for i in range(n):
                if buf.truncated[t, i]:
                    buf.next_values[t, i] = vec.value_buf[i]
    # V of the observation after the rollout (statistics not updated: the next rollout does).
    normalize_obs(policy, vec.obs, vec.x)
    policy_value(policy, vec.x, vec.critic_ws, vec.value_buf)
    for i in range(n):
        if not (buf.terminated[n_steps - 1, i] or buf.truncated[n_steps - 1, i]):
            buf.next_values[n_steps - 1, i] = vec.value_buf[i]


@njit(cache=True)
def permutation(rng: np.random.Generator, n: int) -> np.ndarray:
    """int64[n]: ``rng.permutation(n)``, the same draws bit for bit (NumPy's Fisher-Yates over
    ``random_interval``). Numba's own ``permutation`` goes through its N-d ``shuffle`` (swapaxes,
    transpose, shape-error formatting), which cost ~5 s of every cold compile of a caller."""
    if random_interval is None:
        return rng.permutation(n)
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = np.int64(random_interval(rng.bit_generator, i))
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp
    return perm


@njit(cache=True)
def count_ended(buf: Rollout, episode_stats: np.ndarray) -> None:
    """Add the episodes that ended in ``buf``'s rollout to ``episode_stats`` float64[2] =
    (episodes ended, sum of their returns), one return at a time."""
    for e in range(buf.n_ended[0]):
        episode_stats[0] += 1.0
        episode_stats[1] += buf.ended_returns[e]


@njit(cache=True)
def rollout_gae(
    buf: Rollout, gamma: float, lam: float, reward_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """GAE(gamma, lambda) per env copy of ``buf`` (GAE paper eq. 16; ``numbarl.returns.
    gae_kernel`` on each copy's column, rewards times ``reward_scale``): (advantages, returns)
    float64[T, N]."""
    n_steps, n = buf.rewards.shape
    adv = np.empty((n_steps, n))
    ret = np.empty((n_steps, n))
    r = np.empty(n_steps)
    v = np.empty(n_steps)
    nv = np.empty(n_steps)
    term = np.empty(n_steps, dtype=np.bool_)
    trunc = np.empty(n_steps, dtype=np.bool_)
    for i in range(n):
        for t in range(n_steps):
            r[t] = buf.rewards[t, i] * reward_scale
            v[t] = buf.values[t, i]
            nv[t] = buf.next_values[t, i]
            term[t] = buf.terminated[t, i]
            trunc[t] = buf.truncated[t, i]
        a, g = gae_kernel(r, v, nv, term, trunc, gamma, lam)
        for t in range(n_steps):
            adv[t, i] = a[t]
            ret[t, i] = g[t]
    return adv, ret


@njit(cache=True)
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
    ``rng`` in episode order; each runs until termination or ``max_steps``."""
    n = episodes
    d = policy.obs_mean.shape[0]
    states = np.zeros((n, state_dim))
    obs = np.zeros((n, d))
    x = np.zeros((n, d))
    done = np.zeros(n, dtype=np.bool_)
    returns = np.zeros(n)
    acts = np.zeros((n, policy.head[2]))
    ws = mlp_workspace(policy.actor_layout, n)
    for i in range(n):
        fns.reset(params, states[i], rng)
        fns.observe(params, states[i], obs[i])
    t = 0
    remaining = n
    while remaining > 0:
        normalize_obs(policy, obs, x)
        policy_greedy(policy, x, ws, acts)
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


# ---------------------------------------------------------------------------------------------
# Python path for Gymnasium envs
# ---------------------------------------------------------------------------------------------


class GymVec:
    """A Gymnasium env (single, or ``gymnasium.vector`` with SAME_STEP autoreset) seen as N
    copies for ``collect_rollout_gym``; reset with ``seed`` on construction."""

    def __init__(self, env: Any, policy: Policy, seed: int | None = None) -> None:
        import gymnasium

        self.info = env_info(env)
        self.env = env
        self.is_vector = isinstance(env, gymnasium.vector.VectorEnv)
        n = self.info.n_envs
        obs, _ = env.reset(seed=seed)
        self.obs = np.array(obs, dtype=np.float64).reshape(n, self.info.obs_dim)
        self.x = np.zeros_like(self.obs)
        self.ep_return = np.zeros(n)
        self.ep_length = np.zeros(n, dtype=np.int64)
        self.actor_ws = mlp_workspace(policy.actor_layout, n)
        self.critic_ws = mlp_workspace(policy.critic_layout, n)
        self.act_buf = np.zeros((n, int(policy.head[2])))
        self.env_actions = np.zeros_like(self.act_buf)
        self.logp_buf = np.zeros(n)
        self.value_buf = np.zeros(n)

    def step(self, actions: np.ndarray, discrete: bool):
        """Step with float64[N, action_dim] actions; returns (next obs, rewards, terminated,
        truncated, final obs) as float64/bool arrays, resetting finished single envs."""
        n = self.info.n_envs
        if discrete:
            act = actions[:, 0].astype(np.int64)
            act = act if self.is_vector else int(act[0])
        else:
            act = actions if self.is_vector else actions[0]
        obs, r, term, trunc, info = self.env.step(act)
        obs = np.array(obs, dtype=np.float64).reshape(n, -1)
        r = np.array(r, dtype=np.float64).reshape(n)
        term = np.array(term, dtype=np.bool_).reshape(n)
        trunc = np.array(trunc, dtype=np.bool_).reshape(n)
        final = obs.copy()
        if self.is_vector:
            if "final_obs" in info:
                for i in np.flatnonzero(term | trunc):
                    final[i] = np.asarray(info["final_obs"][i], dtype=np.float64)
        elif term[0] or trunc[0]:
            first, _ = self.env.reset()
            obs = np.array(first, dtype=np.float64).reshape(1, -1)
        return obs, r, term, trunc, final


def collect_rollout_gym(
    vec: GymVec, policy: Policy, buf: Rollout, rng: np.random.Generator
) -> None:
    """``collect_rollout`` for a Gymnasium env: the same buffer contents and the same draws
    from ``rng`` for actions (Gymnasium draws its own resets). Slower: one Python step per
    env step."""
    n_steps, n = buf.rewards.shape
    discrete = int(policy.head[0]) == CATEGORICAL
    norm = policy.obs_norm[0] != 0.0
    buf.n_ended[0] = 0
    for t in range(n_steps):
        if norm:
            update_obs_stats(policy, vec.obs)
        normalize_obs(policy, vec.obs, vec.x)
        policy_act(
            policy, vec.x, vec.actor_ws, vec.critic_ws, rng, vec.act_buf, vec.logp_buf,
            vec.value_buf,
        )  # fmt: skip
        clip_actions(policy, vec.act_buf, vec.env_actions)
        buf.obs[t] = vec.x
        buf.actions[t] = vec.act_buf
        buf.log_probs[t] = vec.logp_buf
        buf.values[t] = vec.value_buf
        if t > 0:
            cont = ~(buf.terminated[t - 1] | buf.truncated[t - 1])
            buf.next_values[t - 1, cont] = vec.value_buf[cont]
        obs, r, term, trunc, final = vec.step(vec.env_actions, discrete)
        trunc = trunc & ~term
        buf.rewards[t] = r
        buf.terminated[t] = term
        buf.truncated[t] = trunc
        buf.next_values[t] = 0.0
        vec.ep_return += r
        vec.ep_length += 1
        for i in np.flatnonzero(term | trunc):
            k = int(buf.n_ended[0])
            buf.ended_returns[k] = vec.ep_return[i]
            buf.ended_lengths[k] = vec.ep_length[i]
            buf.n_ended[0] = k + 1
            vec.ep_return[i] = 0.0
            vec.ep_length[i] = 0
        if trunc.any():
            normalize_obs(policy, final, vec.x)
            policy_value(policy, vec.x, vec.critic_ws, vec.value_buf)
            buf.next_values[t, trunc] = vec.value_buf[trunc]
        vec.obs = obs
    normalize_obs(policy, vec.obs, vec.x)
    policy_value(policy, vec.x, vec.critic_ws, vec.value_buf)
    cont = ~(buf.terminated[-1] | buf.truncated[-1])
    buf.next_values[-1, cont] = vec.value_buf[cont]


def evaluate_gym(policy: Policy, env: Any, episodes: int, seed: int) -> np.ndarray:
    """Greedy undiscounted returns float64[episodes] on a single Gymnasium env; episode k is
    reset with seed ``seed + k``."""
    import gymnasium

    if isinstance(env, gymnasium.vector.VectorEnv):
        raise ValueError("evaluate_gym needs a single Gymnasium env, not a vector env")
    info = env_info(env)
    discrete = int(policy.head[0]) == CATEGORICAL
    ws = mlp_workspace(policy.actor_layout, 1)
    x = np.zeros((1, info.obs_dim))
    act = np.zeros((1, int(policy.head[2])))
    out = np.zeros(episodes)
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            normalize_obs(policy, np.asarray(obs, dtype=np.float64).reshape(1, -1), x)
            policy_greedy(policy, x, ws, act)
            a = int(act[0, 0]) if discrete else act[0].copy()
            obs, r, term, trunc, _ = env.step(a)
            out[k] += float(r)
            done = bool(term or trunc)
    return out


def evaluation_env(env: Any, info: EnvInfo) -> tuple[Any, bool]:
    """(env to evaluate greedily on, whether it is the training env itself).

    A ControlEnv is its own evaluation env (compiled evaluation keeps no state in it). A
    Gymnasium env is recreated by ``gymnasium.make(env.spec)`` (a vector env's single-env spec
    id) when it can be, so the training env's episodes are left alone; otherwise ``env`` itself
    is returned (training then has to restart its episodes after each evaluation)."""
    if info.is_control:
        return env, False
    import gymnasium

    spec = getattr(env, "spec", None)
    if spec is not None:
        try:
            return gymnasium.make(spec if info.n_envs == 1 else spec.id), False
        except Exception:  # wrappers that cannot be recreated from the spec
            pass
    return env, True


def evaluate_policy(
    policy: Policy, env: Any, info: EnvInfo, episodes: int, rng: np.random.Generator
) -> np.ndarray:
    """Greedy returns float64[episodes] on ``env`` (``info = env_info(env)``): compiled on a
    ControlEnv (start states from ``rng``), ``evaluate_gym`` on a single Gymnasium env (episode
    seeds from one draw of ``rng``), NaN for a Gymnasium vector env (``evaluation_env`` gives a
    single env for one that has a spec)."""
    if info.is_control:
        return evaluate_greedy(
            env.fns,
            env.params,
            int(env.max_steps),
            int(env.state_dim),
            policy,
            int(episodes),
            rng,
        )
    if info.n_envs > 1:
        return np.full(episodes, math.nan)
    return evaluate_gym(policy, env, episodes, int(rng.integers(2**31)))
