"""The tabular family behind ``numbarl.train``: control, prediction, off-policy MC prediction
and REINFORCE on any `TabularMDP`.

Each algorithm name maps to the family module that runs it; this module turns a checked config
into a call, and the call's arrays into a `Result`'s arrays and tidy history columns:
- control (``q_learning``, ``sarsa``, ...): arrays ``q`` (and ``q1``/``q2`` for Double Q), history
  per episode: ``return``, ``length``;
- prediction (``td0``, ``mc``, ``td_lambda``, ...) of the uniform random policy: arrays ``v``,
  history per episode: ``rms_error`` against the exact values over the non-terminal states (or,
  when the policy has no exact values because it may never terminate, ``start_value``, the
  estimate's value of the start distribution);
- ``off_policy_mc_prediction``: the optimal policy's values estimated from uniform-random
  behaviour by ordinary, weighted and per-decision importance sampling;
- ``tabular_reinforce``: softmax over one-hot state-action features (or action-only features,
  ``features="action"``, as in the short corridor).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from numbarl import dp
from numbarl.envs.tabular import TabularMDP, reset, step
from numbarl.tabular import control as _control
from numbarl.tabular import off_policy as _off_policy
from numbarl.tabular import policy_gradient as _pg
from numbarl.tabular import prediction as _prediction
from numbarl.tabular.policies import sample_action, uniform_policy
from numbarl.validation import POSITIVE

CONTROL = _control.ALGOS
PREDICTION = _prediction.METHODS
OFF_POLICY_PREDICTION = "off_policy_mc_prediction"
REINFORCE = "tabular_reinforce"


def _check_mdp(algo: str, env: Any) -> TabularMDP:
    if not isinstance(env, TabularMDP):
        raise ValueError(
            f"{algo} is a tabular algorithm: env must be a tabular env id or a TabularMDP, "
            f"got {type(env).__name__}"
        )
    return env


# ---------------------------------------------------------------------------------------------
# Config classes: one NamedTuple per prediction method with exactly the fields it reads


_TYPES = {f: t for f, t in _prediction.PredictionConfig.__annotations__.items()}
_PREDICTION_CLASSES: dict[str, type] = {}


def prediction_config_class(method: str) -> type:
    """A NamedTuple of the fields ``method`` reads, with its defaults, plus ``v0`` (the initial
    value of non-terminal states)."""
    if method not in _PREDICTION_CLASSES:
        fields = _prediction.config_fields(method)
        defaults = _prediction.make_config(method)._asdict()
        name = "".join(w.capitalize() for w in method.split("_")) + "Config"

        def body(ns: dict) -> None:
            ns["__annotations__"] = {f: _TYPES[f] for f in fields} | {"v0": float}
            ns.update({f: defaults[f] for f in fields}, v0=0.0)
            ns["__module__"] = __name__

        cls = types.new_class(name, (NamedTuple,), exec_body=body)
        cls._ranges = getattr(_prediction.PredictionConfig, "_ranges", {})
        _PREDICTION_CLASSES[method] = cls
    return _PREDICTION_CLASSES[method]


class ReinforceTrainConfig(NamedTuple):
    """Tabular REINFORCE (``numbarl.tabular.policy_gradient``) through ``numbarl.train``:
    ``features`` is "state_action" (one-hot, a tabular softmax) or "action" (the policy cannot
    tell states apart, as in Example 13.1); ``returns`` "reward_to_go" or "total"."""

    alpha: float = 2.0**-13
    gamma: float = 1.0
    episodes: int = 1000
    baseline: bool = False
    alpha_w: float = 2.0**-6
    returns: str = "reward_to_go"
    max_steps: int = 1000
    min_prob: float = 0.0
    features: str = "state_action"

    _choices = {"returns": ("reward_to_go", "total"), "features": ("state_action", "action")}
    _ranges = {"min_prob": (0.0, 0.5, True, False), "alpha_w": POSITIVE}


# ---------------------------------------------------------------------------------------------
# Running


def _exact_values(mdp: TabularMDP, policy: np.ndarray, gamma: float) -> np.ndarray | None:
    try:
        return dp.state_values(mdp, policy, gamma)
    except ValueError:
        return None  # the policy does not terminate from some state: no exact reference


def features_for(mdp: TabularMDP, kind: str) -> np.ndarray:
    """float64[S, A, d]: one-hot state-action features, or one-hot action features."""
    S, A = mdp.n_states, mdp.n_actions
    if kind == "action":
        x = np.zeros((S, A, A))
        for a in range(A):
            x[:, a, a] = 1.0
        return x
    x = np.zeros((S, A, S * A))
    for s in range(S):
        for a in range(A):
            x[s, a, s * A + a] = 1.0
    return x


def run(algo: str, env: Any, cfg: Any, seed: int, progress: Callable[[float], None] | None):
    """Train ``algo`` on the TabularMDP ``env``; returns (arrays, history columns)."""
    mdp = _check_mdp(algo, env)
    rng = np.random.default_rng(seed)
    if algo in CONTROL:
        res = _control.control(algo, mdp, rng, **cfg._asdict())
        n = res.n_episodes
        arrays = {"q": res.q}
        if res.q1 is not None:
            arrays.update(q1=res.q1, q2=res.q2)
        columns = {
            "episode": np.arange(n),
            "return": res.returns[:n],
            "length": res.lengths[:n],
        }
    elif algo in PREDICTION:
        fields = cfg._asdict()
        v0 = fields.pop("v0")
        pi = uniform_policy(mdp)
        truth = _exact_values(mdp, pi, fields.get("gamma", 1.0))
        if truth is not None:  # RMS error per episode only: no episodes x states history
            res = _prediction.evaluate(
                algo, mdp, pi, v0, rng, true_values=truth, history=False, **fields
            )
            arrays = {"v": res.v}
            columns = {"episode": np.arange(res.rms_error.shape[0]), "rms_error": res.rms_error}
        else:
            res = _prediction.evaluate(algo, mdp, pi, v0, rng, history=True, **fields)
            arrays = {"v": res.v}
            hist = res.history
            columns = {"episode": np.arange(hist.shape[0]), "start_value": hist @ mdp.start}
    elif algo == OFF_POLICY_PREDICTION:
        v_star, _ = dp.value_iteration(mdp, gamma=cfg.gamma)
        target = dp.greedy_policy(mdp, v_star, gamma=cfg.gamma, ties="first")
        behaviour = uniform_policy(mdp)
        res = _off_policy.off_policy_prediction(mdp, target, behaviour, rng, **cfg._asdict())
        n = res.n_episodes
        arrays = {
            "target": target,
            "v_ordinary": res.v_ordinary,
            "v_weighted": res.v_weighted,
            "v_per_decision": res.v_per_decision,
        }
        columns = {
            "episode": np.arange(n),
            "ordinary": res.ordinary[:n],
            "weighted": res.weighted[:n],
            "per_decision": res.per_decision[:n],
        }
    elif algo == REINFORCE:
        fields = cfg._asdict()
        x = features_for(mdp, fields.pop("features"))
        pg_cfg = _pg.reinforce_config(**fields)
        x, theta0, pg_cfg = _pg.prepare(mdp, x, pg_cfg)
        theta, returns, w, lengths, truncated = _pg.run_reinforce(mdp, x, theta0, pg_cfg, rng)
        arrays = {"theta": theta, "features": x, "w": w, "min_prob": np.array([cfg.min_prob])}
        columns = {
            "episode": np.arange(len(returns)),
            "return": returns,
            "length": lengths,
            "truncated": truncated,
        }
    else:  # pragma: no cover - the registry only routes known names here
        raise ValueError(f"unknown tabular algorithm {algo!r}")
    if progress is not None:
        progress(1.0)
    return arrays, columns


# ---------------------------------------------------------------------------------------------
# Evaluation


@njit(cache=True, nogil=True)
def run_policy(mdp: TabularMDP, pi: np.ndarray, episodes: int, max_steps: int, rng):
    """Returns float64[episodes] of the stochastic policy ``pi`` float64[S, A]; an episode stops
    at the MDP's time limit or after ``max_steps`` steps (a guard for MDPs without one)."""
    out = np.zeros(episodes)
    for e in range(episodes):
        s = reset(mdp, rng)
        t = 0
        while True:
            a = sample_action(pi[s], rng)
            s2, r, done = step(mdp, s, a, rng)
            out[e] += r
            t += 1
            if done or t >= max_steps or (mdp.max_steps > 0 and t >= mdp.max_steps):
                break
            s = s2
    return out


def greedy_from_q(mdp: TabularMDP, q: np.ndarray) -> np.ndarray:
    """The greedy policy float64[S, A] of ``q``: uniform over the allowed maximisers."""
    q = np.where(mdp.allowed, q, -np.inf)
    best = q.max(axis=1, keepdims=True)
    pi = (q == best) & mdp.allowed
    pi = pi.astype(np.float64)
    sums = pi.sum(axis=1, keepdims=True)
    sums[sums == 0] = 1.0
    return pi / sums


EVAL_STEP_GUARD = 100_000


def evaluate(algo: str, arrays: dict[str, np.ndarray], env: Any, episodes: int, seed: int):
    """Returns of the learned policy: greedy in Q for control, the learned softmax for
    REINFORCE, the target policy for off-policy prediction."""
    mdp = _check_mdp(algo, env)
    if algo in PREDICTION:
        raise ValueError(
            f"{algo} estimates values of a fixed policy and has no policy of its own to evaluate"
        )
    if algo == OFF_POLICY_PREDICTION:
        pi = arrays["target"]
    elif algo == REINFORCE:
        x = arrays["features"]
        if x.shape[:2] != (mdp.n_states, mdp.n_actions):
            raise ValueError("the saved features do not fit this environment's states/actions")
        theta, min_prob = arrays["theta"], float(arrays["min_prob"][0])
        pi = np.array(
            [
                _pg.floor_probabilities(
                    _pg.softmax_policy(theta, x[s], mdp.allowed[s]), mdp.allowed[s], min_prob
                )
                if min_prob > 0
                else _pg.softmax_policy(theta, x[s], mdp.allowed[s])
                for s in range(mdp.n_states)
            ]
        )
    else:
        q = arrays["q"]
        if q.shape != (mdp.n_states, mdp.n_actions):
            raise ValueError(
                f"the saved Q table has shape {q.shape}, this environment needs "
                f"{(mdp.n_states, mdp.n_actions)}"
            )
        pi = greedy_from_q(mdp, q)
    return run_policy(
        mdp, np.ascontiguousarray(pi), episodes, EVAL_STEP_GUARD, np.random.default_rng(seed)
    )
