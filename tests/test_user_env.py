"""A user's own env through the public door: from_functions checks, register, every learner
and the Gymnasium adapter on it, the example envs solved, and a second process that trains on an
env from a module on disk without compiling anything (Numba's cache hit, not a timing)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from numba import njit

import numbarl
import numbarl.envs as E
from numbarl.envs.control import dispatch as D

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import catch  # noqa: E402
import point_mass  # noqa: E402, F401  (registers PointMass-v0)

# ---------------------------------------------------------------------------------------------
# A tiny valid env, and broken variants of it


@njit(cache=True)
def _reset(params, state, rng):
    state[0] = rng.uniform(-1.0, 1.0)
    state[1] = 0.0


@njit(cache=True)
def _step(params, state, action, rng):
    state[1] += params[0] * (action[0] - 0.5)
    state[0] += state[1]
    return -abs(state[0]), abs(state[0]) > 5.0


@njit(cache=True)
def _observe(params, state, obs):
    obs[0] = state[0]
    obs[1] = state[1]


def _tiny(**kw):
    args = dict(state_dim=2, obs_dim=2, params={"gain": 0.1}, max_steps=50, n_actions=2)
    args.update(kw)
    fns = {k: args.pop(k) for k in ("reset", "step", "observe") if k in args}
    return E.from_functions(
        args.pop("env_id", "Tiny-v0"),
        fns.get("reset", _reset),
        fns.get("step", _step),
        fns.get("observe", _observe),
        **args,
    )


def test_valid_env_builds_and_steps_through_the_compiled_door():
    env = _tiny()
    assert env.param_names == ("gain",) and env.param("gain") == 0.1
    assert env.n_actions == 2 and env.action_dim == 1
    state, obs = np.zeros(2), np.zeros(2)
    D.reset_env(env.fns, env.params, state, np.random.default_rng(0))
    r, term = D.step_env(env.fns, env.params, state, np.array([1.0]), np.random.default_rng(0))
    D.observe_env(env.fns, env.params, state, obs)
    np.testing.assert_array_equal(obs, state)
    assert r == -abs(state[0]) and term is False
    assert env.with_params(gain=0.5).param("gain") == 0.5 and env.param("gain") == 0.1


def test_not_njit_function_is_refused_naming_it():
    def plain_step(params, state, action, rng):
        return 0.0, False

    with pytest.raises(TypeError, match=r"step must be an @njit function.*step\(params"):
        _tiny(step=plain_step)


def test_wrong_number_of_arguments_is_refused():
    @njit
    def step3(params, state, action):
        return 0.0, False

    with pytest.raises(TypeError, match=r"step must take 4 arguments .*takes 3"):
        _tiny(step=step3)


@pytest.mark.parametrize(
    "body, match",
    [
        ("return 0.0", r"step must return \(reward: float, terminated: bool\)"),
        ("return 0.0, 1", r"step must return \(reward: float, terminated: bool\).*int"),
        ("return True, False", r"step must return"),
    ],
)
def test_step_returning_wrong_types_is_refused(body, match):
    ns: dict = {}
    exec(f"def bad(params, state, action, rng):\n    state[0] = 1.0\n    {body}\n", ns)
    with pytest.raises(TypeError, match=match):
        _tiny(step=njit(ns["bad"]))


def test_observe_writing_past_obs_dim_is_caught():
    @njit
    def observe3(params, state, obs):
        obs[0] = state[0]
        obs[1] = state[1]
        obs[2] = 0.0

    with pytest.raises(ValueError, match=r"observe wrote obs\[2\] but obs has 2 entries"):
        _tiny(observe=observe3)


def test_dims_that_disagree_with_what_is_written_are_caught():
    with pytest.raises(ValueError, match=r"reset left state\[2\] unset.*state_dim=3"):
        _tiny(state_dim=3)
    with pytest.raises(ValueError, match=r"observe left obs\[2\] unset.*obs_dim=3"):
        _tiny(obs_dim=3)


def test_non_finite_first_observation_is_caught():
    @njit
    def step_nan(params, state, action, rng):
        state[0] = np.nan
        return 0.0, False

    with pytest.raises(ValueError, match="non-finite"):
        _tiny(step=step_nan)


def test_reset_returning_a_value_and_raising_are_caught():
    @njit
    def reset_returns(params, state, rng):
        state[0] = 0.0
        state[1] = 0.0
        return state

    with pytest.raises(TypeError, match="reset must return None"):
        _tiny(reset=reset_returns)

    @njit
    def reset_raises(params, state, rng):
        raise ValueError("boom")

    with pytest.raises(TypeError, match=r"calling reset\(params, state, rng\).*boom"):
        _tiny(reset=reset_raises)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"n_actions": None}, "exactly one action space"),
        ({"action_low": [-1.0], "action_high": [1.0]}, "exactly one action space"),
        ({"n_actions": None, "action_low": [-1.0]}, "needs both action_low and action_high"),
        ({"n_actions": None, "action_low": [1.0], "action_high": [-1.0]}, "low < high"),
        ({"n_actions": 0}, "n_actions must be a positive integer"),
        ({"state_dim": 0}, "state_dim must be a positive integer"),
        ({"max_steps": 2.5}, "max_steps must be a positive integer"),
        ({"params": {"gain": float("nan")}}, "gain must be a finite real number"),
        ({"params": [0.1]}, "params must map names"),
        ({"env_id": ""}, "env_id must be a non-empty string"),
    ],
)
def test_bad_data_is_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        _tiny(**kw)


def test_register_by_id_everywhere_and_twice():
    env = E.register(_tiny(env_id="TinyRegistered-v0"))
    assert "TinyRegistered-v0" in E.names("control")
    assert E.register(_tiny(env_id="TinyRegistered-v0")) is not None  # the same: fine
    with pytest.raises(ValueError, match="already registered with other functions"):
        E.register(_tiny(env_id="TinyRegistered-v0", params={"gain": 0.2}))
    with pytest.raises(ValueError, match="built-in environment id"):
        E.register(_tiny(env_id="CartPole-v1"))
    with pytest.raises(TypeError, match="register needs a ControlEnv"):
        E.register("TinyRegistered-v0")
    made = E.make("TinyRegistered-v0", gain=0.3)
    assert made.param("gain") == 0.3 and env.param("gain") == 0.1
    assert E.options("TinyRegistered-v0") == {"gain": 0.1}
    with pytest.raises(ValueError, match="unknown option"):
        E.make("TinyRegistered-v0", mass=1.0)
    # Gymnasium sees it too, even though numbarl.gym was imported before it was registered.
    import numbarl.gym  # noqa: F401

    genv = gymnasium.make("numbarl/TinyRegistered-v0")
    from gymnasium.utils.env_checker import check_env

    check_env(genv.unwrapped, skip_render_check=True)
    obs, _ = genv.reset(seed=0)
    assert obs.shape == (2,) and genv.spec.max_episode_steps == 50
    vec = gymnasium.make_vec("numbarl/TinyRegistered-v0", num_envs=3)
    obs, _ = vec.reset(seed=1)
    obs, rewards, *_ = vec.step(np.array([0, 1, 1]))
    assert obs.shape == (3, 2) and rewards.shape == (3,)


def test_examples_pass_gymnasiums_env_checker():
    from gymnasium.utils.env_checker import check_env

    import numbarl.gym  # noqa: F401

    for name in ("Catch-v0", "PointMass-v0"):
        check_env(gymnasium.make(f"numbarl/{name}").unwrapped, skip_render_check=True)
    vec = numbarl.gym.make_vec("PointMass-v0", 4)
    vec.reset(seed=0)
    obs, *_ = vec.step(np.zeros((4, 2), dtype=np.float32))
    assert obs.shape == (4, 6)


def test_vec_step_serves_a_user_env_with_same_step_autoreset():
    env = catch.env
    n = 4
    states, t = np.zeros((n, 3)), np.zeros(n, dtype=np.int64)
    obs, final_obs = np.zeros((n, 50)), np.zeros((n, 50))
    rew, term, trunc = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
    rng = np.random.default_rng(0)
    D.vec_reset(env.fns, env.params, states, t, rng, obs)
    for k in range(1, 10):
        D.vec_step(
            env.fns, env.params, states, np.ones((n, 1)), rew, term, trunc, t, env.max_steps,
            rng, True, obs, final_obs,
        )  # fmt: skip
        assert term.all() == (k == 9)
    assert set(rew) <= {1.0, -1.0} and (t == 0).all() and (states[:, 1] == 0).all()
    # The final board has the ball in the paddle's row: one cell lit exactly when caught.
    np.testing.assert_array_equal(final_obs[:, 45:].sum(axis=1) == 1, rew == 1.0)
    assert final_obs[:, :45].sum() == 0


# ---------------------------------------------------------------------------------------------
# The example envs are solved (returned parameters, fresh evaluation seeds)


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_catch_is_solved(algo):
    for seed in range(3):
        res = numbarl.train(algo, "Catch-v0", seed=seed)
        returns = numbarl.evaluate(res, episodes=100, seed=10_000 + seed)
        assert returns.mean() >= 0.9, (algo, seed, returns.mean())


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_point_mass_is_solved(algo):
    for seed in range(3):
        res = numbarl.train(algo, "PointMass-v0", seed=seed)
        returns = numbarl.evaluate(res, episodes=100, seed=10_000 + seed)
        assert returns.mean() >= -10.0, (algo, seed, returns.mean())


# ---------------------------------------------------------------------------------------------
# A module on disk: trained in one process, then again in a second one without compiling

MODULE = '''
"""A user's env module: walk right along a chain of 10 cells to the goal."""
import numpy as np
from numba import njit

import numbarl.envs as E


@njit(cache=True)
def reset(params, state, rng):
    state[0] = float(rng.integers(0, 3))


@njit(cache=True)
def step(params, state, action, rng):
    state[0] = min(max(state[0] + (1.0 if action[0] == 1.0 else -1.0), 0.0), 9.0)
    if state[0] == 9.0:
        return 1.0, True
    return -params[0], False


@njit(cache=True)
def observe(params, state, obs):
    obs[:] = 0.0
    obs[int(state[0])] = 1.0


E.register(
    E.from_functions(
        "MyChain-v0", reset, step, observe, state_dim=1, obs_dim=10,
        params={"step_cost": 0.05}, max_steps=40, n_actions=2,
    )
)
'''

TRAIN = """
import sys

import numbarl
import numbarl.envs as E

algo, threshold, module = sys.argv[1], float(sys.argv[2]), sys.argv[3]
E.load_module(module)  # what the CLI's --import does
cfg = {
    "ppo": dict(total_steps=20_000, stop_at_return=0.7, eval_every=1024),
    "dqn": dict(total_steps=8_000, learning_starts=500, exploration_fraction=0.3),
}[algo]
res = numbarl.train(algo, "MyChain-v0", seed=0, **cfg)
ret = numbarl.evaluate(res, episodes=50, seed=99).mean()
assert ret >= threshold, (algo, ret)
print("RETURN", algo, ret)
"""


def test_env_module_on_disk_trains_and_second_process_compiles_nothing(tmp_path):
    (tmp_path / "my_chain.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "train.py").write_text(TRAIN)

    def run(algo: str, debug: bool) -> str:
        env = dict(os.environ, NUMBA_DEBUG_CACHE="1" if debug else "0")
        out = subprocess.run(
            [sys.executable, "train.py", algo, "0.6", "my_chain"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stderr[-3000:] + out.stdout[-3000:]
        return out.stdout

    for algo in ("ppo", "dqn"):  # trains to the stated return (0.6; the optimum is 0.7-0.8)
        assert f"RETURN {algo}" in run(algo, debug=False)
    second = run("ppo", debug=True)
    assert "RETURN ppo" in second
    assert "data loaded" in second  # the learner and the user's functions came from the cache
    saved = [line for line in second.splitlines() if "data saved" in line]
    assert not saved, saved  # nothing compiled in the second process
    assert (tmp_path / "__pycache__").is_dir()  # the user's functions are cached beside them


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "numbarl", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_cli_imports_a_user_module(tmp_path):
    (tmp_path / "my_chain.py").write_text(textwrap.dedent(MODULE))
    out = _cli(tmp_path, "train", "ppo", "MyChain-v0", "--import", "my_chain", "--set",
               "total_steps=4096", "--save", "chain.npz")  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    out = _cli(tmp_path, "evaluate", "chain.npz", "--import=my_chain.py")  # a path works too
    assert out.returncode == 0, out.stderr[-3000:]
    out = _cli(tmp_path, "envs", "--import", "no_such_module")
    assert out.returncode == 2 and "no module named 'no_such_module'" in out.stderr
