"""DQN on a Gymnasium env: a Python loop that steps the env and feeds each transition to the
same compiled acting, storing and update code as the compiled loop on numbarl's envs
(``numbarl.deep.dqn``), and the greedy evaluation on such an env. Imported by ``dqn.train`` and
``dqn.evaluate`` only when they are given a Gymnasium env."""

from __future__ import annotations

from typing import Any

import numpy as np

from numbarl.nn.qnet import QNet, q_values, qnet_forward, qnet_work


def separate_env(env: Any) -> Any:
    """A second instance of a Gymnasium env, so evaluation never disturbs a training episode."""
    import copy

    import gymnasium

    spec = getattr(env, "spec", None)
    return gymnasium.make(spec) if spec is not None else copy.deepcopy(env)


class GymLoop:
    """Steps a Gymnasium env from Python; transitions go through ``dqn_observe``.

    ``kernels`` = (dqn_epsilon, dqn_act, dqn_observe, STEPS, EPISODES) from ``numbarl.deep.dqn``,
    handed in by its shell so that this module, which dqn imports, never imports dqn back."""

    def __init__(self, env: Any, seed: int, kernels: tuple) -> None:
        self.env = env
        self.seed = seed % 2**31
        self.ep_return = 0.0
        self.kernels = kernels

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self.seed)
        return np.asarray(obs, dtype=np.float64)

    def run(self, hp, net, st, buf, tree, rng, n_steps: int, metrics: np.ndarray, update) -> int:
        dqn_epsilon, dqn_act, dqn_observe, STEPS, EPISODES = self.kernels  # noqa: N806
        for _ in range(n_steps):
            epsilon = dqn_epsilon(hp, int(st.counters[STEPS]))
            a = dqn_act(
                net, st.params, hp.noisy, st.noise, st.work_act, st.q, st.obs, st.x_act, epsilon,
                rng, update.net_fns.forward,
            )  # fmt: skip
            st.action[0] = float(a)
            obs, reward, terminated, truncated, _ = self.env.step(a)
            st.next_obs[:] = obs
            self.ep_return += float(reward)
            status = dqn_observe(
                hp, net, st, buf, tree, rng, st.obs, st.action, float(reward), st.next_obs,
                bool(terminated), bool(truncated), metrics, update,
            )  # fmt: skip
            if terminated or truncated:
                metrics[3] += self.ep_return
                metrics[4] += 1.0
                st.counters[EPISODES] += 1
                self.ep_return = 0.0
                obs, _ = self.env.reset()
                st.obs[:] = obs
            else:
                st.obs[:] = st.next_obs
            if status >= 0:
                return status
        return -1


def gym_greedy_returns(
    net: QNet, params: np.ndarray, env: Any, episodes: int, seed: int
) -> np.ndarray:
    work = qnet_work(net, 1, params.dtype)
    noise = np.zeros(net.n_noise, params.dtype)
    q = np.zeros(net.n_actions)
    x = np.zeros((1, net.obs_dim), params.dtype)
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
