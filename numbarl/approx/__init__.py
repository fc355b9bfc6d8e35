"""Linear function approximation (Sutton & Barto, Chapters 9, 10 and 12).

- `numbarl.approx.features`: state aggregation, polynomial and Fourier bases, and tile coding
  with the book's ``tiles()`` (index hash table, asymmetric offsets);
- `numbarl.approx.prediction`: gradient Monte Carlo and n-step semi-gradient TD on the
  1,000-state random walk;
- `numbarl.approx.mountain_car`: the book's Mountain Car dynamics and tile coding as njit
  functions;
- `numbarl.approx.control`: semi-gradient (n-step) Sarsa, Sarsa(lambda) (accumulating,
  replacing, replacing-with-clearing traces), true online Sarsa(lambda) and differential
  semi-gradient Sarsa (access control).
"""

import numbarl.envs  # noqa: F401  (Numba's compile changes and the shared-callee cache reader)
from numbarl.approx import control, features, mountain_car, prediction

__all__ = ["control", "features", "mountain_car", "prediction"]
