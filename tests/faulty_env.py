"""Gymnasium envs that go wrong on purpose, for the learners' divergence tests."""

from __future__ import annotations

import numpy as np


def nan_reward_cartpole(after: int = 300):
    """Gymnasium's CartPole-v1 whose rewards are NaN from its step ``after + 1`` on (counted
    over the env's whole life, across resets)."""
    import gymnasium

    class NanReward(gymnasium.Wrapper):
        steps = 0

        def step(self, action):
            obs, r, term, trunc, info = self.env.step(action)
            self.steps += 1
            return obs, (np.nan if self.steps > after else r), term, trunc, info

    return NanReward(gymnasium.make("CartPole-v1"))
