"""Signal-rule profiles: uk and program, another country's added by one call or inline, and
the controller and checker working the same on each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from nets import single_intersection
from sumo_states import run_and_check

from intergreen.cli import main
from intergreen.junctions import rules
from intergreen.junctions.baselines import make_baseline
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.env import make_env
from intergreen.junctions.imported_yaml import import_network
from intergreen.junctions.spec import SpecError


def test_shipped_profiles() -> None:
    uk, program = rules.get("uk"), rules.get("program")
    assert (uk.amber, uk.red_amber, uk.min_intergreen, uk.default_min_green) == (3, 2, 5, 7)
    assert program.amber is None and program.red_amber == 0  # the program's amber
    assert {"uk", "program"} <= set(rules.names())
    with pytest.raises(ValueError, match="unknown signal-rule profile 'UK'.*did you mean 'uk'"):
        rules.get("UK")
    with pytest.raises(ValueError, match="rules: red_amber"):
        rules.resolve({"name": "x", "red_amber": -1})


def test_gm_a56_runs_under_uk_rules() -> None:
    spec = resolve_junction("gm_a56")
    assert spec.rules == "uk" and (spec.timing.amber, spec.timing.red_amber) == (3.0, 2.0)


def _variant(tmp_path: Path, profile: object) -> Path:
    path = tmp_path / "junction.yaml"
    path.write_text(yaml.safe_dump({"extends": "gm_a56", "name": "gm_a56_de", "rules": profile}))
    return path


def test_another_countrys_profile_by_registration(tmp_path: Path) -> None:
    rules.register(rules.RuleProfile(name="test_de", amber=3, red_amber=1, min_intergreen=4,
                                     default_min_green=5))  # fmt: skip
    spec = resolve_junction(str(_variant(tmp_path, "test_de")))
    assert (spec.timing.amber, spec.timing.red_amber) == (3.0, 1.0)
    assert spec.min_green("B") == 7.0  # gm_a56 states its own default minimum green
    env = make_env(spec, "high", seed=1, duration=240)
    states: list[str] = []
    metrics, violations, _ = run_and_check(env, make_baseline("random", seed=2), 2, states)
    assert violations == [] and metrics["throughput"] > 0
    # SUMO showed red+amber for 1 s (2 steps of 0.6 s), never the UK's 2 s
    runs = re.findall(r"u+", "".join(s[12] for s in states))  # link 12: west ahead
    assert runs and {len(r) for r in runs} == {2}


def test_inline_profile_and_minimum_intergreen(tmp_path: Path) -> None:
    net, rou = single_intersection()
    path, data, _ = import_network(net, tmp_path / "j", routes=[rou], rules="program")
    assert data["intergreens"] == {"A": {"B": 2.0}, "B": {"A": 2.0}}  # the program's yellow
    data["rules"] = {"name": "strict", "amber": 4, "red_amber": 2, "min_intergreen": 9}
    data["intergreens"] = {
        "A": {
            "B": 3,
        },
        "B": {"A": 11},
    }  # stated: raised to 9 s; kept
    path.write_text(yaml.safe_dump(data))
    spec = resolve_junction(str(path))
    assert (spec.timing.amber, spec.timing.red_amber) == (4.0, 2.0)
    assert (spec.intergreen("A", "B"), spec.intergreen("B", "A")) == (9.0, 11.0)
    env = make_env(spec, "routes", seed=3, duration=240)
    _, violations, _ = run_and_check(env, make_baseline("random", seed=3), 3)
    assert violations == []
    # a geometry junction: its stated intergreens and its default raised alike
    strict = resolve_junction(str(_variant(tmp_path, data["rules"])))
    assert (strict.intergreen("F", "B"), strict.intergreen("B", "D")) == (9.0, 9.0)
    gm = resolve_junction("gm_a56")
    assert (gm.intergreen("F", "B"), gm.intergreen("B", "D")) == (8.0, 5.0)  # >= uk's 5 s
    # a negative intergreen is still refused, not raised; so is an absurd one
    for value in (-1, 600000):
        data["intergreens"] = {"A": {"B": value}}
        path.write_text(yaml.safe_dump(data))
        message = rf"intergreens.A.B: an intergreen is 0-60 s, got {value}"
        with pytest.raises(SpecError, match=message):
            resolve_junction(str(path))
    # absurd greens and ambers too, naming the field
    data["intergreens"] = {"A": {"B": 3}, "B": {"A": 3}}
    for where, edit in [
        ("stages.1.max_green", lambda d: d["stages"]["1"].update(max_green=1e6)),
        ("signal_groups.A.min_green", lambda d: d["signal_groups"]["A"].update(min_green=1e6)),
        ("rules: amber", lambda d: d.update(rules={"name": "x", "amber": 300})),
    ]:
        bad = yaml.safe_load(yaml.safe_dump(data))
        edit(bad)
        path.write_text(yaml.safe_dump(bad))
        with pytest.raises((SpecError, rules.RuleProfileError), match=where.replace(".", r"\.")):
            resolve_junction(str(path))


@pytest.mark.parametrize(("imported", "edited"), [("uk", "program"), ("program", "uk")])
def test_editing_rules_alone_switches_the_profile(
    imported: str, edited: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The YAML states the program's intergreens (its 2 s yellow), never the profile's 5 s
    minimum: changing only the line ``rules:`` is a full switch, no re-import needed."""
    net, rou = single_intersection()
    path, data, _ = import_network(net, tmp_path / "j", routes=[rou], rules=imported)
    assert data["intergreens"] == {"A": {"B": 2.0}, "B": {"A": 2.0}}
    text = path.read_text()
    assert f"\nrules: {imported}\n" in text
    path.write_text(text.replace(f"\nrules: {imported}\n", f"\nrules: {edited}\n"))
    spec = resolve_junction(str(path))
    expect = {"uk": (5.0, 3.0, 2.0, 7.0), "program": (2.0, 2.0, 0.0, 5.0)}[edited]
    timing = (spec.timing.amber, spec.timing.red_amber, spec.timing.default_min_green)
    assert (spec.intergreen("A", "B"), *timing) == expect
    # SUMO's own program under the edited rules: kept under program; under uk its 2 s
    # intergreens break the 5 s minimum (findings, not an error)
    main(["simulate", "--junction", str(path), "--controller", "program", "--check-rules",
          "--duration", "120"])  # fmt: skip
    out = " ".join(capsys.readouterr().out.split())
    if edited == "program":
        assert (
            "the network's own signal program (program '0' of traffic light t) kept rules "
            "program in all 120 steps" in out
        )
    else:
        assert "departs from rules uk" in out and "intergreen 5 s" in out


def test_program_rules_need_a_program(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="rules: program takes the amber from a signal program"):
        resolve_junction(str(_variant(tmp_path, "program")))
    with pytest.raises(SpecError, match="unknown signal-rule profile 'dutch'"):
        resolve_junction(str(_variant(tmp_path, "dutch")))


def test_intergreens_stated_below_the_minimum_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A YAML's intergreens below its profile's minimum run at the minimum; `junctions show`
    names each one as stated, and the import counts the program's among its assumptions."""
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump({"extends": "gm_a56", "name": "gm_short",
                                    "timing": {"default_intergreen": 4},
                                    "intergreens": {"F": {"A": 3, "B": 9}}}))  # fmt: skip
    spec = resolve_junction(str(path))
    assert spec.intergreen("F", "A") == 5.0 and spec.intergreen("F", "B") == 9.0
    assert spec.timing.default_intergreen == 5.0
    assert spec.raised_intergreens == ("timing.default_intergreen 4 s", "F->A 3 s")
    assert main(["junctions", "show", str(path)]) is None
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "intergreens its YAML states below rules uk's minimum of 5 s, run as 5 s: "
        "timing.default_intergreen 4 s, F->A 3 s (state 5 s or more" in out
    )
    assert "F->B" not in out  # 9 s is kept and not named
    # the same values under a profile whose minimum is lower: nothing raised, nothing said
    lower = {"name": "low_floor", "amber": 3, "red_amber": 2, "min_intergreen": 3}
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "rules": lower}))
    assert resolve_junction(str(path)).raised_intergreens == ()
    assert resolve_junction("gm_a56").raised_intergreens == ()
    main(["junctions", "show", "gm_a56"])
    assert "below rules" not in capsys.readouterr().out
    # an import under uk of a program with 2 s intergreens says they will be raised
    net, rou = single_intersection()
    for profile, said in (("uk", True), ("program", False)):
        _, data, _ = import_network(net, tmp_path / profile, routes=[rou], rules=profile)
        note = "2 intergreen(s) below rules uk's minimum of 5 s are raised to it when"
        assert any(note in a for a in data["assumptions"]) is said
