"""Classic-control envs: parity with Gymnasium's classic_control to 1e-10, time limits,
vectorised stepping, reset ranges and option validation."""

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

# (our id and options, Gymnasium id and constructor kwargs, attribute overrides on unwrapped)
CONFIGS = [
    ("CartPole-v1", {}, {}, {}),
    ("CartPole-v1", {"sutton_barto_reward": True}, {"sutton_barto_reward": True}, {}),
    ("MountainCar-v0", {}, {}, {}),
    ("MountainCar-v0", {"goal_velocity": 0.01}, {"goal_velocity": 0.01}, {}),
    ("MountainCarContinuous-v0", {}, {}, {}),
    ("Acrobot-v1", {"book_or_nips": "book"}, {}, {}),
    ("Acrobot-v1", {"book_or_nips": "nips"}, {}, {"book_or_nips": "nips"}),
    ("Pendulum-v1", {}, {}, {}),
    ("Pendulum-v1", {"g": 9.81}, {"g": 9.81}, {}),
]
IDS = [f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items()) or 'default'}" for c in CONFIGS]
MODULES = {
    D.CARTPOLE: cartpole,
    D.MOUNTAIN_CAR: mountain_car,
    D.MOUNTAIN_CAR_CONTINUOUS: mountain_car_continuous,
    D.ACROBOT: acrobot,
    D.PENDULUM: pendulum,
}


def _policy(env, state, rng):
    """Half random, half a heuristic that reaches the interesting regions (goal, left wall,
    swing-up, wrapping), so terminations and clipping are exercised. Returns a float action,
    random continuous actions reaching beyond the bounds to exercise clipping."""
    heuristic = rng.random() < 0.5
    if env.code == D.CARTPOLE:
        return float(rng.integers(2))
    if env.code == D.MOUNTAIN_CAR:
        return (2.0 if state[1] >= 0 else 0.0) if heuristic else float(rng.integers(3))
    if env.code == D.ACROBOT:
        return (2.0 if state[3] >= 0 else 0.0) if heuristic else float(rng.integers(3))
    high = env.action_high[0]
    if env.code == D.MOUNTAIN_CAR_CONTINUOUS and heuristic:
        return float(np.sign(state[1]) * rng.uniform(0.5, 1.5))
    return float(rng.uniform(-1.5 * high, 1.5 * high))


def _gym_obs64(code, s):
    """Gymnasium's observation formula evaluated in float64 on Gymnasium's next state."""
    s = np.asarray(s, dtype=np.float64)
    if code == D.ACROBOT:
        return np.array([np.cos(s[0]), np.sin(s[0]), np.cos(s[1]), np.sin(s[1]), s[2], s[3]])
    if code == D.PENDULUM:
        return np.array([np.cos(s[0]), np.sin(s[0]), s[1]])
    return s


def _module_step(env, state, action):
    m, p = MODULES[env.code], env.params[0]
    if env.code == D.CARTPOLE:
        return m.step(state, int(action), bool(p))
    if env.code == D.ACROBOT:
        return m.step(state, int(action), bool(p))
    if env.code == D.MOUNTAIN_CAR:
        return m.step(state, int(action), p)
    return m.step(state, action, p)


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
        D.reset_env(env.code, state, np.random.default_rng(seed))
        np.testing.assert_array_equal(state, np.asarray(genv.state, dtype=np.float64))
        D.observe_env(env.code, state, obs)
        np.testing.assert_array_equal(obs.astype(np.float32), gobs)
        t = 0

    new_episode()
    for _ in range(2000):
        a = _policy(env, state, rng)
        genv.state = state.copy()  # Gymnasium steps from exactly our state
        gaction = int(a) if env.n_actions else np.array([a])
        gobs, grew, gterm, gtrunc, _ = genv.step(gaction)
        mod_state = state.copy()
        mod_r, mod_term = _module_step(env, mod_state, a)
        r, term = D.step_env(env.code, env.params, state, np.array([a]))
        gstate = np.asarray(genv.state, dtype=np.float64)
        np.testing.assert_allclose(state, gstate, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(mod_state, state)  # module step == dispatch step
        assert (r, term) == (mod_r, mod_term)
        assert abs(r - grew) <= 1e-10
        assert term == gterm and not gtrunc
        D.observe_env(env.code, state, obs)
        np.testing.assert_allclose(obs, _gym_obs64(env.code, gstate), rtol=0, atol=1e-10)
        np.testing.assert_allclose(obs, gobs, rtol=1e-7, atol=1e-12)  # Gymnasium float32 obs
        MODULES[env.code].observe(state, mod_obs := np.zeros(env.obs_dim))
        np.testing.assert_array_equal(mod_obs, obs)
        t += 1
        terminations += term
        if term or t >= env.max_steps:
            episodes += 1
            new_episode()
    assert episodes >= 3
    if env.code != D.PENDULUM:
        assert terminations >= 3  # the termination rule was exercised


def test_acrobot_nips_differs_from_book():
    s = np.array([0.3, -0.2, 1.0, -2.0])
    book = acrobot.step_values(*s, 2, False)
    nips = acrobot.step_values(*s, 2, True)
    assert abs(book[2] - nips[2]) > 1e-3


def test_step_values_matches_in_place_step():
    rng = np.random.default_rng(5)
    for _ in range(50):
        s = rng.uniform(-0.2, 0.2, 4)
        a = int(rng.integers(2))
        out = cartpole.step_values(*s, a)
        state = s.copy()
        assert cartpole.step(state, a) == (out[4], out[5])
        np.testing.assert_array_equal(state, out[:4])
        d = D.step_values(D.CARTPOLE, 0.0, *s, float(a))
        assert d == out


@pytest.mark.parametrize("code", [D.CARTPOLE, D.MOUNTAIN_CAR, D.ACROBOT])
def test_discrete_action_out_of_range_raises(code):
    state = np.zeros(D.STATE_DIMS[code])
    D.reset_env(code, state, np.random.default_rng(0))
    with pytest.raises(ValueError, match="action index"):
        D.step_env(code, np.zeros(1), state, np.array([float(D.N_ACTIONS[code])]))
    with pytest.raises(ValueError, match="action index"):
        D.step_env(code, np.zeros(1), state, np.array([-1.0]))


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


@pytest.mark.parametrize("name, opts", [(c[0], c[1]) for c in CONFIGS[::2]] + [CONFIGS[5][:2]])
def test_vec_step_equals_each_copy_alone(name, opts):
    env = E.make(name, **opts)
    n, steps, max_steps = 6, 300, 50  # a short limit so truncation and resets happen often
    v = _vec_arrays(env, n)
    rng_v = np.random.default_rng(9)
    D.vec_reset(env.code, v["states"], v["t"], rng_v, v["obs"])
    # Reference: the same copies stepped one at a time, resets drawn in copy order.
    ref = v["states"].copy()
    ref_t = np.zeros(n, dtype=np.int64)
    rng_r = np.random.default_rng(9)
    for i in range(n):
        D.reset_env(env.code, ref[i], rng_r)
    np.testing.assert_array_equal(ref, v["states"])
    act_rng = np.random.default_rng(1)
    o = np.zeros(env.obs_dim)
    for _ in range(steps):
        actions = np.array([[_policy(env, s, act_rng)] for s in v["states"]])
        D.vec_step(
            env.code, env.params, v["states"], actions, v["rewards"], v["terminated"],
            v["truncated"], v["t"], max_steps, rng_v, True, v["obs"], v["final_obs"],
        )  # fmt: skip
        for i in range(n):
            r, term = D.step_env(env.code, env.params, ref[i], actions[i])
            ref_t[i] += 1
            trunc = ref_t[i] >= max_steps
            assert (v["rewards"][i], v["terminated"][i], v["truncated"][i]) == (r, term, trunc)
            if term or trunc:
                D.observe_env(env.code, ref[i], o)
                np.testing.assert_array_equal(v["final_obs"][i], o)
                D.reset_env(env.code, ref[i], rng_r)
                ref_t[i] = 0
            D.observe_env(env.code, ref[i], o)
            np.testing.assert_array_equal(v["obs"][i], o)
        np.testing.assert_array_equal(v["states"], ref)
        np.testing.assert_array_equal(v["t"], ref_t)


def test_cartpole_truncates_at_500_like_gymnasium():
    env = E.make("CartPole-v1")
    n = 3
    v = _vec_arrays(env, n)
    D.vec_reset(env.code, v["states"], v["t"], np.random.default_rng(0), v["obs"])
    start = v["states"].copy()
    rng = np.random.default_rng(1)
    lengths = np.zeros(n, dtype=np.int64)
    before = v["obs"].copy()
    for step in range(1, 501):
        x, xd, th, thd = v["obs"].T
        actions = ((10 * th + 2 * thd + 0.1 * x + 0.5 * xd) > 0).astype(np.float64)[:, None]
        before = v["obs"].copy()
        D.vec_step(
            env.code, env.params, v["states"], actions, v["rewards"], v["terminated"],
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
        expected = cartpole.step_values(*before[i], int(actions[i, 0]))[:4]
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
    D.vec_reset(env.code, v["states"], v["t"], np.random.default_rng(3), v["obs"])
    v["t"][:] = [0, 198, 199, 250]
    actions = np.zeros((4, 1))
    D.vec_step(
        env.code, env.params, v["states"], actions, v["rewards"], v["terminated"],
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
    D.reset_env(env.code, state, np.random.default_rng(0))
    n_steps = 4 * env.max_steps
    episodes, truncations, total = D.random_rollout(
        env.code, env.params, state, n_steps, env.max_steps, np.random.default_rng(1)
    )
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
        (cartpole, 4, np.full(4, -0.05), np.full(4, 0.05)),
        (mountain_car, 2, np.array([-0.6, 0.0]), np.array([-0.4, 0.0])),
        (mountain_car_continuous, 2, np.array([-0.6, 0.0]), np.array([-0.4, 0.0])),
        (acrobot, 4, np.full(4, -0.1), np.full(4, 0.1)),
        (pendulum, 2, np.array([-np.pi, -1.0]), np.array([np.pi, 1.0])),
    ]
    for module, dim, low, high in cases:
        draws = np.zeros((n, dim))
        for i in range(n):
            module.reset(draws[i], rng)
        assert (draws >= low).all() and (draws <= high).all(), module.__name__
        spread = high - low
        np.testing.assert_allclose(draws.min(0), low, atol=0.01 * spread.max())
        np.testing.assert_allclose(draws.max(0), high, atol=0.01 * spread.max())
    acro = np.zeros(4)
    acrobot.reset(acro, rng)
    np.testing.assert_array_equal(acro, acro.astype(np.float32))  # Gymnasium's float32 cast
    # The module reset and the dispatch reset make the same draws.
    for code, module in MODULES.items():
        a = np.zeros(D.STATE_DIMS[code])
        b = np.zeros(D.STATE_DIMS[code])
        module.reset(a, np.random.default_rng(7))
        D.reset_env(code, b, np.random.default_rng(7))
        np.testing.assert_array_equal(a, b)


def test_specs_match_gymnasium_spaces():
    for name in E.names("control"):
        env = E.make(name)
        genv = gym.make(name)
        assert env.id == name and env.max_steps == genv.spec.max_episode_steps
        assert env.reward_threshold == genv.spec.reward_threshold
        np.testing.assert_array_equal(env.obs_low, genv.observation_space.low.astype(np.float64))
        np.testing.assert_array_equal(env.obs_high, genv.observation_space.high.astype(np.float64))
        assert env.state_dim == D.STATE_DIMS[env.code] and env.obs_dim == D.OBS_DIMS[env.code]
        assert env.params.dtype == np.float64 and env.params.shape == (1,)
        if env.n_actions:
            assert env.n_actions == genv.action_space.n
            assert (env.action_low[0], env.action_high[0]) == (0.0, env.n_actions - 1)
        else:
            np.testing.assert_array_equal(env.action_low, genv.action_space.low)
            np.testing.assert_array_equal(env.action_high, genv.action_space.high)


@pytest.mark.parametrize(
    "name, opts, field",
    [
        ("Acrobot-v1", {"book_or_nips": "paper"}, "book_or_nips"),
        ("Acrobot-v1", {"book_or_nips": 1}, "book_or_nips"),
        ("Pendulum-v1", {"g": float("nan")}, "g"),
        ("Pendulum-v1", {"g": "9.8"}, "g"),
        ("Pendulum-v1", {"g": True}, "g"),
        ("MountainCar-v0", {"goal_velocity": float("inf")}, "goal_velocity"),
        ("MountainCarContinuous-v0", {"goal_velocity": None}, "goal_velocity"),
        ("CartPole-v1", {"sutton_barto_reward": 1}, "sutton_barto_reward"),
        ("CartPole-v1", {"gravity": 3.0}, "gravity"),
    ],
)
def test_bad_options_raise(name, opts, field):
    with pytest.raises(ValueError, match=field):
        E.make(name, **opts)


def test_options_reach_compiled_code_as_data():
    assert E.make("Acrobot-v1", book_or_nips="nips").params[0] == 1.0
    assert E.make("Pendulum-v1", g=3.5).params[0] == 3.5
    assert E.make("CartPole-v1", sutton_barto_reward=True).params[0] == 1.0
    assert E.options("Pendulum-v1") == {"g": 10.0}
    assert E.options("Acrobot-v1") == {"book_or_nips": "book"}


def test_vec_functions_reject_wrong_shapes():
    env = E.make("CartPole-v1")
    rng = np.random.default_rng(0)
    t = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match="states"):
        D.vec_reset(env.code, np.zeros((3, 2)), t, rng, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="obs"):
        D.vec_observe(env.code, np.zeros((3, 4)), np.zeros((3, 3)))
    v = _vec_arrays(env, 3)
    with pytest.raises(ValueError, match="actions"):
        D.vec_step(
            env.code, env.params, v["states"], np.zeros((2, 1)), v["rewards"], v["terminated"],
            v["truncated"], v["t"], 500, rng, True, v["obs"], v["final_obs"],
        )  # fmt: skip
    with pytest.raises(ValueError, match="state"):
        D.random_rollout(env.code, env.params, np.zeros(2), 10, 500, rng)
