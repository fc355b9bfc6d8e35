"""Deep Deterministic Policy Gradient (Lillicrap et al. 2016, "Continuous control with deep
reinforcement learning").

Reads top to bottom like CleanRL's ``ddpg_continuous_action.py``: config, one gradient step, the
compiled training loop, then ``train``, which hands them to the Python shell shared with TD3
(``ac_train.train_loop``: validate, run the compiled loop in chunks, evaluate the
deterministic actor, record). The kernels it calls live in ``numbarl.deep.actor_critic`` (each
with a test); the replay buffer in ``numbarl.deep.replay``.

Per env step: act with mu(s) plus exploration noise (uniform random actions for the first
``learning_starts`` steps), store the transition, then ``gradient_steps`` times:

1. sample a batch (s, a, r, s', discount = gamma (1 - terminated)) uniformly from the buffer;
2. critic: y = r + discount Q'(s', mu'(s'))  (eq. 5), one Adam step on mean_b (Q(s, a) - y)^2;
3. actor: one Adam step along grad_theta mean_b Q(s, mu_theta(s))  (eq. 6);
4. targets: theta' <- tau theta + (1 - tau) theta', phi' <- tau phi + (1 - tau) phi'.

Defaults are CleanRL's (Fujimoto et al.'s "OurDDPG" architecture: 256-256 ReLU, Adam 3e-4,
batch 256, tau 0.005, Gaussian exploration 0.1) except that the actor is updated every step, as
in the paper; ``noise="ou"`` selects the paper's Ornstein-Uhlenbeck exploration.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from numbarl.config import merge_config
from numbarl.deep.ac_train import (
    CONFIG_CHOICES,
    CONFIG_RANGES,
    make_hyper,
    train_loop,
)
from numbarl.deep.ac_train import evaluate as evaluate
from numbarl.deep.actor_critic import (
    ACTOR_DIVERGED,
    CRITIC_DIVERGED,
    OK,
    TrainState,
    actor_step,
    critic_step,
    critic_targets,
    sample_batch,
    target_actor_actions,
    update_targets,
)
from numbarl.deep.exploration import explore_action, store_step
from numbarl.deep.train import Progress, TrainOutput
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.kernel import pointer_kernel, python_kernel
from numbarl.nn.pointers import StepFns

# Tuned configs per env id (as rl-zoo keeps them), used when the user sets nothing. Both rows:
# 64-wide networks, batch 64, Adam 1e-3, 1,000 uniform-random steps before learning.
_SMALL = dict(learning_starts=1_000, batch_size=64, hidden=64, actor_lr=1e-3, critic_lr=1e-3)
TUNED: dict[str, dict[str, Any]] = {
    "Pendulum-v1": dict(total_steps=20_000, **_SMALL, eval_every=1_000),
    # Exploration is the hard part: OU noise with dt 0.1 (persistent pushes reach the flag in
    # most noise-only episodes; Gaussian noise almost never does), velocity scaled to [-1, 1].
    "MountainCarContinuous-v0": dict(
        total_steps=50_000,
        **_SMALL,
        noise="ou",
        exploration_noise=0.5,
        ou_dt=0.1,
        obs_scaling=True,
        eval_every=2_000,
        stop_at_return=90.0,
    ),
}


class DDPGConfig(NamedTuple):
    """DDPG hyperparameters (CleanRL's defaults unless noted); fields are CSV columns.

    ``hidden``/``n_layers``: width and number of hidden layers of actor and critic;
    ``hidden2`` > 0 gives the second and later hidden layers that width (SB3's
    ``net_arch=[400, 300]`` is ``hidden=400, hidden2=300``). ``dtype``: the networks' (and
    replay's) float type, "float32" or "float64".
    ``exploration_noise``: std of the Gaussian noise (or the OU process's sigma) as a fraction of
    the action half-range. ``ou_theta``/``ou_dt``: the OU process's mean reversion and time step
    (SB3's form). ``gradient_steps``: updates per env step once learning has started.
    ``eval_every``: env steps between deterministic evaluations (and history rows).
    ``stop_at_return``: stop once an evaluation's mean return reaches it. ``obs_scaling``: map
    the (bounded) observation space onto [-1, 1] before the networks see it."""

    total_steps: int = 1_000_000
    learning_starts: int = 25_000
    buffer_size: int = 1_000_000
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    hidden: int = 256
    hidden2: int = 0
    n_layers: int = 2
    activation: str = "relu"
    init: str = "uniform"
    obs_scaling: bool = False
    noise: str = "gaussian"
    exploration_noise: float = 0.1
    ou_theta: float = 0.15
    ou_dt: float = 1e-2
    gradient_steps: int = 1
    eval_every: int = 5_000
    eval_episodes: int = 10
    stop_at_return: float = math.inf
    dtype: str = "float32"

    _choices = CONFIG_CHOICES
    _ranges = CONFIG_RANGES


class DDPGHyper(NamedTuple):
    """The numeric hyperparameters compiled code reads (strings mapped to integer codes)."""

    learning_starts: int
    batch_size: int
    gamma: float
    tau: float
    actor_lr: float
    critic_lr: float
    noise: int
    exploration_noise: float
    ou_theta: float
    ou_dt: float
    gradient_steps: int


# ---------------------------------------------------------------------------------------------
# One gradient step and the compiled loop
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True, error_model="numpy")
def ddpg_update(ts: TrainState, hp: DDPGHyper, rng: np.random.Generator) -> int:
    """One DDPG gradient step on a batch sampled uniformly from ``ts.buf``; returns OK, or
    CRITIC_DIVERGED / ACTOR_DIVERGED when that update left non-finite parameters (nothing after
    it is done). Adds to ``ts.run.metrics`` and counts updates in ``ts.run.counters``."""
    nets, ws, run = ts.nets, ts.ws, ts.run
    # The kernels get ``ts.net`` at each call: passing a local ``net = ts.net`` to the inlined
    # kernels instead gave other numbers (every golden run changed; Numba's IR inlining).
    sample_batch(ts.buf, ws, hp.gamma, rng)
    # Critic target, eq. 5: y = r + gamma (1 - terminated) Q'(s', mu'(s')).
    target_actor_actions(nets, ws, ts.net)
    critic_targets(nets, ws, ts.net)
    # Critic: minimise mean_b (Q(s, a) - y)^2.
    if not critic_step(nets, ts.critic_adam, ws, hp.critic_lr, run, ts.net):
        return CRITIC_DIVERGED
    # Actor: ascend mean_b Q(s, mu(s)) along dQ/da dmu/dtheta, eq. 6.
    if not actor_step(nets, ts.actor_adam, ws, hp.actor_lr, run, ts.net):
        return ACTOR_DIVERGED
    # Slowly tracking targets (section 3): theta' <- tau theta + (1 - tau) theta'.
    update_targets(nets, hp.tau)
    return OK


@python_kernel(cache=True)
def run_ddpg(
    fns: StepFns,
    env_params: np.ndarray,
    max_steps: int,
    ts: TrainState,
    hp: DDPGHyper,
    n_steps: int,
    rng: np.random.Generator,
    update: FunctionPointer,
) -> tuple[int, int]:
    """``n_steps`` env steps of DDPG on the control env ``fns`` (constants ``env_params``;
    ``ControlEnv.fns``/``.params``), each followed (once ``learning_starts`` steps have been
    taken) by ``hp.gradient_steps`` updates.

    Returns ``(status, step)``: ``(OK, -1)``, or the divergence code and the env step (0-based)
    whose update produced non-finite parameters (the loop stops there).

    ``update`` is ``ddpg_update`` as a first-class function pointer (``ac_train.update_pointer``):
    compiled on its own, in parallel with this loop on a cold cache (``numbarl.precompile``),
    instead of inside it (the loop with the update inlined was one ~12 s unit). The call costs
    step time: measured on the tuned 64x64 Pendulum row, the pointers (this one and the
    networks') make a step 2-4% slower; at 400x300 no difference measured."""
    nets, run = ts.nets, ts.run
    for _ in range(n_steps):
        step = run.counters[0]
        uniform = step < hp.learning_starts
        explore_action(nets, run, run.obs, uniform, hp, rng, ts.net)
        store_step(fns, env_params, max_steps, nets, run, ts.buf, rng)
        if uniform:
            continue
        for _ in range(hp.gradient_steps):
            status = update(ts, hp, rng)
            if status != OK:
                return status, step
    return OK, -1


# ---------------------------------------------------------------------------------------------
# Python API (the shell is ``numbarl.deep.ac_train``'s, shared with TD3 and SAC)
# ---------------------------------------------------------------------------------------------


def make_ddpg_config(env: Any = None, cfg: DDPGConfig | dict | None = None, **overrides: Any):
    """A checked ``DDPGConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a dict
    (dict values and ``overrides`` win). A ``DDPGConfig`` given is re-checked as is."""
    return merge_config(DDPGConfig, TUNED, env, cfg, overrides)


def _hyper(cfg: DDPGConfig) -> DDPGHyper:
    return make_hyper(DDPGHyper, cfg)


def train(
    env: Any, cfg: DDPGConfig | dict | None = None, seed: int = 0, progress: Progress = None
) -> TrainOutput:
    """Train DDPG on ``env``: a numbarl ``ControlEnv`` with continuous actions (compiled loop
    ``run_ddpg``) or a Gymnasium env with Box observations and Box actions (Python env loop,
    compiled ``ddpg_update``). Discrete-action envs raise ValueError.

    Returns ``(arrays, history)`` as ``ac_train.train_loop`` describes them (one critic:
    ``critics`` real[1, Pc]; ``critic_updates`` equals ``actor_updates``). Raises
    TrainingDiverged (naming the update and step, with the arrays and history so far) if an
    update leaves non-finite parameters."""
    cfg = make_ddpg_config(env, cfg)
    return train_loop("DDPG", env, cfg, _hyper(cfg), 1, seed, run_ddpg, ddpg_update, progress)


__all__ = [
    "TUNED",
    "DDPGConfig",
    "DDPGHyper",
    "ddpg_update",
    "evaluate",
    "make_ddpg_config",
    "run_ddpg",
    "train",
]
