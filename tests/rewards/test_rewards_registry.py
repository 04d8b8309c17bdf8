"""The registry: names, lookup errors, parameters, registration, plugins, value checks,
and the env helpers (resolve_reward, reward_metadata)."""

from __future__ import annotations

import importlib
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from reward_scenarios import ALL_RED, Scenario

from intergreen.frames import FIELDS, SensorFrame
from intergreen.junctions.env import reward_context
from intergreen.rewards import (
    STUDY_REWARDS,
    BaseReward,
    Registry,
    Reward,
    RewardContext,
    RewardError,
    check_value,
    registry,
    resolve_reward,
    reward_metadata,
)

EXTRA = {"weighted": {"weights": {"average_speed": 1.0, "queue": 0.1}}}


def frame(halting=(0,) * 6, count=None, speed=None, t=0.6) -> SensorFrame:
    h = np.asarray(halting, dtype=float)
    c = h if count is None else np.asarray(count, dtype=float)
    z = np.zeros(6)
    v = z if speed is None else np.asarray(speed, dtype=float)
    lanes = ("N_0", "N_1", "E_0", "S_0", "S_1", "W_0")
    return SensorFrame(t, 0.6, lanes, z, c, h, v, np.full(6, 13.41), z, z, np.ones(6, bool))


@pytest.fixture(scope="module")
def context(spec) -> RewardContext:
    return reward_context(spec)


# ----- names and metadata ---------------------------------------------------------------------
def test_names_hold_the_study_rewards_and_more() -> None:
    names = registry.names()
    assert len(STUDY_REWARDS) == 12
    extra = {"vehicles_in_view", "stage_imbalance", "pressure", "diff_waiting_time", "weighted"}
    assert set(STUDY_REWARDS) | extra <= set(names)
    assert names == sorted(names)


@pytest.mark.parametrize("name", registry.names())
def test_metadata_and_fields(name: str, context: RewardContext) -> None:
    r = registry.get(name, **EXTRA.get(name, {}))
    assert isinstance(r, Reward)
    assert r.name == name
    assert r.description and "\n" not in r.description
    assert r.formula
    assert isinstance(r.fields, tuple) and r.fields
    assert set(r.fields) <= set(FIELDS)  # only what a SensorFrame offers
    assert isinstance(r.needs_demand, bool)
    assert r.needs_demand == name.endswith("_ad")
    json.dumps(reward_metadata(r))
    d = registry.describe(name)
    assert d["name"] == name and d["formula"] == r.formula
    assert set(d["parameters"]) <= set(r.params) | set(d["required"])
    assert registry.get(name, **EXTRA.get(name, {})) is not r  # a fresh instance each call


# ----- over a busy run ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("delta", "base"),
    [
        ("delta_queue", "queue"),
        ("delta_wait_time_window", "wait_time_window"),
        ("delta_time_lost_window", "time_lost_window"),
    ],
)
def test_delta_rewards_are_differences_of_their_base(busy_run, delta: str, base: str) -> None:
    context, decisions = busy_run
    d, b = registry.get(delta), registry.get(base)
    d.reset(context)
    b.reset(context)
    previous = None
    nonzero = 0
    for frames in decisions:
        dv, bv = d(frames), b(frames)
        assert dv == (0.0 if previous is None else pytest.approx(bv - previous, abs=1e-9))
        nonzero += dv != 0
        previous = bv
    assert nonzero > len(decisions) // 4  # the run is busy: the test is not vacuous


def _poison(f: SensorFrame, keep: tuple[str, ...]) -> SensorFrame:
    nan = np.full(len(f.lanes), np.nan)
    return f.replace(**{k: nan for k in FIELDS if k not in keep})


@pytest.mark.parametrize("name", registry.names())
def test_rewards_read_only_their_declared_fields(busy_run, name: str) -> None:
    """Undeclared fields set to NaN change nothing; the values are finite."""
    context, decisions = busy_run
    clean, poisoned = (registry.get(name, **EXTRA.get(name, {})) for _ in range(2))
    clean.reset(context)
    poisoned.reset(context)
    for frames in decisions:
        value = clean(frames)
        assert math.isfinite(value)
        assert poisoned([_poison(f, clean.fields) for f in frames]) == value


def test_demand_estimate_follows_the_arrivals(busy_run) -> None:
    context, decisions = busy_run
    r = registry.get("average_speed_ad", demand_time_constant=1e9)
    r.reset(context)
    for frames in decisions:
        r(frames)
    arrivals = sum(f.arrived.sum() for frames in decisions for f in frames)
    seconds = sum(f.step_length for frames in decisions for f in frames)
    assert r.demand == pytest.approx(arrivals / seconds, rel=1e-6)
    assert 0.2 < r.demand < 1.0  # 'high' offers about 0.7 veh/s (demand.yaml)


# ----- lookup and parameter errors ------------------------------------------------------------
def test_unknown_name_lists_the_known_ones_and_the_closest() -> None:
    with pytest.raises(RewardError) as e:
        registry.get("avrage_speed")
    msg = str(e.value)
    assert "unknown reward 'avrage_speed'" in msg
    assert "Did you mean 'average_speed'?" in msg
    assert all(n in msg for n in STUDY_REWARDS)
    assert "--reward-module" in msg  # a user's own reward is one option away


def test_wrong_parameter_names_the_reward_and_the_valid_ones() -> None:
    with pytest.raises(RewardError, match=r"'average_speed' has no parameter 'empty'.*empty_value"):
        registry.get("average_speed", empty=0.0)
    with pytest.raises(RewardError, match="'queue' has no parameter 'scale'; valid parameters: no"):
        registry.get("queue", scale=2)
    with pytest.raises(RewardError, match="demand_time_constant must be finite > 0"):
        registry.get("wait_time_ad", demand_time_constant=-5)
    with pytest.raises(RewardError, match="must be a number"):
        registry.get("average_speed", empty_value="fast")
    with pytest.raises(RewardError, match="^reward 'weighted': weights.nope: unknown reward"):
        registry.get("weighted", weights={"nope": 1.0})  # which key: it did not say
    with pytest.raises(RewardError, match="^reward 'weighted': weights.queue: reward 'queue' has"):
        registry.get("weighted", weights={"queue": {"weight": 1.0, "scale": 2}})
    with pytest.raises(RewardError, match="mode must be 'incoming' or 'imbalance'"):
        registry.get("pressure", mode="max")


def test_weighted_records_its_components_as_given() -> None:
    """Each component as given, in canonical form: no component's defaults filled in while
    another's are left out."""
    spec = {"name": "weighted", "weights": {"average_speed": {"weight": 1.0}, "queue": 0.1}}
    assert reward_metadata(resolve_reward(spec))["params"] == {
        "weights": {"average_speed": {"weight": 1}, "queue": 0.1}
    }
    spec["weights"]["average_speed"] = {"weight": 2, "empty_value": 0.5}
    assert reward_metadata(resolve_reward(spec))["params"] == {
        "weights": {"average_speed": {"empty_value": 0.5, "weight": 2}, "queue": 0.1}
    }
    with pytest.raises(RewardError, match=r"weights.queue has a 'name' key: the key 'queue' names"):
        registry.get("weighted", weights={"queue": {"name": "queue", "weight": 1}})
    with pytest.raises(RewardError, match="'weighted' needs parameter.*weights"):
        registry.get("weighted")


def test_get_with_a_mapping_says_to_use_resolve_reward() -> None:
    with pytest.raises(RewardError, match=r"must be a string, got \{'name': 'queue'\}.*resolve_"):
        registry.get({"name": "queue"})  # type: ignore[arg-type]
    assert registry.describe("weighted")["composite"] is True
    assert registry.describe("queue")["composite"] is False


def test_a_reward_must_be_reset_before_use() -> None:
    with pytest.raises(RewardError, match="call reset"):
        registry.get("queue")([frame()])


def test_throughput_needs_stop_line_loops(spec) -> None:
    no_loops = spec.model_copy(
        update={"sensors": spec.sensors.model_copy(update={"stop_line_loops": False})}
    )
    with pytest.raises(RewardError, match="needs stop-line loops"):
        registry.get("throughput").reset(reward_context(no_loops))


# ----- registering ----------------------------------------------------------------------------
def test_register_a_function_class_and_the_name_rules(context: RewardContext) -> None:
    reg = Registry(plugins=False)

    @reg.register("lanes_queued", fields=("halting",))
    def lanes_queued(frames, context, *, min_queue: int = 1) -> float:
        """Minus the lanes with at least `min_queue` vehicles queued."""
        return -float(np.sum(frames[-1].halting >= min_queue))

    r = reg.get("lanes_queued", min_queue=2)
    r.reset(context)
    assert r([frame((0, 1, 2, 3, 0, 0))]) == -2.0
    assert r.params == {"min_queue": 2} and r.fields == ("halting",)
    assert r.description == "Minus the lanes with at least `min_queue` vehicles queued."
    assert reg.describe("lanes_queued")["parameters"] == {"min_queue": 1}
    with pytest.raises(RewardError, match="'lanes_queued' is registered twice in module "):
        reg.register("lanes_queued", lambda frames, context: 0.0)
    reg.register("lanes_queued", lambda frames, context: 1.0, replace=True)
    r = reg.get("lanes_queued")
    r.reset(context)
    assert r([frame()]) == 1.0
    with pytest.raises(RewardError, match="unknown SensorFrame field"):
        reg.register("ground_truth", lambda f, c: 0.0, fields=("waiting_time",))
    with pytest.raises(RewardError, match="not an instance"):
        reg.register("an_instance", registry.get("queue"))
    with pytest.raises(RewardError, match="invalid reward name"):
        reg.register("has space", lambda f, c: 0.0)

    @reg.register("needs_target")
    def needs_target(frames, context, *, target: float) -> float:
        return -abs(float(frames[-1].count.sum()) - target)

    with pytest.raises(RewardError, match="needs parameter.*target"):
        reg.get("needs_target")
    assert reg.describe("needs_target")["required"] == ["target"]

    @reg.register("mean_queue")
    class MeanQueue(BaseReward):
        description = "Minus the mean queue per lane."
        formula = "r = -mean_lanes halting"
        fields = ("halting",)

        def compute(self, frames) -> float:
            return -float(frames[-1].halting.mean())

    m = reg.get("mean_queue")
    m.reset(context)
    assert m([frame((6, 0, 0, 0, 0, 0))]) == -1.0 and m.params == {}


def test_non_finite_values_raise_naming_the_reward(context: RewardContext) -> None:
    reg = Registry(plugins=False)
    reg.register("broken_nan", lambda frames, context: float("nan"))

    class Bare:  # the protocol without BaseReward: wrapped, still checked
        description, formula, fields, needs_demand, params = (
            "bare",
            "r = inf",
            ("count",),
            False,
            {},
        )

        def reset(self, context):
            pass

        def __call__(self, frames):
            return math.inf

    reg.register("bare_inf", Bare)
    for name in ("broken_nan", "bare_inf"):
        r = reg.get(name)
        r.reset(context)
        with pytest.raises(RewardError, match=f"reward '{name}' returned"):
            r([frame()])
    with pytest.raises(RewardError, match="'queue' returned None"):
        check_value(registry.get("queue"), None)
    assert check_value(registry.get("queue"), np.float32(2.5)) == 2.5


# ----- plugins --------------------------------------------------------------------------------
PLUGIN = '''
import numpy as np


def halted_lanes(frames, context, *, scale: float = 1.0) -> float:
    """Minus the lanes with a queue in view."""
    return -scale * float(np.sum(frames[-1].halting > 0))
'''


def _dist(root: Path, name: str, entry_points: str) -> None:
    info = root / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[intergreen.rewards]\n{entry_points}\n")


@pytest.fixture
def plugins(tmp_path: Path) -> Iterator[Path]:
    """Two installed plugin packages (dist-info with entry points on sys.path): a working
    one and one that raises on import; removed and forgotten afterwards."""
    (tmp_path / "igr_test_plugin.py").write_text(PLUGIN)
    (tmp_path / "igr_broken_plugin.py").write_text("raise RuntimeError('broken on purpose')\n")
    _dist(tmp_path, "igr-test-plugin", "halted_lanes = igr_test_plugin:halted_lanes")
    _dist(tmp_path, "igr-broken-plugin", "broken_reward = igr_broken_plugin:reward")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.warns(RuntimeWarning, match="broken_reward"):
            registry.reload_plugins()
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for module in ("igr_test_plugin", "igr_broken_plugin"):
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
        registry.reload_plugins()
        assert "halted_lanes" not in registry.names()


def test_plugins_are_found_and_a_broken_one_is_named(plugins: Path, scenario: Scenario) -> None:
    assert "halted_lanes" in registry.names()
    d = registry.describe("halted_lanes")
    assert "igr-test-plugin" in d["source"] and d["parameters"] == {"scale": 1.0}
    errors = registry.plugin_errors()
    assert set(errors) == {"broken_reward"}
    assert "igr-broken-plugin" in errors["broken_reward"]
    assert "broken on purpose" in errors["broken_reward"]
    with pytest.raises(RewardError, match="plugin 'broken_reward'.*failed to load"):
        registry.get("broken_reward")
    scenario.signals(ALL_RED)
    scenario.add("a", "S_0", 5, 0)
    scenario.add("b", "E_0", 5, 0)
    frames = scenario.run(5)
    plugin, builtin = registry.get("halted_lanes", scale=2.0), registry.get("queue")
    plugin.reset(scenario.context)
    builtin.reset(scenario.context)
    assert plugin(frames) == -4.0  # two lanes queueing, x2
    assert builtin(frames) == -2.0  # the built-ins still work


# ----- env helpers ----------------------------------------------------------------------------
def test_resolve_reward_and_metadata() -> None:
    assert resolve_reward("queue").name == "queue"
    w = resolve_reward({"name": "weighted", "weights": {"average_speed": 1.0, "queue": 0.1}})
    meta = reward_metadata(w)
    assert meta == {
        "name": "weighted",
        "params": {"weights": {"average_speed": 1, "queue": 0.1}},
        "version": "1(average_speed=1, queue=1)",
    }
    again = resolve_reward(json.loads(json.dumps(meta)))  # {"name", "params"} also accepted
    assert reward_metadata(again) == meta
    with pytest.raises(RewardError, match="reward 'queue' is version 1 here, the record asks"):
        resolve_reward({"name": "queue", "params": {}, "version": "0"})
    r = registry.get("average_speed_ad", demand_floor=0.1)
    assert resolve_reward(r) is r
    assert reward_metadata(r)["params"] == {
        "empty_value": 1.0,
        "demand_time_constant": 300.0,
        "demand_floor": 0.1,
    }
    with pytest.raises(RewardError, match="needs a 'name' key"):
        resolve_reward({"weights": {}})
    with pytest.raises(RewardError, match="cannot make a reward from 3"):
        resolve_reward(3)
    with pytest.raises(RewardError, match="Did you mean 'queue'"):
        resolve_reward("queues")


def test_a_function_rewards_parameters_are_checked_against_its_annotations(
    context: RewardContext,
) -> None:
    """A bad value is refused when the reward is built (once numpy's error mid-episode), in
    one line naming --reward, the parameter and its type; a good one is read as annotated."""
    from intergreen.errors import OptionError
    from intergreen.rewards.option import parse_reward

    @registry.register("long_queues_test", fields=("halting",))
    def long_queues(frames, context, *, threshold: float = 10, label=None) -> float:
        return -float(np.sum(frames[-1].halting > threshold))

    try:
        r = registry.get("long_queues_test", threshold=1, label=[1])
        r.reset(context)
        assert r.params == {"threshold": 1.0, "label": [1]} and r([frame((0, 2, 1))]) == -1.0
        with pytest.raises(OptionError) as refused:
            parse_reward('{"name": "long_queues_test", "threshold": "x"}')
        assert str(refused.value) == (
            '--reward \'{"name": "long_queues_test", "threshold": "x"}\': reward '
            "'long_queues_test': parameter threshold must be float, got 'x' (Input should be a "
            "valid number, unable to parse string as a number)"
        )
        # a true/false where a number is meant: pydantic read it as 1.0 (a new user's trial)
        with pytest.raises(RewardError) as refused:
            registry.get("long_queues_test", threshold=True)
        assert str(refused.value) == (
            "reward 'long_queues_test': parameter threshold must be float, got True (a "
            "true/false, not a number)"
        )
        assert registry.get("long_queues_test", label=True).params["label"] is True  # no hint
        # a NaN or infinite value is refused as the built-in rewards refuse theirs (a NaN
        # threshold compared false silently: the reward was 0 at every step), annotated or
        # not, nested or spelt as text; a string parameter may read "inf"
        for params, shown in [
            ({"threshold": float("nan")}, "threshold must be finite, got nan"),
            ({"threshold": "inf"}, "threshold must be finite, got 'inf'"),
            ({"label": float("nan")}, "label must be finite, got nan"),
            (
                {"label": {"a": [1.0, float("-inf")]}},
                "label must be finite, got {'a': [1.0, -inf]}",
            ),
        ]:
            with pytest.raises(RewardError) as refused:
                registry.get("long_queues_test", **params)
            assert str(refused.value) == f"reward 'long_queues_test': parameter {shown}"
        assert registry.get("long_queues_test", label="inf").params["label"] == "inf"
    finally:
        registry.unregister("long_queues_test")


def test_canonical_reward_is_one_form_for_one_reward() -> None:
    from intergreen.rewards.registry import canonical_reward

    weighted = {"name": "weighted", "weights": {"average_speed": 1, "queue": 0.1}}
    for same in (
        {"weights": {"queue": 0.1, "average_speed": 1.0}, "name": "weighted"},
        {"name": "weighted", "params": {"weights": {"queue": 0.1, "average_speed": 1}}},
    ):
        assert canonical_reward(same) == weighted
        assert list(canonical_reward(same)["weights"]) == ["average_speed", "queue"]
    assert canonical_reward("queue") == "queue" and canonical_reward({"name": "queue"}) == "queue"
    # a recorded version stays (resolve_reward checks it); booleans stay booleans
    assert canonical_reward({"name": "queue", "version": 1}) == {"name": "queue", "version": "1"}
    assert canonical_reward({"name": "x", "flag": True, "n": 2.5}) == {
        "name": "x",
        "flag": True,
        "n": 2.5,
    }
    assert resolve_reward(canonical_reward(weighted)).version == "1(average_speed=1, queue=1)"


def test_registration_refuses_what_would_fail_mid_episode(context: RewardContext) -> None:
    """A new user's trial: a function without context, a class without compute and a class
    reward's parameter of the wrong type failed at the first decision with a bare traceback;
    fields="halting" was read as the fields h, a, l, ..."""
    reg = Registry(plugins=False)

    def nocontext(frames) -> float:
        return 0.0

    with pytest.raises(RewardError) as err:
        reg.register("nocontext", nocontext)
    assert str(err.value) == (
        "reward 'nocontext': a function reward is called as f(frames, context, **params); "
        "nocontext(frames) does not take both (write def f(frames, context, *, "
        "param=default): ...)"
    )
    reg.register("star_args", lambda *args: 0.0)  # takes them

    class NoCompute(BaseReward):
        pass

    # refused when registered (a new user's trial: it was listed by `rewards list` and
    # refused only when used)
    with pytest.raises(RewardError, match=r"'nocompute': class NoCompute defines no compute"):
        reg.register("nocompute", NoCompute)

    class NotAReward:
        def compute(self, frames) -> float:
            return 0.0

    with pytest.raises(RewardError) as err:
        reg.register("notareward", NotAReward)
    assert str(err.value) == (
        "reward 'notareward': class NotAReward does not follow the Reward protocol: it needs "
        "reset(self, context) and __call__(self, frames); or subclass BaseReward and define "
        "compute(self, frames)"
    )
    assert "nocompute" not in reg.names() and "notareward" not in reg.names()

    class Protocol:  # the protocol without BaseReward: fine
        fields = ("halting",)

        def reset(self, context) -> None:
            pass

        def __call__(self, frames) -> float:
            return 0.0

    reg.register("protocol", Protocol)

    class Scaled(BaseReward):
        fields = ("halting",)

        def __init__(self, alpha: float = 1.0) -> None:
            self.alpha = alpha

        def compute(self, frames) -> float:
            return -self.alpha * float(frames[-1].halting.sum())

    reg.register("scaled", Scaled)
    with pytest.raises(RewardError, match=r"'scaled': parameter alpha must be float, got 'x'"):
        reg.get("scaled", alpha="x")
    assert reg.get("scaled", alpha=2).alpha == 2.0  # read as annotated

    # a parameter written without the *: still a parameter (it said "valid parameters: none")
    @reg.register("positional_param", fields="halting")
    def positional_param(frames, context, threshold: float = 5.0) -> float:
        return -float(np.sum(frames[-1].halting > threshold))

    r = reg.get("positional_param", threshold=2)
    r.reset(context)
    assert r.params == {"threshold": 2.0} and r.fields == ("halting",)
    assert r([frame((0, 1, 2, 3, 0, 0))]) == -1.0


def test_where_a_reward_comes_from_and_replacing_a_built_in() -> None:
    """A reward registered from a script or notebook is named by its module (it was called
    built-in); the same definition run again (a notebook cell) replaces it; replacing a
    built-in needs another version, or its runs would share keys with the built-in's."""
    reg = Registry(plugins=False)
    reg.register("queue", type(registry.get("queue")))  # a built-in, as the library does

    def mine(frames, context) -> float:
        return 1.0

    reg.register("mine", mine)
    assert reg.describe("mine")["source"] == f"module {__name__}"
    assert reg.describe("queue")["source"] == "built-in"

    def mine_again(frames, context) -> float:  # another function: refused
        return 2.0

    with pytest.raises(RewardError, match=f"'mine' is registered twice in module {__name__}"):
        reg.register("mine", mine_again)

    def again() -> object:
        def mine(frames, context) -> float:
            return 3.0

        return mine

    first = again()
    reg.register("again", first)
    reg.register("again", again())  # the same definition once more: replaced, no error
    assert reg._entries["again"].obj is not first

    def my_queue(frames, context) -> float:
        return -float(frames[-1].halting.sum())

    with pytest.raises(RewardError) as err:
        reg.register("queue", my_queue, replace=True)
    assert str(err.value) == (
        "reward 'queue': replacing the built-in reward (version 1) with another formula needs "
        "another version, or runs trained on the two would share keys and results: "
        "register(..., version='1-mine'), or register it under a name of its own"
    )
    reg.register("queue", my_queue, replace=True, version="1-mine")
    assert reg.describe("queue")["version"] == "1-mine"


def test_an_edited_notebook_reward_registered_again_is_told_to_change_its_version() -> None:
    """A notebook cell run again replaces its reward silently; the cell run again after its
    formula was edited warns while the version stays (runs of the two formulas would share
    keys: a batch counts the old formula's finished runs as the new one's)."""
    import linecache
    import warnings

    reg = Registry(plugins=False)
    cell = 'register("mine", version=VERSION)\ndef mine(frames, context):\n    return 1.0\n'

    def run_cell(number: int, source: str, version: str) -> list[str]:
        source = source.replace("register", "@register").replace("VERSION", repr(version))
        filename = f"<ipython-input-{number}>"  # as IPython keeps a cell's source
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exec(compile(source, filename, "exec"), {"register": reg.register})
        return [f"{w.filename}: {w.message}" for w in caught]

    assert run_cell(1, cell, "1") == []
    assert run_cell(2, cell, "1") == []  # the same cell again
    edited = cell.replace("1.0", "2.0")
    assert run_cell(3, edited, "1") == [
        "<ipython-input-3>: reward 'mine' was registered again with other code but the same "
        "version '1': runs of the two formulas share keys, so a batch would count the old "
        "formula's finished runs as the new one's; give the edited formula another version "
        "(register(..., version='2')), or another name"
    ]
    assert run_cell(4, cell, "2") == []  # edited back, under a new version
    assert reg.describe("mine")["version"] == "2"


def test_a_reward_registered_inside_a_function_is_named_before_workers_start() -> None:
    """A new user's trial: a script registering its reward inside main() and evaluating with
    workers=2 ended with each worker's "unknown reward ... import the module that registers
    it first", which does not say why."""
    from intergreen.agents.evaluation import evaluate
    from intergreen.rewards.registry import workers_cannot_see

    def main(module: str) -> None:
        def inner(frames, context) -> float:
            return 0.0

        inner.__module__ = module  # a script run as the program: its module is __main__
        registry.register(f"inside_{module.strip('_')}_reward", fields=("halting",))(inner)

    main("__main__")
    main("my_rewards")  # a reward module's factory: every worker imports it and runs it
    try:
        assert workers_cannot_see("inside_my_rewards_reward") is None
        message = workers_cannot_see("inside_main_reward")
        assert message is not None and message.startswith(
            "reward 'inside_main_reward' is registered inside a function ("
        )
        assert "register it at the top level of the script or in a module" in message
        assert workers_cannot_see({"name": "inside_main_reward"}) == message
        assert workers_cannot_see("queue") is None and workers_cannot_see("nope") is None
        with pytest.raises(RewardError, match="is registered inside a function"):
            evaluate("fixed-time", episodes=1, demands=["low"], duration=10,
                     reward="inside_main_reward", workers=2)  # fmt: skip
    finally:
        registry.unregister("inside_main_reward")
        registry.unregister("inside_my_rewards_reward")
