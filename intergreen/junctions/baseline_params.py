"""Parameter files of baseline controllers: what ``intergreen tune --controller`` writes and
``simulate --param-file``, ``NAME:tuned`` baselines and the reports read.

A parameter file is JSON::

    {
      "format": "intergreen-baseline-params/1",
      "controller": "vehicle-actuated",          # a baseline name
      "junction": "gm_a56",                       # the junction it was tuned on
      "action_stages": ["2", "4"],
      "params": {"max_green": {"2": 31, "4": 24}, "extension": 1.7},   # keyword parameters
      "default_params": {...},                    # the defaults it was compared with
      "validation": {"seeds": [...], "demands": [...], "episodes": 15,
                     "tuned_wait_s": 11.2, "default_wait_s": 12.4, "by_demand": {...}},
      "budget": {"method": "CARBS", "trials": 40, "episodes": 600, "simulated_s": ...,
                 "wall_s": ..., "limit": "40 trials"}
    }

Only ``format``, ``controller`` and ``params`` are required; the rest is provenance, copied
into the results of an experiment that runs the baseline. Two ways to run one:

- the file's path where a baseline's name goes (``intergreen evaluate RUN --baselines
  va/tuned.json``, a grid's ``baselines``, ``simulate --controller``): the baseline the file
  names, with its parameters, on the junction it was tuned on;
- ``<controller>:tuned`` (for example ``vehicle-actuated:tuned``): the parameters a junction
  keeps in ``tuned/<controller>.json`` (beside its own YAML, else in its library folder), so
  that one name serves every junction that has them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intergreen.errors import IntergreenError
from intergreen.junctions.demand import junction_folder
from intergreen.junctions.spec import JunctionSpec

FORMAT = "intergreen-baseline-params/1"
#: Suffix of a baseline name that takes the junction's tuned parameters.
TUNED = ":tuned"


class ParamFileError(IntergreenError, ValueError):
    """A parameter file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class ParamFile:
    """A parameter file's controller, keyword parameters and provenance (the whole document)."""

    path: Path
    controller: str
    params: dict[str, Any]
    doc: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """``vehicle-actuated with extension=1.07, max_green={"2": 32.8, "4": 35.6} (tuned on
        gm_a56, on validation episodes of 60 s at low)``: the baseline, its parameters and,
        where the file says, the junction and the episodes it was tuned on (so that a run at
        other demands or lengths can be seen to be one)."""
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in self.params.items()) or "defaults"
        junction, v = self.doc.get("junction"), self.doc.get("validation") or {}
        where = [f"tuned on {junction}"] if junction else []
        if v.get("demands"):
            length = v.get("duration_s")
            episodes = f"of {length:g} s " if isinstance(length, int | float) else ""
            where.append(f"on validation episodes {episodes}at {', '.join(map(str, v['demands']))}")
        return f"{self.controller} with {params}" + (f" ({', '.join(where)})" if where else "")


def read_param_file(path: str | Path) -> ParamFile:
    """Read and check a parameter file's structure (the parameters themselves are checked
    when the baseline is built). Raises ParamFileError naming the file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ParamFileError(
            f"{path}: no such parameter file (check the path; `intergreen tune --controller "
            "NAME --out DIR` writes DIR/tuned.json)"
        ) from None
    except (OSError, json.JSONDecodeError) as e:
        raise ParamFileError(f"{path}: not a readable JSON parameter file ({e})") from None
    if isinstance(doc, dict) and str(doc.get("format", "")).startswith("intergreen-agent-tuned"):
        raise ParamFileError(
            f"{path}: holds an agent tune's hyperparameters, not a baseline's parameters; train "
            f"agents with them (a grid's `agents: {{NAME: {{tuned: {path}}}}}`)"
        )
    if isinstance(doc, dict) and isinstance(doc.get("config"), dict) and "key" in doc:
        raise ParamFileError(
            f"{path}: is a training run's record (config.json), not a controller; give the run "
            f"folder itself, {path.parent}"
        )
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ParamFileError(
            f'{path}: not a baseline parameter file (expected "format": "{FORMAT}"; '
            "write one with intergreen tune --controller NAME)"
        )
    controller, params = doc.get("controller"), doc.get("params")
    if not isinstance(controller, str) or not isinstance(params, dict):
        raise ParamFileError(f'{path}: needs a "controller" name and a "params" mapping')
    return ParamFile(path, controller, params, doc)


def params_for(path: str | Path, controller: str) -> dict[str, Any]:
    """The parameters of a file written for ``controller`` (``--param-file``); ParamFileError
    when the file holds another controller's."""
    pf = read_param_file(path)
    key = controller.replace("_", "-").lower()
    if pf.controller != key:
        raise ParamFileError(
            f"{pf.path}: holds {pf.controller} parameters; use --controller {pf.controller} "
            f"with it (not {controller})"
        )
    return dict(pf.params)


def tuned_file(spec: JunctionSpec, controller: str) -> Path:
    """Where a junction's tuned parameters for ``controller`` live: ``tuned/<controller>.json``
    in the folder of the junction's own YAML when it holds one (a user's junction, or one
    that ``extends:`` a shipped one), else in its library folder."""
    own = (spec.folder / "tuned" / f"{controller}.json").absolute() if spec.folder else None
    if own is not None and own.is_file():
        return own
    folder = junction_folder(spec)
    if folder is None and own is not None:
        return own  # not there: the error names the user's folder
    if folder is None:
        raise ParamFileError(
            f"junction {spec.name!r} has no library folder for tuned parameters; pass the "
            "tune's tuned.json with --param-file instead"
        )
    return folder / "tuned" / f"{controller}.json"


def tuned_params(spec: JunctionSpec, controller: str) -> ParamFile:
    """The junction's tuned parameters for ``controller``; ParamFileError when it has none or
    they were tuned on another junction or for another controller."""
    path = tuned_file(spec, controller)
    if not path.is_file():
        raise ParamFileError(
            f"no tuned parameters of {controller} for junction {spec.name} ({path}); tune with "
            f"`intergreen tune --controller {controller} --junction {spec.name} --out DIR` "
            f"and copy DIR/tuned.json there"
        )
    pf = read_param_file(path)
    if pf.controller != controller or pf.doc.get("junction", spec.name) != spec.name:
        raise ParamFileError(
            f"{path}: holds {pf.controller} parameters for junction {pf.doc.get('junction')}, "
            f"not {controller} on {spec.name}"
        )
    return pf


def is_param_file_name(name: str | Path) -> bool:
    """Whether a controller name is the path of a baseline parameter file (it ends in
    ``.json``: a tune's ``OUT/tuned.json``), which evaluate, grids and simulate run as the
    baseline the file names with the file's parameters."""
    return str(name).endswith(".json")


def check_tuned_junction(path: str | Path, spec: JunctionSpec) -> None:
    """Refuse a parameter file (``--param-file``) tuned on another junction than ``spec``: its
    maximum greens and splits are that junction's stages and flows (a tune on
    gm_a56_max_green run on gm_a56 gave no error and another junction's plan). A file that
    names no junction (written by hand) is taken as it is.

    Raises:
        ParamFileError: naming the file, the junction it was tuned on, the junction run and
            the fix.
    """
    pf = read_param_file(path)
    tuned_on = pf.doc.get("junction")
    if tuned_on is not None and tuned_on != spec.name:
        raise ParamFileError(
            f"{pf.path}: holds {pf.controller} parameters tuned on junction {tuned_on}, not "
            f"{spec.name}; run them on junction {tuned_on}, or tune on {spec.name} "
            f"(intergreen tune --controller {pf.controller} --junction {spec.name} --out DIR)"
        )
