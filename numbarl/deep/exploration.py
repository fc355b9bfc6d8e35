"""Acting in the env for DDPG, TD3 and SAC: Gaussian or Ornstein-Uhlenbeck exploration noise,
the behaviour action, one env step stored in replay (with the time-limit cut and reset), the
run state's start, and the side-by-side evaluation of the deterministic actor on a numbarl env.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from numbarl.deep.actor_critic import (
    N_METRICS,
    ACFns,
    ActorCritic,
    RunState,
    actor_actions,
    scale_obs,
)
from numbarl.deep.replay import (
    ReplayBuffer,
    replay_add,
)
from numbarl.nn import (
    mlp_workspace,
)
from numbarl.nn.kernel import python_kernel
from numbarl.nn.pointers import StepFns

GAUSSIAN_NOISE = 0

OU_NOISE = 1

NOISES = {"gaussian": GAUSSIAN_NOISE, "ou": OU_NOISE}


def make_run_state(
    fns: StepFns,
    env_params: np.ndarray,
    state_dim: int,
    nets: ActorCritic,
    rng: np.random.Generator,
    n_metrics: int = N_METRICS,
) -> RunState:
    """A fresh run on the control env ``fns`` with constants ``env_params`` and a
    float64[state_dim] state (``ControlEnv.fns``/``.params``/``.state_dim``): the env reset with
    draws from ``rng``, counters at zero, ``n_metrics`` metric slots (DDPG/TD3's ``N_METRICS``;
    SAC keeps more).

    Plain Python (NumPy arrays; the env's reset and observe called through the pointers'
    dispatchers): nothing is compiled for it."""
    run = _blank_run_state(nets, state_dim, n_metrics)
    fns.reset.dispatcher(env_params, run.state, rng)
    fns.observe.dispatcher(env_params, run.state, run.obs)
    scale_obs.py_func(nets, run.obs)  # its Python source: a few elements, nothing compiled
    return run


def _blank_run_state(nets: ActorCritic, state_dim: int, n_metrics: int = N_METRICS) -> RunState:
    d = int(nets.actor_layout[0, 0])
    n_act = nets.action_low.shape[0]
    real = nets.actor.dtype
    return RunState(
        np.zeros(state_dim),
        np.zeros(d),
        np.zeros(d),
        np.zeros(n_act),
        np.zeros(n_act),
        np.zeros(1, dtype=np.int64),
        np.zeros(1),
        np.zeros(4, dtype=np.int64),
        np.zeros(n_metrics),
        mlp_workspace(nets.actor_layout, 1, real),
        np.zeros((1, n_act)),
        np.zeros((1, n_act)),
        np.zeros((1, d), real),
    )


@njit(cache=True, inline="always")
def ou_noise_step(
    x: np.ndarray, theta: float, sigma: float, dt: float, rng: np.random.Generator
) -> None:
    """One Ornstein-Uhlenbeck step in place, x float64[A] (Lillicrap et al. 2016; SB3's form):
    x += theta (0 - x) dt + sigma sqrt(dt) N(0, 1)."""
    for j in range(x.shape[0]):
        x[j] += -theta * x[j] * dt + sigma * math.sqrt(dt) * rng.standard_normal()


@njit(cache=True, inline="always")
def add_exploration_noise(
    action: np.ndarray,
    kind: int,
    sigma: float,
    ou_state: np.ndarray,
    ou_theta: float,
    ou_dt: float,
    low: np.ndarray,
    high: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """action float64[A] += half * noise, then clipped to [low, high].

    ``kind`` GAUSSIAN_NOISE: noise ~ N(0, sigma^2) per step (CleanRL: std = action_scale *
    exploration_noise); OU_NOISE: the OU process ``ou_state`` float64[A] (reset to 0 by the caller
    at each episode start) advanced by one step with that sigma."""
    if kind == OU_NOISE:
        ou_noise_step(ou_state, ou_theta, sigma, ou_dt, rng)
    for j in range(action.shape[0]):
        e = ou_state[j] if kind == OU_NOISE else sigma * rng.standard_normal()
        a = action[j] + 0.5 * (high[j] - low[j]) * e
        action[j] = min(max(a, low[j]), high[j])


@njit(cache=True, inline="always")
def explore_action(
    nets: ActorCritic,
    run: RunState,
    obs: np.ndarray,
    uniform: bool,
    hp: Any,
    rng: np.random.Generator,
    net: ACFns | None = None,
) -> None:
    """Write the behaviour action for obs float64[obs_dim] into ``run.action`` float64[A]:
    U(low, high) while ``uniform`` (before learning starts), else mu(obs) plus exploration
    noise (``add_exploration_noise``), clipped to the bounds. ``hp``: the learner's compiled
    hyperparameters (``DDPGHyper``/``TD3Hyper``); its ``noise`` (a code in ``NOISES``),
    ``exploration_noise`` (sigma), ``ou_theta`` and ``ou_dt`` set the noise. ``net``: the
    actor's forward through this pointer (``actor_critic.ACFns``), or called directly (None)."""
    low, high = nets.action_low, nets.action_high
    if uniform:
        for j in range(low.shape[0]):
            run.action[j] = rng.uniform(low[j], high[j])
        return
    for i in range(obs.shape[0]):  # in the networks' dtype: one compiled forward for all
        run.net_obs[0, i] = obs[i]
    actor_actions(
        nets.actor, nets.actor_layout, nets.activation[0], run.net_obs, run.actor_ws, low, high,
        run.tanh_out, run.actions, net,
    )  # fmt: skip
    for j in range(low.shape[0]):
        run.action[j] = run.actions[0, j]
    add_exploration_noise(
        run.action, hp.noise, hp.exploration_noise, run.ou, hp.ou_theta, hp.ou_dt, low, high, rng
    )


@njit(cache=True, inline="always")
def end_episode(run: RunState) -> None:
    """Book-keeping when an episode ends: count it, log its return, zero the OU noise."""
    run.metrics[5] += run.ep_return[0]
    run.metrics[6] += 1.0
    run.counters[3] += 1
    run.ep_return[0] = 0.0
    run.t[0] = 0
    run.ou[:] = 0.0


@njit(cache=True, inline="always")
def store_step(
    fns: StepFns,
    env_params: np.ndarray,
    max_steps: int,
    nets: ActorCritic,
    run: RunState,
    buf: ReplayBuffer,
    rng: np.random.Generator,
) -> None:
    """One env step on the control env ``fns`` (constants ``env_params``, state ``run.state``)
    with ``run.action`` (the behaviour action, already chosen), stored in ``buf`` (shared by
    DDPG/TD3 and SAC).

    At a time-limit cut the row has truncated True, terminated False and next_obs the real final
    observation (so the critic bootstraps from it); the env is then reset (draws from ``rng``)."""
    r, terminated = fns.step(env_params, run.state, run.action, rng)
    fns.observe(env_params, run.state, run.next_obs)
    scale_obs(nets, run.next_obs)
    run.t[0] += 1
    truncated = max_steps > 0 and run.t[0] >= max_steps
    replay_add(buf, run.obs, run.action, r, run.next_obs, terminated, truncated)
    run.ep_return[0] += r
    run.counters[0] += 1
    if terminated or truncated:
        end_episode(run)
        fns.reset(env_params, run.state, rng)
        fns.observe(env_params, run.state, run.obs)
        scale_obs(nets, run.obs)
    else:  # element copy: a slice assignment compiles Numba's shape-error formatting
        for i in range(run.obs.shape[0]):
            run.obs[i] = run.next_obs[i]


@python_kernel(cache=True)
def evaluate_actor(
    fns: StepFns,
    env_params: np.ndarray,
    state_dim: int,
    max_steps: int,
    nets: ActorCritic,
    episodes: int,
    rng: np.random.Generator,
    net: ACFns | None = None,
) -> np.ndarray:
    """Undiscounted returns float64[episodes] of the deterministic actor mu(s) on the control
    env ``fns`` (constants ``env_params``, float64[state_dim] states): episodes run side by
    side (one batched forward per step), start states drawn from ``rng`` in episode order, each
    until termination or ``max_steps``. ``net``: the actor's forward through this pointer
    (``actor_critic.ac_fns``; compiled on its own), or called directly (None)."""
    n = episodes
    d = nets.actor_layout[0, 0]
    n_act = nets.action_low.shape[0]
    states = np.zeros((n, state_dim))
    obs = np.zeros((n, d))
    net_obs = np.zeros((n, d), nets.actor.dtype)  # obs in the networks' dtype
    tanh_out = np.zeros((n, n_act))
    acts = np.zeros((n, n_act))
    done = np.zeros(n, dtype=np.bool_)
    returns = np.zeros(n)
    ws = mlp_workspace(nets.actor_layout, n, nets.actor.dtype)
    for i in range(n):
        fns.reset(env_params, states[i], rng)
        fns.observe(env_params, states[i], obs[i])
        scale_obs(nets, obs[i])
    t = 0
    remaining = n
    act = nets.activation[0]
    while remaining > 0:
        for i in range(n):
            for j in range(d):
                net_obs[i, j] = obs[i, j]
        actor_actions(
            nets.actor, nets.actor_layout, act, net_obs, ws, nets.action_low, nets.action_high,
            tanh_out, acts, net,
        )  # fmt: skip
        t += 1
        for i in range(n):
            if done[i]:
                continue
            r, term = fns.step(env_params, states[i], acts[i], rng)
            fns.observe(env_params, states[i], obs[i])
            scale_obs(nets, obs[i])
            returns[i] += r
            if term or (max_steps > 0 and t >= max_steps):
                done[i] = True
                remaining -= 1
    return returns
