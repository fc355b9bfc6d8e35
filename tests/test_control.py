"""Classic-control envs through the env door: parity with Gymnasium's classic_control to 1e-10
(default and changed constants), time limits, vectorised stepping, reset ranges, options."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import numbarl.envs as E
from numbarl.envs.control import acrobot_env as acrobot
from numbarl.envs.control import cartpole_env as cartpole
from numbarl.envs.control import dispatch as D
from numbarl.envs.control import mountain_car_continuous_env as mountain_car_continuous
from numbarl.envs.control import mountain_car_env as mountain_car
from numbarl.envs.control import pendulum_env as pendulum

# (our id and options, Gymnasium id's constructor kwargs, attribute overrides on unwrapped)
CONFIGS = [
    ("CartPole-v1", {}, {}, {}),
    ("CartPole-v1", {"sutton_barto_reward": True}, {"sutton_barto_reward": True}, {}),
    ("CartPole-v1", {"length": 1.0}, {}, {"length": 1.0, "polemass_length": 0.1}),
    ("CartPole-v1", {"force_mag": 12.0, "tau": 0.01}, {}, {"force_mag": 12.0, "tau": 0.01}),
    ("MountainCar-v0", {}, {}, {}),
    ("MountainCar-v0", {"goal_velocity": 0.01}, {"goal_velocity": 0.01}, {}),
    ("MountainCar-v0", {"force": 0.0015}, {}, {"force": 0.0015}),
    ("MountainCarContinuous-v0", {}, {}, {}),
    ("MountainCarContinuous-v0", {"power": 0.002}, {}, {"power": 0.002}),
    ("Acrobot-v1", {"book_or_nips": "book"}, {}, {}),
    ("Acrobot-v1", {"book_or_nips": "nips"}, {}, {"book_or_nips": "nips"}),
    ("Acrobot-v1", {"link_mass_2": 1.5}, {}, {"LINK_MASS_2": 1.5}),
    ("Acrobot-v1", {"torque_noise_max": 0.2}, {}, {"torque_noise_max": 0.2}),
    ("Pendulum-v1", {}, {}, {}),
    ("Pendulum-v1", {"g": 9.81}, {"g": 9.81}, {}),
    ("Pendulum-v1", {"m": 1.5, "l": 0.8}, {}, {"m": 1.5, "l": 0.8}),
]
IDS = [f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items()) or 'default'}" for c in CONFIGS]
MODULES = {
    "CartPole-v1": cartpole,
    "MountainCar-v0": mountain_car,
    "MountainCarContinuous-v0": mountain_car_continuous,
    "Acrobot-v1": acrobot,
    "Pendulum-v1": pendulum,
}


def _policy(env, state, rng):
    """Half random, half a heuristic that reaches the interesting regions (goal, left wall,
    swing-up, wrapping), so terminations and clipping are exercised. Returns a float action,
    random continuous actions reaching beyond the bounds to exercise clipping."""
    heuristic = rng.random() < 0.5
    if env.id == "CartPole-v1":
        return float(rng.integers(2))
    if env.id == "MountainCar-v0":
        return (2.0 if state[1] >= 0 else 0.0) if heuristic else float(rng.integers(3))
    if env.id == "Acrobot-v1":
        return (2.0 if state[3] >= 0 else 0.0) if heuristic else float(rng.integers(3))
    high = env.action_high[0]
    if env.id == "MountainCarContinuous-v0" and heuristic:
        return float(np.sign(state[1]) * rng.uniform(0.5, 1.5))
    return float(rng.uniform(-1.5 * high, 1.5 * high))


def _gym_obs64(env_id, s):
    """Gymnasium's observation formula evaluated in float64 on Gymnasium's next state."""
    s = np.asarray(s, dtype=np.float64)
    if env_id == "Acrobot-v1":
        return np.array([np.cos(s[0]), np.sin(s[0]), np.cos(s[1]), np.sin(s[1]), s[2], s[3]])
    if env_id == "Pendulum-v1":
        return np.array([np.cos(s[0]), np.sin(s[0]), s[1]])
    return s


def _copy_rng(rng):
    """A Generator in the same state as ``rng`` (so both sides draw the same numbers)."""
    other = np.random.Generator(type(rng.bit_generator)())
    other.bit_generator.state = rng.bit_generator.state
    return other


@pytest.mark.parametrize("name, opts, gym_kwargs, attrs", CONFIGS, ids=IDS)
def test_parity_with_gymnasium(name, opts, gym_kwargs, attrs):
    env = E.make(name, **opts)
    genv = gym.make(name, **gym_kwargs).unwrapped
    for k, v in attrs.items():
        setattr(genv, k, v)
    rng = np.random.default_rng(123)
    state = np.zeros(env.state_dim)
    obs = np.zeros(env.obs_dim)
    seed = 0
    episodes = terminations = 0
    t = 0

    def new_episode():
        # Same seed on both sides: our reset draws equal Gymnasium's np_random draws exactly.
        nonlocal seed, t
        seed += 1
        gobs, _ = genv.reset(seed=seed)
        D.reset_env(env.fns, env.params, state, np.random.default_rng(seed))
        np.testing.assert_array_equal(state, np.asarray(genv.state, dtype=np.float64))
        D.observe_env(env.fns, env.params, state, obs)
        np.testing.assert_array_equal(obs.astype(np.float32), gobs)
        t = 0

    new_episode()
    for _ in range(2000):
        a = _policy(env, state, rng)
        genv.state = state.copy()  # Gymnasium steps from exactly our state
        if env.n_actions:
            gaction = int(a)
        elif name == "Pendulum-v1":  # Gymnasium's own float32 action space
            gaction = np.array([a], dtype=np.float32)
        else:
            gaction = np.array([a])
        step_rng = _copy_rng(genv.np_random)  # Acrobot's torque noise draws from it
        py_state, py_rng = state.copy(), _copy_rng(genv.np_random)
        gobs, grew, gterm, gtrunc, _ = genv.step(gaction)
        r, term = D.step_env(env.fns, env.params, state, np.array([a]), step_rng)
        gstate = np.asarray(genv.state, dtype=np.float64)
        np.testing.assert_allclose(state, gstate, rtol=0, atol=1e-10)
        assert abs(r - grew) <= 1e-10
        assert term == gterm and not gtrunc
        # The env's Python-side call and the module's function are the same compiled code.
        assert env.step(py_state, np.array([a]), py_rng) == (r, term)
        np.testing.assert_array_equal(py_state, state)
        D.observe_env(env.fns, env.params, state, obs)
        np.testing.assert_allclose(obs, _gym_obs64(name, gstate), rtol=0, atol=1e-10)
        np.testing.assert_allclose(obs, gobs, rtol=1e-7, atol=1e-12)  # Gymnasium float32 obs
        MODULES[name].observe(env.params, state, mod_obs := np.zeros(env.obs_dim))
        np.testing.assert_array_equal(mod_obs, obs)
        t += 1
        terminations += term
        if term or t >= env.max_steps:
            episodes += 1
            new_episode()
    assert episodes >= 3
    if name != "Pendulum-v1":
        assert terminations >= 3  # the termination rule was exercised


def test_pendulum_float64_action_acts_as_its_float32_rounding():
    env = E.make("Pendulum-v1")
    rng = np.random.default_rng(0)
    for _ in range(100):
        s = np.array([rng.uniform(-3, 3), rng.uniform(-8, 8)])
        a = rng.uniform(-2, 2)
        s64, s32 = s.copy(), s.copy()
        r64 = env.step(s64, np.array([a]), rng)
        r32 = env.step(s32, np.array([float(np.float32(a))]), rng)
        assert r64 == r32
        np.testing.assert_array_equal(s64, s32)


def test_acrobot_nips_differs_from_book():
    s = np.array([0.3, -0.2, 1.0, -2.0])
    book, nips = s.copy(), s.copy()
    rng = np.random.default_rng(0)
    E.make("Acrobot-v1").step(book, np.array([2.0]), rng)
    E.make("Acrobot-v1", book_or_nips="nips").step(nips, np.array([2.0]), rng)
    assert abs(book[2] - nips[2]) > 1e-3


@pytest.mark.parametrize("name", sorted(MODULES))
def test_compiled_step_matches_python(name):
    env, module = E.make(name), MODULES[name]
    rng = np.random.default_rng(5)
    for _ in range(30):
        state = np.zeros(env.state_dim)
        module.reset(env.params, state, rng)
        action = np.array([_policy(env, state, rng)])
        fast, slow = state.copy(), state.copy()
        out_fast = module.step(env.params, fast, action, np.random.default_rng(1))
        out_slow = module.step.py_func(env.params, slow, action, np.random.default_rng(1))
        assert out_fast[1] == out_slow[1]
        np.testing.assert_allclose(out_fast[0], out_slow[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_one_compiled_signature_serves_every_env_and_constant():
    """params are data and fns are typed by their signature: no env or constant compiles a
    second version of the generic functions."""
    for name in MODULES:
        for env in (E.make(name), E.make(name, **{E.make(name).param_names[0]: 0.5})):
            state = np.zeros(env.state_dim)
            D.reset_env(env.fns, env.params, state, np.random.default_rng(0))
            D.step_env(env.fns, env.params, state, env.action_low.copy(), np.random.default_rng(0))
    assert len(D.step_env.overloads) == 1
    assert len(D.reset_env.overloads) == 1


def _vec_arrays(env, n):
    return dict(
        states=np.zeros((n, env.state_dim)),
        t=np.zeros(n, dtype=np.int64),
        obs=np.zeros((n, env.obs_dim)),
        final_obs=np.full((n, env.obs_dim), np.nan),
        rewards=np.zeros(n),
        terminated=np.zeros(n, dtype=bool),
        truncated=np.zeros(n, dtype=bool),
    )


VEC_CASES = [("CartPole-v1", {}), ("MountainCar-v0", {}), ("MountainCarContinuous-v0", {})]
VEC_CASES += [("Acrobot-v1", {"torque_noise_max": 0.1}), ("Pendulum-v1", {})]


@pytest.mark.parametrize("name, opts", VEC_CASES)
def test_vec_step_equals_each_copy_alone(name, opts):
    env = E.make(name, **opts)
    n, steps, max_steps = 6, 300, 50  # a short limit so truncation and resets happen often
    v = _vec_arrays(env, n)
    rng_v = np.random.default_rng(9)
    D.vec_reset(env.fns, env.params, v["states"], v["t"], rng_v, v["obs"])
    # Reference: the same copies stepped one at a time, draws in copy order from one rng.
    ref = v["states"].copy()
    ref_t = np.zeros(n, dtype=np.int64)
    rng_r = np.random.default_rng(9)
    for i in range(n):
        D.reset_env(env.fns, env.params, ref[i], rng_r)
    np.testing.assert_array_equal(ref, v["states"])
    act_rng = np.random.default_rng(1)
    o = np.zeros(env.obs_dim)
    for _ in range(steps):
        actions = np.array([[_policy(env, s, act_rng)] for s in v["states"]])
        D.vec_step(
            env.fns, env.params, v["states"], actions, v["rewards"], v["terminated"],
            v["truncated"], v["t"], max_steps, rng_v, True, v["obs"], v["final_obs"],
        )  # fmt: skip
        for i in range(n):
            r, term = D.step_env(env.fns, env.params, ref[i], actions[i], rng_r)
            ref_t[i] += 1
            trunc = ref_t[i] >= max_steps
            assert (v["rewards"][i], v["terminated"][i], v["truncated"][i]) == (r, term, trunc)
            if term or trunc:
                D.observe_env(env.fns, env.params, ref[i], o)
                np.testing.assert_array_equal(v["final_obs"][i], o)
                D.reset_env(env.fns, env.params, ref[i], rng_r)
                ref_t[i] = 0
            D.observe_env(env.fns, env.params, ref[i], o)
            np.testing.assert_array_equal(v["obs"][i], o)
        np.testing.assert_array_equal(v["states"], ref)
        np.testing.assert_array_equal(v["t"], ref_t)


def test_cartpole_truncates_at_500_like_gymnasium():
    env = E.make("CartPole-v1")
    n = 3
    v = _vec_arrays(env, n)
    D.vec_reset(env.fns, env.params, v["states"], v["t"], np.random.default_rng(0), v["obs"])
    start = v["states"].copy()
    rng = np.random.default_rng(1)
    lengths = np.zeros(n, dtype=np.int64)
    before = v["obs"].copy()
    for step in range(1, 501):
        x, xd, th, thd = v["obs"].T
        actions = ((10 * th + 2 * thd + 0.1 * x + 0.5 * xd) > 0).astype(np.float64)[:, None]
        before = v["obs"].copy()
        D.vec_step(
            env.fns, env.params, v["states"], actions, v["rewards"], v["terminated"],
            v["truncated"], v["t"], env.max_steps, rng, True, v["obs"], v["final_obs"],
        )  # fmt: skip
        assert not v["terminated"].any()
        if step < 500:
            assert not v["truncated"].any() and (v["t"] == step).all()
        lengths += 1
    assert v["truncated"].all() and (v["t"] == 0).all() and (lengths == 500).all()
    assert not np.array_equal(v["final_obs"], v["obs"])  # obs is the next episode's start
    assert (np.abs(v["obs"]) <= 0.05).all()
    for i in range(n):  # the final observation is the state reached by the last step
        expected = before[i].copy()
        cartpole.step(env.params, expected, actions[i], rng)
        np.testing.assert_array_equal(v["final_obs"][i], expected)
    # Gymnasium (with its TimeLimit) truncates the same controller at 500 from the same start.
    genv = gym.make("CartPole-v1")
    genv.reset(seed=0)
    genv.unwrapped.state = start[0].copy()
    o = start[0].astype(np.float32)
    for k in range(1, 501):
        x, xd, th, thd = o
        o, _, term, trunc, _ = genv.step(int((10 * th + 2 * thd + 0.1 * x + 0.5 * xd) > 0))
        assert not term and trunc == (k == 500)
    np.testing.assert_allclose(genv.unwrapped.state, v["final_obs"][0], rtol=0, atol=1e-10)


def test_vec_step_without_auto_reset_keeps_final_state():
    env = E.make("Pendulum-v1")
    v = _vec_arrays(env, 4)
    D.vec_reset(env.fns, env.params, v["states"], v["t"], np.random.default_rng(3), v["obs"])
    v["t"][:] = [0, 198, 199, 250]
    actions = np.zeros((4, 1))
    D.vec_step(
        env.fns, env.params, v["states"], actions, v["rewards"], v["terminated"],
        v["truncated"], v["t"], env.max_steps, np.random.default_rng(4), False, v["obs"],
        v["final_obs"],
    )  # fmt: skip
    np.testing.assert_array_equal(v["truncated"], [False, False, True, True])
    np.testing.assert_array_equal(v["t"], [1, 199, 200, 251])
    np.testing.assert_array_equal(v["final_obs"][2:], v["obs"][2:])
    assert np.isnan(v["final_obs"][:2]).all()


@pytest.mark.parametrize("name", ["Pendulum-v1", "MountainCar-v0", "CartPole-v1", "Acrobot-v1"])
def test_random_rollout_truncates_at_the_limit(name):
    env = E.make(name)
    state = np.zeros(env.state_dim)
    D.reset_env(env.fns, env.params, state, np.random.default_rng(0))
    n_steps = 4 * env.max_steps
    episodes, truncations, total = D.random_rollout(
        env.fns, env.params, state, n_steps, env.max_steps, env.n_actions, env.action_low,
        env.action_high, np.random.default_rng(1),
    )  # fmt: skip
    if name == "Pendulum-v1":  # never terminates: exactly one truncation per max_steps steps
        assert (episodes, truncations) == (4, 4)
        assert -16.3 * n_steps <= total < 0
    elif name in ("MountainCar-v0", "Acrobot-v1"):  # random actions never reach the goal
        assert (episodes, truncations, total) == (4, 4, -n_steps)
    elif name == "CartPole-v1":  # random CartPole falls in ~22 steps, never reaching 500
        assert truncations == 0 and total == n_steps and 40 < episodes < 200


def test_reset_ranges_and_gymnasium_seeds():
    rng = np.random.default_rng(11)
    n = 3000
    cases = [
        ("CartPole-v1", np.full(4, -0.05), np.full(4, 0.05)),
        ("MountainCar-v0", np.array([-0.6, 0.0]), np.array([-0.4, 0.0])),
        ("MountainCarContinuous-v0", np.array([-0.6, 0.0]), np.array([-0.4, 0.0])),
        ("Acrobot-v1", np.full(4, -0.1), np.full(4, 0.1)),
        ("Pendulum-v1", np.array([-np.pi, -1.0]), np.array([np.pi, 1.0])),
    ]
    for name, low, high in cases:
        env = E.make(name)
        draws = np.zeros((n, env.state_dim))
        for i in range(n):
            MODULES[name].reset(env.params, draws[i], rng)
        assert (draws >= low).all() and (draws <= high).all(), name
        spread = high - low
        np.testing.assert_allclose(draws.min(0), low, atol=0.01 * spread.max())
        np.testing.assert_allclose(draws.max(0), high, atol=0.01 * spread.max())
    acro = np.zeros(4)
    acrobot.reset(E.make("Acrobot-v1").params, acro, rng)
    np.testing.assert_array_equal(acro, acro.astype(np.float32))  # Gymnasium's float32 cast


def test_specs_match_gymnasium_spaces():
    for name in MODULES:
        env = E.make(name)
        genv = gym.make(name)
        assert env.id == name and env.max_steps == genv.spec.max_episode_steps
        assert env.reward_threshold == genv.spec.reward_threshold
        np.testing.assert_array_equal(env.obs_low, genv.observation_space.low.astype(np.float64))
        np.testing.assert_array_equal(env.obs_high, genv.observation_space.high.astype(np.float64))
        assert env.obs_dim == genv.observation_space.shape[0]
        assert env.state_dim == len(genv.unwrapped.reset(seed=0) and genv.unwrapped.state)
        assert env.params.dtype == np.float64 and len(env.params) == len(env.param_names)
        if env.n_actions:
            assert env.n_actions == genv.action_space.n
            assert (env.action_low[0], env.action_high[0]) == (0.0, env.n_actions - 1)
        else:
            np.testing.assert_array_equal(env.action_low, genv.action_space.low)
            np.testing.assert_array_equal(env.action_high, genv.action_space.high)


def test_params_hold_gymnasiums_constants():
    """Every constant Gymnasium's env exposes is a named param with Gymnasium's value."""
    attrs = {
        "CartPole-v1": {k: k for k in cartpole.PARAMS if k not in cartpole.OPTIONS_ONLY},
        "MountainCar-v0": {k: k for k in mountain_car.PARAMS},
        "MountainCarContinuous-v0": {k: k for k in mountain_car_continuous.PARAMS},
        "Acrobot-v1": {"dt": "dt", "g": None, "torque_noise_max": "torque_noise_max"}
        | {k: k.upper() for k in acrobot.PARAMS if k.startswith(("link", "max_vel"))},
        "Pendulum-v1": {k: k for k in pendulum.PARAMS},
    }
    for name, table in attrs.items():
        env, genv = E.make(name), gym.make(name).unwrapped
        for ours, theirs in table.items():
            if theirs is not None:
                assert env.param(ours) == float(getattr(genv, theirs)), (name, ours)


@pytest.mark.parametrize(
    "name, opts, field",
    [
        ("Acrobot-v1", {"book_or_nips": "paper"}, "book_or_nips"),
        ("Acrobot-v1", {"book_or_nips": 1}, "book_or_nips"),
        ("Acrobot-v1", {"nips": 1.0}, "nips"),
        ("Pendulum-v1", {"g": float("nan")}, "g"),
        ("Pendulum-v1", {"g": "9.8"}, "g"),
        ("Pendulum-v1", {"g": True}, "g"),
        ("MountainCar-v0", {"goal_velocity": float("inf")}, "goal_velocity"),
        ("MountainCarContinuous-v0", {"goal_velocity": None}, "goal_velocity"),
        ("CartPole-v1", {"sutton_barto_reward": 1}, "sutton_barto_reward"),
        ("CartPole-v1", {"kinematics_integrator": "rk4"}, "kinematics_integrator"),
        ("CartPole-v1", {"semi_implicit": 1.0}, "semi_implicit"),
        ("CartPole-v1", {"gravity": "strong"}, "gravity"),
        ("CartPole-v1", {"mass": 1.0}, "mass"),
    ],
)
def test_bad_options_raise(name, opts, field):
    with pytest.raises(ValueError, match=field):
        E.make(name, **opts)


def test_options_reach_compiled_code_as_data():
    assert E.make("Acrobot-v1", book_or_nips="nips").param("nips") == 1.0
    assert E.make("Pendulum-v1", g=3.5).param("g") == 3.5
    assert E.make("CartPole-v1", sutton_barto_reward=True).param("sutton_barto_reward") == 1.0
    assert E.options("Pendulum-v1") == pendulum.PARAMS
    opts = E.options("Acrobot-v1")
    assert opts["book_or_nips"] == "book" and "nips" not in opts and opts["dt"] == 0.2
    # A longer pole falls more slowly: same start, same pushes, different dynamics.
    short, long_ = E.make("CartPole-v1"), E.make("CartPole-v1", length=1.0)
    s1, s2 = np.full(4, 0.02), np.full(4, 0.02)
    rng = np.random.default_rng(0)
    for _ in range(5):
        short.step(s1, np.array([0.0]), rng)
        long_.step(s2, np.array([0.0]), rng)
    assert abs(s2[3]) < abs(s1[3])


def test_vec_functions_reject_wrong_shapes():
    env = E.make("CartPole-v1")
    rng = np.random.default_rng(0)
    t = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match="t must"):
        D.vec_reset(
            env.fns, env.params, np.zeros((3, 4)), np.zeros(2, np.int64), rng, np.zeros((3, 4))
        )
    with pytest.raises(ValueError, match="obs"):
        D.vec_observe(env.fns, env.params, np.zeros((3, 4)), np.zeros((2, 4)))
    v = _vec_arrays(env, 3)
    with pytest.raises(ValueError, match="actions"):
        D.vec_step(
            env.fns, env.params, v["states"], np.zeros((2, 1)), v["rewards"], v["terminated"],
            v["truncated"], v["t"], 500, rng, True, v["obs"], v["final_obs"],
        )  # fmt: skip
    with pytest.raises(ValueError, match="action_low"):
        D.random_rollout(
            env.fns, env.params, np.zeros(4), 10, 500, 2, np.zeros(0), np.zeros(0), rng
        )
    assert t.sum() == 0
