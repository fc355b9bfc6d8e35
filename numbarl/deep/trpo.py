"""Trust Region Policy Optimization (Schulman et al. 2015), on MLP policies.

Each update maximises the surrogate L(theta) = mean_t [pi_theta(a_t|s_t) / pi_old(a_t|s_t) A_t]
subject to mean_t KL(pi_old(.|s_t) || pi_theta(.|s_t)) <= delta (``max_kl``), eq. 14 of the paper,
by the paper's Appendix C:

1. g = grad L at theta_old (the policy gradient with GAE advantages A_t, Schulman et al. 2016);
2. s ~= F^-1 g by ``cg_iters`` steps of conjugate gradient, F the Fisher information matrix
   (= the Hessian of the mean KL at theta_old) plus ``damping`` * I;
3. full step beta s with beta = sqrt(2 delta / s^T F s), the largest step whose quadratic KL
   model equals delta;
4. backtracking line search: try theta_old + 0.5^k beta s for k = 0, 1, ...; accept the first
   that improves the surrogate and keeps the exact mean KL <= delta, else keep theta_old.

The critic V_phi is fitted by Adam on the GAE returns A_t + V(s_t) (minibatch epochs).

Fisher-vector products, exactly and without finite differences. For a policy with head output
z_t = f_theta(s_t) (logits, or Gaussian means; plus a state-independent log-std sigma),

    F v = (1/T) sum_t J_t^T M_t J_t v,

J_t = dz_t/dtheta and M_t the Fisher information of the head's distribution in z: for a
categorical over logits M = diag(p) - p p^T, for a Gaussian M = diag(1/sigma^2) on the means and
2 I on the log-stds (no cross terms). This is also the exact Hessian of the mean KL at
theta = theta_old: the KL's other Hessian term is weighted by dKL/dz, which is 0 there.
J_t v is computed by forward-mode differentiation through the MLP (``mlp_jvp``: the tangent of
each layer, dz = dx W + x dW + db, times the activation's derivative), M_t by the closed forms
above, and J^T (.) by ``mlp_backward``: one product costs a forward, a forward-mode and a backward
pass over the batch (in chunks of ``CHUNK`` rows).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit, typeof, types
from numba.extending import overload

from numbarl.config import merge_config
from numbarl.deep.pg_common import (
    CHUNK,
    FitWork,
    Optimizers,
    fit_value,
    fit_work,
    head_log_prob,
    head_log_prob_grad,
    make_optimizers,
    policy_log_prob,
    policy_workspace,
    standardize,
)
from numbarl.deep.pg_train import evaluate, hyper_record, train_policy_gradient
from numbarl.deep.rollout import (
    CATEGORICAL,
    Policy,
    Rollout,
    actor_params,
    flat_batch,
    rollout_gae,
)
from numbarl.deep.train import Progress, TrainOutput
from numbarl.envs.control.core import FunctionPointer
from numbarl.nn.dual import dual
from numbarl.nn.heads import (
    categorical_entropy,
    categorical_kl,
    gaussian_entropy,
    gaussian_kl,
    log_softmax,
)
from numbarl.nn.kernel import pointer_kernel
from numbarl.nn.mlp import DTYPES, TANH, mlp_n_params, mlp_output, net_dtype
from numbarl.nn.pointers import Pointer, cache_numba_type, net_fns
from numbarl.validation import AT_LEAST_ONE as _ONE
from numbarl.validation import NON_NEGATIVE as _NONNEG
from numbarl.validation import POSITIVE as _POS

# Tuned configs per env id (as rl-zoo keeps them), used when the user sets nothing.
TUNED: dict[str, dict[str, Any]] = {
    "CartPole-v1": dict(
        total_steps=100_000,
        n_envs=4,
        n_steps=512,
        eval_every=4096,
        stop_at_return=490.0,
    ),
    # Greedy return -227, -203, -201 after 100k steps (float32; fresh seeds 100-102; the slow test
    # test_trpo_learns_pendulum_with_its_tuned_row in tests/test_trpo.py).
    "Pendulum-v1": dict(
        total_steps=100_000,
        n_envs=2,
        n_steps=1024,
        gamma=0.9,
        gae_lambda=0.95,
        max_kl=0.02,
        obs_norm=True,
        log_std_init=-0.5,
        eval_every=10_240,
        eval_episodes=10,
    ),
}


class TRPOConfig(NamedTuple):
    """TRPO hyperparameters (SB3's / the paper's defaults unless noted); fields are CSV columns.

    ``max_kl``: delta, the trust region's mean-KL radius. ``damping``: added to F's diagonal.
    ``cg_iters``: conjugate-gradient iterations. ``backtrack_coef``/``max_backtracks``: the line
    search's shrink factor and number of tries. ``lr_value``, ``value_epochs``,
    ``value_minibatches``: the critic's Adam fit on the GAE returns. ``norm_adv``: standardise
    advantages over the batch. ``hidden``/``n_layers``: width and number of hidden layers of
    actor and critic. ``eval_every``: env steps between greedy evaluations (history rows),
    whole updates. ``stop_at_return``: stop once a greedy evaluation's mean reaches it.
    ``dtype``: the networks' precision; the policy gradient, the conjugate gradient, the
    Fisher-vector products' sums and the line search's surrogate and KL stay float64."""

    total_steps: int = 200_000
    n_envs: int = 4
    n_steps: int = 512
    gamma: float = 0.99
    gae_lambda: float = 0.95
    max_kl: float = 0.01
    damping: float = 0.1
    cg_iters: int = 10
    backtrack_coef: float = 0.8
    max_backtracks: int = 10
    norm_adv: bool = True
    lr_value: float = 1e-3
    value_epochs: int = 10
    value_minibatches: int = 16
    hidden: int = 64
    n_layers: int = 2
    activation: str = "tanh"
    log_std_init: float = 0.0
    obs_norm: bool = False
    eval_every: int = 10_000
    eval_episodes: int = 20
    stop_at_return: float = math.inf
    dtype: str = "float32"

    _choices = {"activation": ("tanh", "relu"), "dtype": DTYPES}
    _ranges = {
        "n_envs": _ONE,
        "n_steps": _ONE,
        "max_kl": _POS,
        "damping": _NONNEG,
        "cg_iters": _ONE,
        "backtrack_coef": (0.0, 1.0, False, False),
        "max_backtracks": _ONE,
        "value_epochs": _ONE,
        "value_minibatches": _ONE,
        "hidden": _ONE,
        "n_layers": _NONNEG,
        "eval_every": _ONE,
        "eval_episodes": _ONE,
    }


class TRPOHyper(NamedTuple):
    """The numeric hyperparameters compiled code reads."""

    gamma: float
    gae_lambda: float
    max_kl: float
    damping: float
    cg_iters: int
    backtrack_coef: float
    max_backtracks: int
    norm_adv: bool
    lr_value: float
    value_epochs: int
    value_minibatches: int


# Columns of the per-update metrics array. ``backtracks``: the accepted k (-1: step rejected).
METRICS = ("surrogate_gain", "kl", "backtracks", "value_loss", "entropy")

# ---------------------------------------------------------------------------------------------
# Conjugate gradient (Appendix C; Nocedal & Wright, Algorithm 5.2)
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True)
def _dot(a: np.ndarray, b: np.ndarray) -> float:
    total = 0.0
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


@pointer_kernel(cache=True)
def cg_step(x: np.ndarray, r: np.ndarray, p: np.ndarray, ap: np.ndarray, rr: float) -> float:
    """One conjugate-gradient iteration for A x = b, in place; returns the new r.r.

    x the iterate, r = b - A x the residual, p the search direction, ap = A p (computed by the
    caller, so the same loop serves an explicit matrix and a Fisher-vector product), rr = r.r.
    alpha = rr / p.Ap; x += alpha p; r -= alpha Ap; p = r + (r_new.r_new / rr) p."""
    alpha = rr / _dot(p, ap)
    for k in range(x.shape[0]):
        x[k] += alpha * p[k]
        r[k] -= alpha * ap[k]
    rr_new = _dot(r, r)
    beta = rr_new / rr
    for k in range(x.shape[0]):
        p[k] = r[k] + beta * p[k]
    return rr_new


@njit(cache=True)
def conjugate_gradient(a: np.ndarray, b: np.ndarray, iters: int, tol: float) -> np.ndarray:
    """Approximate solution x float64[n] of A x = b for symmetric positive-definite A float64[n, n],
    from x = 0, stopping after ``iters`` iterations or once r.r < tol."""
    x = np.zeros(b.shape[0])
    r = b.copy()
    p = b.copy()
    rr = _dot(r, r)
    ap = np.empty(b.shape[0])
    for _ in range(iters):
        if rr < tol:
            break
        for i in range(a.shape[0]):
            ap[i] = _dot(a[i], p)
        rr = cg_step(x, r, p, ap, rr)
    return x


# ---------------------------------------------------------------------------------------------
# Forward-mode derivative of the MLP and the Fisher-vector product
# ---------------------------------------------------------------------------------------------


@dual
def jvp_workspace(layout: np.ndarray, batch: int, dtype=np.float64) -> np.ndarray:  # noqa: ANN001
    """Scratch for ``mlp_jvp`` on up to ``batch`` rows: three [batch, widest] buffers in the
    parameters' dtype (``params.dtype``); from Python, NumPy (``numbarl.nn.dual``)."""
    widest = 0
    for layer in range(layout.shape[0]):
        widest = max(widest, layout[layer, 1])
    return np.zeros(3 * batch * widest, dtype)


@pointer_kernel(cache=True)
def mlp_jvp(
    params: np.ndarray,
    layout: np.ndarray,
    act: int,
    batch: int,
    cache: np.ndarray,
    v: np.ndarray,
    scratch: np.ndarray,
) -> np.ndarray:
    """Directional derivative d output / d params . v, float64[batch, n_out] (a view of scratch).

    Forward-mode through the activations kept in ``cache`` by the last ``mlp_forward`` on
    ``batch`` rows (input copy, then each layer's output, in order). v [P] (the parameters'
    dtype) is a direction in parameter space; scratch from ``jvp_workspace``. Per layer, with x
    its input and t its input's tangent: dz = t W + x dW + db; hidden layers multiply by
    tanh' = 1 - y^2 or relu' = [y > 0]."""
    n_layers = layout.shape[0]
    widest = 0
    for layer in range(n_layers):
        widest = max(widest, layout[layer, 1])
    size = batch * widest
    offset = 0  # start of the current layer's input in cache
    t_in = scratch[0:0].reshape((batch, 0))
    for layer in range(n_layers):
        n_in, n_out = layout[layer, 0], layout[layer, 1]
        w_off, b_off = layout[layer, 2], layout[layer, 3]
        x = cache[offset : offset + batch * n_in].reshape((batch, n_in))
        y = cache[offset + batch * n_in : offset + batch * (n_in + n_out)].reshape((batch, n_out))
        buf = (layer % 2) * size
        t_out = scratch[buf : buf + batch * n_out].reshape((batch, n_out))
        dw = v[w_off : w_off + n_in * n_out].reshape((n_in, n_out))
        np.dot(x, dw, t_out)
        if layer > 0:  # the network's input has no tangent
            tmp = scratch[2 * size : 2 * size + batch * n_out].reshape((batch, n_out))
            w = params[w_off : w_off + n_in * n_out].reshape((n_in, n_out))
            np.dot(t_in, w, tmp)
            for b in range(batch):
                for j in range(n_out):
                    t_out[b, j] += tmp[b, j]
        for b in range(batch):
            for j in range(n_out):
                t_out[b, j] += v[b_off + j]
        if layer < n_layers - 1:
            if act == TANH:
                for b in range(batch):
                    for j in range(n_out):
                        t_out[b, j] *= 1.0 - y[b, j] * y[b, j]
            else:
                for b in range(batch):
                    for j in range(n_out):
                        if y[b, j] <= 0.0:
                            t_out[b, j] = 0.0
        offset += batch * n_in
        t_in = t_out
    return t_in


def backward_sum(net, theta, layout, act, ws, grad_out, grad, out):  # noqa: ANN001, ANN201
    """out float64[P] += dL/dtheta of the last forward pass on ``ws`` by ``net.backward`` (the
    network's own backward pass, ``NetFns.backward``): for a float64 network straight into
    ``out``; for a float32 one into ``grad`` float32[P] (zeroed first), then added, so each
    64-row chunk's gradient is in the network's dtype and the sum over chunks in float64 (one
    backward kernel per dtype, shared with the critic's fit: a second one summing into float64
    cost ~1 s of a cold start). Compiled code only."""
    raise NotImplementedError("backward_sum is called from compiled code only")


@overload(backward_sum)
def _backward_sum(net, theta, layout, act, ws, grad_out, grad, out):  # noqa: ANN001, ANN202
    if theta.dtype == types.float64:

        def direct(net, theta, layout, act, ws, grad_out, grad, out):  # noqa: ANN001, ANN202
            net.backward(theta, layout, act, ws, grad_out, out)

        return direct

    def summed(net, theta, layout, act, ws, grad_out, grad, out):  # noqa: ANN001, ANN202
        for k in range(grad.shape[0]):
            grad[k] = 0.0
        net.backward(theta, layout, act, ws, grad_out, grad)
        for k in range(grad.shape[0]):
            out[k] += grad[k]

    return summed


@njit(cache=True, inline="always")
def fisher_vector_product(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    v: np.ndarray,
    damping: float,
    ws: np.ndarray,
    jvp_ws: np.ndarray,
    out: np.ndarray,
    net,  # noqa: ANN001
) -> None:
    """out float64[P_actor] = F v + damping v, F = (1/T) sum_t J_t^T M_t J_t (module docstring).

    obs [T, obs_dim]; v float64[P_actor]; ws a ``policy_workspace(layout, T)`` and jvp_ws
    a ``jvp_workspace(layout, min(T, CHUNK))``. Per chunk of ``CHUNK`` rows: a forward pass,
    J v by ``mlp_jvp`` (in the network's dtype, on v rounded to it), M J v in closed form
    (float64), J^T (.) by a backward pass summed into the float64 ``out`` (``backward_sum``):
    each chunk's gradient in the network's dtype, the sum over chunks in float64. ``net``: the
    ``ActorFns`` (``actor_fns(theta.dtype)``) whose pointers run the passes."""
    p = mlp_n_params(layout)
    batch = obs.shape[0]
    n_out = layout[layout.shape[0] - 1, 1]
    vp = v[:p].astype(theta.dtype)
    grad = np.empty(p, theta.dtype)
    for k in range(out.shape[0]):
        out[k] = 0.0
    for start in range(0, batch, CHUNK):
        end = min(start + CHUNK, batch)
        rows = end - start
        net.forward(theta[:p], layout, act, obs[start:end], ws)
        head = mlp_output(layout, end - start, ws)
        u = mlp_jvp(theta[:p], layout, act, rows, ws, vp, jvp_ws)  # J v, [rows, n_out]
        mu = np.empty((rows, n_out))  # M J v / T
        if continuous:
            for a in range(n_out):
                inv_var = np.exp(-2.0 * theta[p + a]) / batch
                for b in range(rows):
                    mu[b, a] = u[b, a] * inv_var
        else:
            logp = log_softmax(head)
            for b in range(rows):
                pu = 0.0
                for a in range(n_out):
                    pu += np.exp(logp[b, a]) * u[b, a]
                for a in range(n_out):
                    mu[b, a] = np.exp(logp[b, a]) * (u[b, a] - pu) / batch
        backward_sum(net, theta[:p], layout, act, ws, mu, grad, out[:p])
    if continuous:
        for a in range(n_out):
            out[p + a] = 2.0 * v[p + a]
    for k in range(out.shape[0]):
        out[k] += damping * v[k]


@njit(cache=True, inline="always")
def natural_gradient(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    g: np.ndarray,
    damping: float,
    cg_iters: int,
    ws: np.ndarray,
    jvp_ws: np.ndarray,
    net,  # noqa: ANN001
) -> tuple[np.ndarray, float]:
    """(s, s^T F s): s ~= (F + damping I)^-1 g by ``cg_iters`` CG iterations with exact
    Fisher-vector products on obs float64[T, obs_dim]; the quadratic form includes the damping.
    ``net`` as in ``fisher_vector_product``."""
    x = np.zeros(g.shape[0])
    r = g.copy()
    d = g.copy()
    fd = np.empty(g.shape[0])
    rr = _dot(r, r)
    it = 0
    while True:  # F d per CG iteration, then F x for the quadratic form
        done = it == cg_iters or rr < 1e-10
        # one call site: each inlines (Numba IR) a copy of the product's code
        fisher_vector_product(
            theta, layout, act, continuous, obs, x if done else d, damping, ws, jvp_ws, fd, net
        )
        if done:
            return x, _dot(x, fd)
        rr = cg_step(x, r, d, fd, rr)
        it += 1


# ---------------------------------------------------------------------------------------------
# Surrogate, KL and the line search
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def policy_head(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    obs: np.ndarray,
    ws: np.ndarray,
    net,  # noqa: ANN001
) -> np.ndarray:
    """The policy's head output (logits or means) float64[T, n_out], a new array (float64
    whatever the network's dtype, so the line search's sums run in float64). ``net``: the
    ``ActorFns`` (or any record with its ``forward``)."""
    p = mlp_n_params(layout)
    batch = obs.shape[0]
    head = np.empty((batch, layout[layout.shape[0] - 1, 1]))
    for start in range(0, batch, CHUNK):
        end = min(start + CHUNK, batch)
        net.forward(theta[:p], layout, act, obs[start:end], ws)
        out = mlp_output(layout, end - start, ws)
        # element copy: ``head[start:end] = out`` compiles Numba's shape-error formatting
        for i in range(end - start):
            for j in range(out.shape[1]):
                head[start + i, j] = out[i, j]
    return head


@njit(cache=True, inline="always")
def surrogate_and_kl(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    old_log_probs: np.ndarray,
    old_head: np.ndarray,
    old_log_std: np.ndarray,
    ws: np.ndarray,
    net,  # noqa: ANN001
) -> tuple[float, float]:
    """(L(theta), mean KL(pi_old || pi_theta)) on a batch of T steps.

    L = mean_t exp(log pi_theta(a_t|s_t) - old_log_probs_t) A_t (eq. 14's objective);
    old_head float64[T, n_out] the old policy's logits/means, old_log_std float64[A] its log-std
    (ignored, may be empty, for a categorical policy)."""
    p = mlp_n_params(layout)
    head = policy_head(theta, layout, act, obs, ws, net)
    logp = head_log_prob(continuous, head, theta[p:], actions)
    if continuous:
        kl = gaussian_kl(old_head, old_log_std, head, theta[p:])
    else:
        kl = categorical_kl(old_head, head)
    batch = logp.shape[0]
    surr = 0.0
    mean_kl = 0.0
    for t in range(batch):
        surr += np.exp(logp[t] - old_log_probs[t]) * advantages[t]
        mean_kl += kl[t]
    return surr / batch, mean_kl / batch


@njit(cache=True, inline="always")
def line_search(
    theta_old: np.ndarray,
    full_step: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    old_log_probs: np.ndarray,
    max_kl: float,
    backtrack_coef: float,
    max_backtracks: int,
    ws: np.ndarray,
    theta_out: np.ndarray,
    net,  # noqa: ANN001
) -> tuple[int, float, float]:
    """Backtracking line search of TRPO (Appendix C): theta_out = theta_old + coef^k full_step
    for the first k < max_backtracks with surrogate improvement > 0 and mean KL <= max_kl.

    If no k qualifies theta_out = theta_old. Returns (k accepted or -1, its mean KL, its
    surrogate improvement L(theta_out) - L(theta_old)); (-1, 0.0, 0.0) when rejected."""
    p = mlp_n_params(layout)
    old_head = policy_head(theta_old, layout, act, obs, ws, net)
    old_log_std = theta_old[p:].copy()
    surr_old = 0.0
    frac = 1.0
    # k = -1 evaluates L(theta_old); one call site: each inlines a copy of surrogate_and_kl
    for k in range(-1, max_backtracks):
        if k >= 0:
            for i in range(theta_old.shape[0]):
                theta_out[i] = theta_old[i] + frac * full_step[i]
        surr, kl = surrogate_and_kl(
            theta_old if k < 0 else theta_out, layout, act, continuous, obs, actions, advantages,
            old_log_probs, old_head, old_log_std, ws, net,
        )  # fmt: skip
        if k < 0:
            surr_old = surr
            continue
        improve = surr - surr_old
        if kl <= max_kl and improve > 0.0 and np.isfinite(surr):
            return k, kl, improve
        frac *= backtrack_coef
    for i in range(theta_old.shape[0]):
        theta_out[i] = theta_old[i]
    return -1, 0.0, 0.0


@njit(cache=True, inline="always")
def policy_terms(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    ws: np.ndarray,
    net,  # noqa: ANN001
    old_log_probs: np.ndarray,
    g: np.ndarray,
) -> float:
    """What an update needs at theta = theta_old before the natural step, from one forward
    pass per chunk of ``CHUNK`` rows: writes old_log_probs float64[T] = log pi_old(a_t|s_t),
    sets g float64[P_actor] = grad L = (1/T) sum_t A_t grad log pi(a_t|s_t) (float64 whatever
    theta's dtype: the conjugate gradient's right-hand side; ``pg_common.policy_log_prob_grad``
    with weights A_t / T) and returns the mean entropy of pi_old over obs (the Gaussian's is
    state-free). ``net`` as in ``fisher_vector_product``."""
    p = mlp_n_params(layout)
    batch = obs.shape[0]
    w = advantages / batch
    grad = np.empty(p, theta.dtype)
    for k in range(g.shape[0]):
        g[k] = 0.0
    entropy = 0.0
    for start in range(0, batch, CHUNK):
        end = min(start + CHUNK, batch)
        net.forward(theta[:p], layout, act, obs[start:end], ws)
        out = mlp_output(layout, end - start, ws)
        lp = head_log_prob(continuous, out, theta[p:], actions[start:end])
        for i in range(end - start):
            old_log_probs[start + i] = lp[i]
        grad_out = np.zeros(out.shape)
        if not continuous:
            entropy += categorical_entropy(out).sum()
        head_log_prob_grad(
            continuous, out, theta[p:], actions[start:end], w[start:end], grad_out, g[p:]
        )
        backward_sum(net, theta[:p], layout, act, ws, grad_out, grad, g[:p])
    return gaussian_entropy(theta[p:]) if continuous else entropy / batch


# The per-head kernels an update calls through pointers (``TRPOFns``): each inlines the
# functions above with ``continuous`` a constant, so a run compiles only its head's code (a
# CartPole run no Gaussian kernels), and each compiles as a unit of its own, alongside the others
# on a cold cache (``numbarl.precompile``). A pointer-called function cannot raise: results go
# into the last argument (preallocated by the update), and the kernels' own divisions follow
# NumPy's error model (no ZeroDivisionError; ``cg_step``'s divisors, p.Ap > 0 if damping > 0 and
# r.r >= 1e-10, are nonzero while CG runs).


@pointer_kernel(cache=True, error_model="numpy")
def policy_terms_categorical(theta, layout, act, obs, actions, advantages, ws, net, logp, g):  # noqa: ANN001, ANN201
    """``policy_terms`` of a categorical head."""
    return policy_terms(theta, layout, act, False, obs, actions, advantages, ws, net, logp, g)


@pointer_kernel(cache=True, error_model="numpy")
def policy_terms_gaussian(theta, layout, act, obs, actions, advantages, ws, net, logp, g):  # noqa: ANN001, ANN201
    """``policy_terms`` of a Gaussian head."""
    return policy_terms(theta, layout, act, True, obs, actions, advantages, ws, net, logp, g)


@pointer_kernel(cache=True, error_model="numpy")
def natural_gradient_categorical(
    theta, layout, act, obs, g, damping, cg_iters, ws, jvp_ws, net, s,
):  # fmt: skip  # noqa: ANN001, ANN201
    """``natural_gradient`` of a categorical head: s into ``s``, returns s^T F s."""
    x, sfs = natural_gradient(theta, layout, act, False, obs, g, damping, cg_iters, ws, jvp_ws, net)
    for k in range(s.shape[0]):
        s[k] = x[k]
    return sfs


@pointer_kernel(cache=True, error_model="numpy")
def natural_gradient_gaussian(
    theta, layout, act, obs, g, damping, cg_iters, ws, jvp_ws, net, s,
):  # fmt: skip  # noqa: ANN001, ANN201
    """``natural_gradient`` of a Gaussian head: s into ``s``, returns s^T F s."""
    x, sfs = natural_gradient(theta, layout, act, True, obs, g, damping, cg_iters, ws, jvp_ws, net)
    for k in range(s.shape[0]):
        s[k] = x[k]
    return sfs


@pointer_kernel(cache=True, error_model="numpy")
def line_search_categorical(
    theta_old, full_step, layout, act, obs, actions, advantages, old_log_probs, max_kl,
    backtrack_coef, max_backtracks, ws, theta_out, net,
):  # fmt: skip  # noqa: ANN001, ANN201
    """``line_search`` of a categorical head."""
    return line_search(
        theta_old, full_step, layout, act, False, obs, actions, advantages, old_log_probs, max_kl,
        backtrack_coef, max_backtracks, ws, theta_out, net,
    )  # fmt: skip


@pointer_kernel(cache=True, error_model="numpy")
def line_search_gaussian(
    theta_old, full_step, layout, act, obs, actions, advantages, old_log_probs, max_kl,
    backtrack_coef, max_backtracks, ws, theta_out, net,
):  # fmt: skip  # noqa: ANN001, ANN201
    """``line_search`` of a Gaussian head."""
    return line_search(
        theta_old, full_step, layout, act, True, obs, actions, advantages, old_log_probs, max_kl,
        backtrack_coef, max_backtracks, ws, theta_out, net,
    )  # fmt: skip


@cache_numba_type
class ActorFns(NamedTuple):
    """The actor's passes as pointers for TRPO's kernels: ``NetFns.forward`` and
    ``NetFns.backward`` of the network's dtype (the policy gradient and the Fisher-vector
    products are summed in float64 over chunks whatever that dtype: ``backward_sum``)."""

    forward: FunctionPointer
    backward: FunctionPointer


_ACTOR_FNS: dict[str, ActorFns] = {}


def actor_fns(dtype: np.dtype | str) -> ActorFns:
    """The ``ActorFns`` of networks in ``dtype``; built once per process and dtype."""
    dt = net_dtype(dtype)
    if dt.name not in _ACTOR_FNS:
        net = net_fns(dt)
        _ACTOR_FNS[dt.name] = ActorFns(net.forward, net.backward)
    return _ACTOR_FNS[dt.name]


@cache_numba_type
class TRPOFns(NamedTuple):
    """What ``trpo_update`` calls through pointers: ``actor`` (the passes inside the kernels),
    the run's head's ``policy_terms_<head>``, ``natural_gradient_<head>`` and
    ``line_search_<head>``, and ``critic`` (``pg_common.fit_value``, the critic's Adam fit)."""

    actor: ActorFns
    terms: FunctionPointer
    natural: FunctionPointer
    search: FunctionPointer
    critic: FunctionPointer


def update_fns(policy: Policy, opt: Optimizers) -> TRPOFns:
    """``TRPOFns`` for ``policy``'s dtype and head and ``opt``'s critic state and networks."""
    actor = actor_fns(policy.params.dtype)
    cat = int(policy.head[0]) == CATEGORICAL
    theta, layout = typeof(policy.params), typeof(policy.actor_layout)
    obs = types.Array(theta.dtype, 2, "C")
    f8, i8 = types.float64, types.int64
    v64, m64 = types.Array(f8, 1, "C"), types.Array(f8, 2, "C")
    a = typeof(actor)
    rng = typeof(np.random.default_rng(0))
    terms_sig = f8(theta, layout, i8, obs, m64, v64, theta, a, v64, v64)
    natural_sig = f8(theta, layout, i8, obs, v64, f8, i8, theta, theta, a, v64)
    search_sig = types.Tuple((i8, f8, f8))(
        theta, v64, layout, i8, obs, m64, v64, v64, f8, f8, i8, theta, theta, a
    )
    fit = typeof(fit_work(policy, 1, 1))  # its Numba type holds dtypes and ranks, not sizes
    critic_sig = f8(
        typeof(policy), obs, v64, typeof(opt.critic), f8, i8, i8, rng, fit, typeof(opt.net)
    )
    return TRPOFns(
        actor,
        Pointer(policy_terms_categorical if cat else policy_terms_gaussian, terms_sig),
        Pointer(natural_gradient_categorical if cat else natural_gradient_gaussian, natural_sig),
        Pointer(line_search_categorical if cat else line_search_gaussian, search_sig),
        Pointer(fit_value, critic_sig),
    )


# ---------------------------------------------------------------------------------------------
# One TRPO update and the compiled training loop
# ---------------------------------------------------------------------------------------------


@pointer_kernel(cache=True)
def trpo_update(
    policy: Policy,
    buf: Rollout,
    opt: Optimizers,
    hp: TRPOHyper,
    fns: TRPOFns,
    work: TRPOWork,
    update: int,
    rng: np.random.Generator,
    metrics: np.ndarray,
) -> None:
    """One TRPO update on ``buf`` (steps 1-4 of the module docstring), then the critic's fit.

    ``opt.critic`` is the critic's Adam (``opt.actor`` is unused: the actor moves by the natural
    gradient step); ``fns`` from ``update_fns`` (the head's kernels and the critic's fit, called
    through its pointers); ``work`` from ``trpo_work`` for this buffer's batch (for another
    batch nothing is updated and the metrics are NaN: a pointer kernel cannot raise).
    ``metrics`` float64[5] receives ``METRICS``."""
    obs, actions = flat_batch(buf)
    batch = obs.shape[0]
    adv2, ret2 = rollout_gae(buf, hp.gamma, hp.gae_lambda, 1.0)
    adv, ret = adv2.reshape(batch), ret2.reshape(batch)
    if hp.norm_adv:
        standardize(adv, True)
    theta, layout, act, _ = actor_params(policy)
    theta_old, ws, jvp_ws, old_logp = work.theta_old, work.ws, work.jvp_ws, work.old_log_probs
    g, s, full_step = work.g, work.s, work.full_step
    if old_logp.shape[0] != batch or theta_old.shape[0] != theta.shape[0]:
        metrics[:] = np.nan  # a work for another batch: no update
        return
    for i in range(theta.shape[0]):
        theta_old[i] = theta[i]
    metrics[4] = fns.terms(theta_old, layout, act, obs, actions, adv, ws, fns.actor, old_logp, g)
    sfs = fns.natural(
        theta_old, layout, act, obs, g, hp.damping, hp.cg_iters, ws, jvp_ws, fns.actor, s
    )
    scale = math.sqrt(2.0 * hp.max_kl / sfs) if sfs > 0.0 else 0.0
    for i in range(s.shape[0]):  # beta s: the quadratic model's KL equals max_kl
        full_step[i] = scale * s[i]
    k, kl, gain = fns.search(
        theta_old, full_step, layout, act, obs, actions, adv, old_logp, hp.max_kl,
        hp.backtrack_coef, hp.max_backtracks, ws, theta, fns.actor,
    )  # fmt: skip
    metrics[0] = gain
    metrics[1] = kl
    metrics[2] = k
    metrics[3] = fns.critic(
        policy, obs, ret, opt.critic, hp.lr_value, hp.value_epochs, hp.value_minibatches, rng,
        work.fit, opt.net,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Python API
# ---------------------------------------------------------------------------------------------


def make_trpo_config(
    env: Any = None, cfg: TRPOConfig | dict | None = None, **overrides: Any
) -> TRPOConfig:
    """A checked ``TRPOConfig``: defaults, then ``TUNED[env id]`` when ``cfg`` is None or a dict
    (dict values and ``overrides`` win)."""
    return merge_config(TRPOConfig, TUNED, env, cfg, overrides)


class TRPOWork(NamedTuple):
    """``trpo_update``'s arrays for batches of ``batch`` steps (``trpo_work``): ``theta_old``
    (the actor's parameters before the step, their dtype), the chunked passes' workspaces
    ``ws`` (``policy_workspace``) and ``jvp_ws`` (``jvp_workspace``), ``old_log_probs``
    float64[batch], float64[P] the gradient ``g``, the natural direction ``s`` and the
    ``full_step``, and the critic fit's ``fit`` (``pg_common.FitWork``).

    Allocated once per run by NumPy in Python: allocating them in the update compiled Numba's
    ``np.empty``/``np.zeros`` and the workspace functions into it (a larger cold compile) and
    allocated them again at every update."""

    theta_old: np.ndarray
    ws: np.ndarray
    jvp_ws: np.ndarray
    old_log_probs: np.ndarray
    g: np.ndarray
    s: np.ndarray
    full_step: np.ndarray
    fit: FitWork


def trpo_work(policy: Policy, batch: int, minibatches: int) -> TRPOWork:
    """A ``TRPOWork`` for updates on ``batch`` steps of ``policy`` (the critic fit in
    ``minibatches``)."""
    theta = actor_params.py_func(policy)[0]  # NumPy in Python: nothing compiled here
    layout, n = policy.actor_layout, theta.shape[0]
    return TRPOWork(
        np.zeros_like(theta),
        policy_workspace(layout, batch, theta.dtype),
        jvp_workspace(layout, min(batch, CHUNK), theta.dtype),
        np.zeros(batch),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        fit_work(policy, batch, minibatches),
    )


def _init(cfg: TRPOConfig, policy: Policy, total_updates: int, batch: int) -> tuple:
    """(opt, hp, fns, work): the Adam states, the numbers, the pointers and the arrays
    ``trpo_update`` takes for rollouts of ``batch`` steps."""
    opt = make_optimizers(policy)
    return (
        opt,
        hyper_record(TRPOHyper, cfg),
        update_fns(policy, opt),
        trpo_work(policy, batch, cfg.value_minibatches),
    )


def train(
    env: Any, cfg: TRPOConfig | dict | None = None, seed: int = 0, progress: Progress = None
) -> TrainOutput:
    """Train TRPO on ``env`` (a numbarl ``ControlEnv``: compiled rollouts; or a Gymnasium env
    with Box observations and Discrete/Box actions: Python rollouts, compiled updates).

    Returns ``(arrays, history)`` as ``numbarl.deep.ppo.train`` does: the policy arrays (for
    ``evaluate``) and columns ``step``, ``eval_return``, ``episode_return`` and ``METRICS`` of
    each row's last update, one row every ``eval_every`` steps. Raises TrainingDiverged (with
    the arrays and history so far) on non-finite parameters, ValueError/TypeError for a bad
    config or env."""
    return train_policy_gradient(
        "TRPO", env, cfg, seed, progress, make_trpo_config, _init, trpo_update, METRICS
    )


__all__ = [
    "METRICS",
    "TUNED",
    "ActorFns",
    "TRPOConfig",
    "TRPOWork",
    "TRPOFns",
    "TRPOHyper",
    "evaluate",
    "make_trpo_config",
    "train",
    "trpo_update",
    "cg_step",
    "conjugate_gradient",
    "fisher_vector_product",
    "jvp_workspace",
    "line_search",
    "mlp_jvp",
    "natural_gradient",
    "policy_head",
    "policy_log_prob",
    "policy_terms",
    "surrogate_and_kl",
    "actor_fns",
    "update_fns",
]
