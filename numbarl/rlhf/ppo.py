"""PPO on tokens against the reward model, with a KL penalty to the frozen reference
(Ziegler et al. 2019). The loss kernels are ``numbarl.deep.ppo``'s (``clip_surrogate_grad``,
``value_loss_grad``): they take flat per-sample arrays, and here a sample is one token.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from numbarl.deep.ppo import clip_surrogate_grad, value_loss_grad
from numbarl.nn import (
    TANH,
    categorical_entropy,
    categorical_entropy_grad,
    categorical_kl,
    categorical_log_prob,
    categorical_log_prob_grad,
    mlp_forward,
    mlp_workspace,
)
from numbarl.returns import gae_kernel
from numbarl.rlhf.config import RLHFConfig, RLHFModels
from numbarl.rlhf.task import generate, reward_scores, state_features, true_scores
from numbarl.rlhf.update import backward_adam_step, gather_rows
from numbarl.validation import all_finite as _finite

# ---------------------------------------------------------------------------------------------
# PPO kernels on tokens
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def sequence_kl(logp: np.ndarray, ref_logp: np.ndarray, seq_len: int) -> np.ndarray:
    """Per-sequence KL(pi || pi_ref) estimate float64[B] = sum_t (log pi(x_t) - log pi_ref(x_t))
    over the sampled tokens; logp, ref_logp float64[B * L], sequence-major."""
    n = logp.shape[0] // seq_len
    out = np.zeros(n)
    for i in range(logp.shape[0]):
        out[i // seq_len] += logp[i] - ref_logp[i]
    return out


@njit(cache=True)
def kl_penalised_rewards(
    logp: np.ndarray, ref_logp: np.ndarray, scores: np.ndarray, beta: float, seq_len: int
) -> np.ndarray:
    """Token rewards float64[B * L]: r_t = -beta (log pi(x_t) - log pi_ref(x_t)), plus the
    sequence's reward-model score scores float64[B] at its last token (Ziegler et al. eq. 2)."""
    out = np.empty(logp.shape[0])
    for i in range(logp.shape[0]):
        out[i] = -beta * (logp[i] - ref_logp[i])
        if i % seq_len == seq_len - 1:
            out[i] += scores[i // seq_len]
    return out


@njit(cache=True)
def sequence_gae(
    rewards: np.ndarray, values: np.ndarray, seq_len: int, gamma: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    """GAE advantages and returns float64[B * L] for sequence-major token arrays: each sequence
    is an episode that terminates after its last token (``returns.gae_kernel``)."""
    n = rewards.shape[0]
    next_values = np.zeros(n)
    terminated = np.zeros(n, dtype=np.bool_)
    truncated = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if i % seq_len == seq_len - 1:
            terminated[i] = True
        else:
            next_values[i] = values[i + 1]
    return gae_kernel(rewards, values, next_values, terminated, truncated, gamma, lam)


@njit(cache=True)
def adaptive_kl_update(beta: float, kl: float, kl_target: float, k_beta: float) -> float:
    """Ziegler et al. (2019) section 2.2 proportional controller:
    e = clip(kl / kl_target - 1, -0.2, 0.2), new beta = beta * (1 + k_beta * e)."""
    e = min(max(kl / kl_target - 1.0, -0.2), 0.2)
    return beta * (1.0 + k_beta * e)


@njit(cache=True)
def token_policy_loss_grad(
    logits: np.ndarray,
    actions: np.ndarray,
    old_logp: np.ndarray,
    adv: np.ndarray,
    clip_coef: float,
    ent_coef: float,
    grad_logits: np.ndarray,
) -> tuple[float, float, float, float]:
    """Actor loss on M tokens: clipped surrogate (``ppo.clip_surrogate_grad``) - ent_coef *
    mean entropy. logits [M, V] (either dtype), actions int64[M], old_logp/adv float64[M];
    accumulates dL/dlogits into grad_logits float64[M, V]. Returns (surrogate loss, mean
    entropy, clip fraction, approx KL to the rollout policy)."""
    m = logits.shape[0]
    new_logp = categorical_log_prob(logits, actions)
    grad_logp = np.zeros(m)
    loss, clip_frac, approx_kl = clip_surrogate_grad(new_logp, old_logp, adv, clip_coef, grad_logp)
    categorical_log_prob_grad(logits, actions, grad_logp, grad_logits)
    entropy = categorical_entropy(logits).mean()
    if ent_coef != 0.0:
        categorical_entropy_grad(logits, np.full(m, -ent_coef / m), grad_logits)
    return loss, entropy, clip_frac, approx_kl


@njit(cache=True)
def ppo_step(m: RLHFModels, cfg: RLHFConfig, rng: np.random.Generator, row: np.ndarray) -> None:
    """One PPO iteration: sample ``batch_prompts`` completions from pi, score them (reward
    model, KL penalty with the current beta), GAE, then ``n_epochs`` x ``n_minibatches`` Adam
    steps on actor and critic; finally adapt beta if ``adaptive_kl``. Writes ``METRICS`` of the
    sampled batch (and the beta it used, the mean losses of the update) into row float64[10]."""
    seq_len = cfg.seq_len
    batch = cfg.batch_prompts
    n = batch * seq_len
    layout = m.policy_layout
    prompts = rng.integers(0, cfg.n_prompts, batch)
    comp = generate(m.actor, layout, prompts, cfg.vocab, cfg.window, seq_len, rng)
    x = state_features(prompts, comp, cfg.vocab, cfg.window)
    actions = comp.reshape(n).copy()
    dt = m.actor.dtype
    ws_full = mlp_workspace(layout, n, dt)
    logits = mlp_forward(m.actor, layout, TANH, x, ws_full).copy()
    ref_logits = mlp_forward(m.ref, layout, TANH, x, ws_full)
    logp = categorical_log_prob(logits, actions)
    ref_logp = categorical_log_prob(ref_logits, actions)
    kl_exact = categorical_kl(logits, ref_logits).sum() / batch
    values = mlp_forward(m.critic, m.critic_layout, TANH, x, mlp_workspace(m.critic_layout, n, dt))
    values = values[:, 0].astype(np.float64)  # returns and GAE accumulate in float64
    scores = reward_scores(m.reward, m.reward_layout, m.reward_norm, prompts, comp, cfg.vocab)
    beta = m.beta[0]
    rewards = kl_penalised_rewards(logp, ref_logp, scores, beta, seq_len)
    adv, ret = sequence_gae(rewards, values, seq_len, cfg.gamma, cfg.gae_lambda)
    kl = sequence_kl(logp, ref_logp, seq_len).mean()
    row[0] = scores.mean()
    row[1] = true_scores(prompts, comp).mean()
    row[2] = kl
    row[3] = kl_exact
    row[4] = categorical_entropy(logits).mean()
    row[5] = beta

    # Update: minibatches of tokens, as PPO's minibatches of time steps.
    mb = n // cfg.n_minibatches
    f = x.shape[1]
    xb = np.empty((mb, f))
    ab = np.empty(mb, dtype=np.int64)
    lpb = np.empty(mb)
    advb = np.empty(mb)
    retb = np.empty(mb)
    vb = np.empty(mb)
    ws_a = mlp_workspace(layout, mb, dt)
    ws_c = mlp_workspace(m.critic_layout, mb, dt)
    g_actor = np.zeros_like(m.actor)
    g_critic = np.zeros_like(m.critic)
    grad_logits = np.empty((mb, cfg.vocab))
    grad_v = np.empty((mb, 1))
    sums = np.zeros(4)
    for _ in range(cfg.n_epochs):
        perm = rng.permutation(n)
        for k in range(cfg.n_minibatches):
            start = k * mb
            gather_rows(xb, x, perm, start)
            gather_rows(ab, actions, perm, start)
            gather_rows(lpb, logp, perm, start)
            gather_rows(advb, adv, perm, start)
            gather_rows(retb, ret, perm, start)
            gather_rows(vb, values, perm, start)
            if mb > 1:  # advantage whitening per minibatch (torch's unbiased std)
                mean = advb.mean()
                std = np.sqrt(((advb - mean) ** 2).sum() / (mb - 1))
                for j in range(mb):
                    advb[j] = (advb[j] - mean) / (std + 1e-8)
            grad_logits[:] = 0.0
            out = mlp_forward(m.actor, layout, TANH, xb, ws_a)
            pl, _, cf, akl = token_policy_loss_grad(
                out, ab, lpb, advb, cfg.clip_coef, cfg.ent_coef, grad_logits
            )
            backward_adam_step(
                m.actor, layout, ws_a, grad_logits, g_actor, m.actor_adam, cfg.lr,
                cfg.max_grad_norm, 1e-5,
            )  # fmt: skip
            v = mlp_forward(m.critic, m.critic_layout, TANH, xb, ws_c)
            vl = value_loss_grad(v[:, 0], vb, retb, cfg.clip_coef, False, grad_v[:, 0])
            backward_adam_step(
                m.critic, m.critic_layout, ws_c, grad_v, g_critic, m.critic_adam, cfg.critic_lr,
                cfg.max_grad_norm, 1e-5,
            )  # fmt: skip
            sums[0] += pl
            sums[1] += vl
            sums[2] += cf
            sums[3] += akl
    count = cfg.n_epochs * cfg.n_minibatches
    for c in range(4):
        row[6 + c] = sums[c] / count
    if cfg.adaptive_kl:
        m.beta[0] = adaptive_kl_update(beta, kl, cfg.kl_target, cfg.k_beta)


@njit(cache=True)
def run_ppo_steps(
    m: RLHFModels, cfg: RLHFConfig, n_steps: int, rng: np.random.Generator, metrics: np.ndarray
) -> int:
    """Run ``n_steps`` ``ppo_step`` iterations, row k of metrics float64[n_steps, 10] for step k.
    Returns the steps completed; fewer than n_steps (the last counted) if a parameter or beta
    became non-finite."""
    for k in range(n_steps):
        ppo_step(m, cfg, rng, metrics[k])
        if not (_finite(m.actor) and _finite(m.critic) and _finite(m.beta)):
            return k + 1
    return n_steps
