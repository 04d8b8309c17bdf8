"""Write the junction YAML of one traffic light of a SUMO network: ``intergreen junctions
import``.

:func:`import_network` checks the options first (name, time window, rule profile,
transitions, an existing file), then reads the network and derives the junction
(:func:`intergreen.junctions.sumo_import.junction_data`), renders the editable YAML (a header
that lists the links, where each intergreen came from, how the transitions restrict a
controller, and examples of the edits people make), loads that text exactly as a later
``--junction DIR/junction.yaml`` will (:func:`intergreen.junctions.imported.load_imported`),
and only then writes it. A bad option or an input that fails leaves nothing behind: no file,
no new folder.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import TypeAdapter, ValidationError

from intergreen.common import (
    MAX_SIM_SECONDS,
    atomic_write,
    check_finite,
    ensure_writable,
    fmt_number,
)
from intergreen.errors import OptionError, closest
from intergreen.junctions import rules as rule_profiles
from intergreen.junctions.imported import DEFAULT_EPISODE_S, load_imported
from intergreen.junctions.route_files import check_route_files, sumo_load_problem
from intergreen.junctions.spec import JunctionSpec, green_floor
from intergreen.junctions.sumo_import import TRANSITIONS, junction_data, unused_note
from intergreen.junctions.sumo_net import NetworkImportError, TlsFacts, not_a_file, read_tls
from intergreen.yamlfile import parse_yaml

__all__ = [
    "check_window",
    "import_network",
    "nested_stages_note",
    "profile_name",
    "transitions_note",
    "yaml_text",
]

#: A junction name as the junction YAML's ``name`` field validates it (one pattern, the spec's).
_NAME = TypeAdapter(Annotated[str, JunctionSpec.model_fields["name"]])


def profile_name(name: str, where: str, form: str = "{}", also: Sequence[str] = ()) -> str:
    """``name`` when it is a registered signal-rule profile (``uk``, ``program``, ...).

    Args:
        name: the profile's name.
        where: what gave it, for the message: ``"--rules"``, ``"resco:cologne1:xx"``.
        form: how a profile is written there, ``{}`` standing for its name
            (``"resco:cologne1:{}"``), for the list of choices in the message.
        also: further choices to list first (``["resco:cologne1"]``).

    Raises:
        OptionError: naming ``where`` and listing the choices (with a did-you-mean).
    """
    known = rule_profiles.names()
    if name in known:
        return name
    match = closest(name, known)
    hint = f" (did you mean {form.format(match)!r}?)" if match else ""
    choices = [*also, *(form.format(p) for p in known)]
    raise OptionError(
        f"{where}: unknown signal-rule profile {name!r}{hint}; use one of {', '.join(choices)}"
    )


def check_window(begin: float, end: float | None) -> None:
    """Refuse a time window ``[begin, end)`` of SUMO time (s) that cannot be run: a begin that
    is negative or not finite, an end not after the begin, more than
    :data:`~intergreen.common.MAX_SIM_SECONDS` of simulated time.

    Raises:
        OptionError: naming ``--begin`` / ``--end`` and the fix.
    """
    check_finite(begin, "--begin", "give the SUMO time the runs start, in s (>= 0)")
    if not begin >= 0:
        raise OptionError(f"--begin {begin:g}: give the SUMO time the runs start, in s (>= 0)")
    if end is None:
        return
    check_finite(end, "--end", "give the SUMO time the runs end, in s, after --begin")
    if not end > begin:
        raise OptionError(
            f"--end {end:g} is not after --begin {begin:g}: give an --end greater than --begin "
            f"(SUMO time in s; without --end the window is --begin + 1 h)"
        )
    if end - begin > MAX_SIM_SECONDS:
        raise OptionError(
            f"--begin {begin:g} --end {end:g}: a window of {fmt_number(end - begin)} s, more "
            f"than {MAX_SIM_SECONDS:g} s (7 days) of simulated time, the most one run may "
            "cover (MAX_SIM_SECONDS); give a shorter window"
        )


def _clean_name(text: str) -> str:
    """``text`` as a junction name: each run of other characters than letters A-Z, a-z,
    digits, _ and - one ``_``, and no separator at either end (``my junction!`` ->
    ``my_junction``); ``junction`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-") or "junction"


def _check_name(name: str) -> None:
    try:
        _NAME.validate_python(name)
    except ValidationError:
        raise OptionError(
            f"--name {name!r}: a junction name has only letters A-Z, a-z, digits, _ and -; "
            f"e.g. --name {_clean_name(name)}"
        ) from None


def _check_max_green(max_green: float, data: Mapping[str, Any], rules: str) -> None:
    """Refuse a ``--max-green`` shorter than the minimum green of a signal group that ends
    its green when its stage moves on (:func:`~intergreen.junctions.spec.green_floor`, as the
    junction YAML's check of each stage's max_green).

    Raises:
        OptionError: naming --max-green, the minimum green, its group and where it comes from.
    """
    default = rule_profiles.resolve(rules).default_min_green
    signal_groups = data["signal_groups"]

    def min_green(g: str) -> float:
        return signal_groups[g].get("min_green", default)

    groups = {s: stage["groups"] for s, stage in data["stages"].items()}
    floors = {s: green_floor(s, groups, data["transitions"], min_green) for s in groups}
    longest = max(
        ((s, f) for s, f in floors.items() if f is not None), key=lambda sf: sf[1][2], default=None
    )
    if longest is None or max_green >= longest[1][2]:
        return
    stage, (group, nxt, least) = longest
    source = (
        "its minDur in the program"
        if "min_green" in signal_groups[group]
        else f"the {rules} rules' default"
    )
    raise OptionError(
        f"--max-green {max_green:g} is less than the minimum green of signal group {group} "
        f"({least:g} s: {source}), which ends its green when stage {stage} moves on to stage "
        f"{nxt}; give --max-green {least:g} or more"
    )


def episode_note(begin: float, end: float | None) -> str:
    """The window [begin, end) of SUMO time (s) an imported junction's episodes simulate, as
    its import sets it: without ``end``, :data:`~intergreen.junctions.imported.DEFAULT_EPISODE_S`
    from ``begin`` however early the route files' traffic ends, and the options that change
    it."""
    if end is not None:
        return (
            f"an episode simulates SUMO time {begin:g} s to {end:g} s (--begin, --end; "
            "network.begin and network.end here)"
        )
    return (
        f"an episode simulates SUMO time {begin:g} s to {begin + DEFAULT_EPISODE_S:g} s "
        f"({DEFAULT_EPISODE_S:g} s: no --end was given), however early the route files' "
        "traffic ends; set network.end here (or import with --end S), or give --duration S to "
        "simulate and evaluate (--env duration=S to train), for another length"
    )


def transitions_note(transitions: Mapping[str, Sequence[str]]) -> str | None:
    """What the permitted transitions of a junction imported with ``--transitions program``
    mean for a controller, or None where every stage may follow every other."""
    stages = list(transitions)
    if all(set(transitions[s]) >= set(stages) - {s} for s in stages):
        return None
    moves = ", ".join(f"{s} -> {' or '.join(transitions[s])}" for s in stages)
    return (
        f"transitions follow the program's order ({moves}): a controller can reach a stage "
        "only by passing through the stages between them in that order, each shown for its "
        "minimum green, which makes demand-led controllers such as max-pressure and greedy "
        "much worse; import with --transitions all (or edit transitions:) to permit any "
        "order, as RESCO and sumo-rl do"
    )


def nested_stages_note(
    stages: Mapping[str, Mapping[str, Any]], action_stages: Sequence[str]
) -> str | None:
    """What it means that some action stages run only signal groups another action stage also
    runs (a program's phases that end some groups early, as RiLSA's: stage 2 = C, D inside
    stage 1 = C, D, E), and the ``--stages`` that leaves them out; None where no action stage
    is inside another. ``stages``: stage -> its YAML mapping (``groups``)."""
    groups = {s: set(stages[s]["groups"]) for s in action_stages}
    widest = [s for s in action_stages if not any(groups[s] < groups[o] for o in action_stages)]
    inside: dict[str, list[str]] = {}
    for s in action_stages:
        if s not in widest:
            inside.setdefault(next(o for o in widest if groups[s] < groups[o]), []).append(s)
    if not inside:
        return None
    parts = [
        (f"stage {nested[0]} runs" if len(nested) == 1 else f"stages {' and '.join(nested)} run")
        + f" only signal groups that stage {outer} also runs"
        for outer, nested in inside.items()
    ]
    return (
        f"{'; '.join(parts)} (program phases that end some groups early, e.g. "
        "so that turns that give way in the wider stage run unopposed): vehicle actuation "
        "runs each called action stage in turn for at least its minimum green, and an agent "
        "chooses among more stages than there are sets of movements; where those turns need "
        f"no unopposed time, give --stages {','.join(widest)} (the stages no other contains) "
        "to simulate, evaluate, tune and train among those, or set action_stages: "
        f"[{', '.join(map(repr, widest))}] here"
    )


def _flow(items: Sequence[Any]) -> str:
    """``[A, B]``: a YAML flow list as a person writes it."""
    return "[" + ", ".join(map(str, items)) + "]"


def _comment(text: str, width: int = 96) -> list[str]:
    """``text`` as ``# `` lines of at most ``width`` characters."""
    lines, line = [], "#"
    for word in text.split():
        if len(line) + 1 + len(word) > width and line != "#":
            lines.append(line)
            line = "#"
        line += " " + word
    return [*lines, line]


def yaml_text(data: Mapping[str, Any], notes: Mapping[str, Any], facts: TlsFacts) -> str:
    """The junction YAML: a header (the links, examples of edits, where each intergreen came
    from, what the transitions mean) and the data."""
    group = next(iter(data["signal_groups"]))
    stage = next(iter(data["stages"]))
    lines = [
        f"# {data['name']}: imported by `intergreen junctions import` from",
        f"# {facts.net_file} (traffic light {facts.tls_id}).",
        "# Edit freely: stages, transitions, action stages, minimum and maximum greens,",
        "# intergreens, rules. For example (seconds):",
        "#   signal_groups:",
        f"#     {group}: {{links: {_flow(data['signal_groups'][group]['links'])}, min_green: 10}}"
        "   # a group's minimum green",
        "#   stages:",
        f"#     '{stage}': {{groups: {_flow(data['stages'][stage]['groups'])}, max_green: 60}}"
        "   # a stage's maximum green",
        "# Signal groups name SUMO link indices (the characters of the state string):",
    ]
    for link in facts.links:
        lanes = ", ".join(link.from_lanes)
        lines.append(f"#   link {link.index:>2}: {link.movement:<14} -> {link.to_arm:<4} ({lanes})")
    if facts.unused:
        lines += _comment(unused_note(facts))
    lines += [
        "# Intergreens (s) are the program's (amber + all-red) unless listed below as computed",
        "# (RiLSA geometry). At load the rules raise each to their minimum intergreen (uk: 5 s),",
        "# so editing the line `rules:` alone switches the profile (no re-import needed).",
    ]
    computed = [
        f"#   {lo} -> {', '.join(ga for ga, src in row.items() if src == 'geometry')}"
        for lo, row in notes["intergreen_sources"].items()
        if "geometry" in row.values()
    ]
    if computed:
        lines += ["# Intergreens computed from the geometry (losing group -> gaining groups):"]
        lines += computed
    else:
        lines += ["# Every intergreen is the program's."]
    for note in (
        transitions_note(data["transitions"]),
        nested_stages_note(data["stages"], data["action_stages"]),
    ):
        if note is not None:
            lines += _comment("Note: " + note)
    main = {k: v for k, v in data.items() if k != "assumptions"}
    body = yaml.safe_dump(main, sort_keys=False, default_flow_style=None, width=100)
    notes_yaml = yaml.safe_dump(
        {"assumptions": list(data.get("assumptions", []))}, default_flow_style=False, width=100
    )
    return "\n".join(lines) + "\n" + body + notes_yaml


def _reference(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when it lies near it: their closest common folder is
    at most two levels above ``folder`` and is not the filesystem root (``../net.xml``,
    ``../../nets/x.net.xml``); else absolute (``/work/...`` from ``/tmp/out``, another
    drive)."""
    target, base = path.resolve(), folder.resolve()
    try:
        common = Path(os.path.commonpath([target, base]))
    except ValueError:  # another drive (Windows)
        return str(target)
    near = common != Path(common.anchor) and len(base.parts) - len(common.parts) <= 2
    return os.path.relpath(target, base) if near else str(target)


def checked_text(text: str, path: Path) -> str:
    """``text`` when it loads as the junction YAML ``path`` (relative paths from its folder,
    which need not exist yet) and its route files as its demand ``routes``, as a run will
    load them, else the loader's error, saying that nothing was written.

    Raises:
        SpecError: the junction YAML is invalid (a bug of the import, or of a hand-made
            ``data``); its message names ``path`` and the field. Or its route files bring
            implausible flows: the message names the route file.
    """
    spec = load_imported(parse_yaml(text, str(path)), path.parent, f"{path} (not written)")
    if spec.network.routes:
        with warnings.catch_warnings():  # no traffic through it: the printout warns
            warnings.simplefilter("ignore")
            spec.own_demand("routes")
    return text


def import_network(
    net_file: str | Path,
    out: str | Path,
    *,
    tls: str | None = None,
    routes: Sequence[str | Path] = (),
    name: str | None = None,
    rules: str = "uk",
    transitions: str = "program",
    begin: float = 0.0,
    end: float | None = None,
    max_green: float | None = None,
    force: bool = False,
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Write ``OUT/junction.yaml`` for one traffic light of a SUMO network (the network and
    route files referenced by paths relative to it when near, else absolute:
    :func:`_reference`). ``max_green`` (s): every stage's maximum green, as a UK controller
    has one (default none: a stage runs as long as the controller keeps choosing it). Returns
    ``(path, data, notes)``.

    Nothing is written (no file, no folder) unless the YAML loads as a junction.

    Raises:
        OptionError: a bad ``name``, window (``begin``/``end``), ``rules``, ``transitions`` or
            ``max_green``, or ``OUT/junction.yaml`` exists and not ``force`` (hand edits would
            be lost).
        NetworkImportError: a SpecError for bad input: see :func:`read_tls` and
            :func:`~intergreen.junctions.sumo_import.derive`; route files that reference
            edges not in the network.
        NotWritableError: ``out`` cannot be written.
    """
    folder = Path(out)
    path = folder / "junction.yaml"
    if name is not None:
        _check_name(name)
    check_window(begin, end)
    profile_name(rules, "--rules")
    if transitions not in TRANSITIONS:
        raise OptionError(f"--transitions {transitions!r}: use {' or '.join(TRANSITIONS)}")
    if max_green is not None:
        check_finite(max_green, "--max-green", "give every stage's maximum green in s")
    if max_green is not None and not 0 < max_green <= rule_profiles.MAX_GREEN:
        raise OptionError(
            f"--max-green {max_green:g}: give every stage's maximum green in s, above 0 and at "
            f"most {rule_profiles.MAX_GREEN:g}"
        )
    if path.exists() and not force:
        raise OptionError(
            f"{path} exists (edits to it would be lost); choose another --out or pass "
            "--force to replace it"
        )
    net_path = Path(net_file)
    if not net_path.is_file():
        raise NetworkImportError(not_a_file(net_path, ".net.xml"))
    facts = read_tls(net_path, tls)
    route_paths = [Path(r) for r in routes]
    check_route_files(route_paths, facts.net_file)
    problem = sumo_load_problem(route_paths, facts.net_file, begin) if route_paths else None
    if problem is not None:
        raise NetworkImportError(problem)
    if name is None:
        stem = net_path.name.removesuffix(".gz").removesuffix(".xml").removesuffix(".net")
        name = stem if tls is None else f"{stem}-{facts.tls_id}"
        name = _clean_name(name)
    data, notes = junction_data(
        facts,
        name=name,
        rules=rules,
        transitions=transitions,
        routes=[_reference(r, folder) for r in route_paths],
        begin=begin,
        end=end,
        net_ref=_reference(net_path, folder),
    )
    data["assumptions"].append(episode_note(begin, end))
    if max_green is not None:
        _check_max_green(max_green, data, rules)
        for stage in data["stages"].values():
            stage["max_green"] = max_green
        data["assumptions"].append(
            f"every stage ends at most {max_green:g} s after it starts (--max-green), as a UK "
            "controller's maximum green; the program's own timings set none"
        )
    text = checked_text(yaml_text(data, notes, facts), path)
    ensure_writable(folder, "--out")
    atomic_write(path, text)
    return path, data, notes
