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
above, and J^T (.) by ``mlp_backward``. One product costs about one forward and one backward pass.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.deep.reinforce import _int_actions, policy_log_prob, policy_log_prob_grad
from numbarl.nn.heads import (
    categorical_kl,
    categorical_log_prob,
    gaussian_kl,
    gaussian_log_prob,
    log_softmax,
)
from numbarl.nn.mlp import TANH, mlp_backward, mlp_forward, mlp_n_params

# ---------------------------------------------------------------------------------------------
# Conjugate gradient (Appendix C; Nocedal & Wright, Algorithm 5.2)
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def _dot(a: np.ndarray, b: np.ndarray) -> float:
    total = 0.0
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


@njit(cache=True)
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


@njit(cache=True)
def jvp_workspace(layout: np.ndarray, batch: int) -> np.ndarray:
    """Scratch float64 for ``mlp_jvp`` on up to ``batch`` rows: three [batch, widest] buffers."""
    widest = 0
    for layer in range(layout.shape[0]):
        widest = max(widest, layout[layer, 1])
    return np.zeros(3 * batch * widest)


@njit(cache=True)
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
    ``batch`` rows (input copy, then each layer's output, in order). v float64[P] is a direction
    in parameter space; scratch from ``jvp_workspace``. Per layer, with x its input and t its
    input's tangent: dz = t W + x dW + db; hidden layers multiply by tanh' = 1 - y^2 or
    relu' = [y > 0]."""
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


@njit(cache=True)
def fisher_vector_product(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    head: np.ndarray,
    ws: np.ndarray,
    jvp_ws: np.ndarray,
    v: np.ndarray,
    damping: float,
    out: np.ndarray,
) -> None:
    """out float64[P_actor] = F v + damping v, F = (1/T) sum_t J_t^T M_t J_t (module docstring).

    ``head`` float64[T, n_out] is the policy's head output (logits or means) and ``ws`` the
    workspace of the ``mlp_forward`` of theta's MLP on the T observations that produced it;
    both must be current (this call runs one backward pass on ws, which keeps the activations)."""
    p = mlp_n_params(layout)
    batch, n_out = head.shape
    u = mlp_jvp(theta[:p], layout, act, batch, ws, v[:p], jvp_ws)  # J v, [T, n_out]
    mu = np.empty((batch, n_out))  # M J v / T
    if continuous:
        for a in range(n_out):
            inv_var = np.exp(-2.0 * theta[p + a]) / batch
            for b in range(batch):
                mu[b, a] = u[b, a] * inv_var
    else:
        logp = log_softmax(head)
        for b in range(batch):
            pu = 0.0
            for a in range(n_out):
                pu += np.exp(logp[b, a]) * u[b, a]
            for a in range(n_out):
                mu[b, a] = np.exp(logp[b, a]) * (u[b, a] - pu) / batch
    for k in range(out.shape[0]):
        out[k] = 0.0
    mlp_backward(theta[:p], layout, act, ws, mu, out[:p])
    if continuous:
        for a in range(n_out):
            out[p + a] = 2.0 * v[p + a]
    for k in range(out.shape[0]):
        out[k] += damping * v[k]


@njit(cache=True)
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
) -> tuple[np.ndarray, float]:
    """(s, s^T F s): s ~= (F + damping I)^-1 g by ``cg_iters`` CG iterations with exact
    Fisher-vector products on obs float64[T, obs_dim]; the quadratic form includes the damping."""
    p = mlp_n_params(layout)
    head = mlp_forward(theta[:p], layout, act, obs, ws)
    x = np.zeros(g.shape[0])
    r = g.copy()
    d = g.copy()
    fd = np.empty(g.shape[0])
    rr = _dot(r, r)
    for _ in range(cg_iters):
        if rr < 1e-10:
            break
        fisher_vector_product(theta, layout, act, continuous, head, ws, jvp_ws, d, damping, fd)
        rr = cg_step(x, r, d, fd, rr)
    fisher_vector_product(theta, layout, act, continuous, head, ws, jvp_ws, x, damping, fd)
    return x, _dot(x, fd)


# ---------------------------------------------------------------------------------------------
# Surrogate, KL and the line search
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
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
) -> tuple[float, float]:
    """(L(theta), mean KL(pi_old || pi_theta)) on a batch of T steps.

    L = mean_t exp(log pi_theta(a_t|s_t) - old_log_probs_t) A_t (eq. 14's objective);
    old_head float64[T, n_out] the old policy's logits/means, old_log_std float64[A] its log-std
    (ignored, may be empty, for a categorical policy)."""
    p = mlp_n_params(layout)
    head = mlp_forward(theta[:p], layout, act, obs, ws)
    if continuous:
        logp = gaussian_log_prob(head, theta[p:], actions)
        kl = gaussian_kl(old_head, old_log_std, head, theta[p:])
    else:
        logp = categorical_log_prob(head, _int_actions(actions))
        kl = categorical_kl(old_head, head)
    batch = logp.shape[0]
    surr = 0.0
    mean_kl = 0.0
    for t in range(batch):
        surr += np.exp(logp[t] - old_log_probs[t]) * advantages[t]
        mean_kl += kl[t]
    return surr / batch, mean_kl / batch


@njit(cache=True)
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
) -> tuple[int, float, float]:
    """Backtracking line search of TRPO (Appendix C): theta_out = theta_old + coef^k full_step
    for the first k < max_backtracks with surrogate improvement > 0 and mean KL <= max_kl.

    If no k qualifies theta_out = theta_old. Returns (k accepted or -1, its mean KL, its
    surrogate improvement L(theta_out) - L(theta_old)); (-1, 0.0, 0.0) when rejected."""
    p = mlp_n_params(layout)
    old_head = mlp_forward(theta_old[:p], layout, act, obs, ws).copy()
    old_log_std = theta_old[p:].copy()
    surr_old, _ = surrogate_and_kl(
        theta_old, layout, act, continuous, obs, actions, advantages, old_log_probs,
        old_head, old_log_std, ws,
    )  # fmt: skip
    frac = 1.0
    for k in range(max_backtracks):
        for i in range(theta_old.shape[0]):
            theta_out[i] = theta_old[i] + frac * full_step[i]
        surr, kl = surrogate_and_kl(
            theta_out, layout, act, continuous, obs, actions, advantages, old_log_probs,
            old_head, old_log_std, ws,
        )  # fmt: skip
        improve = surr - surr_old
        if kl <= max_kl and improve > 0.0 and np.isfinite(surr):
            return k, kl, improve
        frac *= backtrack_coef
    for i in range(theta_old.shape[0]):
        theta_out[i] = theta_old[i]
    return -1, 0.0, 0.0


@njit(cache=True)
def surrogate_grad(
    theta: np.ndarray,
    layout: np.ndarray,
    act: int,
    continuous: bool,
    obs: np.ndarray,
    actions: np.ndarray,
    advantages: np.ndarray,
    ws: np.ndarray,
) -> np.ndarray:
    """grad L at theta = theta_old: (1/T) sum_t A_t grad log pi(a_t|s_t), float64[P_actor]."""
    g = np.zeros(theta.shape[0])
    w = advantages / advantages.shape[0]
    policy_log_prob_grad(theta, layout, act, continuous, obs, actions, w, ws, g)
    return g


__all__ = [
    "cg_step",
    "conjugate_gradient",
    "fisher_vector_product",
    "jvp_workspace",
    "line_search",
    "mlp_jvp",
    "natural_gradient",
    "policy_log_prob",
    "surrogate_and_kl",
    "surrogate_grad",
]
