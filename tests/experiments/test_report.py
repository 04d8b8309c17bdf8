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


def _study_like(swap: bool = False) -> pd.DataFrame:
    """Episodes around the study's Table I means (12 rewards + 2 baselines, 3 levels)."""
    rng = np.random.default_rng(1)
    rows = []
    for name, cells in TABLE_I.items():
        kind = "baseline" if name in ("vehicle-actuated", "max-occupancy") else "agent"
        for d, (mean, _) in zip(("low", "medium", "high"), cells, strict=True):
            if swap and name == "throughput":
                mean = 1.0  # throughput best everywhere
            for i in range(10):
                rows.append({"kind": kind, "controller": name, "reward": name, "agent": "dqn",
                             "train_seed": 1, "demand": d, "eval_seed": i,
                             "avg_waiting_time": mean + rng.normal(0, 0.01),
                             "teleports": int(name == "throughput" and i < 5)})  # fmt: skip
    return pd.DataFrame(rows)


def test_study_discussion_answers_from_the_statistics():
    from intergreen.experiments.study import discussion, study_agreement

    df = _study_like()
    st = stats.summary(df)
    rewards = [r for r in TABLE_I if r not in ("vehicle-actuated", "max-occupancy")]
    rho, p, k = study_agreement(st, rewards)
    assert k == 11 and rho == pytest.approx(1.0) and p < 0.001  # time_lost_ad left out
    text = "\n".join(discussion(st, df, 0.05))
    assert "speed maximisation again give the lowest waiting time?** Yes, at every" in text
    assert "again do worst?** Yes" in text  # the bottom three of the study
    assert "rho = 1.00" in text
    assert "beats Vehicle Actuated (System D): low 11/12" in text  # only throughput is worse
    # throughput: 15 of its 30 episodes with a teleport, 15 of the 360 agent episodes
    assert "**Starved arms.** 4% of the agents'" in text and "vehicle-actuated 0%" in text
    assert "By reward: throughput 50%." in text

    selected = "\n".join(discussion(st, df, 0.05, st_best=st))
    assert "**With the study's selection**" in selected
    assert "best reward low average_speed_ad, medium average_speed_ad" in selected
    assert "bottom 3 delta_time_lost, delta_wait_time, throughput" in selected
    assert "Spearman rho with the study 1.00" in selected
    assert "rewards beating vehicle actuation low 11/12" in selected

    swapped = _study_like(swap=True)
    text = "\n".join(discussion(stats.summary(swapped), swapped, 0.05))
    assert "lowest waiting time?** No" in text and "best reward throughput (1.00 s)" in text


def test_published_report_regenerates_from_its_own_tables(batch_copy, tmp_path):
    from intergreen.cli import main
    from intergreen.experiments.report import publish_report

    dest = tmp_path / "docs" / "results" / "tiny"
    paths = publish_report(batch_copy, dest, reference="study")
    md = paths["markdown"].read_text()
    first = md.split("\n\n")[1]
    assert first.startswith("**Budget.** Agents: DQN (PPO not run, to fit the budget)")
    assert "1 training seed(s) per reward" in first and "300 decisions per run" in first
    assert "2 evaluation episodes per demand level per run (study: 100)" in first
    assert "## Discussion: the study's questions" in md and "## Where we differ" in md
    assert (dest / "plots" / "boxplots.png").exists() and not (dest / "report.html").exists()
    assert (dest / "results.parquet").exists() and (dest / "summary.csv").exists()
    (dest / "report.md").unlink()
    main(["report", str(dest), "--reference", "study", "--publish", str(dest)])
    assert (dest / "report.md").read_text() == md
    with pytest.raises(SystemExit) as code:
        main(["report", str(tmp_path / "nothing"), "--publish", str(dest)])
    assert code.value.code == 2
