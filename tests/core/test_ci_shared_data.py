"""Tests that need the shared data skip with a reason where it is missing, and fail in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST = "tests/calibration/test_calibration_flows.py::test_site_1083_matches_sources_note"


def run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["INTERGREEN_GM_DATA"] = str(tmp_path / "nowhere")
    if ci is not None:
        env["CI"] = ci
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", TEST]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_missing_shared_data_skips_with_its_reason_outside_ci(tmp_path: Path) -> None:
    out = run(tmp_path, None)
    assert out.returncode == 0, out.stdout
    assert "1 skipped" in out.stdout
    assert f"shared TfGM data not found at {tmp_path / 'nowhere'}" in out.stdout  # -rs


def test_missing_shared_data_fails_in_ci(tmp_path: Path) -> None:
    out = run(tmp_path, "true")
    assert out.returncode == 1, out.stdout
    assert "1 error" in out.stdout or "1 failed" in out.stdout
    assert "CI=true: CI must run every test" in out.stdout
    assert "Traceback" not in out.stdout
