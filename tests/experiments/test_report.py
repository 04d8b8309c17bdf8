"""Report: files, Table I values against results.parquet, statistics, reference, CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from intergreen.experiments import stats
from intergreen.experiments.reference import TABLE_I, reference_cell
from intergreen.experiments.report import build_report


def _table_one(md: str) -> dict[str, list[str]]:
    section = md.split("## Table I: average waiting time (s), mean ± std")[1].split("\n## ")[0]
    rows = [r for r in section.splitlines() if r.startswith("| ")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    return {
        cells[0]: dict(zip(header, cells, strict=True))
        for cells in ([c.strip() for c in r.strip("|").split("|")] for r in rows[1:])
    }


def test_report_files_and_table_values(batch_copy):
    paths = build_report(batch_copy, reference="study")
    md = paths["markdown"].read_text()
    page = paths["html"].read_text()
    assert (batch_copy / "plots" / "boxplots.png").stat().st_size > 1000
    assert (batch_copy / "plots" / "learning_curves.png").exists()
    assert page.count("data:image/png;base64,") == 2
    assert 'src="http' not in page and "plots/" not in page  # self-contained
    results = pd.read_parquet(batch_copy / "results.parquet")
    table = _table_one(md)
    for controller, key in (("queue", "queue"), ("max-occupancy", "max-occupancy")):
        sel = results[(results["demand"] == "high") & (results["controller"].str.startswith(key))]
        values = sel["avg_waiting_time"].to_numpy()
        mean, std = values.sum() / len(values), np.std(values, ddof=1)
        assert table[controller]["high"] == f"{mean:.2f} ± {std:.2f}"
    assert table["queue"]["high (study)"] == "16.21 ± 5.07"
    for section in ("Summary", "bootstrap", "Mann-Whitney", "Ranks", "Learning curves"):
        assert section in md
    assert re.search(r"\*\*low\*\*: best \S+", md)


def test_holm_against_hand_computed():
    # sorted p: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max(0.06, 0.04)
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm([0.5, 0.9]), [1.0, 1.0])
    assert np.isnan(stats.holm([np.nan, 0.01])[0])


def _synthetic() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for c, mu in (("a", 10.0), ("b", 10.1), ("c", 20.0)):
        for seed in (1, 2):
            for i in range(20):
                rows.append(
                    {"kind": "agent", "controller": c, "train_seed": seed, "demand": "low",
                     "avg_waiting_time": mu + seed + rng.normal(0, 1), "eval_seed": i}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_statistics_on_known_data():
    st = stats.summary(_synthetic())
    by = st.set_index("controller")
    assert by.loc["a", "best"] and by.loc["a", "rank"] == 1
    assert by.loc["c", "p_holm"] < 0.001 and by.loc["b", "p_holm"] > 0.05
    assert by.loc["a", "ci_low"] < by.loc["a", "mean"] < by.loc["a", "ci_high"]
    assert stats.indistinguishable(st) == {"low": ["b"]}
    best = stats.select(_synthetic(), "best_run")
    assert set(best["train_seed"]) == {1} and len(best) == 60


def test_reference_table():
    assert len(TABLE_I) == 14
    assert reference_cell("average_speed_ad", "high") == "14.33 ± 4.97"
    assert reference_cell("time_lost_ad/dqn", "low").endswith("†")
    assert reference_cell("pressure", "low") is None


def test_cli_report_and_bad_grid(batch_copy, tmp_path, capsys):
    from intergreen.cli import main

    (batch_copy / "report.md").unlink(missing_ok=True)
    main(["report", str(batch_copy)])  # returns normally on success
    assert (batch_copy / "report.md").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("rewards: [queue, nope]\nagents: [dqn, sac]\nseeds: [1]\n"
                   "training: {timesteps: 10}\n")  # fmt: skip
    with pytest.raises(SystemExit) as code:
        main(["compare", str(bad), "--out", str(tmp_path / "o")])
    assert code.value.code == 2
    err = capsys.readouterr().err
    assert "nope" in err and "sac" in err
    assert not (tmp_path / "o").exists()
