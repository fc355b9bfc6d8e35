"""Sutton & Barto's MDPs: their structure, hand-checked transitions and the sampler over them."""

import numpy as np
import pytest
from numba import njit

from numbarl.envs import book, builder, make, options, reset, step


@njit(cache=True)
def _draw_transitions(mdp, n, rng):
    """``n`` steps from every allowed (s, a) of every non-terminal state. Returns counts
    int64[S, A, S], reward sums float64[S, A, S] and the number of wrong terminated flags."""
    S, A = mdp.n_states, mdp.n_actions
    counts = np.zeros((S, A, S), dtype=np.int64)
    rewards = np.zeros((S, A, S))
    bad_flags = 0
    for s in range(S):
        if mdp.terminal[s]:
            continue
        for a in range(A):
            if not mdp.allowed[s, a]:
                continue
            for _ in range(n):
                s2, r, done = step(mdp, s, a, rng)
                counts[s, a, s2] += 1
                rewards[s, a, s2] += r
                if done != mdp.terminal[s2]:
                    bad_flags += 1
    return counts, rewards, bad_flags


@njit(cache=True)
def _draw_starts(mdp, n, rng):
    counts = np.zeros(mdp.n_states, dtype=np.int64)
    for _ in range(n):
        counts[reset(mdp, rng)] += 1
    return counts


DETERMINISTIC_REWARD_ENVS = [
    ("RandomWalk-v0", {}),
    ("RandomWalk19-v0", {}),
    ("Gridworld4x4-v0", {}),
    ("WindyGridworld-v0", {}),
    ("WindyGridworld-v0", {"king_moves": True, "stay": True, "stochastic_wind": True}),
    ("WindyGridworld-v0", {"stochastic_wind": True}),
    ("ShortCorridor-v0", {}),
    ("GamblersProblem-v0", {}),
]


@pytest.mark.parametrize("env, opts", DETERMINISTIC_REWARD_ENVS)
def test_sampler_frequencies_match_p(env, opts):
    mdp = make(env, **opts)
    n = 20_000
    counts, rewards, bad_flags = _draw_transitions(mdp, n, np.random.default_rng(11))
    assert bad_flags == 0
    live = ~mdp.terminal[:, None] & mdp.allowed
    p = mdp.p[live]
    freq = counts[live] / n
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(freq - p) <= 5 * se)  # exact where p is 0 or 1
    # Each outcome's reward is deterministic here, so its mean weighted by p gives r exactly.
    mean_reward = np.divide(rewards, counts, out=np.zeros_like(rewards), where=counts > 0)
    np.testing.assert_allclose((mdp.p * mean_reward).sum(axis=2)[live], mdp.r[live], atol=1e-12)
    starts = _draw_starts(mdp, n, np.random.default_rng(12)) / n
    assert np.all(np.abs(starts - mdp.start) <= 5 * np.sqrt(mdp.start * (1 - mdp.start) / n))


@pytest.mark.parametrize("env", [
    "RandomWalk-v0", "RandomWalk19-v0", "Gridworld4x4-v0", "WindyGridworld-v0",
    "ShortCorridor-v0", "MaximizationBias-v0", "GamblersProblem-v0",
])  # fmt: skip
def test_registered_ids_build_the_book_defaults(env):
    mdp = make(env)
    direct = builder(env)(**options(env))
    assert builder(env).__module__ == book.__name__
    for field in ("p", "r", "terminal", "start", "allowed"):
        np.testing.assert_array_equal(getattr(mdp, field), getattr(direct, field))
    assert mdp.max_steps == 0
    np.testing.assert_allclose(mdp.p.sum(axis=2), 1.0)
    assert mdp.start.sum() == pytest.approx(1.0)
    assert not np.any(mdp.start[mdp.terminal])


def test_random_walks():
    walk = make("RandomWalk-v0")
    assert (walk.n_states, walk.n_actions) == (7, 2)
    np.testing.assert_array_equal(walk.terminal, [1, 0, 0, 0, 0, 0, 1])
    assert walk.start[3] == 1.0  # C
    assert walk.p[1, 0, 0] == 1.0 and walk.p[1, 1, 2] == 1.0 and walk.p[5, 1, 6] == 1.0
    assert walk.r[1, 0] == 0.0 and walk.r[5, 1] == 1.0 and walk.r[3].sum() == 0.0
    walk19 = make("RandomWalk19-v0")
    assert walk19.n_states == 21 and walk19.start[10] == 1.0
    assert walk19.r[1, 0] == -1.0 and walk19.r[19, 1] == 1.0
    custom = book.random_walk(7, left_reward=-0.5, right_reward=2.0)
    assert custom.r[1, 0] == -0.5 and custom.r[7, 1] == 2.0 and custom.start[4] == 1.0
    assert book.random_walk(7).r[1, 0] == 0.0


def test_gridworld_moves():
    grid = make("Gridworld4x4-v0")
    assert (grid.n_states, grid.n_actions) == (16, 4)
    assert np.flatnonzero(grid.terminal).tolist() == [0, 15]
    np.testing.assert_allclose(grid.start[1:15], 1 / 14)
    up, right, down, left = book.UP, book.RIGHT, book.DOWN, book.LEFT
    assert grid.p[1, up, 1] == 1.0  # off the grid: stays
    assert grid.p[1, left, 0] == 1.0 and grid.p[1, down, 5] == 1.0 and grid.p[7, right, 7] == 1.0
    assert grid.p[11, down, 15] == 1.0 and grid.p[14, right, 15] == 1.0
    np.testing.assert_array_equal(grid.r[1:15], -1.0)
    big = book.gridworld(size=5)
    assert np.flatnonzero(big.terminal).tolist() == [0, 24]


def test_windy_gridworld_moves():
    windy = make("WindyGridworld-v0")
    assert (windy.n_states, windy.n_actions) == (70, 4)
    assert windy.start[30] == 1.0 and np.flatnonzero(windy.terminal).tolist() == [37]

    def to(mdp, row, col, a):
        return int(np.argmax(mdp.p[row * 10 + col, a]))

    assert to(windy, 3, 0, book.RIGHT) == 31  # calm column
    assert to(windy, 3, 5, book.RIGHT) == 26  # wind 1 in column 5
    assert to(windy, 3, 6, book.RIGHT) == 17  # wind 2 in column 6
    assert to(windy, 0, 6, book.UP) == 6  # clipped at the top
    assert to(windy, 6, 9, book.DOWN) == 69  # clipped at the bottom, calm
    assert to(windy, 2, 7, book.DOWN) == 17  # down 1, wind 2
    np.testing.assert_array_equal(windy.r[~windy.terminal], -1.0)

    king = make("WindyGridworld-v0", king_moves=True, stay=True)
    assert king.n_actions == 9
    assert to(king, 3, 6, 5) == 27  # down-right: row 3 + 1 - 2, column 7 (the goal's column)
    assert to(king, 3, 4, 8) == 24  # stay: the wind alone moves it
    assert to(king, 3, 0, 7) == 20  # up-left: clipped at the left edge
    assert book.windy_gridworld(king_moves=True).n_actions == 8
    assert book.windy_gridworld(stay=True).n_actions == 5

    gusty = make("WindyGridworld-v0", stochastic_wind=True)
    np.testing.assert_allclose(gusty.p[36, book.RIGHT, [7, 17, 27]], 1 / 3)  # push 3, 2, 1
    assert gusty.p[30, book.RIGHT, 31] == 1.0  # calm columns stay calm
    assert gusty.p[3, book.UP, 3] == pytest.approx(1.0)  # every push clipped to row 0


def test_short_corridor_reverses_in_the_second_state():
    c = make("ShortCorridor-v0")
    assert c.start[0] == 1.0 and np.flatnonzero(c.terminal).tolist() == [3]
    assert c.p[0, 0, 0] == 1.0 and c.p[0, 1, 1] == 1.0
    assert c.p[1, 0, 2] == 1.0 and c.p[1, 1, 0] == 1.0  # reversed
    assert c.p[2, 0, 1] == 1.0 and c.p[2, 1, 3] == 1.0
    np.testing.assert_array_equal(c.r[:3], -1.0)


def test_maximization_bias_rewards():
    mdp = make("MaximizationBias-v0")
    assert (mdp.n_states, mdp.n_actions) == (3, 10)
    assert mdp.r[0, 0] == 0.0 and mdp.r[0, 1] == 0.0
    assert mdp.p[0, 0, 1] == 1.0 and mdp.p[0, 1, 2] == 1.0
    np.testing.assert_array_equal(mdp.r[1], -0.1)
    np.testing.assert_array_equal(mdp.p[1, :, 2], 1.0)
    np.testing.assert_array_equal(mdp.allowed[0], [True, True] + [False] * 8)
    assert mdp.allowed[1].all() and np.flatnonzero(mdp.terminal).tolist() == [2]
    n = 20_000
    counts, rewards, bad = _draw_transitions(mdp, n, np.random.default_rng(5))
    assert bad == 0 and np.all(counts[1, :, 2] == n)
    draws = np.array(
        [step(mdp, 1, b, rng)[1] for rng in [np.random.default_rng(6)] for b in range(10)
         for _ in range(n)]
    )  # fmt: skip
    se_mean = 1.0 / np.sqrt(len(draws))
    se_std = 1.0 / np.sqrt(2 * len(draws))  # normal: sd(s) ~ sigma / sqrt(2n)
    assert abs(draws.mean() - (-0.1)) <= 5 * se_mean
    assert abs(draws.std() - 1.0) <= 5 * se_std
    np.testing.assert_allclose(rewards[1, :, 2] / n, -0.1, atol=5 / np.sqrt(n))
    # Other sizes and a deterministic variant.
    small = make("MaximizationBias-v0", n_b_actions=1, mean=0.5, std=0.0)
    assert small.n_actions == 2 and small.allowed[1].tolist() == [True, False]
    assert step(small, 1, 0, np.random.default_rng(0))[1] == 0.5


def test_gamblers_problem_stakes():
    g = make("GamblersProblem-v0")
    assert (g.n_states, g.n_actions) == (101, 51)
    assert np.flatnonzero(g.terminal).tolist() == [0, 100]
    np.testing.assert_allclose(g.start[1:100], 1 / 99)
    for s in range(101):
        assert g.allowed[s].tolist() == [a <= min(s, 100 - s) for a in range(51)]
    assert g.p[30, 10, 40] == pytest.approx(0.4) and g.p[30, 10, 20] == pytest.approx(0.6)
    assert g.p[30, 0, 30] == 1.0  # stake 0 keeps the capital
    assert g.r[99, 1] == pytest.approx(0.4) and g.r[50, 50] == pytest.approx(0.4)
    assert g.r[30, 10] == 0.0
    sure = book.gamblers_problem(p_h=1.0, goal=10)
    assert sure.n_states == 11 and sure.n_actions == 6 and sure.p[5, 5, 10] == 1.0


@pytest.mark.parametrize("call, field", [
    (lambda: book.random_walk(4), "n_states"),
    (lambda: book.random_walk(1), "n_states"),
    (lambda: book.random_walk(5.0), "n_states"),
    (lambda: book.random_walk(5, left_reward=float("nan")), "left_reward"),
    (lambda: book.random_walk(5, right_reward="1"), "right_reward"),
    (lambda: book.gridworld(1), "size"),
    (lambda: book.windy_gridworld(king_moves=1), "king_moves"),
    (lambda: book.windy_gridworld(stay="no"), "stay"),
    (lambda: book.windy_gridworld(stochastic_wind=None), "stochastic_wind"),
    (lambda: book.maximization_bias(n_b_actions=0), "n_b_actions"),
    (lambda: book.maximization_bias(std=-1.0), "std"),
    (lambda: book.maximization_bias(mean=float("inf")), "mean"),
    (lambda: book.gamblers_problem(p_h=1.5), "p_h"),
    (lambda: book.gamblers_problem(p_h=-0.1), "p_h"),
    (lambda: book.gamblers_problem(goal=1), "goal"),
    (lambda: make("GamblersProblem-v0", stake=3), "stake"),
])  # fmt: skip
def test_bad_options_name_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_same_seed_same_episodes():
    from numbarl.envs.tabular import rollout_random

    g = make("WindyGridworld-v0", king_moves=True, stochastic_wind=True)
    a = rollout_random(g, 5_000, np.random.default_rng(3))
    b = rollout_random(g, 5_000, np.random.default_rng(3))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
