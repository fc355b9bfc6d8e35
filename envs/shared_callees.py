"""A numbarl kernel that other compiled functions call is emitted as machine code once.

Numba compiles every njit function into a library of its own, and a caller's library links in a
copy of each callee's optimised module (``linkonce_odr``) so that LLVM may inline it. What LLVM
does not inline stays in the caller as a full copy, which the caller's module optimisation
passes and machine-code emission process again: a kernel that several compiled functions call,
and that is too large to inline (``log_softmax``, ``mlp_jvp``, the noisy layers' backward, DQN's
``q_values``, ...), is optimised and emitted once per caller. Those copies were 20-39% of the
optimised LLVM IR of a deep learner's cold start (Rainbow 70,752 lines, 43,171 of them distinct
functions).

While this module is imported (``numbarl.envs`` imports it, so every numbarl kernel is covered),
the copy of a *shared callee* linked into a caller is marked ``available_externally`` before
the caller's module is optimised: LLVM may still inline it where it would have, and the copy it
does not inline becomes a declaration (LLVM's ``EliminateAvailableExternally``; at
``NUMBA_OPT=0`` the code generator skips such a body), so the caller calls the callee's own
machine code, already in the JIT. A large shared callee (over ``DECLARE_ABOVE`` lines of IR,
which LLVM's inliner, with its -O3 threshold of 250 cost units at about 5 per instruction, never
takes) is not linked in at all: the caller links a declaration of it, with the callee's
function and parameter attributes, and its module's passes never see the callee's body. A
shared callee is a compiled signature of a numbarl kernel that a module attribute names
(``numbarl.<module>.<name>``) and that Numba caches on disk: the callee has then been compiled,
or loaded from the cache, in this process before any caller links it, and a later process can
find it again.

Numba's reference-count functions (``NRT_incref``, ``NRT_decref``: ``noinline``, a copy of
each in almost every library, 2,900 lines of a cold TRPO start) are shared the same way: its
runtime library is compiled in every process before anything is compiled or loaded.

A caller cached on disk records the shared callees its machine code calls (module, name,
signature and the symbol called). Loading it from the cache first loads or compiles each
callee (``dispatcher.compile(args)``) and, if that callee's symbol in this process has another
name (its compile-unique version number differs), maps the recorded name to it; a callee that
cannot be found, or whose compiled signature differs, makes the cached caller a miss, compiled
afresh as before. Nothing else changes: the same optimisation pipeline runs over the callers'
own code, and the results are the same (tests/test_shared_callees.py: the same results with
and without, one copy of the callee, a cached caller loads in a new process).
``NUMBARL_SHARED_CALLEES=0`` turns the sharing off (read at import); a cached caller that
calls shared callees still loads. Every numbarl module that defines compiled kernels imports
``numbarl.envs`` (its package's ``__init__`` or the module itself), so a process that loads a
numbarl kernel from the cache has this reader installed (tests/test_shared_callees.py).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import Any

from numba.core import caching, codegen
from numba.core.dispatcher import Dispatcher

ll = codegen.ll  # llvmlite.binding, as Numba's code generator imports it

_KIND = "object+numbarl_callees"  # a serialized library that calls shared callees
DECLARE_ABOVE = 300  # lines of a shared callee's IR above which callers link its declaration only
_PACKAGE = "numbarl."

# symbol -> (module, attribute, signature) of every shared callee compiled or loaded here
_providers: dict[str, tuple[str, str, Any]] = {}


# symbols of cached callers mapped to a callee compiled here under another version number
_aliases: set[str] = set()


class MissingCallee(Exception):
    """A cached caller's shared callee cannot be found again: the caller is compiled afresh."""


def _module_name(disp: Dispatcher) -> tuple[str, str] | None:
    """``(module, attribute)`` naming ``disp`` in an importable numbarl module, else None."""
    func = getattr(disp, "py_func", None)
    module = getattr(func, "__module__", None) or ""
    if not module.startswith(_PACKAGE):
        return None
    namespace = vars(sys.modules.get(module, object))
    name = getattr(func, "__name__", "")
    if namespace.get(name) is disp:
        return module, name
    for key, value in namespace.items():  # a dispatcher bound under another name
        if value is disp:
            return module, key
    return None


def _register(original: Any) -> Any:
    def add_overload(self: Any, cres: Any) -> None:
        original(self, cres)
        if cres.objectmode or not isinstance(self._cache, caching.FunctionCache):
            return
        named = _module_name(self)
        if named is not None:
            _providers[cres.fndesc.mangled_name] = (*named, cres.signature)

    add_overload.__wrapped__ = original
    add_overload.__doc__ = original.__doc__
    return add_overload


def runtime_functions() -> frozenset:
    """The functions of Numba's runtime library (``NRT_incref``, ``NRT_decref``, ...): compiled
    in every process before any function is compiled or loaded from the cache."""
    if not _runtime:
        from numba.core.runtime import rtsys

        try:
            library = rtsys.library
        except RuntimeError:  # not initialized yet (compiling its own library): none shared
            return frozenset()
        _runtime.append(frozenset(fn.name for fn in library.get_defined_functions()))
    return _runtime[0]


_runtime: list[frozenset] = []


def _share_callees(original: Any) -> Any:
    def _optimize_final_module(self: Any) -> None:
        engine = self._codegen._engine
        runtime = runtime_functions()
        for fn in self._final_module.functions:
            if (
                (fn.name in _providers or fn.name in runtime)
                and not fn.is_declaration
                and fn.linkage == ll.Linkage.linkonce_odr
                and engine.is_symbol_defined(fn.name)
            ):
                fn.linkage = ll.Linkage.available_externally
        original(self)
        calls = []
        for fn in self._final_module.functions:
            if fn.name in _providers and (
                fn.is_declaration or fn.linkage == ll.Linkage.available_externally
            ):
                calls.append((fn.name, *_providers[fn.name]))
        self._numbarl_callees = tuple(calls)

    _optimize_final_module.__wrapped__ = original
    _optimize_final_module.__doc__ = original.__doc__
    return _optimize_final_module


_finalizing = [0]  # > 0 while a library links its callees (``CPUCodeLibrary.finalize``)


def _counting_finalize(original: Any) -> Any:
    def finalize(self: Any) -> None:
        _finalizing[0] += 1
        try:
            original(self)
        finally:
            _finalizing[0] -= 1

    finalize.__wrapped__ = original
    finalize.__doc__ = original.__doc__
    return finalize


def declaration(library: Any, module: Any) -> Any:
    """A module declaring the shared callee that ``library``'s linking ``module`` defines, with
    its attributes, if that callee is over ``DECLARE_ABOVE`` lines; else None."""
    main = None
    for fn in module.functions:
        if (
            fn.name in _providers
            and not fn.is_declaration
            and fn.linkage == ll.Linkage.linkonce_odr
        ):
            if main is not None:
                return None  # not one kernel's library
            main = fn
    if main is None or not library._codegen._engine.is_symbol_defined(main.name):
        return None
    text = str(main)
    if text.count("\n") <= DECLARE_ABOVE:
        return None
    head = next((line for line in text.splitlines() if line.startswith("define ")), None)
    if head is None or not head.endswith("{"):
        return None
    head = re.sub(r"\s#[0-9]+\s*\{$", "", head).removesuffix("{").rstrip()
    head = "declare " + head.removeprefix("define ").removeprefix("linkonce_odr ")
    attributes = " ".join(a.decode() if isinstance(a, bytes) else a for a in main.attributes)
    source = (
        f'target datalayout = "{module.data_layout}"\n'
        f'target triple = "{module.triple}"\n{head} {attributes}\n'
    )
    try:
        declared = ll.parse_assembly(source)
        declared.verify()
    except RuntimeError:
        return None  # an unusual definition line: link the whole module as before
    return declared


def _declaring_large_callees(original: Any) -> Any:
    def _get_module_for_linking(self: Any) -> Any:
        module = original(self)
        if not _finalizing[0]:
            return module  # serializing the library: its whole module
        declared = getattr(self, "_numbarl_declaration", None)
        if declared is None:
            declared = declaration(self, module) or module
            self._numbarl_declaration = declared
        return declared

    _get_module_for_linking.__wrapped__ = original
    _get_module_for_linking.__doc__ = original.__doc__
    return _get_module_for_linking


def _serialize_with_callees(original: Any) -> Any:
    def serialize_using_object_code(self: Any) -> tuple:
        finalizing, _finalizing[0] = _finalizing[0], 0  # the whole module, whenever it runs
        try:
            name, kind, data = original(self)
        finally:
            _finalizing[0] = finalizing
        calls = getattr(self, "_numbarl_callees", ())
        if calls and kind == "object":
            return name, _KIND, (data, calls)
        return name, kind, data

    serialize_using_object_code.__wrapped__ = original
    serialize_using_object_code.__doc__ = original.__doc__
    return serialize_using_object_code


def load_callee(engine: Any, symbol: str, module: str, attribute: str, signature: Any) -> None:
    """Make ``symbol`` callable in this process: compile or load the callee it names, and map
    ``symbol`` to that compiled signature's code if its name here differs. Raises
    ``MissingCallee`` if the callee is gone or now compiles to another signature."""
    provider = _providers.get(symbol)
    if provider == (module, attribute, signature) and (
        engine.is_symbol_defined(symbol) or symbol in _aliases
    ):
        return
    try:
        disp = getattr(importlib.import_module(module), attribute)
        disp.compile(tuple(signature.args))
        cres = disp.overloads[tuple(signature.args)]
    except Exception as exc:  # noqa: BLE001 - any failure: compile the caller afresh
        raise MissingCallee(f"{module}.{attribute}{signature}: {exc!r}") from exc
    if cres.signature != signature or _providers.get(cres.fndesc.mangled_name) is None:
        raise MissingCallee(f"{module}.{attribute}: compiled {cres.signature}, cached {signature}")
    name = cres.fndesc.mangled_name
    if name != symbol:
        ll.add_symbol(symbol, cres.library.get_pointer_to_function(name))
        _providers[symbol] = (module, attribute, signature)
        _aliases.add(symbol)  # the next cached caller that calls it finds it mapped


def _unserialize_with_callees(original: Any) -> Any:
    def _unserialize(cls: Any, codegen_: Any, state: tuple) -> Any:
        name, kind, data = state
        if kind != _KIND:
            return original(cls, codegen_, state)
        data, calls = data
        for call in calls:  # before the caller's machine code is linked
            load_callee(codegen_._engine, *call)
        library = original(cls, codegen_, (name, "object", data))
        library._numbarl_callees = calls
        return library

    _unserialize.__wrapped__ = original
    _unserialize.__doc__ = original.__doc__
    return classmethod(_unserialize)


def _miss_on_missing_callee(original: Any) -> Any:
    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        try:
            return original(self, sig, target_context)
        except MissingCallee:
            return None

    load_overload.__wrapped__ = original
    load_overload.__doc__ = original.__doc__
    return load_overload


def _install(share: bool) -> bool:
    """Install the reader of cached callers that call shared callees (always: a cache written
    with sharing on may be read with it off) and, if ``share``, the sharing itself."""
    library = getattr(codegen, "CPUCodeLibrary", None)
    needed = (
        (Dispatcher, "add_overload"),
        (library, "_optimize_final_module"),
        (library, "_get_module_for_linking"),
        (library, "finalize"),
        (library, "serialize_using_object_code"),
        (library, "_unserialize"),
        (caching.Cache, "load_overload"),
    )
    if library is None or not all(hasattr(owner, attr) for owner, attr in needed):
        return False  # another Numba: every callee stays linked into its callers
    if not hasattr(library._unserialize, "__wrapped__"):  # once, even if re-imported
        Dispatcher.add_overload = _register(Dispatcher.add_overload)
        library._unserialize = _unserialize_with_callees(library._unserialize.__func__)
        caching.Cache.load_overload = _miss_on_missing_callee(caching.Cache.load_overload)
    if not share:
        return False
    if not hasattr(library._optimize_final_module, "__wrapped__"):
        library._optimize_final_module = _share_callees(library._optimize_final_module)
        library.finalize = _counting_finalize(library.finalize)
        library._get_module_for_linking = _declaring_large_callees(library._get_module_for_linking)
        library.serialize_using_object_code = _serialize_with_callees(
            library.serialize_using_object_code
        )
    return True


# whether callers share callees in this process (the reader is installed either way)
INSTALLED = _install(os.environ.get("NUMBARL_SHARED_CALLEES", "1") != "0")
