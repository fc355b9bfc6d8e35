"""The table of algorithms reachable by ``numbarl.train`` and ``numbarl train``.

Tuned per-environment defaults (as rl-zoo keeps them) live here in one readable table.
"""

from __future__ import annotations

from .api import AlgoSpec, register_algo

_TABULAR = "tabular.train"

for _spec in []:
    register_algo(_spec)

__all__ = ["AlgoSpec"]
