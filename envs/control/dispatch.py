"""One compiled entry point for every control env, selected by an integer code.

A learner compiled with ``cache=True`` cannot take env functions as arguments without
recompiling in every process, so it receives data instead: the env ``code`` (``CARTPOLE`` ..
``PENDULUM``) and ``params`` float64[P] (the env's option, see ``ControlEnv.params``; every env
has exactly one, ``params[0]``), and calls these functions, which branch on the code to the env
modules' kernels. Inside a loop the branch is always predicted.

Hot path. Every env's state fits in four float64 slots, and every action is one float64, so
``step_values(code, param, s0, s1, s2, s3, action)`` is a value-typed kernel (unused slots pass
through) that keeps the state in registers: loops over it (``random_rollout``, ``vec_step``) run
a CartPole step in about 21-24 ns, where reading and writing a state array through ``step_env``
costs about 40 ns.

Actions: one float64; discrete envs read the index from it (``float(index)``), an index out of
range raises ValueError. Array APIs take ``action`` float64[1] (``actions`` float64[N, 1]).

Vectorised stepping (``vec_step``) uses same-step autoreset (Gymnasium's
``AutoresetMode.SAME_STEP``): a copy that terminates or truncates is reset within the same call,
its final observation is written to ``final_obs`` (bootstrap from it at truncation) and ``obs``
holds the first observation of the next episode. Truncation is Gymnasium's TimeLimit rule:
``truncated = t >= max_steps`` once the step counter ``t`` has been incremented, whether or not
the step also terminated.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import acrobot_env as acrobot
from . import cartpole_env as cartpole
from . import mountain_car_continuous_env as mountain_car_continuous
from . import mountain_car_env as mountain_car
from . import pendulum_env as pendulum

CARTPOLE = 0
MOUNTAIN_CAR = 1
MOUNTAIN_CAR_CONTINUOUS = 2
ACROBOT = 3
PENDULUM = 4
N_ENVS = 5

MAX_STATE_DIM = 4
MAX_OBS_DIM = 6

# Indexed by code.
STATE_DIMS = np.array([4, 2, 2, 4, 2], dtype=np.int64)
OBS_DIMS = np.array([4, 2, 2, 6, 3], dtype=np.int64)
N_ACTIONS = np.array([2, 3, 0, 3, 0], dtype=np.int64)
ACTION_HIGH = np.array([1.0, 2.0, 1.0, 2.0, 2.0])  # random_rollout: U(-high, high) or index < n


@njit(cache=True)
def _index(action, n):
    a = int(action)
    if a < 0 or a >= n:
        raise ValueError("discrete action index out of range")
    return a


@njit(cache=True)
def step_values(code, param, s0, s1, s2, s3, action):
    """One step of env ``code`` on a state held in four float64 values (slots past the env's
    ``state_dim`` pass through unchanged). ``param`` float64 is ``params[0]``; ``action`` float64
    is the force/torque, or the action index of a discrete env.

    Returns ``(s0, s1, s2, s3, reward float64, terminated bool)``.
    """
    if code == CARTPOLE:
        x, x_dot, theta, theta_dot, reward, terminated = cartpole.step_values(
            s0, s1, s2, s3, _index(action, 2)
        )
        if param != 0.0:  # sutton_barto_reward
            reward = -1.0 if terminated else 0.0
        return x, x_dot, theta, theta_dot, reward, terminated
    elif code == MOUNTAIN_CAR:
        p, v, reward, terminated = mountain_car.step_values(s0, s1, _index(action, 3), param)
        return p, v, s2, s3, reward, terminated
    elif code == MOUNTAIN_CAR_CONTINUOUS:
        p, v, reward, terminated = mountain_car_continuous.step_values(s0, s1, action, param)
        return p, v, s2, s3, reward, terminated
    elif code == ACROBOT:
        return acrobot.step_values(s0, s1, s2, s3, _index(action, 3), param != 0.0)
    elif code == PENDULUM:
        th, thdot, reward, terminated = pendulum.step_values(s0, s1, action, param)
        return th, thdot, s2, s3, reward, terminated
    raise ValueError("unknown control env code")


@njit(cache=True)
def reset_values(code, rng):
    """A start state of env ``code`` drawn from ``rng`` as four float64 values (unused slots
    0.0), with the draws of the env module's ``reset``."""
    if code == CARTPOLE:
        s0 = rng.uniform(cartpole.RESET_LOW, cartpole.RESET_HIGH)
        s1 = rng.uniform(cartpole.RESET_LOW, cartpole.RESET_HIGH)
        s2 = rng.uniform(cartpole.RESET_LOW, cartpole.RESET_HIGH)
        s3 = rng.uniform(cartpole.RESET_LOW, cartpole.RESET_HIGH)
        return s0, s1, s2, s3
    elif code == MOUNTAIN_CAR:
        return rng.uniform(mountain_car.RESET_LOW, mountain_car.RESET_HIGH), 0.0, 0.0, 0.0
    elif code == MOUNTAIN_CAR_CONTINUOUS:
        low = mountain_car_continuous.RESET_LOW
        return rng.uniform(low, mountain_car_continuous.RESET_HIGH), 0.0, 0.0, 0.0
    elif code == ACROBOT:
        s0 = float(np.float32(rng.uniform(acrobot.RESET_LOW, acrobot.RESET_HIGH)))
        s1 = float(np.float32(rng.uniform(acrobot.RESET_LOW, acrobot.RESET_HIGH)))
        s2 = float(np.float32(rng.uniform(acrobot.RESET_LOW, acrobot.RESET_HIGH)))
        s3 = float(np.float32(rng.uniform(acrobot.RESET_LOW, acrobot.RESET_HIGH)))
        return s0, s1, s2, s3
    elif code == PENDULUM:
        s0 = rng.uniform(-pendulum.RESET_HIGH_THETA, pendulum.RESET_HIGH_THETA)
        s1 = rng.uniform(-pendulum.RESET_HIGH_THDOT, pendulum.RESET_HIGH_THDOT)
        return s0, s1, 0.0, 0.0
    raise ValueError("unknown control env code")


@njit(cache=True)
def observe_values(code, s0, s1, s2, s3, obs):
    """Write the observation float64[obs_dim] of the state ``(s0, s1, s2, s3)`` into ``obs``."""
    if code == ACROBOT:
        obs[0] = np.cos(s0)
        obs[1] = np.sin(s0)
        obs[2] = np.cos(s1)
        obs[3] = np.sin(s1)
        obs[4] = s2
        obs[5] = s3
    elif code == PENDULUM:
        obs[0] = np.cos(s0)
        obs[1] = np.sin(s0)
        obs[2] = s1
    elif code == CARTPOLE:
        obs[0] = s0
        obs[1] = s1
        obs[2] = s2
        obs[3] = s3
    elif code == MOUNTAIN_CAR or code == MOUNTAIN_CAR_CONTINUOUS:
        obs[0] = s0
        obs[1] = s1
    else:
        raise ValueError("unknown control env code")


@njit(cache=True)
def load_state(code, state):
    """The float64[state_dim] ``state`` as four values (missing slots 0.0)."""
    if code == CARTPOLE or code == ACROBOT:
        return state[0], state[1], state[2], state[3]
    return state[0], state[1], 0.0, 0.0


@njit(cache=True)
def store_state(code, state, s0, s1, s2, s3):
    """Write four values back into the float64[state_dim] ``state``."""
    state[0] = s0
    state[1] = s1
    if code == CARTPOLE or code == ACROBOT:
        state[2] = s2
        state[3] = s3


@njit(cache=True)
def reset_env(code, state, rng):
    """Reset ``state`` float64[state_dim] in place for env ``code`` with draws from ``rng``."""
    s0, s1, s2, s3 = reset_values(code, rng)
    store_state(code, state, s0, s1, s2, s3)


@njit(cache=True)
def step_env(code, params, state, action):
    """Advance ``state`` float64[state_dim] in place by ``action`` float64[1] (an index as a
    float for discrete envs); ``params`` float64[1]. Returns ``(reward float64, terminated)``."""
    s0, s1, s2, s3 = load_state(code, state)
    s0, s1, s2, s3, reward, terminated = step_values(code, params[0], s0, s1, s2, s3, action[0])
    store_state(code, state, s0, s1, s2, s3)
    return reward, terminated


@njit(cache=True)
def observe_env(code, state, obs):
    """Write the observation float64[obs_dim] of ``state`` float64[state_dim] into ``obs``."""
    s0, s1, s2, s3 = load_state(code, state)
    observe_values(code, s0, s1, s2, s3, obs)


@njit(cache=True)
def _check_shapes(code, states, obs):
    """Guard the unchecked indexing below: wrong shapes raise instead of reading past rows."""
    if code < 0 or code >= N_ENVS:
        raise ValueError("unknown control env code")
    if states.shape[1] != STATE_DIMS[code]:
        raise ValueError("states must be float64[N, state_dim] for this env code")
    if obs.shape[0] != states.shape[0] or obs.shape[1] != OBS_DIMS[code]:
        raise ValueError("obs must be float64[N, obs_dim] with the rows of states")


@njit(cache=True)
def vec_reset(code, states, t, rng, obs):
    """Reset all N copies: ``states`` float64[N, state_dim] drawn from ``rng`` in copy order,
    ``t`` int64[N] set to 0, ``obs`` float64[N, obs_dim] written."""
    _check_shapes(code, states, obs)
    if t.shape[0] != states.shape[0]:
        raise ValueError("t must be int64[N] with the rows of states")
    for i in range(states.shape[0]):
        s0, s1, s2, s3 = reset_values(code, rng)
        store_state(code, states[i], s0, s1, s2, s3)
        t[i] = 0
        observe_values(code, s0, s1, s2, s3, obs[i])


@njit(cache=True)
def vec_observe(code, states, obs):
    """Write the observations float64[N, obs_dim] of ``states`` float64[N, state_dim]."""
    _check_shapes(code, states, obs)
    for i in range(states.shape[0]):
        observe_env(code, states[i], obs[i])


@njit(cache=True)
def vec_step(
    code,
    params,
    states,
    actions,
    rewards,
    terminated,
    truncated,
    t,
    max_steps,
    rng,
    auto_reset,
    obs,
    final_obs,
):
    """Step N copies of env ``code`` in one call, copy i with ``actions[i, 0]``.

    Arrays: ``params`` float64[1]; ``states`` float64[N, state_dim] (in place); ``actions``
    float64[N, 1]; outputs ``rewards`` float64[N], ``terminated`` bool[N], ``truncated`` bool[N];
    ``t`` int64[N] steps taken in each copy's episode (incremented, 0 after a reset);
    ``max_steps`` int64 time limit (``<= 0``: none); ``obs`` float64[N, obs_dim] receives the
    observation to act on next; ``final_obs`` float64[N, obs_dim] receives, for copies that
    terminated or truncated, the observation reached by this step; other rows are untouched.

    With ``auto_reset`` (bool) a finished copy is reset in this call (same-step autoreset; resets
    draw from ``rng`` in copy order), so ``obs`` is the new episode's first observation and its
    ``t`` is 0. Without it, ``obs`` is the observation reached and the caller resets finished
    copies (``reset_env`` and ``t[i] = 0``).
    """
    _check_shapes(code, states, obs)
    n = states.shape[0]
    if (
        actions.shape[0] != n
        or actions.shape[1] < 1
        or final_obs.shape[0] != n
        or final_obs.shape[1] != obs.shape[1]
        or rewards.shape[0] != n
        or terminated.shape[0] != n
        or truncated.shape[0] != n
        or t.shape[0] != n
        or params.shape[0] < 1
    ):
        raise ValueError("vec_step: actions[N, 1], outputs[N] and final_obs[N, obs_dim] needed")
    # CartPole gets its own copy of the loop with the code a constant (24 ns instead of 33 ns
    # per step); the other envs share one loop.
    if code == CARTPOLE:
        _vec_loop(
            CARTPOLE,
            params[0],
            states,
            actions,
            rewards,
            terminated,
            truncated,
            t,
            max_steps,
            rng,
            auto_reset,
            obs,
            final_obs,
        )
    else:
        _vec_loop(
            code,
            params[0],
            states,
            actions,
            rewards,
            terminated,
            truncated,
            t,
            max_steps,
            rng,
            auto_reset,
            obs,
            final_obs,
        )


@njit(cache=True, inline="always")
def _vec_loop(
    code,
    param,
    states,
    actions,
    rewards,
    terminated,
    truncated,
    t,
    max_steps,
    rng,
    auto_reset,
    obs,
    final_obs,
):
    for i in range(states.shape[0]):
        s0, s1, s2, s3 = load_state(code, states[i])
        s0, s1, s2, s3, r, term = step_values(code, param, s0, s1, s2, s3, actions[i, 0])
        ti = t[i] + 1
        trunc = max_steps > 0 and ti >= max_steps
        rewards[i] = r
        terminated[i] = term
        truncated[i] = trunc
        if term or trunc:
            observe_values(code, s0, s1, s2, s3, final_obs[i])
            if auto_reset:
                s0, s1, s2, s3 = reset_values(code, rng)
                ti = 0
        t[i] = ti
        store_state(code, states[i], s0, s1, s2, s3)
        observe_values(code, s0, s1, s2, s3, obs[i])


@njit(cache=True)
def random_rollout(code, params, state, n_steps, max_steps, rng):
    """Run ``n_steps`` steps of env ``code`` from ``state`` float64[state_dim] (updated in place)
    with uniformly random actions, resetting after termination or after ``max_steps`` steps.

    Actions: index ``int(rng.random() * n_actions)`` for discrete envs, ``U(-high, high)`` for
    continuous ones (MountainCarContinuous 1, Pendulum 2); one ``rng.random()`` per step.
    Returns ``(episodes_finished int64, truncations int64, total_reward float64)``.
    """
    if code < 0 or code >= N_ENVS or state.shape[0] != STATE_DIMS[code]:
        raise ValueError("state must be float64[state_dim] of a known env code")
    if code == CARTPOLE:  # a copy of the loop with the code a constant, as in vec_step
        return _rollout_loop(CARTPOLE, params[0], state, n_steps, max_steps, rng)
    return _rollout_loop(code, params[0], state, n_steps, max_steps, rng)


@njit(cache=True, inline="always")
def _rollout_loop(code, param, state, n_steps, max_steps, rng):
    n_act = N_ACTIONS[code]
    high = ACTION_HIGH[code]
    episodes = 0
    truncations = 0
    total = 0.0
    t = 0
    s0, s1, s2, s3 = load_state(code, state)
    for _ in range(n_steps):
        u = rng.random()
        if n_act > 0:
            action = float(int(u * n_act))
        else:
            action = high * (2.0 * u - 1.0)
        s0, s1, s2, s3, r, term = step_values(code, param, s0, s1, s2, s3, action)
        total += r
        t += 1
        if term or (max_steps > 0 and t >= max_steps):
            episodes += 1
            if not term:
                truncations += 1
            s0, s1, s2, s3 = reset_values(code, rng)
            t = 0
    store_state(code, state, s0, s1, s2, s3)
    return episodes, truncations, total
