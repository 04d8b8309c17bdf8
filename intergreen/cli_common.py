"""What every ``intergreen`` command shares: the app class that turns user errors into one
line, and the parsers of ``KEY=VALUE``, comma lists and durations.

A leaf of the CLI layer: the per-part CLI modules (``agents/cli.py``, ``tuning/cli.py``, ...)
and ``intergreen/cli.py`` import it; it imports nothing of intergreen but the leaf helpers.

Errors: an :class:`~intergreen.errors.IntergreenError` (a bad file, option or value the user
can fix) and click's usage errors print ``error: ...`` as one line on stderr and exit with
code 2; ``--debug`` on the top-level command prints the traceback first. Any other exception
is a bug and keeps its traceback (exit code 1).
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from intergreen.common import check_finite, folded_warnings, parse_duration
from intergreen.common import progress_bar as common_progress_bar
from intergreen.errors import IntergreenError, Interrupted, OptionError

__all__ = [
    "IntergreenGroup",
    "err_console",
    "new_app",
    "one_line",
    "parse_params",
    "progress_bar",
    "parse_time_limit",
    "set_debug",
    "split_list",
]

err_console = Console(stderr=True)
_debug = False

# typer >= 0.26 vendors click (its exceptions derive from typer.TyperException); older typer
# raises click's own
_USAGE_ERRORS: tuple[type[Exception], ...] = (typer.TyperException,)
_EXITS: tuple[type[Exception], ...] = (typer.Exit,)
_ABORTS: tuple[type[BaseException], ...] = (typer.Abort,)
try:
    import click

    _USAGE_ERRORS += (click.ClickException,)
    _EXITS += (click.exceptions.Exit,)
    _ABORTS += (click.Abort,)
except ImportError:  # pragma: no cover - click is typer's own dependency before 0.26
    pass


def set_debug(on: bool) -> None:
    """Show tracebacks for user errors too (the top-level ``--debug`` option)."""
    global _debug
    _debug = on


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def _report(message: str) -> None:
    """``error: MESSAGE`` on stderr; the message is text, never rich markup (a path or a list
    in square brackets is printed as it is)."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def _report_interrupt(e: KeyboardInterrupt) -> None:
    """``interrupted`` (``terminated`` after SIGTERM) on stderr, with an :class:`Interrupted`'s
    message (what was saved, how to continue); once per interrupt however many command groups
    it passes."""
    if getattr(e, "_reported", False):
        return
    e._reported = True  # type: ignore[attr-defined]
    text = str(e) if isinstance(e, Interrupted) else ""
    word = "terminated" if _terminated else "interrupted"
    err_console.print(f"{word}{': ' if text else ''}{text}", markup=False, highlight=False,
                      soft_wrap=True)  # fmt: skip


_terminated = False  # a SIGTERM arrived while a command ran (:func:`_sigterm_as_interrupt`)


def _on_sigterm(signum: int, frame: Any) -> None:
    global _terminated
    _terminated = True
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM (``kill PID``, ``timeout``, a job scheduler's stop) ends
    it as Ctrl-C does: its workers stopped, what it had saved kept and said, then exit code 143
    (128 + SIGTERM) instead of 130. Only where SIGTERM has its default action and in the main
    thread (a caller's own handler is left alone); the previous handler is put back after."""
    global _terminated
    _terminated = False
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class IntergreenGroup(TyperGroup):
    """A command group whose ``main`` gives user errors one line and exit code 2.

    Every ``intergreen`` app is made with this class (:func:`new_app`), so the rule holds
    however the app is run: the console script, ``python -m``, or typer's ``CliRunner``.
    """

    def invoke(self, ctx: Any) -> Any:
        # typer turns Ctrl-C into a silent exit 130 before main sees it: say here what the
        # command had saved (an Interrupted's message) and let typer exit
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            _report_interrupt(e)
            raise

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        set_debug(False)
        try:
            with _sigterm_as_interrupt(), folded_warnings():  # a warning is one line
                rv = super().main(
                    args=args,
                    prog_name=prog_name,
                    complete_var=complete_var,
                    standalone_mode=False,
                    **extra,
                )
        except IntergreenError as e:
            if _debug:
                traceback.print_exc()
            _report(one_line(str(e)) or type(e).__name__)
            sys.exit(2)
        except _EXITS as e:  # typer.Exit(n); typer makes Ctrl-C Exit(130)
            code = e.exit_code  # type: ignore[attr-defined]
            sys.exit(143 if _terminated and code == 130 else code)
        except _ABORTS:
            err_console.print("aborted")
            sys.exit(1)
        except KeyboardInterrupt as e:
            _report_interrupt(e)
            sys.exit(143 if _terminated else 130)
        except _USAGE_ERRORS as e:
            message = (
                _not_finite(e, args)
                or self._root_option_misplaced(e)
                or one_line(e.format_message())  # type: ignore[attr-defined]
            )
            if not message:  # no arguments: click has printed the help
                sys.exit(e.exit_code)  # type: ignore[attr-defined]
            ctx = getattr(e, "ctx", None)
            command = ctx.command_path if ctx is not None else (prog_name or "intergreen")
            _report(f"{message} (see `{command} --help`)")
            sys.exit(2)
        if _terminated and rv == 130:  # typer returns Ctrl-C's code in this mode
            rv = 143
        if not standalone_mode:
            return rv
        # standalone_mode=False makes click return a typer.Exit's code instead of exiting
        sys.exit(rv if isinstance(rv, int) else 0)

    def _root_option_misplaced(self, error: Exception) -> str | None:
        """The message for an option of the program itself (``--reward-module``, ``--debug``)
        given after a command, which the command does not know; None for any other error."""
        name = getattr(error, "option_name", None)
        ctx = getattr(error, "ctx", None)
        if type(error).__name__ != "NoSuchOption" or ctx is None or ctx.command is self:
            return None
        for param in self.params:
            if name in getattr(param, "opts", ()):
                value = "" if getattr(param, "is_flag", False) else f" {param.metavar or 'VALUE'}"
                command = ctx.command_path.removeprefix(ctx.find_root().command_path).strip()
                return (
                    f"{name} is an option of intergreen itself, not of {command}: put it "
                    f"before the command (intergreen {name}{value} {command} ...)"
                )
        return None


def _not_finite(error: Exception, args: Sequence[str] | None) -> str | None:
    """The message for a usage error of a number option given ``nan`` or ``inf`` (``--begin
    nan: not a number; ...``: a range check would say only that it should be at least 0);
    None for any other."""
    opts = getattr(getattr(error, "param", None), "opts", None) or []
    tokens = list(sys.argv[1:] if args is None else args)
    for i, token in enumerate(tokens):
        for opt in opts:
            if token == opt and i + 1 < len(tokens):
                raw = tokens[i + 1]
            elif token.startswith(opt + "="):
                raw = token[len(opt) + 1 :]
            else:
                continue
            try:
                value = float(raw)
            except ValueError:  # not a number at all: click's message says so
                continue
            try:
                check_finite(value, opt, "give a finite number")
            except OptionError as e:
                return str(e)
    return None


def progress_bar(label: str, unit: str = "", *, info: bool = False, transient: bool = True) -> Any:
    """:func:`intergreen.common.progress_bar` on the commands' stderr console."""
    return common_progress_bar(label, unit, info=info, transient=transient, console=err_console)


def new_app(**kwargs: Any) -> typer.Typer:
    """A ``typer.Typer`` with the project's error handling and no shell-completion options."""
    options: dict[str, Any] = {
        "cls": IntergreenGroup,
        "no_args_is_help": True,
        "pretty_exceptions_enable": False,
        "add_completion": False,
    }
    return typer.Typer(**(options | kwargs))


#: what a ``KEY=VALUE`` option's error shows as an example, per option
_PARAM_EXAMPLES = {
    "--param": "max_green=40",
    "--hp": "learning_rate=0.0005",
    "--env": "duration=600",
    "--set": "training.timesteps=300000",
}


def option_given(ctx: typer.Context, name: str) -> bool:
    """Whether the user gave option ``name`` (a parameter name, e.g. ``max_timesteps``), on
    the command line or in the environment, as opposed to leaving its default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def parse_params(items: list[str] | None, option: str = "--param") -> dict[str, Any]:
    """``KEY=VALUE`` pairs as a dict; values are read as JSON where they parse, else a
    bracketed value as a YAML flow list or mapping (``[queue, average_speed]``, as a grid file
    writes it), else strings.

    ``["max_green=40", 'greens={"2": 20}', "mode=fast", "rewards=[queue,average_speed]"]``
    gives ``{"max_green": 40, "greens": {"2": 20}, "mode": "fast", "rewards": ["queue",
    "average_speed"]}``.

    Raises:
        OptionError: an item without ``=`` or without a key, naming ``option`` with an
            example of it.
    """
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            example = _PARAM_EXAMPLES.get(option, "name=value")
            raise OptionError(f"{option} {item!r}: expected KEY=VALUE, e.g. {option} {example}")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError as e:
            params[key.strip()] = _flow_collection(value, f"{option} {item!r}", e)
    return params


def _flow_collection(value: str, what: str, json_error: json.JSONDecodeError) -> Any:
    """``value`` as a YAML flow list or mapping when it is one (``[a, b]``, ``{a: 1}``), else
    the string itself (YAML's other readings, e.g. ``on`` as true, are not wanted here).

    Raises:
        OptionError: naming ``what``, for a value that opens a list or mapping (``[``, ``{``)
            and is neither JSON nor a YAML flow collection (``{"2": 30``), or a mapping with a
            key and no value (``{2:30}``: YAML reads ``2:30`` as one key, the number 150).
    """
    from intergreen.yamlfile import YamlError, parse_yaml

    text = value.strip()
    if text[:1] not in ("[", "{"):
        return value
    example = '{"2": 30, "4": 25}' if text[:1] == "{" else "[128, 128]"
    try:
        parsed = parse_yaml(text)
    except YamlError:
        parsed = None
    if not isinstance(parsed, list | dict):
        raise OptionError(
            f"{what}: {text} is not a JSON or YAML list or mapping (JSON: {json_error.msg} at "
            f"character {json_error.pos + 1}); e.g. {example}"
        )
    no_value = isinstance(parsed, dict) and any(v is None for v in parsed.values())
    if no_value and not re.search(r"\bnull\b|~", text):  # {a: null} is meant
        raise OptionError(
            f"{what}: {text} has a key without a value; put a space after each colon (a "
            f"YAML key:value without one is a single key), e.g. {example}"
        )
    return parsed


def split_list(text: str) -> list[str]:
    """``"low, medium,high"`` -> ``["low", "medium", "high"]`` (empty items dropped)."""
    return [x.strip() for x in text.split(",") if x.strip()]


def parse_time_limit(text: str, option: str = "--time-limit") -> float:
    """A wall-clock limit in seconds: ``'90s'``, ``'30m'``, ``'2h'``, ``'1h30m'`` or ``'90'``.

    Raises:
        OptionError: not a duration, or not positive.
    """
    value = parse_duration(text, bare_seconds=True)
    if value is None:
        raise OptionError(f"{option} {text!r}: give a duration such as 90s, 30m or 2h")
    if value <= 0:
        raise OptionError(f"{option} {text!r}: the duration must be positive")
    return value
