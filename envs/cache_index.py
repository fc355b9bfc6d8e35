"""A Numba cache index written by an older numbarl cannot break a compile.

Numba's disk cache keeps one index file per function (``<name>.nbi``): the signatures compiled
so far, pickled with the source file's stamp. Loading an index unpickles it before comparing
that stamp, and a signature naming a record type (a ``NamedTuple`` of arrays) pickles a
reference to the Python class. When numbarl is upgraded, or a checkout moves to another
commit, and a record type is renamed or removed, the old index names a class that no longer
exists: unpickling raises ``AttributeError`` (or ``ModuleNotFoundError``), and every compile of
that function fails, although the index is stale anyway (its source stamp differs) and Numba
would have ignored it.

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is
covered), an index that cannot be unpickled for such a reason is treated as Numba treats an
index written by another Numba version: empty. The function compiles, and saving the new
compile rewrites the index. Indexes that load are untouched; only the reasons a removed or
moved type gives are caught (a missing attribute or module, an unpickling error, a truncated
file), so a real bug elsewhere still raises.
"""

from __future__ import annotations

import pickle
from typing import Any

from numba.core import caching

# What unpickling an index that names a since-removed class (or a damaged index) raises.
STALE_INDEX_ERRORS = (AttributeError, ImportError, pickle.UnpicklingError, EOFError)


def _load_index_or_empty(original: Any) -> Any:
    def _load_index(self: Any) -> dict:
        try:
            return original(self)
        except STALE_INDEX_ERRORS:
            return {}

    _load_index.__wrapped__ = original
    _load_index.__doc__ = original.__doc__
    return _load_index


_index_file = getattr(caching, "IndexDataCacheFile", None)
if _index_file is not None and hasattr(_index_file, "_load_index"):
    if not hasattr(_index_file._load_index, "__wrapped__"):  # once, even if re-imported
        _index_file._load_index = _load_index_or_empty(_index_file._load_index)
