"""numbarl.tabular.planning (Chapter 8): mazes as data, the Dyna-Q update and model, the
array-backed heap of prioritized sweeping, the sample-update errors of Figure 8.7 and the
trajectory-sampling tasks of Figure 8.8, against hand-computed cases; compiled drivers equal
their ``.py_func`` on tiny cases."""

from __future__ import annotations

import numpy as np
import pytest

from numbarl import dp
from numbarl.tabular import planning as P
from numbarl.tabular import trajectory_sampling

UP, DOWN, LEFT, RIGHT = range(4)


@pytest.fixture(scope="module")
def corridor() -> P.Maze:
    """S . G in one row: only RIGHT moves (up/down/left from S stay put)."""
    return P.maze_from_text(["S.G"])


# ---------------------------------------------------------------------------------------------
# Mazes


def test_maze_from_grid_moves_walls_and_goal(corridor: P.Maze) -> None:
    m = P.maze_from_text(P.DYNA_MAZE)
    assert m.next_state.shape == (54, 4) and m.start == 2 * 9
    goal = 8
    assert m.terminal[goal] and m.terminal.sum() == 1
    s = 1 * 9 + 1  # (1, 1): the wall (1, 2) is to the right
    assert m.next_state[s, RIGHT] == s
    assert m.next_state[s, LEFT] == 1 * 9 + 0
    assert m.next_state[0, UP] == 0  # off the grid: stay
    assert m.reward[1 * 9 + 8, UP] == 1.0 and m.reward.sum() == 2.0  # two ways into the goal
    assert P.shortest_path_length(m) == 14
    np.testing.assert_array_equal(corridor.next_state[0], [0, 0, 0, 1])
    assert corridor.reward[1, RIGHT] == 1.0


def test_scaled_mazes_have_the_books_sizes() -> None:
    for fr, fc in ((1, 1), (1, 2), (2, 2), (4, 8)):
        m = P.maze_from_text(P.DYNA_MAZE, fr, fc)
        seen, frontier = {m.start}, [m.start]
        while frontier:  # every free cell is reachable from the start
            frontier = list({int(t) for s in frontier for t in m.next_state[s]} - seen)
            seen.update(frontier)
        assert len(seen) == 47 * fr * fc
        assert m.terminal[fc * 9 - 1]


def test_maze_as_tabular_mdp_agrees_with_value_iteration() -> None:
    mdp = P.as_tabular_mdp(P.maze_from_text(P.DYNA_MAZE))
    v, _ = dp.value_iteration(mdp, gamma=0.95, theta=1e-12)
    assert v[2 * 9] == pytest.approx(0.95**13)  # 14 steps, reward on the last


def test_bad_mazes_and_configs_raise() -> None:
    with pytest.raises(ValueError, match="wall"):
        P.maze_from_grid(np.ones((2, 2), bool), (0, 0), (1, 1))
    with pytest.raises(ValueError, match="outside"):
        P.maze_from_grid(np.zeros((2, 2), bool), (0, 0), (5, 1))
    with pytest.raises(ValueError, match="alpha"):
        P.make_dyna_config(alpha=0.0)
    with pytest.raises(ValueError, match="kappa"):
        P.make_dyna_config(kappa=-1.0)
    with pytest.raises(ValueError, match="unknown"):
        P.make_prioritized_sweeping_config(kapa=1.0)
    with pytest.raises(ValueError, match="termination"):
        P.make_trajectory_sampling_config(termination=0.0)
    assert isinstance(P.make_dyna_config(alpha=1).alpha, float)


# ---------------------------------------------------------------------------------------------
# Dyna-Q


def test_dyna_q_update_hand_computed() -> None:
    q = np.zeros((3, 4))
    q[2] = [0.5, 1.0, 0.0, -1.0]
    delta = P.dyna_q_update(q, 0, RIGHT, 0.5, 2, False, 0.1, 0.9)
    assert delta == pytest.approx(0.5 + 0.9 * 1.0)
    assert q[0, RIGHT] == pytest.approx(0.1 * 1.4)
    delta = P.dyna_q_update(q, 1, LEFT, 1.0, 2, True, 0.5, 0.9)  # terminal: no bootstrap
    assert delta == 1.0 and q[1, LEFT] == 0.5


def test_dyna_q_planning_propagates_the_goal_through_the_model(corridor: P.Maze) -> None:
    """One episode on S . G with alpha = 1, gamma = 0.9 and many planning steps: the real steps
    fill the model; planning makes every tried pair exact, Q(s, a) = r + 0.9 max Q(s', .):
    Q(1, right) = 1, Q(0, right) = 0.9, a pair that stays in 0 is 0.81, in 1: 0.9; 1 -> 0:
    0.81. Untried pairs stay 0."""
    cfg = P.make_dyna_config(alpha=1.0, gamma=0.9, epsilon=0.5, planning_steps=500, episodes=1)
    q, lengths, _, n_done, updates = P.run_dyna(
        corridor, corridor, -1, cfg, np.random.default_rng(3)
    )
    assert n_done == 1 and updates == lengths[0] * 501
    assert q[1, RIGHT] == 1.0 and q[0, RIGHT] == pytest.approx(0.9)
    exact = np.array([[0.81, 0.81, 0.81, 0.9], [0.9, 0.9, 0.81, 1.0]])
    tried = q[:2] != 0.0
    np.testing.assert_allclose(q[:2][tried], exact[tried])
    assert np.all(q[2] == 0.0)


def test_dyna_q_plus_plans_untried_actions_with_a_bonus(corridor: P.Maze) -> None:
    """Dyna-Q+ plans every action of a visited state (untried: stay, reward 0 + bonus), so after
    an episode every action of S and of the middle cell has a positive value, and bonuses lift
    values above Dyna-Q's."""
    base = dict(alpha=1.0, gamma=0.9, epsilon=0.0, planning_steps=200, episodes=1)
    plus = P.make_dyna_config(kappa=0.1, **base)
    q, *_ = P.run_dyna(corridor, corridor, -1, plus, np.random.default_rng(0))
    assert np.all(q[:2] > 0.0)
    # (0, right) was tried before the last step, so its planned reward carries a bonus of at
    # least kappa * sqrt(1): its value exceeds Dyna-Q's exact 0.9.
    assert q[0, RIGHT] >= 0.9 + 0.1
    q0, *_ = P.run_dyna(
        corridor, corridor, -1, P.make_dyna_config(**base), np.random.default_rng(0)
    )
    assert q0[0, RIGHT] == pytest.approx(0.9)


def test_dyna_budget_switch_and_cumulative_reward() -> None:
    """With a step budget the run stops mid-episode; cum_reward counts goals by each step."""
    before = P.maze_from_text(P.BLOCKING_MAZE)
    after = P.maze_from_text(P.BLOCKING_MAZE_AFTER)
    assert P.shortest_path_length(before) == 10 and P.shortest_path_length(after) == 16
    cfg = P.make_dyna_config(alpha=1.0, planning_steps=10, episodes=3000, max_total_steps=300)
    q, lengths, cum, n_done, updates = P.run_dyna(before, after, 100, cfg, np.random.default_rng(1))
    assert cum.shape == (301,) and cum[0] == 0.0 and cum[-1] == n_done
    assert np.all(np.diff(cum) >= 0) and lengths.sum() == 300 and updates == 300 * 11


def test_greedy_path_length(corridor: P.Maze) -> None:
    q = np.zeros((3, 4))
    assert P.greedy_path_length(q, corridor, 10) == -1  # UP first on ties: stays forever
    q[:2, RIGHT] = 1.0
    assert P.greedy_path_length(q, corridor, 10) == 2
    assert P.greedy_path_length(q, corridor, 1) == -1


# ---------------------------------------------------------------------------------------------
# The heap and prioritized sweeping


def _heap(n: int):
    return np.empty(n), np.empty(n, dtype=np.int64), np.full(n, -1, dtype=np.int64)


def test_heap_pops_in_priority_order_and_keeps_the_larger_priority() -> None:
    prio, item, pos = _heap(6)
    size = 0
    for key, p in ((0, 0.5), (1, 2.0), (2, 0.1), (3, 1.5), (4, 0.7)):
        size = P.heap_push(prio, item, pos, size, key, p)
    size = P.heap_push(prio, item, pos, size, 2, 3.0)  # raised
    size = P.heap_push(prio, item, pos, size, 1, 1.0)  # lower: 1 keeps 2.0
    assert size == 5
    out = []
    while size:
        key, p, size = P.heap_pop(prio, item, pos, size)
        out.append((int(key), float(p)))
        assert pos[key] == -1
    assert out == [(2, 3.0), (1, 2.0), (3, 1.5), (4, 0.7), (0, 0.5)]


def test_heap_matches_sorting_on_random_pushes() -> None:
    rng = np.random.default_rng(0)
    prio, item, pos = _heap(200)
    size, best = 0, {}
    for _ in range(1000):
        key, p = int(rng.integers(200)), float(rng.random())
        size = P.heap_push(prio, item, pos, size, key, p)
        best[key] = max(best.get(key, -1.0), p)
    popped = []
    while size:
        key, p, size = P.heap_pop(prio, item, pos, size)
        popped.append((int(key), p))
    assert sorted(best.items(), key=lambda kv: -kv[1]) == popped


def test_prioritized_sweeping_sweeps_back_from_the_goal(corridor: P.Maze) -> None:
    """With alpha = 1 the first goal transition queues (1, right); popping it updates it to 1
    and queues its predecessor (0, right) with priority 0.9, which the next pop sets to 0.9."""
    cfg = P.make_prioritized_sweeping_config(alpha=1.0, gamma=0.9, epsilon=0.0, episodes=1)
    q, lengths, n_done, updates = P.run_prioritized_sweeping(
        corridor, cfg, np.random.default_rng(0)
    )
    assert n_done == 1 and updates >= 2
    assert q[1, RIGHT] == 1.0 and q[0, RIGHT] == pytest.approx(0.9)


def test_prioritized_sweeping_stops_at_a_good_greedy_path() -> None:
    m = P.maze_from_text(P.DYNA_MAZE)
    cfg = P.make_prioritized_sweeping_config(alpha=1.0, theta=1e-10, stop_path=14)
    q, _, n_done, _ = P.run_prioritized_sweeping(m, cfg, np.random.default_rng(0))
    assert n_done < cfg.episodes and P.greedy_path_length(q, m, 14) == 14


# ---------------------------------------------------------------------------------------------
# Figures 8.7 and 8.8 kernels


def test_sample_update_errors_follow_the_books_formula() -> None:
    """err[0] = 1; the RMS over 2,000 runs after t samples is sqrt((b - 1) / (b t)) within 5
    standard errors (the mean of err^2 over runs has a standard error from its spread)."""
    rng = np.random.default_rng(0)
    b, t = 100, np.array([1, 10, 50, 200])
    err = np.stack([P.sample_update_errors(b, 200, rng) for _ in range(2000)])
    assert np.all(err[:, 0] == 1.0)
    sq = err[:, t] ** 2
    mean, se = sq.mean(0), sq.std(0, ddof=1) / np.sqrt(len(sq))
    assert np.all(np.abs(mean - (b - 1) / (b * t)) < 5 * se)


def test_greedy_start_value_matches_a_linear_solve() -> None:
    rng = np.random.default_rng(5)
    for n, b in ((30, 1), (30, 3), (50, 10)):
        nxt, reward = P.random_task(n, b, rng)
        assert nxt.shape == (n, 2, b) and nxt.min() >= 0 and nxt.max() < n
        q = rng.standard_normal((n, 2))
        greedy = (q[:, 1] > q[:, 0]).astype(int)
        p = np.zeros((n, n))
        for s in range(n):
            for j in range(b):
                p[s, nxt[s, greedy[s], j]] += 1.0 / b
        r = reward[np.arange(n), greedy].mean(1)
        exact = np.linalg.solve(np.eye(n) - 0.9 * p, r)[0]
        work = (np.zeros(n, bool), np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n))
        got = trajectory_sampling.greedy_start_value(q, nxt, reward, 0.9, np.zeros(n), 1e-10, *work)
        assert got == pytest.approx(exact, abs=1e-8)
        assert not work[0].any()  # left all False for the next call


# ---------------------------------------------------------------------------------------------
# Compiled equals Python


def test_compiled_drivers_equal_their_python(corridor: P.Maze) -> None:
    m = P.maze_from_text(P.DYNA_MAZE)
    cfg = P.make_dyna_config(planning_steps=5, kappa=1e-3, episodes=3)
    fast = P.run_dyna(m, m, 50, cfg, np.random.default_rng(7))
    slow = P.run_dyna.py_func(m, m, 50, cfg, np.random.default_rng(7))
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    ps = P.make_prioritized_sweeping_config(episodes=3)
    fast = P.run_prioritized_sweeping(m, ps, np.random.default_rng(7))
    slow = P.run_prioritized_sweeping.py_func(m, ps, np.random.default_rng(7))
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    ts = P.make_trajectory_sampling_config(n_states=20, branching=3, updates=200, eval_every=50)
    fast = P.run_trajectory_sampling(ts, np.random.default_rng(7))
    slow = P.run_trajectory_sampling.py_func(ts, np.random.default_rng(7))
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        P.sample_update_errors(10, 20, np.random.default_rng(1)),
        P.sample_update_errors.py_func(10, 20, np.random.default_rng(1)),
    )


def test_each_driver_compiles_once_whatever_the_config_values() -> None:
    """Configs are cast in Python (ints given for floats become floats), so every driver keeps
    one compiled signature however it is called."""
    m = P.maze_from_text(P.DYNA_MAZE)
    for cfg in (P.make_dyna_config(alpha=1, kappa=0, episodes=2), P.make_dyna_config(episodes=1)):
        P.run_dyna(m, m, -1, cfg, np.random.default_rng(0))
    for cfg in (P.make_prioritized_sweeping_config(alpha=1, theta=0, episodes=1),):
        P.run_prioritized_sweeping(m, cfg, np.random.default_rng(0))
    ts = P.make_trajectory_sampling_config(n_states=10, updates=20, eval_every=10, epsilon=0)
    P.run_trajectory_sampling(ts, np.random.default_rng(0))
    for driver in (P.run_dyna, P.run_prioritized_sweeping, P.run_trajectory_sampling):
        assert len(driver.signatures) == 1, driver
