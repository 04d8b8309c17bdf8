"""The reward registry: the Reward protocol, register / get / names / describe, plugins.

A reward is an object with ``reset(context)`` (called at every episode start) and
``__call__(frames) -> float`` (called at every decision with the SensorFrames
since the previous decision, the last one being *now*; higher is better), plus
metadata: ``name``, a one-line ``description``, the ``formula`` in plain text,
the SensorFrame ``fields`` it reads, whether it ``needs_demand`` (an estimate of
the arrival rate), the ``params`` it was built with, and its ``version`` (a string, "1"
unless given: whoever changes a reward's formula bumps it, so that runs trained under the old
formula are told apart; run configs record it and it is part of run keys).

``register(name)`` adds a class (subclass :class:`BaseReward`, or any class
with the protocol) or a plain function ``f(frames, context, *, param=default)
-> float``, which becomes a stateless reward whose keyword-only arguments are
its parameters. ``get(name, **params)`` returns a fresh instance. Third-party
packages add rewards through the entry-point group ``intergreen.rewards``: the
entry point's name is the reward name and its object a reward class or function
(or a module that registers its rewards on import). A plugin that fails to load
is reported by name and leaves the other rewards working.

This module is the process-wide registry: ``from intergreen.rewards import
registry; registry.get("average_speed")``. :class:`Registry` builds isolated ones.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
import math
import os
import re
import sys
import threading
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import ConfigDict, TypeAdapter, ValidationError

from intergreen.errors import IntergreenError
from intergreen.frames import FIELDS, SensorFrame

ENTRY_POINT_GROUP = "intergreen.rewards"
#: Modules of user rewards every process imports on the registry's first use: module names
#: (importable from the working folder or ``sys.path``) or ``.py`` paths, separated by commas.
#: ``intergreen --reward-module NAME`` adds to it, so worker processes see the rewards too.
REWARD_MODULES_ENV = "INTERGREEN_REWARD_MODULES"
#: A reward's version when it states none.
DEFAULT_VERSION = "1"
#: What a reward's name may be: letters, digits, ``_ . -``, starting with a letter.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


class RewardError(IntergreenError, ValueError):
    """A reward could not be found, built or evaluated; the message names the reward."""


# ----- context and protocol ------------------------------------------------------------------
@dataclass(frozen=True)
class RewardContext:
    """What a reward may know about the episode besides the sensor frames.

    Built by the environment (``intergreen.junctions.env.reward_context``) at every episode
    start. Per-lane arrays follow ``lanes`` (the SensorFrame order).
    """

    junction: str  # the junction's name
    lanes: tuple[str, ...]  # approach lanes, SensorFrame order
    step_length: float  # s per simulation step (one frame)
    decision_interval: float  # s between decisions
    speed_limits: np.ndarray  # m/s per lane
    camera_range: float  # m from the stop line
    stop_line_loops: bool = True  # whether frames carry stop-line passages (``passed``)
    #: per action stage, a bool per lane: whether the stage gives that lane a green
    stage_lanes: Mapping[str, np.ndarray] = field(default_factory=dict)
    #: the junction's ``JunctionSpec``, for rewards that need more (typed loosely so that
    #: rewards do not import the junctions package, which sits above them)
    spec: Any = None


@runtime_checkable
class Reward(Protocol):
    """What the environment calls. Higher is better."""

    name: str
    description: str
    formula: str
    fields: tuple[str, ...]
    needs_demand: bool

    @property
    def params(self) -> dict[str, Any]: ...

    def reset(self, context: RewardContext) -> None: ...

    def __call__(self, frames: Sequence[SensorFrame]) -> float: ...


def check_value(reward: Any, value: Any) -> float:
    """Return ``value`` as a float, or raise RewardError naming the reward when it is not a
    finite number (a NaN or infinite reward would silently poison training)."""
    name = getattr(reward, "name", type(reward).__name__)
    refused = isinstance(value, str | bytes | bool | np.bool_) or (  # float() takes them
        isinstance(value, np.ndarray) and (value.ndim > 0 or value.dtype.kind not in "iuf")
    )
    try:
        x = math.nan if refused else float(value)
    except (TypeError, ValueError):
        refused = True
    if refused:
        raise RewardError(
            f"reward {name!r} returned {value!r} ({type(value).__name__}), not a number: "
            "return a float"
        )
    if not math.isfinite(x):
        raise RewardError(f"reward {name!r} returned {x} (not finite); check its inputs")
    return x


_PACKAGE = Path(__file__).resolve().parent.parent  # intergreen/


def _user_code_error(name: str, e: Exception) -> RewardError | None:
    """For an exception raised inside a user's reward (the last frame of its traceback in a
    file outside intergreen and outside installed packages and the standard library), a
    RewardError naming the reward, the exception and that file and line; None for any other
    (a fault of intergreen keeps its traceback)."""
    import sysconfig
    import traceback

    if isinstance(e, IntergreenError):
        return None  # intergreen's own message for a misuse (UnreadFieldError, ...) stands
    skip = {Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "purelib", "platlib")}
    frames = traceback.extract_tb(e.__traceback__)
    for frame in reversed(frames):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(_PACKAGE) or any(path.is_relative_to(d) for d in skip):
            continue
        if not path.is_file():
            continue  # <stdin>, <string>
        return RewardError(
            f"reward {name!r} raised {type(e).__name__}: {e} ({path.name}, line {frame.lineno}, "
            f"in {frame.name}); fix the reward's code (--debug shows the traceback)"
        )
    return None


def _checked_call(reward: Any, compute: Callable[..., Any], frames: Sequence[Any]) -> float:
    """``compute(frames)`` as a checked value (:func:`check_value`); an exception raised in
    the user's own code becomes a one-line RewardError (:func:`_user_code_error`)."""
    try:
        value = compute(frames)
    except Exception as e:
        user = _user_code_error(reward.name, e)
        if user is None:
            raise
        raise user from e
    return check_value(reward, value)


class BaseReward:
    """Convenience base for rewards: metadata as class attributes, parameters from
    ``__init__``'s keyword arguments, value checks, and the reset-before-use rule.

    Subclasses implement ``compute(frames) -> float`` and, when they keep state
    across decisions, ``start()`` (called by ``reset`` after ``self.context`` is set).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    formula: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = FIELDS
    needs_demand: ClassVar[bool] = False
    #: Bumped whenever the formula changes (see the module docstring).
    version: ClassVar[str] = DEFAULT_VERSION

    context: RewardContext | None = None

    def __init__(self) -> None:
        """No parameters; subclasses declare theirs as keyword arguments with defaults."""

    def __new__(cls, *args: Any, **kwargs: Any) -> BaseReward:
        obj = super().__new__(cls)
        try:
            bound = inspect.signature(cls.__init__).bind(obj, *args, **kwargs)
        except TypeError:  # __init__ raises the precise error
            bound = None
        if bound is not None:
            bound.apply_defaults()
            bound.arguments.pop(next(iter(bound.arguments)))  # self
            obj._params = dict(bound.arguments)
        return obj

    @property
    def params(self) -> dict[str, Any]:
        """The parameters this instance was built with (defaults included)."""
        return dict(getattr(self, "_params", {}))

    def reset(self, context: RewardContext) -> None:
        """Start a new episode."""
        self.context = context
        self.start()

    def start(self) -> None:
        """Clear per-episode state (override when the reward keeps any)."""

    def compute(self, frames: Sequence[SensorFrame]) -> float:
        raise NotImplementedError

    def __call__(self, frames: Sequence[SensorFrame]) -> float:
        if self.context is None:
            raise RewardError(
                f"reward {self.name!r}: call reset(context) at the episode start before using it"
            )
        if not frames:
            raise RewardError(f"reward {self.name!r}: needs at least one sensor frame")
        return _checked_call(self, self.compute, frames)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"<reward {self.name}({args})>"


class FunctionReward(BaseReward):
    """A stateless reward made from ``f(frames, context, **params) -> float``."""

    def __init__(self, func: Callable[..., float], **params: Any) -> None:
        self.func = func
        self._params = dict(params)

    def compute(self, frames: Sequence[SensorFrame]) -> float:
        return self.func(frames, self.context, **self._params)


def function_reward(func: Callable[..., Any]) -> FunctionReward:
    """An unregistered function ``f(frames, context) -> float`` (passed to ``make_env`` as
    ``reward=``) as a reward with a registered one's checks: its signature before the first
    episode, and each value (None, a string, NaN or inf is a RewardError naming it, as is an
    exception raised in its code). Named by its ``name`` attribute, else its ``__name__``.

    Raises:
        RewardError: a function that cannot be called as ``f(frames, context)``.
    """
    name = str(getattr(func, "name", getattr(func, "__name__", "custom")))
    _check_function(name, func)
    reward = FunctionReward(func)
    reward.name = name  # type: ignore[misc]
    return reward


class _Checked:
    """Wraps a protocol-only reward (not a BaseReward) so its values are checked too."""

    def __init__(self, inner: Any, name: str) -> None:
        self._inner = inner
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)

    @property
    def params(self) -> dict[str, Any]:
        return dict(getattr(self._inner, "params", {}) or {})

    def reset(self, context: RewardContext) -> None:
        self._inner.reset(context)

    def __call__(self, frames: Sequence[SensorFrame]) -> float:
        return _checked_call(self, self._inner, frames)


# ----- registry ------------------------------------------------------------------------------
@dataclass
class _Entry:
    name: str
    obj: Any  # the registered class or function
    description: str
    formula: str
    fields: tuple[str, ...]
    needs_demand: bool
    parameters: dict[str, Any]  # name -> default (inspect.Parameter.empty when required)
    source: str = "built-in"
    kind: str = "class"
    version: str = DEFAULT_VERSION


def _first_line(doc: str | None) -> str:
    return (inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ").strip()) if doc else ""


def _parameters(obj: Any, kind: str) -> dict[str, Any]:
    """Parameter names and defaults: keyword arguments of a class's ``__init__``, or the
    arguments of a function after ``(frames, context)`` (keyword-only, as the README writes
    them, or positional with a name: ``f(frames, context, threshold=5.0)``)."""
    target = obj.__init__ if kind == "class" else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return {}
    out: dict[str, Any] = {}
    ps = list(sig.parameters.values())
    if kind == "class":
        ps = ps[1:]
    else:
        ps = [p for p in ps if p.kind is not p.POSITIONAL_ONLY][_positional_taken(ps) :]
    for p in ps:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[p.name] = p.default
    return out


def _positional_taken(ps: list[inspect.Parameter]) -> int:
    """How many of a function's non-positional-only parameters ``frames`` and ``context``
    take (they are passed by position: 2 minus the positional-only ones)."""
    return max(0, 2 - sum(p.kind is p.POSITIONAL_ONLY for p in ps))


def _check_function(name: str, func: Any) -> None:
    """Refuse a function reward that cannot be called as ``f(frames, context, **params)``
    (``def f(frames)``: it failed at the first decision, naming no reward).

    Raises:
        RewardError: naming the reward, the function's signature and the form it needs.
    """
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return  # a builtin or C function: nothing to check
    ps = list(sig.parameters.values())
    positional = [p for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 and not any(p.kind is p.VAR_POSITIONAL for p in ps):
        raise RewardError(
            f"reward {name!r}: a function reward is called as f(frames, context, **params); "
            f"{getattr(func, '__name__', 'it')}{sig.replace(return_annotation=sig.empty)} does "
            "not take both (write def f(frames, context, *, param=default): ...)"
        )


def _typed_params(e: _Entry, params: dict[str, Any]) -> dict[str, Any]:
    """A reward's ``params`` checked against the annotations of its function, or of its
    class's ``__init__``, and read by pydantic (lax mode: ``3`` for ``threshold: float`` is
    ``3.0``, ``"x"`` is refused), as the built-in rewards check theirs, so that a bad value is
    refused when the reward is built, not by a numpy error mid-episode. Unannotated
    parameters, and those whose annotation names a type pydantic cannot check or a name that
    cannot be resolved, pass as given, unless they hold a NaN or infinite number (refused as
    the built-in rewards refuse theirs: a NaN threshold silently compares false).

    Raises:
        RewardError: ``reward 'NAME': parameter P must be TYPE, got VALUE (pydantic's reason)``,
            or ``parameter P must be finite, got nan``.
    """
    out = _annotated_params(e, params)
    for name, value in out.items():
        if _has_non_finite(value):
            raise RewardError(
                f"reward {e.name!r}: parameter {name} must be finite, got {params[name]!r}"
            )
    return out


def _annotated_params(e: _Entry, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` read by pydantic as their annotations ask (for :func:`_typed_params`)."""
    try:
        hints = typing.get_type_hints(e.obj.__init__ if e.kind == "class" else e.obj)
    except Exception:  # an annotation naming what its module cannot resolve: left unchecked
        return dict(params)
    out = dict(params)
    for name, value in params.items():
        if name not in hints or name not in e.parameters:
            continue
        try:
            adapter = TypeAdapter(hints[name], config=ConfigDict(arbitrary_types_allowed=True))
        except Exception:  # pydantic cannot build a check for this annotation
            continue
        kind = getattr(hints[name], "__name__", None) or str(hints[name])
        if isinstance(value, bool) and not _takes_bool(hints[name]):  # pydantic reads it as 1
            raise RewardError(
                f"reward {e.name!r}: parameter {name} must be {kind}, got {value!r} (a "
                "true/false, not a number)"
            )
        try:
            out[name] = adapter.validate_python(value)
        except ValidationError as err:
            reason = err.errors()[0]["msg"]
            raise RewardError(
                f"reward {e.name!r}: parameter {name} must be {kind}, got {value!r} ({reason})"
            ) from None
    return out


def _takes_bool(hint: Any) -> bool:
    """Whether an annotation admits a bool as itself (bool, Any, or a union holding one)."""
    if hint is bool or hint is Any or hint is object:
        return True
    if typing.get_origin(hint) is typing.Literal:
        return any(isinstance(a, bool) for a in typing.get_args(hint))
    return any(_takes_bool(a) for a in typing.get_args(hint) if a is not type(None))


def _check_class(name: str, cls: type) -> None:
    """Refuse, when it is registered, a reward class that cannot give a value: a BaseReward
    subclass without ``compute``, or another class without ``reset`` and ``__call__`` (the
    Reward protocol; :meth:`Registry.get` checks its instances)."""
    if issubclass(cls, BaseReward):
        if cls.compute is BaseReward.compute and cls.__call__ is BaseReward.__call__:
            raise RewardError(
                f"reward {name!r}: class {cls.__name__} defines no compute(self, frames) -> "
                "float; a BaseReward subclass computes its value there"
            )
        return
    calls = any("__call__" in vars(k) for k in cls.__mro__ if k is not object)
    if not (calls and callable(getattr(cls, "reset", None))):
        raise RewardError(
            f"reward {name!r}: class {cls.__name__} does not follow the Reward protocol: it "
            "needs reset(self, context) and __call__(self, frames); or subclass BaseReward "
            "and define compute(self, frames)"
        )


def _has_non_finite(value: Any) -> bool:
    """Whether ``value`` is, or a list or mapping in it holds, a NaN or infinite number."""
    if isinstance(value, Mapping):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(v) for v in value)
    return isinstance(value, float | np.floating) and not math.isfinite(value)


def _edited(old: Any, new: Any) -> bool:
    """Whether two definitions of a reward have different source code (a file's or a notebook
    cell's; False where Python keeps none, as for code made by exec)."""
    try:
        return inspect.getsource(old) != inspect.getsource(new)
    except (OSError, TypeError):
        return False


def _caller_level() -> int:
    """The ``stacklevel`` that makes a warning name the first frame outside this module (the
    user's ``register`` line, through decorators and the module-level functions)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _next_version(version: str) -> str:
    """A version after ``version`` to suggest: ``"1"`` -> ``"2"``, ``"1-mine"`` ->
    ``"1-mine-2"``."""
    return str(int(version) + 1) if version.isdigit() else f"{version}-2"


def _origin(obj: Any) -> str:
    """Where a reward registered outside :meth:`Registry.load_module` and plugin loading
    comes from: ``built-in`` for intergreen's own modules, else its module (``module
    my_rewards``; ``module __main__``: the running script or notebook)."""
    module = getattr(obj, "__module__", None) or ""
    if module == "intergreen" or module.startswith("intergreen."):
        return "built-in"
    return f"module {module}" if module else "your code"


def _qualname(obj: Any) -> str | None:
    return getattr(obj, "__qualname__", None)


class Registry:
    """A set of named rewards, with entry-point plugins loaded on first use."""

    def __init__(self, *, plugins: bool = True, group: str = ENTRY_POINT_GROUP) -> None:
        self._entries: dict[str, _Entry] = {}
        self._plugin_errors: dict[str, str] = {}
        self._plugin_names: set[str] = set()
        self._plugins = plugins
        self._group = group
        self._loaded = not plugins
        self._loading = False
        self._lock = threading.RLock()
        #: where rewards registered now come from ("module my_rewards", "plugin ..."); None
        #: outside load_module and plugin loading
        self._source: str | None = None
        #: resolved .py file -> the spec it was first loaded as (one file is loaded once)
        self._module_files: dict[Path, str] = {}

    # ----- registering -----------------------------------------------------------------------
    def register(
        self,
        name: str,
        obj: Any = None,
        *,
        replace: bool = False,
        description: str | None = None,
        formula: str | None = None,
        fields: Sequence[str] | None = None,
        needs_demand: bool | None = None,
        version: str | int | None = None,
    ) -> Any:
        """Register a reward class or function under ``name``; usable as a decorator
        (``@register("name")``) or directly (``register("name", obj)``). Metadata given
        here overrides the object's own (class attributes or the function's docstring);
        ``version`` (default: the object's ``version`` attribute, else "1") names the
        formula's version. A name already taken is an error unless ``replace=True``."""

        def decorate(target: Any) -> Any:
            self._add(name, target, replace, description, formula, fields, needs_demand,
                      version=version)  # fmt: skip
            return target

        return decorate if obj is None else decorate(obj)

    def _add(
        self,
        name: str,
        obj: Any,
        replace: bool,
        description: str | None,
        formula: str | None,
        fields: Sequence[str] | None,
        needs_demand: bool | None,
        source: str | None = None,
        version: str | int | None = None,
    ) -> None:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise RewardError(
                f"invalid reward name {name!r}: use letters, digits, '_', '-' or '.', "
                "starting with a letter"
            )
        if inspect.isclass(obj):
            kind = "class"
            _check_class(name, obj)
        elif hasattr(obj, "reset"):
            raise RewardError(
                f"reward {name!r}: register the reward's class, not an instance "
                "(get() builds a fresh instance for every use)"
            )
        elif callable(obj):
            kind = "function"
            _check_function(name, obj)
        else:
            raise RewardError(
                f"reward {name!r}: register a class or a function f(frames, context), "
                f"not {type(obj).__name__}"
            )
        if kind == "class" and issubclass(obj, BaseReward) and not obj.__dict__.get("name"):
            obj.name = name  # messages raised while building an instance name it
        if isinstance(fields, str):  # fields="halting": one field, not its letters
            fields = (fields,)
        source = source or self._source or _origin(obj)
        ver = version if version is not None else getattr(obj, "version", DEFAULT_VERSION)
        with self._lock:
            old = self._entries.get(name)
            if old is not None and not replace and old.obj is not obj:
                if old.source == source and source != "built-in":
                    if _qualname(old.obj) == _qualname(obj):
                        replace = True  # the same definition run again (a notebook cell)
                    else:
                        raise RewardError(
                            f"reward {name!r} is registered twice in {source}: rename one, "
                            "or pass replace=True to the later register to replace the "
                            "earlier"
                        )
                else:
                    raise RewardError(
                        f"reward {name!r} is already registered ({old.source}); "
                        "pass replace=True to replace it"
                    )
            if (
                old is not None
                and old.obj is not obj
                and old.source != "built-in"
                and str(ver).strip() == old.version
                and _edited(old.obj, obj)
            ):
                warnings.warn(
                    f"reward {name!r} was registered again with other code but the same version "
                    f"{old.version!r}: runs of the two formulas share keys, so a batch would count "
                    f"the old formula's finished runs as the new one's; give "
                    f"the edited formula another version (register(..., version="
                    f"'{_next_version(old.version)}')), or another name",
                    UserWarning,
                    stacklevel=_caller_level(),
                )
            if (
                old is not None
                and old.source == "built-in"
                and source != "built-in"
                and str(ver).strip() == old.version
            ):
                raise RewardError(
                    f"reward {name!r}: replacing the built-in reward (version {old.version}) "
                    f"with another formula needs another version, or runs trained on the two "
                    f"would share keys and results: register(..., version="
                    f"'{old.version}-mine'), or register it under a name of its own"
                )
            doc = _first_line(obj.__doc__)
            desc = description if description is not None else getattr(obj, "description", None)
            if kind == "function" or not isinstance(desc, str) or not desc:
                desc = description or doc
            form = formula if formula is not None else getattr(obj, "formula", "")
            fl = tuple(fields) if fields is not None else tuple(getattr(obj, "fields", FIELDS))
            unknown = [f for f in fl if f not in FIELDS]
            if unknown:
                raise RewardError(
                    f"reward {name!r}: unknown SensorFrame field(s) {', '.join(unknown)} "
                    f"(fields: {', '.join(FIELDS)})"
                )
            nd = needs_demand if needs_demand is not None else getattr(obj, "needs_demand", False)
            if not isinstance(ver, str | int) or isinstance(ver, bool) or not str(ver).strip():
                raise RewardError(
                    f"reward {name!r}: version must be a non-empty string like '2', got {ver!r}"
                )
            self._entries[name] = _Entry(
                name=name,
                obj=obj,
                description=desc or "",
                formula=form if isinstance(form, str) else "",
                fields=fl,
                needs_demand=bool(nd),
                parameters=_parameters(obj, kind),
                source=source,
                kind=kind,
                version=str(ver).strip(),
            )

    def unregister(self, name: str) -> None:
        """Remove a reward (no error when absent)."""
        with self._lock:
            self._entries.pop(name, None)

    # ----- plugins ---------------------------------------------------------------------------
    def _ensure_plugins(self) -> None:
        if self._loaded or self._loading:
            return
        with self._lock:
            if self._loaded:
                return
            self._loading = True
            try:
                self._load_plugins()
            finally:
                self._loading = False
                self._loaded = True

    def _load_plugins(self) -> None:
        try:
            eps = importlib.metadata.entry_points(group=self._group)
        except Exception as e:  # a broken installed distribution must not break the built-ins
            self._plugin_errors["*"] = f"could not list entry points: {e}"
            eps = []
        for ep in sorted(eps, key=lambda e: e.name):
            dist = getattr(getattr(ep, "dist", None), "name", None) or "unknown package"
            where = f"plugin {ep.name!r} (package {dist}, entry point {ep.value!r})"
            before = set(self._entries)
            self._source = where
            try:
                obj = ep.load()
                if not inspect.ismodule(obj):
                    existing = self._entries.get(ep.name)
                    if existing is None or existing.obj is not obj:
                        self._add(ep.name, obj, False, None, None, None, None, source=where)
            except Exception as e:
                self._plugin_errors[ep.name] = f"{where} failed to load: {type(e).__name__}: {e}"
                warnings.warn(self._plugin_errors[ep.name], RuntimeWarning, stacklevel=3)
            finally:
                self._source = None
            added = set(self._entries) - before
            for n in added:
                if self._entries[n].source == "built-in":
                    self._entries[n].source = where
            self._plugin_names |= added

        for spec in reward_modules():
            try:
                self.load_module(spec)
            except RewardError as e:
                self._plugin_errors[spec] = str(e)
                warnings.warn(str(e), RuntimeWarning, stacklevel=3)

    def load_module(self, spec: str) -> list[str]:
        """Import a module of user rewards (``@registry.register`` at its top level): a module
        name importable from the working folder or ``sys.path`` (``my_rewards``), or a ``.py``
        path. Returns the names it registered (none when it was imported before, also under
        the other form: ``my_rewards`` and ``my_rewards.py`` are one file, loaded once).

        Raises:
            RewardError: no such module or file, or the module failed on import.
        """
        before = set(self._entries)
        where = f"module {spec}"
        previous, self._source = self._source, where
        try:
            if spec.endswith(".py"):
                path = Path(spec).resolve()
                if not path.is_file():
                    raise RewardError(f"reward module {spec}: no such file")
                if path in self._module_files:
                    return []
                name = f"_intergreen_rewards_{path.stem}_{abs(hash(str(path))):x}"
                if name not in sys.modules:
                    found = importlib.util.spec_from_file_location(name, path)
                    module = importlib.util.module_from_spec(found)  # type: ignore[arg-type]
                    sys.modules[name] = module
                    try:
                        found.loader.exec_module(module)  # type: ignore[union-attr]
                    except BaseException:
                        del sys.modules[name]
                        raise
                self._module_files[path] = spec
            else:
                cwd = os.getcwd()
                if cwd not in sys.path:  # the console script does not search the working folder
                    sys.path.append(cwd)
                found = importlib.util.find_spec(spec)
                origin = found.origin if found is not None else None
                path = Path(origin).resolve() if origin and origin.endswith(".py") else None
                if path is not None and self._module_files.get(path, spec) != spec:
                    return []  # loaded before from its .py path
                importlib.import_module(spec)
                if path is not None:
                    self._module_files.setdefault(path, spec)
        except RewardError:
            raise
        except ModuleNotFoundError as e:
            if e.name != spec.split(".")[0] and e.name != spec:
                raise RewardError(f"reward module {spec} failed to import: {e}") from None
            raise RewardError(
                f"reward module {spec!r}: no such module in the working folder or on "
                "PYTHONPATH (give the module's name from its folder, or the path of its .py file)"
            ) from None
        except Exception as e:
            raise RewardError(
                f"reward module {spec} failed to import: {type(e).__name__}: {e}"
            ) from None
        finally:
            self._source = previous
        return sorted(set(self._entries) - before)

    def reload_plugins(self) -> None:
        """Forget plugin rewards and errors, then scan the entry points again (after
        installing or removing a plugin package in a running process)."""
        with self._lock:
            for n in self._plugin_names:
                self._entries.pop(n, None)
            self._plugin_names.clear()
            self._plugin_errors.clear()
            importlib.invalidate_caches()
            self._loaded = False
        self._ensure_plugins()

    def plugin_errors(self) -> dict[str, str]:
        """Plugins that failed to load: entry-point name -> message."""
        self._ensure_plugins()
        return dict(self._plugin_errors)

    # ----- looking up ------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Registered reward names, sorted."""
        self._ensure_plugins()
        return sorted(self._entries)

    def _entry(self, name: str) -> _Entry:
        if not isinstance(name, str):
            raise RewardError(
                f"a reward name must be a string, got {name!r}: for a reward given as a mapping "
                "(a name with parameters) use resolve_reward(spec), or get(NAME, **params)"
            )
        self._ensure_plugins()
        entry = self._entries.get(name)
        if entry is not None:
            return entry
        if name in self._plugin_errors:
            raise RewardError(self._plugin_errors[name])
        known = sorted(self._entries)
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise RewardError(
            f"unknown reward {name!r}.{hint} Known rewards: {', '.join(known)} (a reward "
            "of your own: import the module that registers it first, or give the command "
            "line --reward-module MODULE)"
        )

    def describe(self, name: str) -> dict[str, Any]:
        """Metadata of a reward: name, description, formula, fields, needs_demand,
        parameters (name -> default), required (parameters without a default), source,
        version, composite (True when fields and needs_demand are those of the components it
        is built of, known only once built: ``weighted``)."""
        e = self._entry(name)
        params = {k: v for k, v in e.parameters.items() if v is not inspect.Parameter.empty}
        required = [k for k, v in e.parameters.items() if v is inspect.Parameter.empty]
        return {
            "name": e.name,
            "description": e.description,
            "formula": e.formula,
            "fields": list(e.fields),
            "needs_demand": e.needs_demand,
            "parameters": params,
            "required": required,
            "source": e.source,
            "version": e.version,
            "composite": bool(getattr(e.obj, "composite", False)),
        }

    def get(self, name: str, **params: Any) -> Any:
        """A fresh instance of the reward ``name`` built with ``params``."""
        e = self._entry(name)
        unknown = [k for k in params if k not in e.parameters]
        accepts_any = self._accepts_var_keywords(e)
        if unknown and not accepts_any:
            valid = ", ".join(e.parameters) or "none"
            raise RewardError(
                f"reward {name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"valid parameters: {valid}"
            )
        missing = [
            k for k, v in e.parameters.items() if v is inspect.Parameter.empty and k not in params
        ]
        if missing:
            raise RewardError(
                f"reward {name!r} needs parameter(s) {', '.join(missing)}; "
                f"valid parameters: {', '.join(e.parameters)}"
            )
        try:
            if e.kind == "function":
                full = {
                    k: v for k, v in e.parameters.items() if v is not inspect.Parameter.empty
                } | _typed_params(e, params)
                obj: Any = FunctionReward(e.obj, **full)
            else:  # the built-in classes check their own, in their own words
                obj = e.obj(**(params if e.source == "built-in" else _typed_params(e, params)))
        except RewardError:
            raise
        except (TypeError, ValueError) as exc:
            raise RewardError(f"reward {name!r}: bad parameters {params}: {exc}") from None
        self._stamp(obj, e)
        if not isinstance(obj, BaseReward):  # a BaseReward without compute: refused at register
            if not (callable(obj) and hasattr(obj, "reset")):
                raise RewardError(
                    f"reward {name!r} ({e.source}) does not follow the Reward protocol: "
                    "it needs reset(context) and __call__(frames)"
                )
            obj = _Checked(obj, name)
        return obj

    @staticmethod
    def _accepts_var_keywords(e: _Entry) -> bool:
        target = e.obj.__init__ if e.kind == "class" else e.obj
        try:
            sig = inspect.signature(target)
        except (TypeError, ValueError):
            return True
        return any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())

    @staticmethod
    def _stamp(obj: Any, e: _Entry) -> None:
        """Give an instance its registered name and metadata (instance attributes)."""
        meta = {
            "name": e.name,
            "description": e.description,
            "formula": e.formula,
            "needs_demand": e.needs_demand,
            "version": e.version,
        }
        meta["fields"] = e.fields
        own = vars(obj) if hasattr(obj, "__dict__") else {}
        for k, v in meta.items():
            if k != "name" and k in own:  # instances may compute their own (e.g. weighted)
                continue
            with contextlib.suppress(AttributeError, TypeError):
                setattr(obj, k, v)

    def __contains__(self, name: object) -> bool:
        self._ensure_plugins()
        return name in self._entries


# ----- env integration -----------------------------------------------------------------------
def resolve_reward(spec: str | Mapping[str, Any] | Any, registry: Registry | None = None) -> Any:
    """A reward from a name (``"average_speed"``), a mapping with ``name`` and the
    parameters (``{"name": "weighted", "weights": {...}}``; with ``version``, as
    :func:`reward_metadata` records it, a RewardError when the registered version differs),
    or a reward instance."""
    reg = registry or REGISTRY
    if isinstance(spec, str):
        return reg.get(spec)
    if isinstance(spec, Mapping):
        name, params, wanted = _spec_parts(spec)
        if "name" not in spec:
            raise RewardError(
                f"a reward given as a mapping needs a 'name' key (got keys: {sorted(spec)})"
            )
        if not isinstance(name, str):
            raise RewardError(
                f"a reward's 'name' must be a string, the name of a registered reward (intergreen "
                f"rewards list), got {name!r}"
            )
        reward = reg.get(name, **params)
        version = str(getattr(reward, "version", DEFAULT_VERSION))
        if wanted is not None and str(wanted) != version:
            raise RewardError(
                f"reward {name!r} is version {version} here, the record asks for version "
                f"{wanted} (its formula has changed since): retrain, or use the intergreen "
                "version that made the record"
            )
        return reward
    if isinstance(spec, Reward) or (callable(spec) and hasattr(spec, "reset")):
        return spec
    raise RewardError(
        f"cannot make a reward from {spec!r}: give a name, a mapping with 'name', or a reward"
    )


def _spec_parts(spec: Mapping[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    """A reward mapping's name, parameters (``{"name": ..., "params": {...}}`` unwrapped) and
    recorded ``version`` (None when it names none)."""
    params = dict(spec)
    name = params.pop("name", None)
    wanted = params.pop("version", None)  # a recorded reward (reward_metadata) names it
    if set(params) == {"params"} and isinstance(params["params"], Mapping):
        params = dict(params["params"])  # {"name": ..., "params": {...}} also accepted
    return name, params, wanted


def _canonical_value(x: Any) -> Any:
    """A parameter value in its one written form: mappings with sorted string keys, sequences
    as lists, a float that is a whole number as an int (``1.0`` is ``1``; booleans stay)."""
    if isinstance(x, Mapping):
        return {str(k): _canonical_value(x[k]) for k in sorted(x, key=str)}
    if isinstance(x, list | tuple):
        return [_canonical_value(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def canonical_reward(spec: str | Mapping[str, Any] | Any) -> str | dict[str, Any] | Any:
    """One form for every way of writing one reward, so that equal rewards are one run
    (:meth:`intergreen.agents.config.TrainConfig.key`, ``reward_version``) and one grid entry:
    a name stays the name (the keys of runs of named rewards never change); a mapping without
    parameters is its name (``{"name": "queue"}`` is ``"queue"``); else ``{"name": NAME,
    PARAM: VALUE, ...}`` with the parameters in sorted order, nested mappings sorted too, and
    a whole-number float written as an int (``1.0`` is ``1``, as the registry's number checks
    read both alike). The ``{"params": {...}}`` form is unwrapped; a recorded ``version``
    (:func:`reward_metadata`'s form) stays, under ``version``, so that :func:`resolve_reward`
    still checks it. Anything else (a reward instance, a malformed spec) is returned as
    given: the spec is not checked here (:func:`resolve_reward` does)."""
    if not isinstance(spec, Mapping):
        return spec
    name, params, wanted = _spec_parts(spec)
    if not isinstance(name, str):
        return spec
    if not params and wanted is None:
        return name
    return {"name": name, **_canonical_value(params)} | (
        {"version": str(wanted)} if wanted is not None else {}
    )


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple | set | frozenset):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if x is None or isinstance(x, bool | int | float | str):
        return x
    return repr(x)


def reward_metadata(reward: Any) -> dict[str, Any]:
    """Name, parameters and version of a reward, JSON-friendly, for run metadata."""
    return {
        "name": str(getattr(reward, "name", type(reward).__name__)),
        "params": _jsonable(getattr(reward, "params", {}) or {}),
        "version": str(getattr(reward, "version", DEFAULT_VERSION)),
    }


def workers_cannot_see(spec: Any, registry: Registry | None = None) -> str | None:
    """Why worker processes cannot build the reward ``spec`` (a name or ``{"name": ...}``)
    that this process can, or None: one registered inside a function of the script being run
    (its ``main()``), which a worker, importing only the script's top level, never registers
    (a reward module's functions run again in every worker that imports it)."""
    name = (
        spec if isinstance(spec, str) else spec.get("name") if isinstance(spec, Mapping) else None
    )
    entry = (registry or REGISTRY)._entries.get(str(name)) if name is not None else None
    where = getattr(entry.obj, "__qualname__", "") if entry is not None else ""
    module = getattr(entry.obj, "__module__", "") if entry is not None else ""
    if "<locals>" not in where or module != "__main__":  # a module's factory: workers import it
        return None
    return (
        f"reward {name!r} is registered inside a function ({where}): worker processes import "
        "only your script's top level (or the modules of --reward-module), so they never "
        "register it; register it at the top level of the script or in a module, or use "
        "workers=1"
    )


def reward_label(name: str, params: Mapping[str, Any] | None = None) -> str:
    """``name``, or ``name[HASH]`` with ``params`` (HASH: the first 6 hex digits of the
    SHA-256 of their JSON, keys sorted): how run folders, batch reports and evaluation
    columns tell one reward's settings apart (``long_queues[faeb4e]``)."""
    if not params:
        return name
    text = json.dumps(dict(params), sort_keys=True, default=str)
    return f"{name}[{hashlib.sha256(text.encode()).hexdigest()[:6]}]"


def spec_label(spec: Any, info: Mapping[str, Any] | None = None) -> str:
    """The label of a reward as given (a name, a mapping, or an instance or function with
    its :func:`reward_metadata` ``info``): a batch's, ``NAME[HASH]`` of the canonical
    parameters as written (:func:`canonical_reward`, :func:`reward_label`), so that an
    evaluation's columns and a batch's folders and report rows name one setting alike; an
    object given as itself: its name with the parameters off their registered defaults."""
    canonical = canonical_reward(spec)
    if isinstance(canonical, str):
        return canonical
    if isinstance(canonical, Mapping) and isinstance(canonical.get("name"), str):
        return reward_label(canonical["name"], {k: v for k, v in canonical.items() if k != "name"})
    info = info or {}
    name, params = str(info.get("name", "reward")), dict(info.get("params") or {})
    try:
        defaults = REGISTRY.describe(name)["parameters"]
    except RewardError:
        defaults = {}
    given = {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}
    return reward_label(name, _canonical_value(given))


def reward_version(spec: str | Mapping[str, Any] | Any, registry: Registry | None = None) -> str:
    """The version of the reward ``spec`` names (a name, a mapping or an instance, as for
    :func:`resolve_reward`); RewardError when there is no such reward."""
    return str(getattr(resolve_reward(spec, registry), "version", DEFAULT_VERSION))


# ----- the process-wide registry (module-level API) ------------------------------------------
REGISTRY = Registry()


def register(name: str, obj: Any = None, **kwargs: Any) -> Any:
    """Register a reward in the process-wide registry (see :meth:`Registry.register`).

    Args:
        name: the reward's name (letters, digits, ``_ . -``; starting with a letter).
        obj: a :class:`BaseReward` subclass or a function ``(frames, context=None, *,
            params...) -> float``; omitted, ``register`` returns a decorator.
        **kwargs: ``replace``, ``description``, ``formula``, ``fields`` (the SensorFrame
            fields read), ``needs_demand``.

    Returns:
        ``obj`` (or the decorator).

    Raises:
        RewardError: a bad name, a name already taken (without ``replace=True``), unknown
            sensor fields.
    """
    return REGISTRY.register(name, obj, **kwargs)


def get(name: str, **params: Any) -> Any:
    """A fresh instance of reward ``name`` built with ``params`` (see :meth:`Registry.get`).

    Returns:
        A reward: ``reward.reset(context)`` at each episode start, then ``reward(frames) ->
        float`` per decision (higher is better); ``reward.name``, ``.params``, ``.fields``.

    Raises:
        RewardError: an unknown name (the message lists the known ones and the closest), or
            bad parameters.
    """
    return REGISTRY.get(name, **params)


def names() -> list[str]:
    """The registered reward names, sorted (built-ins and plugins)."""
    return REGISTRY.names()


def describe(name: str) -> dict[str, Any]:
    """A reward's metadata: name, description, formula, fields, needs_demand, parameters
    (name -> default), required (parameters without a default), source.

    Raises:
        RewardError: an unknown name.
    """
    return REGISTRY.describe(name)


def unregister(name: str) -> None:
    REGISTRY.unregister(name)


def reward_modules() -> list[str]:
    """The user reward modules named in ``$INTERGREEN_REWARD_MODULES`` (comma-separated)."""
    return [m.strip() for m in os.environ.get(REWARD_MODULES_ENV, "").split(",") if m.strip()]


def module_location(spec: str) -> str:
    """A ``--reward-module`` value as a batch records it, so that the command its status
    prints loads the module from any folder: a ``.py`` path made absolute; a top-level module
    name found as a ``.py`` file outside the installed packages (``my_rewards`` in the working
    folder), that file's absolute path; anything else (a package's module, an installed
    module, one not found) as given."""
    import sysconfig

    if spec.endswith(".py"):
        return str(Path(spec).resolve())
    if "." in spec:
        return spec
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError):
        return spec
    origin = found.origin if found is not None else None
    if not origin or not origin.endswith(".py") or Path(origin).name == "__init__.py":
        return spec
    path = Path(origin).resolve()
    installed = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    return spec if any(path.is_relative_to(d) for d in installed) else str(path)


def modules_not_loaded(recorded: Sequence[str]) -> list[str]:
    """Those of ``recorded`` reward modules (as a run or batch records them:
    :func:`module_location`) that this process has not loaded: the ones to give with
    ``--reward-module`` where a recorded reward is unknown here."""
    loaded = {module_location(m) for m in reward_modules()}
    return [m for m in recorded if module_location(str(m)) not in loaded]


def reward_modules_from_env() -> list[str]:
    """:func:`reward_modules`, checked for the command line: a name holding ``;``, ``:`` or a
    space (another separator than the comma) is refused.

    Raises:
        RewardError: naming ``$INTERGREEN_REWARD_MODULES``, the value and the comma.
    """
    specs = reward_modules()
    bad = next((m for m in specs if re.search(r"[;:\s]", m) and not Path(m).exists()), None)
    if bad is not None:
        raise RewardError(
            f"${REWARD_MODULES_ENV}={os.environ[REWARD_MODULES_ENV]!r}: {bad!r} is not a module "
            "name or .py path; separate modules with commas, e.g. my_rewards,other_rewards"
        )
    return specs


def load_reward_modules(specs: Sequence[str]) -> list[str]:
    """Import user reward modules into the process-wide registry now and add them to
    ``$INTERGREEN_REWARD_MODULES``, so that the worker processes started later import them
    too; returns the names registered (RewardError for a missing or failing module)."""
    added: list[str] = []
    for spec in specs:
        try:
            added += REGISTRY.load_module(spec)
        except RewardError as e:
            if spec in reward_modules():  # named by the variable, not by --reward-module
                raise RewardError(f"{e} (named in ${REWARD_MODULES_ENV})") from None
            raise
    known = reward_modules()
    os.environ[REWARD_MODULES_ENV] = ",".join(known + [s for s in specs if s not in known])
    return added


def reload_plugins() -> None:
    REGISTRY.reload_plugins()


def plugin_errors() -> dict[str, str]:
    return REGISTRY.plugin_errors()


__all__ = [
    "DEFAULT_VERSION",
    "ENTRY_POINT_GROUP",
    "NAME_PATTERN",
    "REGISTRY",
    "REWARD_MODULES_ENV",
    "BaseReward",
    "FunctionReward",
    "Registry",
    "Reward",
    "RewardContext",
    "RewardError",
    "canonical_reward",
    "check_value",
    "describe",
    "get",
    "load_reward_modules",
    "module_location",
    "names",
    "plugin_errors",
    "register",
    "reload_plugins",
    "resolve_reward",
    "reward_metadata",
    "reward_modules",
    "reward_version",
    "unregister",
]
