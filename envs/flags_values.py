"""Numba's compile flags compare and hash without rebuilding a dict through ~40 properties.

Numba types every call to an ``@overload``-ed function (``np.empty``, ``max``, ``range``, every
NumPy and built-in implementation) through a template that caches its implementation under
``(context, argument types, keywords, flags)`` (``typing.templates._OverloadMethodTemplate``
and ``_OverloadFunctionTemplate._get_impl``). Looking that key up hashes the compile ``Flags``
and, on a hash match, compares two of them; both go through ``TargetConfig.values()``, a dict of
every option read through its property (about 40), and ``__hash__`` sorts that dict only to hash
its option names. A deep learner's cold start types ~23,000 such calls: ~120,000 ``values()``
dicts, 2.7 million property reads, about 8% of the compile's time under cProfile.

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is covered),
``values()`` copies a per-class dict of the options' defaults and updates it with the values set,
which is the same dict (an option never set reads its default, one set reads its value; when
``_values`` holds a name that is not an option of the class, as a copy from another config class
could, the original is used), and ``__hash__`` hashes the option names, which is what the
original hashed. Same keys, same equality, so the templates find the same implementations and
Numba compiles the same code (tests/test_flags_values.py compares with the originals).
"""

from __future__ import annotations

from typing import Any

from numba.core import targetconfig

_TargetConfig = targetconfig.TargetConfig
_original_values = _TargetConfig.values
_original_hash = _TargetConfig.__hash__


def _option_property(cls: type, name: str) -> bool:
    """Whether ``cls.name`` is the property ``_MetaTargetConfig`` made for the option, whose
    getter reads ``self._values.get(name, option.default)``."""
    prop = getattr(cls, name, None)
    getter = getattr(prop, "fget", None)
    return isinstance(prop, property) and getattr(getter, "__qualname__", "").endswith(
        "make_prop.<locals>.getter"
    )


class _ClassInfo:
    """Per config class: its options' defaults (or None when a property is not the plain
    option getter: then the original ``values`` is used) and the hash of its option names."""

    __slots__ = ("defaults", "n_options", "hash")

    def __init__(self, cls: type) -> None:
        options = cls.options
        plain = all(_option_property(cls, name) for name in options)
        self.defaults = {k: opt.default for k, opt in options.items()} if plain else None
        self.n_options = len(options)
        self.hash = hash(tuple(sorted(options)))


_info: dict[type, _ClassInfo] = {}


def _class_info(cls: type) -> _ClassInfo:
    info = _info.get(cls)
    if info is None:
        info = _info[cls] = _ClassInfo(cls)
    return info


def values(self: Any) -> dict:
    """A dict of every option's value (as ``TargetConfig.values``)."""
    info = _class_info(type(self))
    if info.defaults is None:
        return _original_values(self)
    out = info.defaults.copy()
    out.update(self._values)
    if len(out) != info.n_options:  # a name that is not an option of this class
        return _original_values(self)
    return out


def config_hash(self: Any) -> int:
    """The hash of the sorted option names (as ``TargetConfig.__hash__``)."""
    return _class_info(type(self)).hash


values.__wrapped__ = _original_values
config_hash.__wrapped__ = _original_hash

if (
    not hasattr(_original_values, "__wrapped__")  # once, even if re-imported
    and _original_values.__qualname__ == "TargetConfig.values"
    and _original_hash.__qualname__ == "TargetConfig.__hash__"
    and hasattr(_TargetConfig, "options")
):
    _TargetConfig.values = values
    _TargetConfig.__hash__ = config_hash
