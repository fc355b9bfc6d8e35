"""Compiled stepping over any control env's function pointers (``ControlEnv.fns``).

Every function here takes ``fns`` (an ``EnvFns`` of ``numba.types.FunctionType`` pointers) and
``params`` float64[P] as data, so it compiles once per machine and serves every env, built-in
or a user's (see ``core``). From Python pass ``env.fns, env.params``. Single steps call the
env's functions by pointer; the batched loops (``vec_step``, ``random_rollout``) are generated
per env with its functions inlined (``specialize``) and called by pointer once per batch.

Vectorised stepping (``vec_step``) uses same-step autoreset (Gymnasium's
``AutoresetMode.SAME_STEP``): a copy that terminates or truncates is reset within the same call,
its final observation is written to ``final_obs`` (bootstrap from it at truncation) and ``obs``
holds the first observation of the next episode. Truncation is Gymnasium's TimeLimit rule:
``truncated = t >= max_steps`` once the step counter ``t`` has been incremented, whether or not
the step also terminated. Actions are float64[N, action_dim] (an index as a float for discrete
envs). Random draws: resets and stochastic dynamics draw from ``rng`` in copy order.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def reset_env(fns, params, state, rng):
    """Reset ``state`` float64[state_dim] in place with draws from ``rng``."""
    fns.reset(params, state, rng)


@njit(cache=True)
def step_env(fns, params, state, action, rng):
    """Advance ``state`` in place by ``action`` float64[action_dim]; ``(reward, terminated)``."""
    return fns.step(params, state, action, rng)


@njit(cache=True)
def observe_env(fns, params, state, obs):
    """Write the observation float64[obs_dim] of ``state`` into ``obs``."""
    fns.observe(params, state, obs)


@njit(cache=True)
def _check_rows(states, obs):
    if obs.shape[0] != states.shape[0]:
        raise ValueError("obs must be float64[N, obs_dim] with the rows of states")


@njit(cache=True)
def vec_reset(fns, params, states, t, rng, obs):
    """Reset all N copies: ``states`` float64[N, state_dim] drawn from ``rng`` in copy order,
    ``t`` int64[N] set to 0, ``obs`` float64[N, obs_dim] written."""
    _check_rows(states, obs)
    if t.shape[0] != states.shape[0]:
        raise ValueError("t must be int64[N] with the rows of states")
    for i in range(states.shape[0]):
        fns.reset(params, states[i], rng)
        t[i] = 0
        fns.observe(params, states[i], obs[i])


@njit(cache=True)
def vec_observe(fns, params, states, obs):
    """Write the observations float64[N, obs_dim] of ``states`` float64[N, state_dim]."""
    _check_rows(states, obs)
    for i in range(states.shape[0]):
        fns.observe(params, states[i], obs[i])


@njit(cache=True)
def vec_step(
    fns,
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
    """Step N copies in one call, copy i with ``actions[i]``.

    Arrays: ``states`` float64[N, state_dim] (in place); ``actions`` float64[N, action_dim];
    outputs ``rewards`` float64[N], ``terminated`` bool[N], ``truncated`` bool[N]; ``t``
    int64[N] steps taken in each copy's episode (incremented, 0 after a reset); ``max_steps``
    int64 time limit (``<= 0``: none); ``obs`` float64[N, obs_dim] receives the observation to
    act on next; ``final_obs`` float64[N, obs_dim] receives, for copies that terminated or
    truncated, the observation reached by this step; other rows are untouched.

    With ``auto_reset`` a finished copy is reset in this call (same-step autoreset), so ``obs``
    is the new episode's first observation and its ``t`` is 0. Without it, ``obs`` is the
    observation reached and the caller resets finished copies (``reset_env``, ``t[i] = 0``).
    """
    _check_rows(states, obs)
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
    ):
        raise ValueError("vec_step: actions[N, A], outputs[N] and final_obs[N, obs_dim] needed")
    # The loop itself is generated per env with the dynamics inlined (``specialize``); an
    # exception cannot cross a pointer call, so the shapes are checked here.
    fns.vec_step(
        params, states, actions, rewards, terminated, truncated, t, max_steps, rng, auto_reset,
        obs, final_obs,
    )  # fmt: skip


@njit(cache=True)
def random_rollout(fns, params, state, n_steps, max_steps, n_actions, action_low, action_high, rng):
    """Run ``n_steps`` steps from ``state`` (updated in place) with uniformly random actions,
    resetting after termination or after ``max_steps`` steps.

    Actions: index ``int(rng.random() * n_actions)`` for a discrete env (``n_actions > 0``),
    ``low + (high - low) * rng.random()`` per dimension for a continuous one; the action is
    drawn before the step. Returns ``(episodes_finished, truncations, total_reward)``."""
    if action_low.shape[0] != action_high.shape[0] or action_low.shape[0] < 1:
        raise ValueError("action_low and action_high must be float64[action_dim]")
    return fns.rollout(params, state, n_steps, max_steps, n_actions, action_low, action_high, rng)
