"""numbarl: Numba-compiled reinforcement learning for the CPU.

``numbarl.train(algo, env, seed=0, **config)`` trains any algorithm; ``numbarl.envs.make`` builds
environments; ``numbarl.results`` reads and summarises the tidy CSV files experiments write.
"""

from __future__ import annotations

from .api import Result, algorithms, evaluate, train

__version__ = "0.1.0"
__all__ = ["Result", "algorithms", "evaluate", "train", "__version__"]
