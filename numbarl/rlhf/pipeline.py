"""The whole pipeline (``run_rlhf``): SFT, reward model, PPO, evaluation, and its result."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from numbarl.errors import TrainingDiverged
from numbarl.nn import adam_init, mlp_init, mlp_layout, net_dtype
from numbarl.nn.threads import single_threaded_blas
from numbarl.results import write_csv
from numbarl.rlhf.config import METRICS, RLHFConfig, RLHFModels, make_rlhf_config
from numbarl.rlhf.ppo import run_ppo_steps
from numbarl.rlhf.reward_model import run_reward_model
from numbarl.rlhf.sft import run_sft
from numbarl.rlhf.task import n_state_features, sample_scores
from numbarl.validation import check_seed


@dataclass(frozen=True)
class RLHFResult:
    """What ``run_rlhf`` returns.

    - ``history``: tidy DataFrame, one row per PPO step (``algorithm``, ``env``, ``seed``,
      ``step`` = updates done before the row's batch was sampled, ``METRICS``, config columns);
    - ``arrays``: ``actor``, ``ref``, ``critic``, ``reward`` (parameters in the config's dtype),
      their layouts ``policy_layout``, ``critic_layout``, ``reward_layout`` and ``reward_norm``
      (mean, std);
    - ``rm_accuracy``: the reward model's accuracy on held-out preference pairs;
    - ``sft_loss``, ``rm_loss``: mean training loss per epoch;
    - ``evaluation``: ``eval_samples`` fresh completions from each of pi_ref and the trained pi:
      ``ref_true_score``/``ref_true_sem``, ``true_score``/``true_sem``, ``ref_rm_score``,
      ``rm_score``, ``kl`` (mean exact sequence KL(pi || pi_ref)) and ``kl_sem``;
    - ``seconds``: wall time of the pipeline (SFT, reward model, PPO, evaluation)."""

    config: RLHFConfig
    seed: int
    history: pd.DataFrame
    arrays: dict[str, np.ndarray]
    rm_accuracy: float
    sft_loss: np.ndarray
    rm_loss: np.ndarray
    evaluation: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def to_csv(self, path: str | Path) -> Path:
        """Write ``history`` atomically (``numbarl.results.write_csv``)."""
        return write_csv(self.history, path)

    def save(self, path: str | Path) -> Path:
        """Save ``arrays`` as an .npz file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **self.arrays)
        return path


def _history(metrics: np.ndarray) -> dict[str, np.ndarray]:
    """Columns step (int64) and METRICS from a metrics array float64[steps, 10]."""
    cols: dict[str, np.ndarray] = {"step": np.arange(metrics.shape[0], dtype=np.int64)}
    for c, name in enumerate(METRICS):
        cols[name] = metrics[:, c].copy()
    return cols


def _frame(cfg: RLHFConfig, seed: int, cols: dict[str, np.ndarray]) -> pd.DataFrame:
    n = len(cols["step"])
    df = pd.DataFrame(
        {
            "algorithm": ["rlhf_ppo"] * n,
            "env": ["toy_ascending"] * n,
            "seed": np.full(n, seed, dtype=np.int64),
            **cols,
        }
    )
    for name, value in cfg._asdict().items():
        df[name] = [value] * n
    return df


def run_rlhf(
    cfg: RLHFConfig | dict | None = None,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> RLHFResult:
    """SFT, reward model, then PPO with a KL penalty, as the module docstring describes.

    ``cfg``: an RLHFConfig or a dict of overrides (checked by ``make_rlhf_config``). Seeds for
    the stages come from ``np.random.SeedSequence(seed).spawn``: the same seed gives the same
    bytes. ``progress(fraction)`` is called as PPO advances. Raises TrainingDiverged (with the
    arrays and history so far) if the PPO parameters become non-finite."""
    cfg = make_rlhf_config(cfg)
    seed = check_seed(seed)
    with single_threaded_blas():
        return _run_rlhf(cfg, seed, progress)


def _run_rlhf(cfg: RLHFConfig, seed: int, progress: Callable[[float], None] | None) -> RLHFResult:
    t0 = time.perf_counter()
    init_seq, sft_seq, rm_seq, ppo_seq, eval_seq = np.random.SeedSequence(seed).spawn(5)
    init_rng = np.random.default_rng(init_seq)
    n_feat = int(n_state_features(cfg.vocab, cfg.window, cfg.seq_len))
    policy_layout = mlp_layout([n_feat, cfg.hidden, cfg.hidden, cfg.vocab])
    critic_layout = mlp_layout([n_feat, cfg.hidden, cfg.hidden, 1])
    reward_layout = mlp_layout([cfg.vocab * (cfg.seq_len + 1), cfg.rm_hidden, 1])
    dt = net_dtype(cfg.dtype)
    actor = mlp_init(policy_layout, init_rng, output_gain=0.01, dtype=dt)
    critic = mlp_init(critic_layout, init_rng, output_gain=1.0, dtype=dt)
    reward = mlp_init(reward_layout, init_rng, output_gain=1.0, dtype=dt)

    # 1. Supervised fine-tuning on demonstrations; a frozen copy becomes the reference.
    sft_loss = run_sft(actor, policy_layout, cfg, np.random.default_rng(sft_seq))
    ref = actor.copy()

    # 2. Reward model on preference pairs sampled from the reference, normalised over its samples.
    rm_loss, rm_accuracy, reward_norm = run_reward_model(
        reward, reward_layout, ref, policy_layout, cfg, np.random.default_rng(rm_seq)
    )

    # 3. PPO against the reward model with the KL penalty.
    models = RLHFModels(
        actor, ref, critic, reward, policy_layout, critic_layout, reward_layout, reward_norm,
        np.array([cfg.kl_coef]), adam_init(actor.shape[0], dt), adam_init(critic.shape[0], dt),
    )  # fmt: skip
    ppo_rng = np.random.default_rng(ppo_seq)
    metrics = np.full((cfg.ppo_steps, len(METRICS)), np.nan)
    chunk = max(1, cfg.ppo_steps // 20)
    done = 0

    def arrays() -> dict[str, np.ndarray]:
        return {
            "actor": models.actor.copy(),
            "ref": models.ref.copy(),
            "critic": models.critic.copy(),
            "reward": models.reward.copy(),
            "policy_layout": policy_layout,
            "critic_layout": critic_layout,
            "reward_layout": reward_layout,
            "reward_norm": reward_norm,
        }

    while done < cfg.ppo_steps:
        n = min(chunk, cfg.ppo_steps - done)
        completed = run_ppo_steps(models, cfg, n, ppo_rng, metrics[done : done + n])
        done += completed
        if completed < n or not (
            np.all(np.isfinite(models.actor)) and np.all(np.isfinite(models.critic))
        ):
            raise TrainingDiverged(
                f"RLHF PPO diverged: non-finite parameters or beta after step {done} of "
                f"{cfg.ppo_steps}; arrays hold those parameters, history the rows before",
                arrays=arrays(),
                history=_history(metrics[: done - 1]),
            )
        if progress is not None:
            progress(done / cfg.ppo_steps)

    # Final comparison on fresh samples (same prompts/draw stream for both policies).
    n_eval = cfg.eval_samples
    ref_true, ref_rm, _ = sample_scores(models, True, n_eval, cfg, np.random.default_rng(eval_seq))
    pi_true, pi_rm, pi_kl = sample_scores(
        models, False, n_eval, cfg, np.random.default_rng(eval_seq)
    )
    sq = math.sqrt(cfg.eval_samples)
    evaluation = {
        "ref_true_score": float(ref_true.mean()),
        "ref_true_sem": float(ref_true.std(ddof=1) / sq),
        "true_score": float(pi_true.mean()),
        "true_sem": float(pi_true.std(ddof=1) / sq),
        "ref_rm_score": float(ref_rm.mean()),
        "rm_score": float(pi_rm.mean()),
        "kl": float(pi_kl.mean()),
        "kl_sem": float(pi_kl.std(ddof=1) / sq),
    }
    history = _frame(cfg, seed, _history(metrics))
    return RLHFResult(
        config=cfg,
        seed=seed,
        history=history,
        arrays=arrays(),
        rm_accuracy=rm_accuracy,
        sft_loss=sft_loss,
        rm_loss=rm_loss,
        evaluation=evaluation,
        seconds=time.perf_counter() - t0,
    )


def summary_text(result: RLHFResult) -> str:
    """A few lines: reward-model accuracy, true and reward-model scores before/after, KL."""
    e = result.evaluation
    cfg = result.config
    beta = "adaptive" if cfg.adaptive_kl else "fixed"
    last = result.history["beta"].iloc[-1] if len(result.history) else cfg.kl_coef
    return "\n".join(
        [
            f"rlhf seed {result.seed}: reward model held-out accuracy {result.rm_accuracy:.3f}",
            f"  true score  ref {e['ref_true_score']:.3f} +- {e['ref_true_sem']:.3f} -> "
            f"ppo {e['true_score']:.3f} +- {e['true_sem']:.3f} (s.e., "
            f"{cfg.eval_samples} samples each)",
            f"  rm score    ref {e['ref_rm_score']:.3f} -> ppo {e['rm_score']:.3f}",
            f"  KL(pi||ref) {e['kl']:.3f} +- {e['kl_sem']:.3f} nats/sequence "
            f"(target {cfg.kl_target:g}); beta {beta}, final {last:.4g}",
            f"  {result.seconds:.2f} s",
        ]
    )
