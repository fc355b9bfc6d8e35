"""RLHF at toy scale: supervised start, a Bradley-Terry reward model, then PPO against it with a
KL penalty to the frozen start policy (Ziegler et al. 2019, "Fine-Tuning Language Models from
Human Preferences"; Ouyang et al. 2022, step 3), all compiled, on the CPU, in seconds.

The toy language task
---------------------
A prompt is one token p drawn uniformly from {0, ..., n_prompts - 1}; a completion is ``seq_len``
tokens x_0..x_{L-1} from a vocabulary of ``vocab`` tokens, generated one token at a time. The
hidden "human preference" likes completions that climb from the prompt:

    true_score(p, x) = (1 / L) * sum_t 1[x_t > x_{t-1}],   x_{-1} = p,

so 1.0 is a strictly ascending completion above the prompt (one exists: validation asks for
n_prompts - 1 + seq_len <= vocab - 1). It is used only to label preference pairs and to report.

The four models (flat-parameter MLPs from ``numbarl.nn``, tanh hidden layers):

- actor pi (trained) and reference pi_ref (a frozen copy of the actor after SFT) read the state
  features of ``state_features``: one-hot prompt, one-hot of the last ``window`` tokens of
  (prompt, completion so far) with a padding symbol, one-hot position; they output next-token
  logits [vocab];
- critic V (trained) reads the same features and outputs one value;
- reward model r (frozen after its training) reads ``reward_features``: one-hot prompt and a
  one-hot per completion position, and outputs one score, normalised to mean 0 and standard
  deviation 1 over reference samples (Ziegler et al. section 2.2).

Pipeline (``run_rlhf``):

1. SFT: maximum likelihood on demonstrations that are good completions (sorted distinct tokens
   above the prompt) with each token resampled at random with probability q ~ U(0, demo_noise)
   per demonstration: a mix of good and mediocre text, so the start policy leaves room to improve.
2. Reward model: pairs of completions sampled from the SFT policy for the same prompt, labelled by
   the hidden preference (ties dropped), fitted with the Bradley-Terry loss
   -log sigmoid(r(chosen) - r(rejected)); accuracy reported on held-out pairs.
3. PPO on the token-level MDP: state (prompt, tokens so far), action the next token, reward

       r_t = -beta * (log pi(x_t|s_t) - log pi_ref(x_t|s_t)) + [t = L - 1] * r(p, x),

   GAE(gamma, lambda) advantages and returns per sequence, the clipped surrogate (PPO eq. 7) with
   an entropy bonus on the actor, a squared-error value loss on the critic, global-norm gradient
   clipping and Adam for each. With ``adaptive_kl`` beta follows Ziegler et al.'s proportional
   controller: e = clip(KL / KL_target - 1, -0.2, 0.2), beta <- beta * (1 + k_beta * e), KL the
   batch's mean sequence KL estimate sum_t (log pi - log pi_ref).

The PPO loss kernels are ``numbarl.deep.ppo``'s (``clip_surrogate_grad``, ``value_loss_grad``):
they take flat per-sample arrays, and here a sample is one token.

The package: ``config`` (RLHFConfig, RLHFModels, METRICS), ``task`` (the toy task and
sampling), ``update`` (minibatch gathering and the clipped Adam step the three trainings share),
``sft`` (stage 1, ``run_sft``), ``reward_model`` (stage 2, ``run_reward_model``), ``ppo`` (the
token-level PPO step) and ``pipeline`` (``run_rlhf``, ``RLHFResult``, ``summary_text``).
``numbarl rlhf`` is in ``numbarl.cli``.
"""

from __future__ import annotations

from numbarl.nn.threads import single_threaded_blas
from numbarl.rlhf.config import METRICS, RLHFConfig, RLHFModels, make_rlhf_config
from numbarl.rlhf.pipeline import RLHFResult, run_rlhf, summary_text
from numbarl.rlhf.ppo import (
    adaptive_kl_update,
    kl_penalised_rewards,
    ppo_step,
    run_ppo_steps,
    sequence_gae,
    sequence_kl,
    token_policy_loss_grad,
)
from numbarl.rlhf.reward_model import (
    bradley_terry_loss_grad,
    preference_pairs,
    reward_model_loss_grad,
    run_reward_model,
    train_reward_model,
)
from numbarl.rlhf.sft import run_sft, train_sft
from numbarl.rlhf.task import (
    demonstrations,
    generate,
    n_state_features,
    reward_features,
    reward_scores,
    sample_scores,
    state_features,
    true_scores,
)

__all__ = [
    "METRICS",
    "RLHFConfig",
    "RLHFModels",
    "RLHFResult",
    "adaptive_kl_update",
    "bradley_terry_loss_grad",
    "demonstrations",
    "generate",
    "kl_penalised_rewards",
    "make_rlhf_config",
    "n_state_features",
    "ppo_step",
    "preference_pairs",
    "reward_features",
    "reward_model_loss_grad",
    "reward_scores",
    "run_ppo_steps",
    "run_reward_model",
    "run_rlhf",
    "run_sft",
    "sample_scores",
    "sequence_gae",
    "sequence_kl",
    "single_threaded_blas",
    "state_features",
    "summary_text",
    "token_policy_loss_grad",
    "train_reward_model",
    "train_sft",
    "true_scores",
]
