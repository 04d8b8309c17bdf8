"""sumo-gui start-up: a display check, and a view settings file zoomed on the junction.

sumo-gui reads its viewport, delay and snapshot times from a *gui-settings file*
(https://sumo.dlr.de/docs/sumo-gui.html#configuration_files): ``<viewport zoom x y>``
centres the view (zoom 100 shows the whole network), ``<delay value>`` slows the
simulation (ms per step), and each ``<snapshot file time>`` saves the view as an image
when the simulation reaches that time.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from intergreen.errors import IntergreenError, OptionError

__all__ = ["GuiOptions", "NoDisplayError", "check_display", "junction_view", "settings_xml"]


#: at most this many screenshots per run
MAX_SNAPSHOTS = 10_000


class NoDisplayError(IntergreenError, RuntimeError):
    """sumo-gui was asked for where no X display is available."""


@dataclass(frozen=True)
class GuiOptions:
    """How sumo-gui shows a run.

    ``delay_ms``: wall-clock delay per simulation step (0: as fast as it can draw);
    ``screenshots``: a folder for a snapshot of the view every ``screenshot_every`` simulated
    seconds (none without it); ``window``: width, height in pixels; ``margin_m``: how far the
    view reaches beyond the camera zones (m).
    """

    delay_ms: float = 0.0
    screenshots: Path | None = None
    screenshot_every: float = 60.0
    window: tuple[int, int] = (1200, 900)
    margin_m: float = 20.0

    def __post_init__(self) -> None:
        if not (0 <= self.delay_ms <= 60_000):
            raise OptionError(f"--delay {self.delay_ms:g}: give 0 to 60000 ms per step")
        if self.screenshot_every <= 0:
            raise OptionError(f"--screenshot-every {self.screenshot_every:g}: give seconds > 0")
        if not all(100 <= x <= 8000 for x in self.window):
            raise OptionError(f"window size {self.window}: give 100 to 8000 pixels each")


def check_display() -> None:
    """Raise NoDisplayError (one line naming ``xvfb-run``) when no X display is set."""
    if not os.environ.get("DISPLAY"):
        raise NoDisplayError(
            "sumo-gui needs a display and DISPLAY is not set: run without --gui, or under a "
            "virtual display: xvfb-run -a intergreen simulate ... --gui"
        )


def junction_view(
    net_file: Path, approach_lanes: tuple[str, ...], reach_m: float
) -> tuple[float, float, float]:
    """(x, y, zoom) of a sumo-gui viewport centred on the stop lines of ``approach_lanes``
    that shows at least ``reach_m`` metres each side of the centre."""
    import sumolib

    net = sumolib.net.readNet(str(net_file), withInternal=False)
    ends = [net.getLane(lane).getShape()[-1] for lane in approach_lanes]
    x = sum(p[0] for p in ends) / len(ends)
    y = sum(p[1] for p in ends) / len(ends)
    (xmin, ymin), (xmax, ymax) = net.getBBoxXY()
    extent = max(xmax - xmin, ymax - ymin, 1.0)
    # zoom 100 fits the network's larger side into the view's smaller one
    zoom = max(100.0, 100.0 * extent / (2 * reach_m))
    return x, y, zoom


def settings_xml(
    view: tuple[float, float, float],
    options: GuiOptions,
    duration: float,
    step_length: float,
    begin: float = 0.0,
) -> str:
    """The gui-settings file: the viewport, the delay and the snapshot times (each rounded up
    to a whole simulation step, as sumo-gui only snapshots at step times)."""
    x, y, zoom = view
    lines = [
        "<viewsettings>",
        '  <scheme name="real world"/>',
        f'  <viewport zoom="{zoom:.2f}" x="{x:.2f}" y="{y:.2f}"/>',
        f'  <delay value="{options.delay_ms:g}"/>',
    ]
    if options.screenshots is not None:
        folder = Path(options.screenshots).resolve()
        step_ms, end_ms = round(step_length * 1000), round(duration * 1000)
        every_ms = round(options.screenshot_every * 1000)
        count = end_ms // every_ms
        if count > MAX_SNAPSHOTS:
            raise OptionError(
                f"--screenshot-every {options.screenshot_every:g} s gives {count} screenshots "
                f"over {duration:g} s; at most {MAX_SNAPSHOTS}: give a longer interval"
            )
        for k in range(1, count + 1):
            t_ms = math.ceil(k * every_ms / step_ms) * step_ms
            if t_ms > end_ms:
                break
            name = quoteattr(str(folder / f"t{t_ms / 1000:08.1f}s.png"))
            lines.append(f'  <snapshot file={name} time="{begin + t_ms / 1000:g}"/>')
    lines.append("</viewsettings>")
    return "\n".join(lines) + "\n"
