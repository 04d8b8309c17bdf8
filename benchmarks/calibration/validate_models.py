"""Benchmark: the right calibration and three wrong ones against the held-out counts.

    .venv/bin/python benchmarks/calibration/validate_models.py [--profile weekday]
        [--step-length 1.0] [--seed 1] [--out benchmarks/calibration/validate_models.json]

gm_a56 is calibrated to TfGM site 1415 on the fit days (weekdays 1-14 February 2018) with
the measured vehicle mix, as ``intergreen calibrate`` does; then the same profile is built
from three deliberately wrong versions of the counted flows
(:mod:`intergreen.calibration.counterfactuals`: the directions swapped, every flow +20%,
the national DfT TRA0307 profile in place of the local hours), with the right model's
scale. Each is simulated once under vehicle actuation and checked twice: the fit check
(in-sample GEH against what routeSampler was given) and the validation (TAG M3.1 flow and
GEH criteria against the held-out weekdays 15-28 February, at the counted magnitude).
Prints one row per model and writes them as JSON. The right model should PASS both;
every wrong one should FAIL the validation, whatever its fit check says.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from intergreen.calibration.counterfactuals import COUNTERFACTUALS
from intergreen.calibration.counts import load_counts
from intergreen.calibration.demand_profiles import (
    GM_A56_SITE,
    SHIPPED_COUNTS,
    arm_hourly_flows,
    calibrated_from_flows,
    mapped_flows,
)
from intergreen.calibration.flows import gm_data_dir
from intergreen.calibration.holdout import split_counts
from intergreen.calibration.validate import check_model
from intergreen.calibration.vehicle_mix import site_vehicle_mix
from intergreen.junctions.catalog import resolve_junction


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="weekday")
    parser.add_argument("--step-length", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = parser.parse_args()
    path = gm_data_dir() / SHIPPED_COUNTS
    if not path.is_file():
        print(f"counts not found: {path}", file=sys.stderr)
        return 1
    spec = resolve_junction("gm_a56")
    split = split_counts(load_counts(f"tfgm:{path}"))
    observed, mapping = arm_hourly_flows(spec, split.fit, site=GM_A56_SITE)
    held = mapped_flows(split.held_out, mapping)
    mix = site_vehicle_mix(path, site=GM_A56_SITE, days=split.fit_days)
    right = calibrated_from_flows(spec, observed, mapping, args.profile, vehicle_mix=mix)
    models = {"right": ("the calibration", right)}
    for name, (text, wrong) in COUNTERFACTUALS.items():
        models[name] = (
            text,
            calibrated_from_flows(spec, wrong(observed), mapping, args.profile,
                                  scale=right.scale, vehicle_mix=mix),
        )  # fmt: skip
    print(f"{split.describe()}; profile {args.profile}; scale {right.scale:.4f}; mix {mix}")
    rows = []
    for name, (text, cal) in models.items():
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            check = check_model(spec, cal, Path(tmp), held, args.seed, args.step_length)
        v = check.validation
        assert v is not None
        rows.append(
            {
                "model": name,
                "description": text,
                "fit_check": check.fit.verdict(),
                "fit_check_passed": check.fit.passed,
                "validation": v.verdict(),
                "validation_passed": v.passed,
                "n_counts": v.flow.n_counts,
                "flow_criterion_met": v.flow.n_met,
                "geh_below_5_met": v.geh.n_met,
                "max_geh": round(float(v.table["geh"].max()), 2),
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        r = rows[-1]
        print(
            f"{name:8s} fit check {'PASS' if r['fit_check_passed'] else 'FAIL'} | validation "
            f"{r['validation']}: flow {r['flow_criterion_met']}/{r['n_counts']}, GEH<5 "
            f"{r['geh_below_5_met']}/{r['n_counts']}, max GEH {r['max_geh']} ({r['seconds']} s)",
            flush=True,
        )
    args.out.write_text(
        json.dumps(
            {"profile": args.profile, "split": split.describe(), "scale": right.scale,
             "vehicle_mix": mix, "seed": args.seed, "step_length": args.step_length,
             "models": rows},
            indent=2,
        )
        + "\n"
    )  # fmt: skip
    print(f"wrote {args.out}")
    ok = rows[0]["validation_passed"] and not any(r["validation_passed"] for r in rows[1:])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
