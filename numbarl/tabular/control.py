"""Tabular control: Monte Carlo (Chapter 5) and temporal-difference control (Chapters 6 and 7).

This module is the Python-facing door (`control`, `ALGOS`, `greedy_actions`, `episodes_by_step`)
and states the conventions; the compiled drivers live in `numbarl.tabular.td_control` (TD
control, with the TD-error kernels) and `numbarl.tabular.mc_control` (Monte Carlo control), and
are importable from here too. Pieces every driver shares live in `numbarl.tabular.episodes`.

Every driver ``run_<algo>(mdp, cfg, rng)`` takes a `TabularMDP`, one `ControlConfig` and an
``np.random.Generator`` (advanced in place; the same generator state gives the same bytes) and
returns plain arrays::

    q              float64[S, A]  action values (Double Q-learning returns q1 and q2 instead)
    returns        float64[E]     sum of rewards of each episode (undiscounted)
    lengths        int64[E]       steps of each episode
    first_actions  int64[E]       the first action of each episode (-1 if never started)
    n_episodes     int            episodes completed (terminated or cut by the time limit)

Conventions shared by all drivers
- ``Q(s, a) = q0`` initially for non-terminal states and allowed actions, 0 elsewhere; terminal
  states keep value 0. Actions not allowed in a state are never chosen and never maximised over.
- Policies are epsilon-greedy over the state's allowed actions with ties broken uniformly at
  random, from one uniform per decision (`epsilon_greedy_u`); episode ``k`` uses
  ``max(epsilon_min, epsilon * epsilon_decay**k)`` (constant by default). Monte Carlo averages
  returns (1/N) and ignores ``alpha``.
- Without any time limit, an episode reaching `EPISODE_CAP` steps stops the run (``n_episodes
  < episodes``); `control` turns that into a RuntimeError asking for ``max_episode_steps``.
- Time limit: ``min(mdp.max_steps, max_episode_steps)`` over the positive ones (none if both are
  <= 0). A step cut by the limit is a truncation: TD targets still bootstrap from the next state;
  Monte Carlo returns simply end there.
- Budget: with ``max_total_steps > 0`` the run stops after that many environment steps, even in
  mid-episode (Example 6.5 counts episodes completed against time steps). The cut episode keeps
  its partial return and length but is not counted in ``n_episodes``; later entries stay 0 and
  ``first_actions`` -1. `episodes_by_step` turns ``lengths`` into the Example 6.5 curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numbarl.envs.tabular import TabularMDP
from numbarl.tabular.episodes import (
    EPISODE_CAP,
    ControlConfig,
    ControlResult,
    as_mdp,
    check_finished,
    epsilon_greedy_u,
    make_control_config,
)
from numbarl.tabular.mc_control import (
    run_mc_control,
    run_mc_exploring_starts,
    run_off_policy_mc_control,
)
from numbarl.tabular.td_control import (
    double_q_td,
    expectation_row,
    expected_sarsa_td,
    max_allowed_row,
    q_learning_td,
    run_double_q_learning,
    run_expected_sarsa,
    run_n_step_sarsa,
    run_q_learning,
    run_sarsa,
    sample_step,
    sarsa_td,
)
from numbarl.validation import as_generator

__all__ = [
    "ALGOS",
    "EPISODE_CAP",
    "ControlConfig",
    "ControlResult",
    "check_finished",
    "control",
    "double_q_td",
    "episodes_by_step",
    "epsilon_greedy_u",
    "expectation_row",
    "expected_sarsa_td",
    "greedy_actions",
    "make_control_config",
    "max_allowed_row",
    "off_policy_control",
    "q_learning_td",
    "run_double_q_learning",
    "run_expected_sarsa",
    "run_mc_control",
    "run_mc_exploring_starts",
    "run_n_step_sarsa",
    "run_off_policy_mc_control",
    "run_q_learning",
    "run_sarsa",
    "sample_step",
    "sarsa_td",
]

# ---------------------------------------------------------------------------------------------
# Python-facing API


def _drivers() -> dict[str, Any]:
    return {
        "q_learning": run_q_learning,
        "sarsa": run_sarsa,
        "expected_sarsa": run_expected_sarsa,
        "n_step_sarsa": run_n_step_sarsa,
        "double_q_learning": run_double_q_learning,
        "mc_exploring_starts": run_mc_exploring_starts,
        "mc_control": run_mc_control,
        "off_policy_mc_control": run_off_policy_mc_control,
    }


ALGOS: tuple[str, ...] = (
    "q_learning",
    "sarsa",
    "expected_sarsa",
    "n_step_sarsa",
    "double_q_learning",
    "mc_exploring_starts",
    "mc_control",
    "off_policy_mc_control",
)


def greedy_actions(q: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """int64[S]: argmax over allowed actions of ``q`` float64[S, A] (first on ties)."""
    q = np.asarray(q, dtype=np.float64)
    if allowed is not None:
        q = np.where(np.asarray(allowed, dtype=bool), q, -np.inf)
    return np.argmax(q, axis=1).astype(np.int64)


def control(
    algo: str,
    mdp: TabularMDP | str,
    seed_or_rng: int | np.random.Generator = 0,
    **config: Any,
) -> ControlResult:
    """Run one tabular control method: ``algo`` is one of `ALGOS`, ``mdp`` a `TabularMDP` (or a
    tabular env id), ``config`` fields of `ControlConfig`. Validates everything before compiled
    code runs (ValueError/TypeError naming the field and the allowed values)."""
    if not isinstance(algo, str) or algo not in ALGOS:
        raise ValueError(f"algo must be one of {', '.join(ALGOS)}; got {algo!r}")
    mdp = as_mdp(mdp)
    cfg = make_control_config(**config)
    rng = as_generator(seed_or_rng)
    out = _drivers()[algo](mdp, cfg, rng)
    check_finished(algo, cfg, int(out[-1]), int(out[-3].sum()))
    if algo == "double_q_learning":
        q1, q2, returns, lengths, first_actions, n_done = out
        q = 0.5 * (q1 + q2)
        return ControlResult(algo, cfg, q, returns, lengths, first_actions, int(n_done), q1, q2)
    q, returns, lengths, first_actions, n_done = out
    return ControlResult(algo, cfg, q, returns, lengths, first_actions, int(n_done), None, None)


def episodes_by_step(lengths: np.ndarray, n_episodes: int, total_steps: int) -> np.ndarray:
    """int64[total_steps + 1]: episodes completed by each time step 0..total_steps (Example 6.5's
    curve), from a run's ``lengths`` and ``n_episodes``."""
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64)[: int(n_episodes)])
    return np.searchsorted(ends, np.arange(total_steps + 1), side="right").astype(np.int64)


def off_policy_control(
    mdp: TabularMDP | str, seed_or_rng: int | np.random.Generator = 0, **config: Any
) -> ControlResult:
    """Off-policy MC control (weighted IS) with `ControlConfig` fields; same as
    ``control("off_policy_mc_control", ...)``."""
    mdp = as_mdp(mdp)
    cfg = make_control_config(**config)
    rng = as_generator(seed_or_rng)
    q, returns, lengths, first_actions, n_done = run_off_policy_mc_control(mdp, cfg, rng)
    check_finished("off_policy_mc_control", cfg, int(n_done), int(lengths.sum()))
    return ControlResult(
        "off_policy_mc_control", cfg, q, returns, lengths, first_actions, int(n_done)
    )
