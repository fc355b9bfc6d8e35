"""DQN and the Rainbow switches: each kernel against hand-computed arrays or finite differences,
the replay buffer, determinism, validation, divergence, and (slow) learning on control envs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from numbarl.deep import dqn, replay
from numbarl.envs import make
from numbarl.errors import TrainingDiverged
from numbarl.nn import distributional, noisy
from numbarl.nn import qnet as qn
from tests.gradcheck import central_diff, rel_err

H = 1e-6  # central-difference step
RTOL = 1e-6  # relative error allowed between analytic and numerical gradients


# --------------------------------------------------------------------------------------------
# Replay: ring buffer and n-step targets
# --------------------------------------------------------------------------------------------


def _fill(buf, rewards, terminated=(), truncated=()):
    for t, r in enumerate(rewards):
        replay.replay_add(
            buf,
            np.array([float(t), -float(t)]),
            np.array([float(t % 3)]),
            float(r),
            np.array([t + 0.5, -t - 0.5]),
            t in terminated,
            t in truncated,
        )


def test_ring_buffer_wraps_around_and_overwrites_the_oldest():
    buf = replay.replay_init(3, 2, 1)
    assert replay.replay_newest(buf) == -1
    _fill(buf, [10.0, 11.0])
    assert replay.replay_size(buf) == 2 and buf.info[0] == 2 and replay.replay_newest(buf) == 1
    buf = replay.replay_init(3, 2, 1)
    _fill(buf, [10.0, 11.0, 12.0, 13.0, 14.0])  # rows now hold t = 3, 4, 2
    assert replay.replay_size(buf) == 3
    assert buf.info[0] == 2 and replay.replay_newest(buf) == 1
    np.testing.assert_array_equal(buf.reward, [13.0, 14.0, 12.0])
    np.testing.assert_array_equal(buf.obs[:, 0], [3.0, 4.0, 2.0])
    np.testing.assert_array_equal(buf.next_obs[:, 1], [-3.5, -4.5, -2.5])
    np.testing.assert_array_equal(buf.action[:, 0], [0.0, 1.0, 2.0])
    idx = np.zeros(3000, dtype=np.int64)
    replay.replay_sample_uniform(buf, np.random.default_rng(0), idx)
    counts = np.bincount(idx, minlength=3)
    assert counts.size == 3 and np.all(np.abs(counts - 1000) < 4.5 * math.sqrt(3000 * 2 / 9))


def test_nstep_return_stops_at_termination_and_truncation():
    gamma = 0.5
    r = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    term = np.array([False, False, True, False, False, False, False])
    trunc = np.array([False, False, False, False, True, False, False])
    newest = 6
    # From row 0, n = 3: the episode terminates at row 2 -> no bootstrap.
    assert replay.nstep_return(r, term, trunc, 0, newest, 3, gamma) == (1 + 1 + 1, 0.0, 2)
    # From row 1, n = 5: terminates at row 2 after two rewards.
    assert replay.nstep_return(r, term, trunc, 1, newest, 5, gamma) == (2 + 2, 0.0, 2)
    # From row 3, n = 3: truncated at row 4 -> bootstrap from row 4's final obs with gamma^2.
    assert replay.nstep_return(r, term, trunc, 3, newest, 3, gamma) == (8 + 8, 0.25, 4)
    # From row 5, n = 3: only rows 5, 6 exist (row 6 is the newest) -> a 2-step target.
    assert replay.nstep_return(r, term, trunc, 5, newest, 3, gamma) == (32 + 32, 0.25, 6)
    # n = 1 is the one-step target.
    assert replay.nstep_return(r, term, trunc, 3, newest, 1, gamma) == (8.0, 0.5, 3)
    assert replay.nstep_return(r, term, trunc, 2, newest, 1, gamma) == (4.0, 0.0, 2)


def test_nstep_return_wraps_around_the_ring():
    r = np.array([5.0, 6.0, 1.0, 2.0, 3.0])  # time order: rows 2, 3, 4, 0, 1 (newest 1)
    no = np.zeros(5, dtype=np.bool_)
    g, d, j = replay.nstep_return(r, no, no, 3, 1, 4, 1.0)
    assert (g, d, j) == (2 + 3 + 5 + 6, 1.0, 1)
    g, d, j = replay.nstep_return(r, no, no, 4, 1, 4, 1.0)  # stops at the newest row
    assert (g, d, j) == (3 + 5 + 6, 1.0, 1)


def test_gather_builds_nstep_transitions_from_the_buffer():
    buf = replay.replay_init(8, 2, 1)
    _fill(buf, [1.0, 1.0, 1.0, 1.0, 1.0], terminated={1}, truncated={4})
    idx = np.array([0, 2, 3, 4], dtype=np.int64)
    obs, next_obs = np.zeros((4, 2)), np.zeros((4, 2))
    action, ret, disc = np.zeros((4, 1)), np.zeros(4), np.zeros(4)
    replay.replay_gather(buf, idx, 3, 0.9, obs, action, ret, disc, next_obs)
    np.testing.assert_allclose(ret, [1.9, 1 + 0.9 + 0.81, 1.9, 1.0])
    np.testing.assert_allclose(disc, [0.0, 0.9**3, 0.81, 0.9])
    np.testing.assert_array_equal(obs[:, 0], [0.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(next_obs[:, 0], [1.5, 4.5, 4.5, 4.5])  # bootstrap rows 1,4,4,4
    np.testing.assert_array_equal(action[:, 0], [0.0, 2.0, 0.0, 1.0])


# --------------------------------------------------------------------------------------------
# Prioritised replay: sum tree and importance weights
# --------------------------------------------------------------------------------------------


def _tree(priorities):
    tree = replay.sumtree_init(len(priorities))
    for i, p in enumerate(priorities):
        replay.sumtree_update(tree, i, p)
    return tree


def test_sumtree_find_follows_prefix_sums_and_skips_empty_leaves():
    tree = _tree([1.0, 2.0, 0.0, 3.0, 4.0, 0.0])  # 6 leaves in a tree of 8
    assert replay.sumtree_total(tree) == 10.0 and tree.min[1] == 0.0
    cases = {0.0: 0, 0.999: 0, 1.0: 1, 2.999: 1, 3.0: 3, 5.999: 3, 6.0: 4, 9.999: 4}
    for u, leaf in cases.items():
        assert replay.sumtree_find(tree, u) == leaf, u
    assert replay.sumtree_find(tree, 10.0) == 4  # rounding past the total: last nonzero leaf
    replay.sumtree_update(tree, 3, 0.5)
    assert replay.sumtree_total(tree) == 7.5 and tree.max_priority[0] == 4.0


def test_sumtree_sampling_frequencies_are_proportional_to_priorities():
    priorities = np.array([1.0, 2.0, 0.0, 3.0, 4.0, 0.5])
    tree = _tree(priorities)
    rng = np.random.default_rng(0)
    idx = np.zeros(32, dtype=np.int64)
    counts = np.zeros(8, dtype=np.int64)
    n = 0
    for _ in range(1500):
        replay.sumtree_sample(tree, rng, idx)
        counts += np.bincount(idx, minlength=8)
        n += idx.size
    p = priorities / priorities.sum()
    assert counts[2] == 0 and counts[6:].sum() == 0
    sd = np.sqrt(n * p * (1 - p))  # binomial; stratified draws vary less
    assert np.all(np.abs(counts[:6] - n * p) <= 4.5 * sd + 1e-9), (counts, n * p)


def test_importance_weights_match_hand_values():
    tree = _tree([1.0, 2.0, 3.0, 4.0])
    idx = np.array([0, 1, 2, 3, 3], dtype=np.int64)
    w = np.zeros(5)
    replay.per_weights(tree, idx, 4, 0.5, w)  # N P = 0.4, 0.8, 1.2, 1.6; max weight at p = 1
    np.testing.assert_allclose(w, [1.0, 2**-0.5, 3**-0.5, 0.5, 0.5], rtol=1e-12)
    replay.per_weights(tree, idx, 4, 1.0, w)
    np.testing.assert_allclose(w, [1.0, 0.5, 1 / 3, 0.25, 0.25], rtol=1e-12)
    replay.per_weights(tree, idx, 4, 0.0, w)
    np.testing.assert_array_equal(w, np.ones(5))
    assert replay.per_priority(-0.5, 0.5, 0.0) == math.sqrt(0.5)


# --------------------------------------------------------------------------------------------
# One-step kernels
# --------------------------------------------------------------------------------------------


def test_q_learning_and_double_q_targets():
    q_online = np.array([1.0, 3.0, 2.0])
    q_target = np.array([5.0, 0.5, 7.0])
    assert dqn.q_learning_target(1.0, 0.9, q_target) == 1.0 + 0.9 * 7.0
    # The online net picks action 1; the target net scores it 0.5.
    assert dqn.double_q_target(1.0, 0.9, q_online, q_target) == 1.0 + 0.9 * 0.5
    assert dqn.double_q_target(2.0, 0.0, q_online, q_target) == 2.0  # terminal


def test_batch_targets_equal_the_one_step_kernels():
    rng = np.random.default_rng(4)
    r, d = rng.standard_normal(5), rng.uniform(0.0, 1.0, 5)
    q_on, q_tg = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    y = np.zeros(5)
    dqn.q_learning_targets(r, d, q_tg, y)
    np.testing.assert_array_equal(y, [dqn.q_learning_target(r[b], d[b], q_tg[b]) for b in range(5)])
    dqn.double_q_targets(r, d, q_on, q_tg, y)
    expected = [dqn.double_q_target(r[b], d[b], q_on[b], q_tg[b]) for b in range(5)]
    np.testing.assert_array_equal(y, expected)


# Online and target nets whose torso outputs 0 everywhere, so Q(s, .) is the head's bias for
# every s: online Q = [1, 0], target Q = [3, 5]. Every stored transition is (s, a=0, r=1, s').
Q_ONLINE, Q_TARGET, GAMMA_E2E, LR_E2E = (1.0, 0.0), (3.0, 5.0), 0.5, 1e-3


def constant_q_update(double: bool, terminated: bool = False):
    """One ``dqn_update`` on the nets above; returns (loss, mean Q, targets y, parameter change
    of the online net, target net after)."""
    cfg = dqn.make_dqn_config(
        None, dict(batch_size=4, hidden=4, depth=1, gamma=GAMMA_E2E, lr=LR_E2E, double=double)
    )
    net = dqn._net_for(cfg, 2, 2)
    bias = net.adv_off + net.hidden * 2  # the head is W float64[H*2] then b float64[2]
    params = np.zeros(net.n_params)
    params[bias : bias + 2] = Q_ONLINE
    st = dqn._make_state(net, cfg, params, 2, 2)
    st.target[:] = 0.0
    st.target[bias : bias + 2] = Q_TARGET
    target_before = st.target.copy()
    buf = replay.replay_init(8, 2, 1)
    rng = np.random.default_rng(0)
    for _ in range(8):
        s, s_next = rng.standard_normal(2), rng.standard_normal(2)
        replay.replay_add(buf, s, np.array([0.0]), 1.0, s_next, terminated, False)
    before = st.params.copy()
    loss, q_mean = dqn.dqn_update(dqn.hyper(cfg), net, st, buf, None, rng, 0.4)  # uniform
    np.testing.assert_array_equal(st.target, target_before)  # the update leaves it alone
    change = st.params - before
    return loss, q_mean, st.batch[dqn._Y].copy(), change, bias


@pytest.mark.parametrize("double", [False, True], ids=["dqn", "double"])
def test_dqn_update_end_to_end_by_hand(double):
    loss, q_mean, y, change, bias = constant_q_update(double)
    # DQN: y = 1 + 0.5 max_a Q_target(s', a) = 1 + 0.5 * 5 = 3.5. Double DQN: the online net
    # picks a* = 0, the target net scores it: y = 1 + 0.5 * 3 = 2.5. (With the nets swapped,
    # the target net would pick a* = 1 and the online net score it 0: y = 1.)
    expected_y = 2.5 if double else 3.5
    np.testing.assert_array_equal(y, expected_y)
    delta = Q_ONLINE[0] - expected_y  # Q(s, a=0) - y: -1.5 or -2.5, beyond Huber's knee
    assert loss == pytest.approx(abs(delta) - 0.5, abs=1e-15)
    assert q_mean == Q_ONLINE[0]
    # dL/dQ(s, 0) = -1 on every row: Adam's first step raises that bias by lr (1/(1 + eps)),
    # and nothing else has a gradient (the torso's output and the head's weights are 0).
    assert np.flatnonzero(change).tolist() == [bias]
    assert change[bias] == pytest.approx(LR_E2E, rel=1e-6)


def test_dqn_update_does_not_bootstrap_from_terminal_states():
    for double in (False, True):
        loss, _, y, change, bias = constant_q_update(double, terminated=True)
        np.testing.assert_array_equal(y, 1.0)  # r only: Q(s, 0) = 1 already, no error
        assert loss == 0.0 and not change.any()


def test_float32_clip_by_global_norm_matches_the_float64_one():
    from numbarl.nn.optim import clip_by_global_norm

    g = (np.random.default_rng(6).standard_normal(70_001) * 0.1).astype(np.float32)
    for max_norm in (1.0, 1e9):  # clipped, and left alone
        g32, g64 = g.copy(), g.astype(np.float64)
        n32 = clip_by_global_norm(g32, max_norm)
        n64 = clip_by_global_norm(g64, max_norm)
        assert n32 == pytest.approx(n64, rel=1e-12)
        np.testing.assert_allclose(g32, g64, rtol=2**-23)
    assert clip_by_global_norm(g.copy(), 1.0) == clip_by_global_norm(g.copy(), 1.0)


def test_td_loss_huber_and_mse():
    assert dqn.td_loss(0.5, dqn.HUBER) == (0.125, 0.5)
    assert dqn.td_loss(-3.0, dqn.HUBER) == (2.5, -1.0)
    assert dqn.td_loss(3.0, dqn.HUBER) == (2.5, 1.0)
    assert dqn.td_loss(3.0, dqn.MSE) == (9.0, 6.0)


def test_linear_schedule():
    assert dqn.linear_schedule(1.0, 0.1, 100, 0) == 1.0
    assert dqn.linear_schedule(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert dqn.linear_schedule(1.0, 0.1, 100, 100) == 0.1
    assert dqn.linear_schedule(1.0, 0.1, 100, 10_000) == 0.1


def test_dueling_aggregation_and_its_gradient():
    v = np.array([[1.0], [-2.0]])
    adv = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]])
    out = np.zeros((2, 3))
    qn.dueling_aggregate(v, adv, 1, out)
    np.testing.assert_allclose(out, [[0.0, 1.0, 2.0], [-4.0, -4.0, 2.0]])
    g_v, g_adv = np.zeros((2, 1)), np.zeros((2, 3))
    qn.dueling_backward(np.array([[1.0, 0.0, 0.0], [0.0, 3.0, 3.0]]), 1, g_v, g_adv)
    np.testing.assert_allclose(g_v, [[1.0], [6.0]])
    np.testing.assert_allclose(g_adv, [[2 / 3, -1 / 3, -1 / 3], [-2.0, 1.0, 1.0]])
    # Per atom (K = 2, A = 2): each atom's advantages are centred separately.
    v2 = np.array([[10.0, 20.0]])
    adv2 = np.array([[1.0, 4.0, 3.0, 0.0]])  # a0: (1, 4), a1: (3, 0)
    out2 = np.zeros((1, 4))
    qn.dueling_aggregate(v2, adv2, 2, out2)
    np.testing.assert_allclose(out2, [[9.0, 22.0, 11.0, 18.0]])
    rng = np.random.default_rng(0)
    upstream = rng.standard_normal((1, 4))

    def f():
        qn.dueling_aggregate(v2, adv2, 2, out2)
        return float((out2 * upstream).sum())

    gv2, gadv2 = np.zeros((1, 2)), np.zeros((1, 4))
    qn.dueling_backward(upstream, 2, gv2, gadv2)
    assert rel_err(gv2, central_diff(f, v2)) < RTOL
    assert rel_err(gadv2, central_diff(f, adv2)) < RTOL


def test_categorical_projection_hand_example():
    z = np.array([-1.0, 0.0, 1.0])
    p = np.array([0.2, 0.3, 0.5])
    m = np.zeros(3)
    # r + z = (-0.5, 0.5, 1.5 -> clipped to 1): split, split, and all on the top atom.
    distributional.categorical_projection(z, 0.5, 1.0, p, m)
    np.testing.assert_allclose(m, [0.1, 0.25, 0.65])
    # Discounted: 0.5 * z = (-0.5, 0, 0.5): the middle atom lands exactly on an atom.
    distributional.categorical_projection(z, 0.0, 0.5, p, m)
    np.testing.assert_allclose(m, [0.1, 0.1 + 0.3 + 0.25, 0.25])
    # Terminal (discount 0): all mass at r, split between its neighbours...
    distributional.categorical_projection(z, 0.25, 0.0, p, m)
    np.testing.assert_allclose(m, [0.0, 0.75, 0.25])
    # ...or clipped to the support's ends.
    distributional.categorical_projection(z, -3.0, 0.0, p, m)
    np.testing.assert_allclose(m, [1.0, 0.0, 0.0])
    distributional.categorical_projection(z, 2.0, 0.9, p, m)  # everything above v_max
    np.testing.assert_allclose(m, [0.0, 0.0, 1.0])
    # A 51-atom support keeps the mass and the (unclipped) mean r + gamma E[Z].
    z51 = np.linspace(-10.0, 10.0, 51)
    p51 = np.random.default_rng(0).dirichlet(np.ones(51))
    p51[:5] = p51[-5:] = 0.0
    p51 /= p51.sum()
    m51 = np.zeros(51)
    distributional.categorical_projection(z51, 0.3, 0.9, p51, m51)
    assert m51.sum() == pytest.approx(1.0, abs=1e-12)
    assert (m51 * z51).sum() == pytest.approx(0.3 + 0.9 * (p51 * z51).sum(), abs=1e-12)


def test_categorical_cross_entropy_gradient():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal(7)
    m = rng.dirichlet(np.ones(7))
    g = np.zeros(7)
    loss = distributional.categorical_cross_entropy(logits, m, g)
    logp = logits - np.log(np.exp(logits).sum())
    assert loss == pytest.approx(-(m * logp).sum(), rel=1e-12)
    scratch = np.zeros(7)
    num = central_diff(lambda: distributional.categorical_cross_entropy(logits, m, scratch), logits)
    assert rel_err(g, num) < RTOL


def test_categorical_projection_in_float32_keeps_the_mass():
    # A float32 distribution (as the float32 net's softmax gives it) projected into a float32
    # and a float64 target: each sums to 1 within float32 rounding and matches the float64
    # projection of the same numbers.
    rng = np.random.default_rng(11)
    z = np.linspace(-10.0, 10.0, 51)
    for r_t, discount in ((0.3, 0.99), (-4.0, 0.5), (25.0, 0.9), (1.0, 0.0)):
        p32 = rng.dirichlet(np.full(51, 0.3)).astype(np.float32)
        m64, m32 = np.zeros(51), np.zeros(51, np.float32)
        distributional.categorical_projection(z, r_t, discount, p32.astype(np.float64), m64)
        distributional.categorical_projection(z, r_t, discount, p32, m32)
        assert abs(float(p32.astype(np.float64).sum()) - 1.0) < 51 * 2**-24
        assert abs(float(m32.astype(np.float64).sum()) - 1.0) < 2 * 51 * 2**-24
        np.testing.assert_allclose(m32, m64, rtol=0, atol=4 * 2**-24)
        logits = rng.standard_normal(51).astype(np.float32)
        p = np.zeros(51)
        distributional.softmax(logits, p)  # float32 logits, float64 probabilities
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_scaled_noise_is_sign_sqrt_of_normals():
    out = np.zeros(1000)
    noisy.scaled_noise(np.random.default_rng(5), out)
    e = np.random.default_rng(5).standard_normal(1000)
    np.testing.assert_allclose(out, np.sign(e) * np.sqrt(np.abs(e)), rtol=1e-15)


def test_noisy_linear_layer_forward_and_gradients():
    rng = np.random.default_rng(1)
    n_in, n_out, b = 5, 3, 4
    mu_w, sigma_w = rng.standard_normal((n_in, n_out)), rng.standard_normal((n_in, n_out))
    mu_b, sigma_b = rng.standard_normal(n_out), rng.standard_normal(n_out)
    f_in, f_out = rng.standard_normal(n_in), rng.standard_normal(n_out)
    x = rng.standard_normal((b, n_in))
    upstream = rng.standard_normal((b, n_out))
    out = np.zeros((b, n_out))
    s_in, s_out = np.zeros((b, n_in)), np.zeros((b, n_out))

    def f():
        noisy.noisy_linear_forward(mu_w, sigma_w, mu_b, sigma_b, f_in, f_out, x, out, s_in, s_out)
        return float((out * upstream).sum())

    f()
    w = mu_w + sigma_w * np.outer(f_in, f_out)
    np.testing.assert_allclose(out, x @ w + mu_b + sigma_b * f_out, rtol=1e-12)
    grads = [np.full_like(a, 0.25) for a in (mu_w, sigma_w, mu_b, sigma_b, x)]  # accumulate
    noisy.noisy_linear_backward(
        mu_w, sigma_w, f_in, f_out, x, upstream, *grads,
        s_in, s_out, np.zeros((n_in, n_out)), np.zeros((b, n_in)),
    )  # fmt: skip
    for g, a in zip(grads, (mu_w, sigma_w, mu_b, sigma_b, x), strict=True):
        assert rel_err(g - 0.25, central_diff(f, a)) < RTOL
    # Zero noise is the mean layer.
    zin, zout = np.zeros(n_in), np.zeros(n_out)
    noisy.noisy_linear_forward(mu_w, sigma_w, mu_b, sigma_b, zin, zout, x, out, s_in, s_out)
    np.testing.assert_allclose(out, x @ mu_w + mu_b, rtol=1e-12)


@pytest.mark.parametrize("dueling", [False, True], ids=["plain", "dueling"])
@pytest.mark.parametrize("noisy", [False, True], ids=["linear", "noisy"])
@pytest.mark.parametrize("n_atoms", [1, 5], ids=["scalar", "c51"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_qnet_backward_matches_finite_differences(dueling, noisy, n_atoms, activation):
    rng = np.random.default_rng(2)
    net = qn.make_qnet(3, 2, 6, 2, activation, dueling, noisy, n_atoms, -1.0, 1.0)
    params = qn.qnet_init(net, rng, 0.5) + 0.1 * rng.standard_normal(net.n_params)
    noise = np.zeros(net.n_noise)
    qn.sample_noise(net, rng, noise)
    x = rng.standard_normal((4, 3))
    upstream = rng.standard_normal((4, net.n_actions * n_atoms))
    work = qn.qnet_work(net, 6)

    def f():
        return float((qn.qnet_forward(params, net, x, noise, work) * upstream).sum())

    f()
    grad = np.zeros(net.n_params)
    qn.qnet_backward(params, net, noise, work, upstream, grad)
    num = central_diff(f, params)
    assert rel_err(grad, num) < 1e-5  # ReLU kinks are measure-zero; tanh is smooth
    if not noisy:
        assert net.n_noise > 0  # noise is ignored by plain heads: same output with zeros
        out_noisy = qn.qnet_forward(params, net, x, noise, work).copy()
        out_zero = qn.qnet_forward(params, net, x, np.zeros(net.n_noise), work)
        np.testing.assert_array_equal(out_noisy, out_zero)


@pytest.mark.parametrize("dueling", [False, True], ids=["plain", "dueling"])
@pytest.mark.parametrize("noisy", [False, True], ids=["linear", "noisy"])
@pytest.mark.parametrize("n_atoms", [1, 5], ids=["scalar", "c51"])
def test_noise_none_is_the_mean_network(dueling, noisy, n_atoms):
    # noise=None compiles the plain heads only; for a noisy net they are its mean weights: the
    # same outputs as zero noise, and the same gradients (zero noise gives the sigmas none).
    rng = np.random.default_rng(5)
    net = qn.make_qnet(3, 2, 6, 2, "relu", dueling, noisy, n_atoms, -1.0, 1.0)
    params = (qn.qnet_init(net, rng, 0.5) + 0.1 * rng.standard_normal(net.n_params)).astype(
        np.float32
    )
    x = rng.standard_normal((4, 3)).astype(np.float32)
    up = rng.standard_normal((4, net.n_actions * n_atoms)).astype(np.float32)
    work = qn.qnet_work(net, 4, np.float32)
    zeros = np.zeros(net.n_noise, np.float32)
    out_zero = qn.qnet_forward(params, net, x, zeros, work).copy()
    g_zero = np.zeros(net.n_params, np.float32)
    qn.qnet_backward(params, net, zeros, work, up, g_zero)
    out_none = qn.qnet_forward(params, net, x, None, work).copy()
    g_none = np.zeros(net.n_params, np.float32)
    qn.qnet_backward(params, net, None, work, up, g_none)
    np.testing.assert_array_equal(out_none, out_zero)
    np.testing.assert_array_equal(g_none, g_zero)
    # The pointer twins the compiled loops call compute the same.
    fns = qn.qnet_fns(params, net, None, work)
    g_ptr = np.zeros(net.n_params, np.float32)
    _passes_via(fns, params, net, x, None, work, up, g_ptr)
    np.testing.assert_array_equal(qn.qnet_output(net, 4, work), out_none)
    np.testing.assert_array_equal(g_ptr, g_none)


@njit
def _passes_via(fns, params, net, x, noise, work, up, grad):
    fns.forward(params, net, x, noise, work)
    fns.backward(params, net, noise, work, up, grad)


@pytest.mark.parametrize("dueling", [False, True], ids=["plain", "dueling"])
@pytest.mark.parametrize("noisy", [False, True], ids=["linear", "noisy"])
@pytest.mark.parametrize("n_atoms", [1, 5], ids=["scalar", "c51"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_qnet_fns_compile_only_the_nets_kind(dueling, noisy, n_atoms, activation):
    # qnet_fns hands each kind of net passes compiled without what it never runs (a noisy net
    # given noise: no plain-head code; a ReLU torso: no tanh code); they compute what the
    # generic passes compute, to the bit, with and without noise.
    rng = np.random.default_rng(6)
    net = qn.make_qnet(3, 2, 6, 2, activation, dueling, noisy, n_atoms, -1.0, 1.0)
    params = (qn.qnet_init(net, rng, 0.5) + 0.1 * rng.standard_normal(net.n_params)).astype(
        np.float32
    )
    x = rng.standard_normal((4, 3)).astype(np.float32)
    up = rng.standard_normal((4, net.n_actions * n_atoms)).astype(np.float32)
    noise = np.zeros(net.n_noise, np.float32)
    qn.sample_noise(net, rng, noise)
    work = qn.qnet_work(net, 4, np.float32)
    relu = activation == "relu"
    for given in (noise, None):
        out = qn.qnet_forward(params, net, x, given, work).copy()
        grad = np.zeros(net.n_params, np.float32)
        qn.qnet_backward(params, net, given, work, up, grad)
        fns = qn.qnet_fns(params, net, given, work)
        forward, backward = qn._VARIANTS[noisy and given is not None, relu]
        assert (fns.forward.dispatcher, fns.backward.dispatcher) == (forward, backward)
        g_ptr = np.zeros(net.n_params, np.float32)
        _passes_via(fns, params, net, x, given, work, up, g_ptr)
        assert qn.qnet_output(net, 4, work).tobytes() == out.tobytes()
        assert g_ptr.tobytes() == grad.tobytes()
    assert qn._VARIANTS[False, False] == (qn.qnet_forward_into, qn.qnet_backward_into)
    assert qn._VARIANTS[True, True] == (qn.qnet_forward_noisy_relu, qn.qnet_backward_noisy_relu)


@pytest.mark.parametrize("switches", ["plain", "rainbow"])
def test_float32_qnet_agrees_with_float64(switches):
    # The same (rounded) parameters in float32 and float64: outputs and gradients agree to
    # float32 precision, and every array the float32 net touches stays float32.
    rainbow = switches == "rainbow"
    net = qn.make_qnet(4, 3, 32, 2, "relu", rainbow, rainbow, 11 if rainbow else 1, -5.0, 5.0)
    p32 = qn.qnet_init(net, np.random.default_rng(3), 0.5, np.float32)
    p64 = qn.qnet_init(net, np.random.default_rng(3), 0.5, np.float64)
    assert p32.dtype == np.float32 and p32.tobytes() == p64.astype(np.float32).tobytes()
    p64 = p32.astype(np.float64)
    rng = np.random.default_rng(4)
    noise64 = np.zeros(net.n_noise)
    qn.sample_noise(net, rng, noise64)
    noise32 = noise64.astype(np.float32)
    x = rng.standard_normal((8, 4))
    up = rng.standard_normal((8, net.n_actions * net.n_atoms))
    w32, w64 = qn.qnet_work(net, 8, np.float32), qn.qnet_work(net, 8)
    assert w32.buf.dtype == np.float32 and w32.torso.dtype == np.float32
    out32 = qn.qnet_forward(p32, net, x, noise32, w32)
    out64 = qn.qnet_forward(p64, net, x.astype(np.float32).astype(np.float64), noise64, w64)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-5)
    g32, g64 = np.zeros(net.n_params, np.float32), np.zeros(net.n_params)
    qn.qnet_backward(p32, net, noise32, w32, up.astype(np.float32), g32)
    qn.qnet_backward(p64, net, noise64, w64, up, g64)
    assert rel_err(g32.astype(np.float64), g64) < 1e-4


def test_plain_qnet_is_the_4_64_64_2_mlp():
    net = qn.make_qnet(4, 2)
    assert net.n_params == 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2
    params = qn.qnet_init(net, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((3, 4))
    w1 = params[:256].reshape(4, 64)
    b1 = params[256:320]
    w2 = params[320:4416].reshape(64, 64)
    b2 = params[4416:4480]
    w3 = params[4480:4608].reshape(64, 2)
    b3 = params[4608:]
    h = np.maximum(np.maximum(x @ w1 + b1, 0) @ w2 + b2, 0)
    out = qn.qnet_forward(params, net, x, np.zeros(net.n_noise), qn.qnet_work(net, 3))
    np.testing.assert_allclose(out, h @ w3 + b3, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# The Python API: validation, determinism, divergence, Gymnasium
# --------------------------------------------------------------------------------------------

SHORT = {"total_steps": 1_500, "learning_starts": 600, "eval_every": 500, "eval_episodes": 2}


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"n_step": 0}, "n_step"),
        ({"buffer_size": 32, "batch_size": 64}, "buffer_size"),
        ({"distributional": True, "v_min": 5.0, "v_max": 5.0}, "v_min"),
        ({"n_atoms": 1}, "n_atoms"),
        ({"loss": "l1"}, "loss"),
        ({"activation": "gelu"}, "activation"),
        ({"tau": 0.0}, "tau"),
        ({"gamma": 1.5}, "gamma"),
        ({"lr": -1.0}, "lr"),
        ({"per_beta0": 2.0}, "per_beta0"),
        ({"batch_size": 0}, "batch_size"),
        ({"not_a_field": 1}, "not_a_field"),
    ],
)
def test_bad_configs_raise_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        dqn.train(make("CartPole-v1"), overrides, 0)


def test_bad_types_and_envs_raise():
    with pytest.raises(TypeError, match="total_steps"):
        dqn.train(make("CartPole-v1"), {"total_steps": 1.5}, 0)
    with pytest.raises(ValueError, match="discrete"):
        dqn.train(make("Pendulum-v1"), SHORT, 0)
    with pytest.raises(ValueError, match="seed"):
        dqn.train(make("CartPole-v1"), SHORT, -1)
    with pytest.raises(ValueError, match="episodes"):
        dqn.evaluate({}, make("CartPole-v1"), 0)


@pytest.mark.parametrize("switches", [{}, dqn.RAINBOW], ids=["dqn", "rainbow"])
def test_same_seed_same_bytes(switches):
    env = make("CartPole-v1")
    cfg = {**SHORT, **switches}
    a1, h1 = dqn.train(env, cfg, 7)
    a2, h2 = dqn.train(env, cfg, 7)
    a3, _ = dqn.train(env, cfg, 8)
    for k in a1:
        assert a1[k].tobytes() == a2[k].tobytes(), k
    for k in h1:
        assert h1[k].tobytes() == h2[k].tobytes(), k
    assert a1["params"].tobytes() != a3["params"].tobytes()
    assert list(h1) == ["step", "eval_return", "loss", "q_mean", "epsilon", "episodes",
                        "train_return"]  # fmt: skip
    np.testing.assert_array_equal(h1["step"], [500, 1000, 1500])
    assert np.isnan(h1["loss"][0]) and np.all(np.isfinite(h1["loss"][1:]))


@pytest.mark.parametrize("switches", [{}, dqn.RAINBOW], ids=["dqn", "rainbow"])
def test_float32_by_default_same_seed_same_bytes(switches):
    import numbarl

    runs = [numbarl.train("dqn", "CartPole-v1", seed=3, **SHORT, **switches) for _ in range(2)]
    for res in runs:
        assert res.config.dtype == "float32"
        assert res.arrays["params"].dtype == np.float32
        assert res.arrays["target_params"].dtype == np.float32
        assert (res.history["dtype"] == "float32").all()
    assert runs[0].history.to_csv(index=False) == runs[1].history.to_csv(index=False)
    for k in runs[0].arrays:
        assert runs[0].arrays[k].tobytes() == runs[1].arrays[k].tobytes(), k
    assert np.all(np.isfinite(runs[0].history["loss"].to_numpy()[1:]))


def test_float64_on_request_gives_float64_arrays_and_evaluates():
    env = make("CartPole-v1")
    a64, h64 = dqn.train(env, {**SHORT, "dtype": "float64"}, 3)
    a32, h32 = dqn.train(env, SHORT, 3)
    assert a64["params"].dtype == np.float64 and a64["target_params"].dtype == np.float64
    # Same init draws, rounded: the float32 run starts as the rounded float64 one, then the two
    # runs part ways (other roundings, so other updates).
    assert a64["params"].shape == a32["params"].shape
    assert a64["params"].tobytes() != a32["params"].astype(np.float64).tobytes()
    for arrays in (a64, a32):
        assert dqn.evaluate(arrays, env, 2, 0).shape == (2,)
    bad = {**a32, "params": a32["params"].astype(np.float16)}
    with pytest.raises(ValueError, match="float32"):
        dqn.evaluate(bad, env, 2, 0)


def test_bad_dtype_raises_naming_the_field_and_the_choices():
    for value in ("float16", "double", 32):
        with pytest.raises((ValueError, TypeError), match="dtype"):
            dqn.make_dqn_config(None, {"dtype": value})
    with pytest.raises(ValueError, match="float32.*float64"):
        dqn.train(make("CartPole-v1"), {**SHORT, "dtype": "float16"}, 0)


def test_float32_model_saves_and_loads(tmp_path):
    import numbarl

    res = numbarl.train("rainbow", "CartPole-v1", seed=1, **SHORT)
    path = res.save(tmp_path / "rainbow.npz")
    loaded = numbarl.Result.load(path)
    assert loaded.arrays["params"].dtype == np.float32 and loaded.config.dtype == "float32"
    assert loaded.arrays["params"].tobytes() == res.arrays["params"].tobytes()
    np.testing.assert_array_equal(
        numbarl.evaluate(path, episodes=3, seed=5), numbarl.evaluate(res, episodes=3, seed=5)
    )


def test_config_layers_tuned_row_dict_and_overrides():
    env = make("CartPole-v1")
    cfg = dqn.make_dqn_config(env, {"lr": 1e-3}, gamma=0.9)
    assert cfg.lr == 1e-3 and cfg.gamma == 0.9
    assert cfg.batch_size == dqn.TUNED["CartPole-v1"]["batch_size"]  # the tuned row underneath
    assert dqn.make_dqn_config(None, None) == dqn.DQNConfig()
    assert dqn.make_dqn_config(env, dqn.DQNConfig()) == dqn.DQNConfig()  # taken as is
    with pytest.raises(TypeError, match="cfg"):
        dqn.make_dqn_config(env, [("lr", 1.0)])


def test_progress_is_called_after_every_chunk():
    seen = []
    dqn.train(make("CartPole-v1"), SHORT, 0, progress=seen.append)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_one_compiled_signature_per_switch_set_and_dtype():
    env = make("CartPole-v1")
    dqn.train(env, SHORT, 0)
    # Double Q, dueling, n-step and the loss are runtime switches: the same compiled loop.
    dqn.train(env, {**SHORT, "double": True, "dueling": True, "n_step": 2, "loss": "mse"}, 0)
    dqn.train(env, {**SHORT, **dqn.RAINBOW, "loss": "mse", "lr": 1}, 0)
    # Another env (other functions, params and state_dim) reaches the same compiled loop: the
    # env comes in as function pointers typed by their signature.
    dqn.train(make("Acrobot-v1"), {**SHORT, "total_steps": 500}, 0)
    # Prioritized replay (a SumTree or None) and noisy heads (noise arrays or None) are compile-
    # time switches, so that plain DQN compiles no sum-tree or noise code: the loop has one
    # signature per dtype and such switch set (other tests in this process may have compiled
    # other sets or the float64 loop), and the greedy evaluation one per dtype and noise type.
    noise = dqn.DQNState._fields.index("noise")
    seen = set()
    for sig in dqn.dqn_run_control.signatures:
        key = (str(sig[5].types[0].dtype), str(sig[7]), str(sig[5].types[noise]))
        assert key not in seen, key
        seen.add(key)
    assert ("float32", "none", "none") in seen
    assert any(k[0] == "float32" and k[1] != "none" and k[2] != "none" for k in seen)  # Rainbow
    greedy = [(str(sig[5].dtype), str(sig[9])) for sig in dqn.greedy_returns.signatures]
    assert len(greedy) == len(set(greedy)), greedy


def test_nan_raises_training_diverged_with_partial_results():
    env = make("CartPole-v1")
    cfg = {**SHORT, "lr": 1e300, "max_grad_norm": 0.0}
    with pytest.raises(TrainingDiverged, match=r"update \d+ \(env step \d+\)") as info:
        dqn.train(env, cfg, 0)
    err = info.value
    assert err.arrays["params"].shape == (4610,)
    np.testing.assert_array_equal(err.history["step"], [500])  # the chunk before the update


def test_gymnasium_env_runs_through_the_python_loop():
    gymnasium = pytest.importorskip("gymnasium")
    env = gymnasium.make("CartPole-v1")
    arrays, hist = dqn.train(env, {**SHORT, "total_steps": 1_000}, 0)
    np.testing.assert_array_equal(hist["step"], [500, 1000])
    assert np.all(hist["eval_return"] >= 8.0) and np.isfinite(hist["loss"][1])
    returns = dqn.evaluate(arrays, env, 3, 0)
    assert returns.shape == (3,) and np.all(returns >= 8.0)
    # The same weights score the same on numbarl's CartPole (same dynamics, other start states).
    assert dqn.evaluate(arrays, make("CartPole-v1"), 3, 0).shape == (3,)


# --------------------------------------------------------------------------------------------
# Learning (slow)
# --------------------------------------------------------------------------------------------


def _solved(arrays, env, seed) -> float:
    return float(dqn.evaluate(arrays, env, 20, 10_000 + seed).mean())


@pytest.mark.slow
def test_dqn_solves_cartpole_in_two_of_three_seeds():
    env = make("CartPole-v1")
    scores = [_solved(dqn.train(env, None, s)[0], env, s) for s in range(3)]
    assert sum(s >= 475.0 for s in scores) >= 2, scores


@pytest.mark.slow
def test_rainbow_solves_cartpole_in_two_of_three_seeds():
    env = make("CartPole-v1")
    cfg = {**dqn.TUNED["CartPole-v1"], **dqn.RAINBOW}
    scores = [_solved(dqn.train(env, cfg, s)[0], env, s) for s in range(3)]
    assert sum(s >= 475.0 for s in scores) >= 2, scores


@pytest.mark.slow
def test_nstep_dqn_reaches_minus_100_on_acrobot():
    env = make("Acrobot-v1")
    arrays, _ = dqn.train(env, None, 0)
    assert _solved(arrays, env, 0) >= -100.0
