"""Tabular methods (Sutton & Barto, Chapters 4-8 and 13) as njit kernels."""

import numbarl.envs  # noqa: F401  (Numba's compile changes and the shared-callee cache reader)
