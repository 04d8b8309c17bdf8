"""The limits a tune's trials ran under, session by session, for its records.

A tune folder is resumed by re-running its command, and a re-run may give another ``--budget``
or ``--max-trials``. Each run of the command is a *session*: ``tune.json`` keeps the list of
them (``sessions``: each one's budget, its trial cap and when it started) and every trial record
carries the index of the session that launched it (``session``). The limit that ``tuned.json``
states is built from the sessions that launched the recorded trials, so a re-run that launches
nothing leaves the stated limit as it was, and one that launches more adds its own:
``'t0000-t0002: 3 trials or 3 episodes; t0003: 4 trials or 14400 s wall clock'``. Trials
recorded before sessions were kept have no session: their limit is "not recorded".

Budgets count the whole folder (a trial cap counts every trial of it, a wall clock adds the
earlier sessions' time), so each limit is a total over the sessions up to its own.
"""

from __future__ import annotations

import time
from typing import Any

#: The limit of trials recorded before tunes kept their sessions.
UNRECORDED = "not recorded (trials of a tune from before sessions were recorded)"


def new_session(kind: str, amount: float, max_trials: int | None) -> dict[str, Any]:
    """A session record: its budget (``kind`` ``'wall'``: ``amount`` s of wall clock;
    ``'cost'``: a total cost), its trial cap (None: none) and its start (UTC, ISO 8601)."""
    return {
        "budget": {"kind": kind, "amount": amount},
        "max_trials": max_trials,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def limit_text(session: dict[str, Any], unit: str) -> str:
    """``'3 trials or 3 episodes'``, ``'1 trial or 14400 s wall clock'``: a session's limits
    (``unit``: what a cost budget counts, e.g. ``episodes`` or ``steps``)."""
    parts = []
    cap = session.get("max_trials")
    if cap is not None:
        parts.append(f"{cap} trial{'s' * (cap != 1)}")
    budget = session["budget"]
    amount = float(budget["amount"])
    if budget["kind"] == "wall":
        parts.append(f"{amount:g} s wall clock")
    else:  # "1 episode", not "1 episodes"
        parts.append(f"{amount:g} {unit.removesuffix('s') if amount == 1 else unit}")
    return " or ".join(parts)


def trial_groups(
    sessions: list[dict[str, Any]], trials: list[dict[str, Any]]
) -> list[tuple[dict[str, Any] | None, list[str]]]:
    """The trials by the session that launched them, in the order of their first trial:
    ``[(session, [trial id, ...]), ...]``; ``None`` for trials without a (known) session."""
    groups: dict[int, list[str]] = {}
    for t in sorted(trials, key=lambda t: t["number"]):
        k = t.get("session")
        known = isinstance(k, int) and 0 <= k < len(sessions)
        groups.setdefault(k if known else -1, []).append(t["id"])
    return [(sessions[k] if k >= 0 else None, ids) for k, ids in groups.items()]


def limits_text(sessions: list[dict[str, Any]], trials: list[dict[str, Any]], unit: str) -> str:
    """The limits the ``trials`` ran under: alone where every session had the same (``'3
    trials or 3 episodes'``: a re-run that resumed an interrupted tune), else each limit with
    its trials (``'t0000-t0002: 3 trials or 3 episodes; t0003: 4 trials or 14400 s wall
    clock'``)."""
    merged: dict[str, list[str]] = {}  # sessions with the same limits (a plain re-run) as one
    for session, ids in trial_groups(sessions, trials):
        text = UNRECORDED if session is None else limit_text(session, unit)
        merged.setdefault(text, []).extend(ids)
    if len(merged) == 1:
        return next(iter(merged))
    return "; ".join(f"{_id_ranges(sorted(ids))}: {text}" for text, ids in merged.items())


def _id_ranges(ids: list[str]) -> str:
    """``['t0000', 't0001', 't0002', 't0005']`` -> ``'t0000-t0002, t0005'`` (ids ``tNNNN``)."""
    runs: list[list[str]] = []
    for tid in ids:
        if runs and int(tid[1:]) == int(runs[-1][-1][1:]) + 1:
            runs[-1].append(tid)
        else:
            runs.append([tid])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


__all__ = ["UNRECORDED", "limit_text", "limits_text", "new_session", "trial_groups"]
