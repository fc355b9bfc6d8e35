"""Figure 2.4: UCB action selection (c = 2) against epsilon-greedy (epsilon 0.1), both with
sample averages, on the 10-armed testbed: average reward per step over 2,000 runs of 1,000
steps.

CSV ``bandit_ucb.csv``: per-step means over runs with standard errors (see
``bandit_curves.py``). The key numbers are the average reward over steps 501-1,000 and UCB's
spike at step 11 (the first step after every arm has been tried once).
"""

from __future__ import annotations

from collections.abc import Sequence

import bandit_curves as bc
import common

from numbarl.bandits import EpsilonGreedyConfig, UCBConfig

NAME = "bandit_ucb"
FIGURE = "Figure 2.4"
UCB = "UCB c = 2"
EGREEDY = "epsilon-greedy epsilon = 0.1"
SETTINGS = {UCB: UCBConfig(c=2.0), EGREEDY: EpsilonGreedyConfig(epsilon=0.1)}
BOOK = "UCB above epsilon-greedy after the first steps; spike at step 11"
EXPERIMENT = bc.TestbedFigure(
    NAME, FIGURE, SETTINGS, "Figure 2.4: UCB against epsilon-greedy", panels=("reward",)
)
RUNS, simulate, run = EXPERIMENT.runs, EXPERIMENT.simulate, EXPERIMENT.run


def main(argv: Sequence[str] | None = None) -> common.Summary:
    job, means = EXPERIMENT.start(argv, __doc__)
    reward = means["average_reward"]
    at = job.result.set_index(["label", "step"])["average_reward"]
    return job.report(
        "avg reward, steps 501-1000, UCB / eps-greedy; UCB at step 11",
        f"{reward[UCB]:.2f} / {reward[EGREEDY]:.2f}; {at[UCB, 11]:.2f}",
        BOOK,
        ucb=float(reward[UCB]),
        epsilon_greedy=float(reward[EGREEDY]),
    )


if __name__ == "__main__":
    main()
