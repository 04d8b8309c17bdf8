"""Running the ``intergreen`` command line inside a test (tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import pytest

from intergreen.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``intergreen ARGS`` in this process; (exit code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run_cli_flat(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """:func:`run_cli` with stdout's whitespace runs joined to one space (rich wraps tables
    and lines at the console's width)."""
    code, out, err = run_cli(args, capsys)
    return code, " ".join(out.split()), err


def one_error_line(code: int, out: str, err: str) -> str:
    """The single ``error: ...`` line of a user error (exit code 2, no traceback); ``note:``
    lines said before it (e.g. that a DQN run this short will not reach its first gradient
    step) are not errors."""
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("note: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]
