"""The Python path for Gymnasium envs (a 1-D ``Box`` observation space, a ``Discrete`` or
``Box`` action space): ``GymVec(env, seed)`` wraps a single env or a ``gymnasium.vector`` env
(``AutoresetMode.SAME_STEP``); ``collect_rollout_gym(vec, policy, buf, rng)`` fills the same
``Rollout`` with the same draws from ``rng`` as the compiled path (except resets, which the
Gymnasium env draws itself), so one compiled update serves both; ``evaluate_gym(policy, env,
episodes, seed)`` is the greedy evaluation; ``evaluate_policy(policy, env, info, episodes, rng)``
picks the compiled or the Python one; ``evaluation_env(env, info)`` the env to evaluate on (a
fresh ``gymnasium.make(env.spec)``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from numbarl.deep.env_info import EnvInfo, env_info
from numbarl.deep.policy import (
    CATEGORICAL,
    Policy,
    normalize_obs,
    policy_act,
    policy_greedy,
)
from numbarl.deep.rollout import (
    Rollout,
    evaluate_greedy,
    store_action,
    store_next_values,
    store_outcome,
)
from numbarl.nn import mlp_workspace


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
        self.x = np.zeros_like(self.obs, dtype=policy.params.dtype)
        self.ep_return = np.zeros(n)
        self.ep_length = np.zeros(n, dtype=np.int64)
        self.actor_ws = mlp_workspace(policy.actor_layout, n, policy.params.dtype)
        self.critic_ws = mlp_workspace(policy.critic_layout, n, policy.params.dtype)
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
    buf.n_ended[0] = 0
    for t in range(n_steps):
        policy_act(
            policy, vec.obs, vec.x, vec.actor_ws, vec.critic_ws, rng, vec.act_buf, vec.logp_buf,
            vec.value_buf, vec.env_actions,
        )  # fmt: skip
        store_action(buf, t, vec.x, vec.act_buf, vec.logp_buf, vec.value_buf)
        obs, r, term, trunc, final = vec.step(vec.env_actions, discrete)
        if store_outcome(buf, t, r, term, trunc, vec.ep_return, vec.ep_length):
            store_next_values(policy, buf, t, final, vec.x, vec.critic_ws, vec.value_buf, True)
        vec.obs = obs
    store_next_values(policy, buf, n_steps - 1, vec.obs, vec.x, vec.critic_ws, vec.value_buf, False)


def evaluate_gym(policy: Policy, env: Any, episodes: int, seed: int) -> np.ndarray:
    """Greedy undiscounted returns float64[episodes] on a single Gymnasium env; episode k is
    reset with seed ``seed + k``."""
    import gymnasium

    if isinstance(env, gymnasium.vector.VectorEnv):
        raise ValueError("evaluate_gym needs a single Gymnasium env, not a vector env")
    info = env_info(env)
    discrete = int(policy.head[0]) == CATEGORICAL
    ws = mlp_workspace(policy.actor_layout, 1, policy.params.dtype)
    x = np.zeros((1, info.obs_dim), policy.params.dtype)
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
