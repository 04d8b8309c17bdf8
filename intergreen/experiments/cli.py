"""`intergreen compare` (run a grid) and `intergreen report` (write its report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from intergreen.cli_common import parse_params
from intergreen.common import progress_bar
from intergreen.errors import IntergreenError, OptionError

#: The shipped grids (intergreen/experiments/configs, grid.CONFIG_DIR), named in --help.
SHIPPED_GRIDS = sorted(p.stem for p in Path(__file__).with_name("configs").glob("*.yaml"))

# messages hold paths, run names and errors: printed as text, not rich markup
console = Console(markup=False, soft_wrap=True)  # printed paths never split
err_console = Console(stderr=True, markup=False, soft_wrap=True)


def _check_same_grid(out: Path, config) -> None:
    """OptionError when ``out`` holds a batch (grid.json and run folders) of another grid than
    ``config`` outside the evaluation: resuming it with a forgotten ``--set`` would train every
    run anew beside the old ones and replace the results table without a word."""
    from intergreen.common import listing, read_json
    from intergreen.experiments.grid import grid_changes

    recorded = out / "grid.json"
    if not recorded.is_file() or not any((out / "runs").glob("*/config.json")):
        return
    payload = read_json(recorded)  # None when unreadable: nothing to compare with
    changes = grid_changes(payload, config) if isinstance(payload, dict) else []
    if changes:
        shown = listing(changes, 3, "; ")
        raise OptionError(
            f"--out {out} holds a batch of another grid ({shown}): give the grid and --set of "
            "that batch to continue it, another --out for a new batch, or --force to run this "
            "grid there (runs already there are reused where their configuration matches)"
        )


def compare_command(
    grid: Annotated[
        str, typer.Argument(help=f"Grid YAML, or a shipped one: {', '.join(SHIPPED_GRIDS)}")
    ],
    out: Annotated[Path, typer.Option(help="Results folder (runs, results.parquet, report)")],
    workers: Annotated[int, typer.Option(min=1, max=256, help="Local worker processes")] = 1,
    executor: Annotated[str, typer.Option(help="local or ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address, e.g. auto (Ray only)")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="'study': show the study's Table I beside ours")
    ] = None,
    report: Annotated[bool, typer.Option(help="Write the report at the end")] = True,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Set a grid field without editing the file: KEY=VALUE with a dotted KEY, e.g. "
            "--set training.timesteps=300000 (repeatable; give the same on every resume)",
        ),
    ] = None,
    reuse: Annotated[
        list[Path] | None,
        typer.Option(
            help="Results folder of another batch: its runs finished under the same run key "
            "are copied in instead of trained again, and evaluated here (repeatable)",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Run this grid in an --out that holds a batch of another grid (other "
            "training, agents, rewards, seeds...); its runs are reused where their "
            "configuration matches, the others stay in runs/ but leave the results",
        ),
    ] = False,
) -> None:
    """Train and evaluate every cell of a grid (rewards x agents x demands x seeds); resumable."""
    from intergreen.experiments.executors import make_executor
    from intergreen.experiments.grid import load_grid, schedule_notes, untrained_agents
    from intergreen.experiments.provenance import counted
    from intergreen.experiments.report import build_report
    from intergreen.experiments.runner import run_batch

    if executor not in ("local", "ray"):
        raise OptionError(f"--executor {executor!r}: use local or ray")
    if reference not in (None, "study"):
        raise OptionError(f"--reference {reference!r}: the only reference is 'study'")
    config = load_grid(grid, parse_params(set_, "--set"))
    if not force:
        _check_same_grid(out, config)
    sources = [_reuse_source(path, out) for path in reuse or []]
    untrained = untrained_agents(config)  # reported as agents, they would be random networks
    if untrained:
        raise OptionError(f"{grid}: " + "; ".join(untrained))
    for line in schedule_notes(config):
        err_console.print(f"note: {line}", soft_wrap=True, markup=False, highlight=False)
    if len(config.seeds) < 2 and config.more_seeds is None:
        err_console.print(
            f"note: {grid} trains one seed per reward: the report can state no seed-level "
            "verdict (list 2 or more under seeds for one)",
            soft_wrap=True,  # a path is never broken across lines
        )
    try:
        ex = make_executor(executor, workers, address)
    except ImportError as e:
        raise OptionError(str(e)) from None
    if address is not None:  # join the cluster now: no cluster is one line, before any bar
        if executor != "ray":
            raise OptionError(f"--address {address}: a Ray cluster's; add --executor ray")
        ex.connect()  # type: ignore[union-attr]
    with progress_bar("runs", info=True, transient=False, console=err_console) as bar:
        task = bar.add_task("runs", total=None, info="")
        phases = []

        def progress(done: int, total: int, outcome) -> None:
            if outcome is None:  # a phase starts: what was already complete
                if phases:  # the runs more_seeds added
                    bar.update(task, total=total, completed=done, info="(more seeds)")
                else:
                    bar.reset(task, total=total, completed=done, info=f"({done} already complete)")
                phases.append(total)
                return
            mark = {"done": "ok", "failed": "FAILED", "skipped": "skip"}[outcome.status]
            bar.update(task, completed=done, info=f"{outcome.name} {mark}")

        summary = run_batch(config, out, ex, progress, reuse=sources)
    if summary.reused:
        from_ = sorted(set(summary.reused.values()))
        console.print(
            f"reused {counted(len(summary.reused), 'trained run')} from {', '.join(from_)} (the "
            "same run keys; evaluated here)"
        )
    elif sources:
        console.print(
            f"reused nothing from {', '.join(str(s) for s in sources)}: no run there has the "
            "run key of a run of this grid (the same configuration, intergreen and reward "
            "versions)"
        )
    n_runs = sum(o.kind == "run" for o in summary.outcomes)
    tasks = counted(n_runs, "run")
    if summary.total > n_runs:
        tasks += f" and {counted(summary.total - n_runs, 'baseline')}"
    console.print(
        f"{tasks}: {summary.done} done, {summary.skipped} already complete, "
        f"{len(summary.failed)} failed; {summary.wall_s:.0f} s ({summary.executor})"
    )
    if summary.seed_extension is not None:
        console.print(seed_extension_line(summary.seed_extension))
    for f in summary.failed:
        where = f" (traceback: {f['error_file']})" if f.get("error_file") else ""
        console.print(f"FAILED {f['name']}: {f['error']}{where}", highlight=False, style="red")
    console.print(f"results: {out / 'results.parquet'}")
    if report and (out / "results.parquet").exists():
        try:
            paths = build_report(out, reference)
            console.print(f"report: {paths['markdown']} and {paths['html']}")
        except IntergreenError as e:  # e.g. too few finished runs for a report
            err_console.print(f"no report: {e}")
    if summary.failed:
        console.print("re-run the same command to retry the failed runs (finished ones are kept)")
        raise typer.Exit(1)


def _reuse_source(path: Path, out: Path) -> Path:
    """A --reuse folder, checked: a results folder (with runs/) other than --out."""
    if not (path / "runs").is_dir():
        raise OptionError(
            f"--reuse {path}: not a results folder (no runs/ in it); give the --out folder of "
            "an earlier intergreen compare"
        )
    if path.resolve() == out.resolve():
        raise OptionError(f"--reuse {path}: that is --out itself (its runs are resumed anyway)")
    return path


def seed_extension_line(decision: dict) -> str:
    """One line on the ``more_seeds`` decision of a batch (seed_extension.json's payload)."""
    if decision["status"] != "decided":
        return (
            f"more seeds: waiting for {len(decision['missing'])} first-phase run(s) to finish "
            "training (failed or unfinished); re-run the same command"
        )
    extended = [r["reward"] for r in decision["rewards"] if r["extended"]]
    kept = len(decision["rewards"]) - len(extended)
    rest = f"{kept} kept to seeds {decision['first']}" if kept else "none kept to the first seeds"
    return (
        f"more seeds: {', '.join(extended)} within {decision['within']:.0%} of the best on "
        f"validation, trained on seeds {decision['added']} too; {rest} (seed_extension.json)"
    )


def report_command(
    results_dir: Annotated[Path, typer.Argument(help="A folder written by intergreen compare")],
    reference: Annotated[
        str | None, typer.Option(help="'study': show the study's Table I beside ours")
    ] = None,
    publish: Annotated[
        Path | None,
        typer.Option(
            help="Write the report (Markdown + PNGs) and its result tables there, "
            "e.g. docs/results/study_full, instead of into RESULTS_DIR"
        ),
    ] = None,
    seed_test: Annotated[
        str,
        typer.Option(
            help="Test on per-seed means: 'permutation' (exact for few seeds) or 't' "
            "(Welch t against the best, paired t against the baselines)"
        ),
    ] = "permutation",
    convergence: Annotated[
        Path | None,
        typer.Option(
            help="The convergence check that chose the budget: its batch folder, a report "
            "published with it, or a CSV from `validation-curve --output`; the report opens "
            "with it (kept in the folder: later reports need not repeat it)"
        ),
    ] = None,
    convergence_tolerance: Annotated[
        float, typer.Option(min=0, help="The check's tolerance: median seed within it of its best")
    ] = 0.05,
) -> None:
    """Write report.md and report.html (seed-level tables and tests, plots) for a results
    folder."""
    from intergreen.experiments.report import build_report, publish_report

    conv = {"convergence_source": convergence, "convergence_tolerance": convergence_tolerance}
    if publish is not None:
        paths = publish_report(results_dir, publish, reference, seed_test=seed_test, **conv)
        console.print(f"report: {paths['markdown']} (with plots/ and the result tables)")
        return
    paths = build_report(results_dir, reference, seed_test=seed_test, **conv)
    console.print(f"report: {paths['markdown']} and {paths['html']}")


def status_command(
    results_dir: Annotated[Path, typer.Argument(help="A folder written by intergreen compare")],
) -> None:
    """Where a compare batch stands (read-only; safe while it runs): runs complete, training
    (decisions so far), waiting or failed, and the training left in hours of one worker."""
    from intergreen.experiments.status import batch_status, status_lines

    for line in status_lines(batch_status(results_dir)):
        console.print(line)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
    app.command("report")(report_command)
    app.command("status")(status_command)
