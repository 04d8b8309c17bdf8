"""simulate --gui: starts by itself zoomed on the junction, screenshots, closes at the end;
without a display a one-line error naming xvfb-run.

The run under a display needs Xvfb (Debian/Ubuntu: ``apt-get install xvfb``); where it is
not installed that test is skipped and says so.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from procs import sumo_children
from test_junctions_cli import run_cli

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.gui import MAX_SNAPSHOTS, GuiOptions, junction_view, settings_xml
from intergreen.junctions.network import build_network

XVFB = shutil.which("Xvfb")


def test_gui_without_display_is_one_line_naming_xvfb_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    code, out, err = run_cli(["simulate", "--gui", "--duration", "30"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "DISPLAY" in lines[0] and "xvfb-run" in lines[0]
    assert "Traceback" not in out + err
    assert sumo_children() == []  # sumo-gui was never launched


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--screenshot", "shots"], ["--screenshot", "--gui"]),
        (["--gui", "--delay", "-5"], ["--delay"]),
        (["--gui", "--delay", "100000"], ["--delay"]),
        (["--gui", "--screenshot", "s", "--screenshot-every", "0"], ["--screenshot-every"]),
        # without sumo-gui they did nothing, silently
        (["--delay", "100"], ["error: --delay 100 slows sumo-gui's steps: add --gui"]),
        (["--screenshot-every", "5"], ["error: --screenshot-every 5 ", "add --screenshot FOLDER"]),
        (["--delay", "0"], ["--delay 0 slows sumo-gui"]),  # given: meant
        (
            ["--screenshot-every", "60"],
            ["error: --screenshot-every 60 ", "add --screenshot FOLDER"],
        ),
        (["--gui", "--screenshot-every", "5"], ["--screenshot-every 5", "--screenshot FOLDER"]),
    ],
)
def test_gui_options_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], words: list[str]
) -> None:
    args = [str(tmp_path / a) if a in ("shots", "s") else a for a in args]
    code, _, err = run_cli(["simulate", "--duration", "30", *args], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err
    assert sumo_children() == []


def test_settings_zoom_on_the_junction_and_snapshot_at_step_times(tmp_path: Path) -> None:
    spec = resolve_junction("gm_a56")
    net = build_network(spec)
    x, y, zoom = junction_view(net.net_file, net.approach_lanes, 80.0)
    import sumolib

    centre = sumolib.net.readNet(str(net.net_file)).getNode("C").getCoord()
    assert (x, y) == pytest.approx(centre, abs=8.0)  # the stop lines surround the centre
    assert zoom > 250  # a 500 m network seen 160 m wide: zoomed well in
    text = settings_xml((x, y, zoom), GuiOptions(delay_ms=50, screenshots=tmp_path,
                                                 screenshot_every=10), 35.0, 0.6)  # fmt: skip
    assert '<delay value="50"/>' in text
    times = [float(t) for t in re.findall(r'time="([0-9.]+)"', text)]
    assert times == [10.2, 20.4, 30.0]  # each at a whole 0.6-s step, none beyond 35 s
    with pytest.raises(ValueError, match="at most"):
        settings_xml((x, y, zoom), GuiOptions(screenshots=tmp_path, screenshot_every=1),
                     (MAX_SNAPSHOTS + 1) * 1.0, 0.6)  # fmt: skip
    for bad in ({"delay_ms": -1}, {"screenshot_every": 0}, {"window": (10, 10)}):
        with pytest.raises(ValueError):
            GuiOptions(**bad)


@pytest.fixture
def xvfb(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A virtual X display (Xvfb) for the test; DISPLAY points at it."""
    if XVFB is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the GUI run is not tested")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [XVFB, "-displayfd", str(write), "-screen", "0", "1400x1100x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    monkeypatch.setenv("DISPLAY", f":{number}")
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=30)


def test_gui_run_starts_zoomed_screenshots_and_closes(
    xvfb: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import matplotlib.image

    shots = tmp_path / "shots"
    fired: list[int] = []

    def watchdog() -> None:  # sumo-gui waiting for a click (no --start) or a dialog at the
        for pid, _, _ in sumo_children():  # end (no --quit-on-end) would hang the test
            fired.append(pid)
            os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(180.0, watchdog)
    timer.start()
    try:
        code, out, err = run_cli(
            ["simulate", "--gui", "--demand", "high", "--duration", "40", "--delay", "1",
             "--screenshot", str(shots), "--screenshot-every", "30"],
            capsys,
        )  # fmt: skip
    finally:
        timer.cancel()
    assert not fired, "sumo-gui did not start or close by itself"
    assert code == 0, err
    assert "avg_waiting_time" in out and "s/veh" in out  # the metrics, after sumo-gui closed
    assert sumo_children() == []  # sumo-gui quit at the end by itself
    images = sorted(shots.glob("*.png"))
    assert [p.name for p in images] == ["t000030.0s.png"]
    rgb = matplotlib.image.imread(images[0])[..., :3]
    h, w = rgb.shape[:2]
    assert h > 300 and w > 600
    assert rgb.std() > 0.05  # not a blank window
    brightness = rgb.mean(axis=2)
    centre = brightness[h // 2 - 5 : h // 2 + 5, w // 2 - 5 : w // 2 + 5]
    assert centre.mean() < 0.25  # the junction's tarmac at the centre of the view
    green = (rgb[..., 1] > rgb[..., 0] + 0.1) & (rgb[..., 1] > rgb[..., 2] + 0.1)
    assert green[:20, :20].all()  # grass in the corner: zoomed in, not on the whole network
    road = brightness < 0.2
    assert 0.03 < road.mean() < 0.5  # roads are a part of the view, not all of it
    # a vertical and a horizontal road cross at the centre
    assert road[:, w // 2 - 15 : w // 2 + 15].mean() > 0.5
    assert road[h // 2 - 15 : h // 2 + 15, :].mean() > 0.5
    assert np.isfinite(rgb).all()


@pytest.mark.skipif(XVFB is None, reason="needs Xvfb (apt-get install xvfb)")
def test_gymnasium_check_env_with_its_render_check_under_xvfb() -> None:
    """gymnasium's own check_env, render check included: it opens the env in every mode of
    ``metadata["render_modes"]`` ("human": sumo-gui) and calls render()."""
    code = (
        "import gymnasium as gym, intergreen\n"
        "from gymnasium.utils.env_checker import check_env\n"
        "env = gym.make('intergreen/Junction-v0', duration=30)\n"
        "check_env(env.unwrapped)\n"
        "env.close()\n"
        "print('checked')\n"
    )
    out = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("checked")
    assert sumo_children() == []
