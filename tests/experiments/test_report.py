"""Report: files, Table I values against results.parquet, statistics, reference, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from intergreen.experiments.reference import TABLE_I, reference_cell
from intergreen.experiments.report import build_report


def _table(md: str, heading: str) -> dict[str, dict[str, str]]:
    section = md.split(f"## {heading}")[1].split("\n## ")[0]
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
    pooled = _table(md, "Secondary: Table I with episodes pooled")
    seed = _table(md, "Table I at seed level")
    for controller, key in (("queue", "queue"), ("max-occupancy", "max-occupancy")):
        sel = results[(results["demand"] == "high") & (results["controller"].str.startswith(key))]
        values = sel["avg_waiting_time"].to_numpy()
        mean, std = values.sum() / len(values), np.std(values, ddof=1)
        assert pooled[controller]["high"] == f"{mean:.2f} ± {std:.2f}"
    assert pooled["queue"]["high (study)"] == "16.21 ± 5.07"
    # one training seed: the seed-level mean is that seed's mean, with no interval
    queue = results[(results["demand"] == "high") & (results["reward"] == "queue")]
    assert seed["queue"]["high"] == f"{queue['avg_waiting_time'].mean():.2f} [n/a: 1 seed]"
    assert seed["queue"]["n"] == "1 seed" and seed["max-occupancy"]["n"] == "2 episodes (baseline)"
    assert "n/a — needs at least 2 training seeds" in md  # the comparisons, not a crash
    for section in ("Summary", "Set-up (generated", "Against the best reward",
                    "Against the baselines, paired", "Tails, arms and teleports", "Ranks",
                    "Learning curves"):  # fmt: skip
        assert section in md
    assert "Mann-Whitney" not in md and "bootstrap" not in md
    assert re.search(r"\*\*low\*\*: best reward \S+", md)
    assert "300 decisions per run" in md.split("## Set-up")[1]


def test_reference_table():
    assert len(TABLE_I) == 14
    assert reference_cell("average_speed_ad", "high") == "14.33 ± 4.97"
    assert reference_cell("time_lost_ad/dqn", "low").endswith("†")
    assert reference_cell("pressure", "low") is None
    # low_v1 is the study's stated total for low: compared with the study's low too
    assert reference_cell("average_speed_ad", "high_v1") == "14.33 ± 4.97"
    assert reference_cell("average_speed_ad", "high_calibrated") is None


def test_cli_report_and_bad_grid(batch_copy, tmp_path, capsys):
    from intergreen.cli import main

    (batch_copy / "report.md").unlink(missing_ok=True)
    main(["report", str(batch_copy)])  # returns normally on success
    assert (batch_copy / "report.md").exists()
    with pytest.raises(SystemExit) as code:
        main(["report", str(batch_copy), "--seed-test", "wilcoxon"])
    assert code.value.code == 2
    assert "--seed-test 'wilcoxon': use one of permutation, t" in capsys.readouterr().err
    main(["report", str(batch_copy), "--seed-test", "t"])
    assert "Welch t on per-seed means" in (batch_copy / "report.md").read_text()
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
    """Two training seeds per reward around the study's Table I means (12 rewards + 2
    baselines, 3 levels)."""
    rng = np.random.default_rng(1)
    rows = []
    for name, cells in TABLE_I.items():
        kind = "baseline" if name in ("vehicle-actuated", "max-occupancy") else "agent"
        for d, (mean, _) in zip(("low", "medium", "high"), cells, strict=True):
            if swap and name == "throughput":
                mean = 1.0  # throughput best everywhere
            for seed in (1, 2) if kind == "agent" else (None,):
                for i in range(10):
                    rows.append({"kind": kind, "controller": name, "reward": name,
                                 "agent": "dqn", "train_seed": seed, "run_key": f"{name}{seed}",
                                 "demand": d, "eval_seed": i,
                                 "avg_waiting_time": mean + rng.normal(0, 0.01),
                                 "teleports": int(name == "throughput" and i < 5)})  # fmt: skip
    df = pd.DataFrame(rows)
    df["train_seed"] = df["train_seed"].astype("Int64")
    return df


def test_study_discussion_answers_from_the_statistics():
    from intergreen.experiments.comparisons import seed_level
    from intergreen.experiments.provenance import Setup
    from intergreen.experiments.study import discussion, study_agreement
    from intergreen.experiments.summaries import pooled_summary

    df = _study_like()
    level = seed_level(df)
    rewards = [r for r in TABLE_I if r not in ("vehicle-actuated", "max-occupancy")]
    agreement = study_agreement(level.summary, rewards)
    assert agreement.n == 11 and agreement.rho == pytest.approx(1.0)  # time_lost_ad left out
    assert agreement.p < 0.001 and not agreement.exact
    setup = Setup(source="test")
    text = "\n".join(discussion(level, df, setup))
    assert "speed maximisation again give the lowest waiting time?** Yes, at every" in text
    assert "again do worst?** Yes" in text  # the bottom three of the study
    assert "rho = 1.00 (permutation p < 0.001, 11 rewards)" in text
    assert "all 2048 draws" in text  # 2 seeds of 11 rewards: every combination
    # only throughput is worse than vehicle actuation; 2 seeds allow no verdict
    assert "**Against Vehicle Actuated**" in text
    assert "rewards with a lower mean low 11/12, no seed-level verdict" in text
    assert "cannot give p below 0.5" in text
    # throughput: 5 of each seed's 10 episodes with a teleport
    assert "**Starved arms.** 4% of the agents' test episodes" in text
    assert "vehicle-actuated 0%" in text and "By reward: throughput 50%." in text
    assert "0 of 24 training runs had one in more than half" in text
    assert "Maximum greens in these runs: not known" in text

    st_best = pooled_summary(df[df["train_seed"].fillna(1) == 1])
    selected = "\n".join(discussion(level, df, setup, st_best=st_best))
    assert "**With the study's selection**" in selected
    assert "best reward low average_speed_ad, medium average_speed_ad" in selected
    assert "bottom 3 delta_time_lost, delta_wait_time, throughput" in selected
    assert "Spearman rho = 1.00" in selected
    assert "rewards with a lower mean than vehicle actuation low 11/12" in selected

    swapped = _study_like(swap=True)
    text = "\n".join(discussion(seed_level(swapped), swapped, setup))
    assert "lowest waiting time?** No" in text and "best reward throughput (1.00 s)" in text


def test_published_report_regenerates_from_its_own_tables(batch_copy, tmp_path):
    from intergreen.cli import main
    from intergreen.experiments.report import publish_report

    dest = tmp_path / "docs" / "results" / "tiny"
    paths = publish_report(batch_copy, dest, reference="study")
    md = paths["markdown"].read_text()
    first = md.split("\n\n")[1]
    assert first.startswith("**Budget.** Agents: DQN (PPO not run)")
    assert "1 training seed per reward" in first and "300 decisions per run" in first
    assert "2 evaluation episodes per demand level per run (study: 100)" in first
    assert "## Discussion: the study's questions" in md and "## Where we differ" in md
    assert (dest / "plots" / "boxplots.png").exists() and not (dest / "report.html").exists()
    assert (dest / "results.parquet").exists() and (dest / "summary.csv").exists()
    configs = json.loads((dest / "run_configs.json").read_text())
    assert sorted(configs) == sorted(p.name for p in (batch_copy / "runs").iterdir())
    assert "runs' own config.json (2 of 2 runs)" in md
    (dest / "report.md").unlink()
    main(["report", str(dest), "--reference", "study", "--publish", str(dest)])
    assert (dest / "report.md").read_text() == md
    with pytest.raises(SystemExit) as code:
        main(["report", str(tmp_path / "nothing"), "--publish", str(dest)])
    assert code.value.code == 2


@pytest.mark.slow
def test_committed_study_report_regenerates_from_its_tables(tmp_path):
    import shutil
    from pathlib import Path

    published = Path(__file__).parents[2] / "docs" / "results" / "study_full"
    copy = tmp_path / "study_full"
    shutil.copytree(published, copy)
    (copy / "report.md").unlink()
    md = build_report(copy, reference="study", html=False)["markdown"].read_text()
    assert md == (published / "report.md").read_text()
    assert "seeded" not in md and "no sensor noise" in md and "(39 of 39 runs)" in md
