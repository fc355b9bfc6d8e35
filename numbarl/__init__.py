"""numbarl: Numba-compiled reinforcement learning for the CPU.

``numbarl.train(algo, env, seed=0, **config)`` trains any algorithm; ``numbarl.envs.make`` builds
environments; ``numbarl.results`` reads and summarises the tidy CSV files experiments write.
"""

from __future__ import annotations

import os as _os

# numbarl's networks multiply tiny matrices through SciPy's OpenBLAS (Numba's np.dot). A
# multi-threaded BLAS made training ~18x slower on a loaded 2-core machine (10k Acrobot steps:
# 7.8 s against 0.44 s single-threaded). Set before SciPy loads its BLAS; an explicit setting wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .api import Result, algorithms, evaluate, train

__version__ = "0.1.0"
__all__ = ["Result", "algorithms", "evaluate", "train", "__version__"]
