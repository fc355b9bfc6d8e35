"""Twin Delayed DDPG (Fujimoto et al. 2018, "Addressing Function Approximation Error in
Actor-Critic Methods").

Reads top to bottom like CleanRL's ``td3_continuous_action.py``: config, one gradient step, the
compiled training loop, then ``train``, which hands them to the Python shell shared with DDPG
(``ac_train.train_loop``: validate, run the compiled loop in chunks, evaluate the
deterministic actor, record). Kernels: ``numbarl.deep.actor_critic``; replay:
``numbarl.deep.replay``.

DDPG plus three changes (Algorithm 1 of the paper). Per env step: act with mu(s) plus Gaussian
noise (uniform random actions for the first ``learning_starts`` steps), store the transition,
then ``gradient_steps`` times:

1. sample a batch (s, a, r, s', discount = gamma (1 - terminated)) uniformly from the buffer;
2. target policy smoothing (eq. 14): a' = clip(mu'(s') + clip(eps, -c, c), low, high),
   eps ~ N(0, sigma^2) in units of the action half-range;
3. clipped double-Q learning (eq. 10): y = r + discount min(Q'_1(s', a'), Q'_2(s', a')), and
   one Adam step on both critics' losses mean_b (Q_i(s, a) - y)^2;
4. delayed policy updates (section 5.1): every ``policy_delay``-th critic update, one Adam step
   on the actor along grad_theta mean_b Q_1(s, mu_theta(s)), then Polyak-average all targets.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

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
    smooth_target_actions,
    target_actor_actions,
    update_targets,
)
from numbarl.deep.exploration import explore_action, store_step
from numbarl.deep.train import Progress, TrainOutput
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.kernel import pointer_kernel, python_kernel
from numbarl.nn.pointers import StepFns
from numbarl.validation import AT_LEAST_ONE, NON_NEGATIVE

# Tuned configs per env id (as rl-zoo keeps them), used when the user sets nothing. Both rows:
# 64-wide networks, batch 64, Adam 1e-3, 1,000 uniform-random steps before learning.
_SMALL = dict(learning_starts=1_000, batch_size=64, hidden=64, actor_lr=1e-3, critic_lr=1e-3)
TUNED: dict[str, dict[str, Any]] = {
    "Pendulum-v1": dict(total_steps=20_000, **_SMALL, eval_every=1_000),
    # The continuous example env written through the public door (examples/point_mass.py).
    "PointMass-v0": dict(
        total_steps=20_000, **_SMALL, gamma=0.98, eval_every=2_000, stop_at_return=-6.0
    ),
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


class TD3Config(NamedTuple):
    """TD3 hyperparameters (CleanRL's / the paper's defaults unless noted); fields are CSV
    columns.

    ``policy_delay``: critic updates per actor (and target) update, d in the paper.
    ``target_noise``/``noise_clip``: sigma and c of target policy smoothing, as fractions of the
    action half-range. ``hidden``/``n_layers``: width and number of hidden layers of actor and
    critics; ``hidden2`` > 0 gives the second and later hidden layers that width (SB3's
    ``net_arch=[400, 300]`` is ``hidden=400, hidden2=300``). ``dtype``: the networks' (and
    replay's) float type, "float32" or "float64". ``exploration_noise``: std of the Gaussian
    exploration noise (or the OU process's sigma) as a fraction of the action half-range;
    ``ou_theta``/``ou_dt``: the OU process's mean reversion and time step (SB3's form).
    ``gradient_steps``: updates per env step once learning has started. ``eval_every``: env
    steps between deterministic evaluations (history rows). ``stop_at_return``: stop once an
    evaluation's mean return reaches it. ``obs_scaling``: map the (bounded) observation space
    onto [-1, 1] before the networks see it."""

    total_steps: int = 1_000_000
    learning_starts: int = 25_000
    buffer_size: int = 1_000_000
    batch_size: int = 256
    gamma: float = 0.99
    tau: float = 0.005
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    policy_delay: int = 2
    target_noise: float = 0.2
    noise_clip: float = 0.5
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
    _ranges = CONFIG_RANGES | {
        "policy_delay": AT_LEAST_ONE,
        "target_noise": NON_NEGATIVE,
        "noise_clip": NON_NEGATIVE,
    }


class TD3Hyper(NamedTuple):
    """The numeric hyperparameters compiled code reads (strings mapped to integer codes)."""

    learning_starts: int
    batch_size: int
    gamma: float
    tau: float
    actor_lr: float
    critic_lr: float
    policy_delay: int
    target_noise: float
    noise_clip: float
    noise: int
    exploration_noise: float
    ou_theta: float
    ou_dt: float
    gradient_steps: int


# ---------------------------------------------------------------------------------------------
# One gradient step and the compiled loop
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def is_policy_update(critic_updates: int, policy_delay: int) -> bool:
    """Whether the critic update numbered ``critic_updates`` (1, 2, ...) is followed by an actor
    and target update: every ``policy_delay``-th one ("if t mod d then", Algorithm 1)."""
    return critic_updates % policy_delay == 0


@pointer_kernel(cache=True, error_model="numpy")
def td3_update(ts: TrainState, hp: TD3Hyper, rng: np.random.Generator) -> int:
    """One TD3 gradient step on a batch sampled uniformly from ``ts.buf`` (both critics; the
    actor and the targets on every ``policy_delay``-th call). Returns OK, or CRITIC_DIVERGED /
    ACTOR_DIVERGED when that update left non-finite parameters (nothing after it is done). Adds
    to ``ts.run.metrics`` and counts updates in ``ts.run.counters``."""
    nets, ws, run = ts.nets, ts.ws, ts.run
    low, high = nets.action_low, nets.action_high
    # The kernels get ``ts.net`` at each call: passing a local ``net = ts.net`` to the inlined
    # kernels instead gave other numbers (every golden run changed; Numba's IR inlining).
    sample_batch(ts.buf, ws, hp.gamma, rng)

    # Target policy smoothing, eq. 14: a' = clip(mu'(s') + clip(eps, -c, c), low, high).
    target_actor_actions(nets, ws, ts.net)
    for b in range(hp.batch_size):
        for j in range(low.shape[0]):
            ws.noise[b, j] = hp.target_noise * rng.standard_normal()
    smooth_target_actions(ws.actions, ws.noise, hp.noise_clip, low, high, ws.actions)

    # Clipped double-Q target, eq. 10: y = r + gamma (1 - terminated) min_i Q'_i(s', a').
    critic_targets(nets, ws, ts.net)

    # Both critics: minimise sum_i mean_b (Q_i(s, a) - y)^2.
    if not critic_step(nets, ts.critic_adam, ws, hp.critic_lr, run, ts.net):
        return CRITIC_DIVERGED

    # Delayed policy updates (section 5.1): the actor and all targets every d-th step.
    if is_policy_update(run.counters[1], hp.policy_delay):
        if not actor_step(nets, ts.actor_adam, ws, hp.actor_lr, run, ts.net):
            return ACTOR_DIVERGED
        update_targets(nets, hp.tau)
    return OK


@python_kernel(cache=True)
def run_td3(
    fns: StepFns,
    env_params: np.ndarray,
    max_steps: int,
    ts: TrainState,
    hp: TD3Hyper,
    n_steps: int,
    rng: np.random.Generator,
    update: FunctionPointer,
) -> tuple[int, int]:
    """``n_steps`` env steps of TD3 on the control env ``fns`` (constants ``env_params``;
    ``ControlEnv.fns``/``.params``), each followed (once ``learning_starts`` steps have been
    taken) by ``hp.gradient_steps`` updates.

    Returns ``(status, step)``: ``(OK, -1)``, or the divergence code and the env step (0-based)
    whose update produced non-finite parameters (the loop stops there).

    ``update`` is ``td3_update`` as a first-class function pointer (``ac_train.update_pointer``):
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
# Python API (the shell is ``numbarl.deep.ac_train``'s, shared with DDPG and SAC)
# ---------------------------------------------------------------------------------------------


def make_td3_config(env: Any = None, cfg: TD3Config | dict | None = None, **overrides: Any):
    """A checked ``TD3Config``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a dict
    (dict values and ``overrides`` win). A ``TD3Config`` given is re-checked as is."""
    return merge_config(TD3Config, TUNED, env, cfg, overrides)


def _hyper(cfg: TD3Config) -> TD3Hyper:
    return make_hyper(TD3Hyper, cfg)


def train(
    env: Any, cfg: TD3Config | dict | None = None, seed: int = 0, progress: Progress = None
) -> TrainOutput:
    """Train TD3 on ``env``: a numbarl ``ControlEnv`` with continuous actions (compiled loop
    ``run_td3``) or a Gymnasium env with Box observations and Box actions (Python env loop,
    compiled ``td3_update``). Discrete-action envs raise ValueError.

    Returns ``(arrays, history)`` as ``ac_train.train_loop`` describes them (twin critics:
    ``critics`` real[2, Pc]; ``critic_loss`` is the sum of both critics' losses, ``q_mean``
    that of Q_1, ``actor_updates`` one per ``policy_delay`` critic updates). Raises
    TrainingDiverged (naming the update and step, with the arrays and history so far) if an
    update leaves non-finite parameters."""
    cfg = make_td3_config(env, cfg)
    return train_loop("TD3", env, cfg, _hyper(cfg), 2, seed, run_td3, td3_update, progress)


__all__ = [
    "TUNED",
    "TD3Config",
    "TD3Hyper",
    "evaluate",
    "is_policy_update",
    "make_td3_config",
    "run_td3",
    "td3_update",
    "train",
]
