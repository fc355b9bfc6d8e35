"""Errors raised by training."""

from __future__ import annotations

from typing import Any


class TrainingDiverged(FloatingPointError):
    """A run's values became NaN or infinite. The message names the update (and step) where it
    happened; ``arrays`` and ``history`` hold what was learned and recorded before it, so nothing
    already computed is lost."""

    def __init__(
        self,
        message: str,
        arrays: dict[str, Any] | None = None,
        history: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.arrays = arrays or {}
        self.history = history or {}
