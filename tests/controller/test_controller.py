"""Controller behaviour that needs a clock, a scheduler stub or a look inside the store."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest

from opensweep.config.spec import SweepSpec
from opensweep.controller import controller as controller_module
from opensweep.controller.clock import FakeClock
from opensweep.controller.controller import REQUEUED_NOTE, AnnotatingStore, Controller
from opensweep.core.history import Trial
from opensweep.core.model import MetricRow, Run, RunState, SweepState
from opensweep.errors import ConfigError, Conflict
from opensweep.schedulers.base import StopDecision
from opensweep.search.base import Suggestion
from opensweep.store import open_store

from .conftest import HEARTBEAT_TIMEOUT


def grid(n: int, **extra: Any) -> dict[str, Any]:
    return {"method": "grid", "parameters": {"x": {"values": list(range(n))}}, **extra}


def random_sweep(**extra: Any) -> dict[str, Any]:
    return {
        "method": "random",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"lr": {"min": 1e-4, "max": 1e-1}, "units": {"values": [16, 32, 64]}},
        **extra,
    }


def claim(controller: Controller, sweep_id: str, agent: str = "agent") -> Run:
    run = controller.next_run(sweep_id, agent)
    assert run is not None
    return run


def row(step: int, **values: Any) -> list[MetricRow]:
    return [MetricRow(step=step, values=values)]


# ---------------------------------------------------------------------- reaping
def test_a_silent_run_is_crashed_after_the_timeout(
    controller: Controller, clock: FakeClock
) -> None:
    sweep = controller.create_sweep(random_sweep())
    beating, silent = claim(controller, sweep.id), claim(controller, sweep.id)
    clock.advance(40)
    assert controller.heartbeat("agent", [beating.id]) == {}
    assert controller.reap() == []  # 40 s of silence is within the timeout
    clock.advance(HEARTBEAT_TIMEOUT - 39)  # silent: 61 s; beating: 21 s
    crashed = controller.reap()
    assert [r.id for r in crashed] == [silent.id]
    ended = controller.get_run(silent.id)
    assert ended.state is RunState.CRASHED
    assert ended.finished_at == ended.updated_at == clock.now()
    assert ended.error is not None and "heartbeat" in ended.error
    assert controller.get_run(beating.id).state is RunState.RUNNING


def test_reaping_happens_on_the_controllers_own_calls(
    controller: Controller, clock: FakeClock
) -> None:
    sweep = controller.create_sweep(random_sweep())
    lost = claim(controller, sweep.id)
    clock.advance(HEARTBEAT_TIMEOUT + 1)
    claim(controller, sweep.id, "another agent")  # next_run reaps first
    assert controller.store.get_run(lost.id).state is RunState.CRASHED
    late = claim(controller, sweep.id)
    clock.advance(HEARTBEAT_TIMEOUT + 1)
    assert controller.get_run(late.id).state is RunState.CRASHED  # so does reading the run


def test_a_silent_plain_run_is_crashed_too(controller: Controller, clock: FakeClock) -> None:
    """A run outside any sweep (``opensweep.init()`` in a script) whose process died."""
    silent = controller.start_run(project="p", config={"lr": 0.1})
    alive = controller.start_run(project="p")
    clock.advance(HEARTBEAT_TIMEOUT / 2)
    controller.heartbeat("sdk", [alive.id])
    clock.advance(HEARTBEAT_TIMEOUT / 2 + 1)
    assert [r.id for r in controller.reap()] == [silent.id]
    crashed = controller.get_run(silent.id)
    assert crashed.state is RunState.CRASHED and "its process is gone" in (crashed.error or "")
    assert controller.get_run(alive.id).state is RunState.RUNNING
    clock.advance(HEARTBEAT_TIMEOUT)
    assert controller.get_run(alive.id).state is RunState.CRASHED  # reading it reaps it
    assert controller.reap() == []


def test_logging_is_a_sign_of_life(controller: Controller, clock: FakeClock) -> None:
    sweep = controller.create_sweep(random_sweep())
    run = claim(controller, sweep.id)
    clock.advance(50)
    controller.log(run.id, 0, row(0, loss=1.0))
    clock.advance(50)  # 100 s since the claim, 50 s since the last log
    assert controller.reap() == []
    clock.advance(11)
    assert [r.id for r in controller.reap()] == [run.id]


def test_a_crashed_run_gets_told_and_cannot_log(controller: Controller, clock: FakeClock) -> None:
    sweep = controller.create_sweep(random_sweep())
    run = claim(controller, sweep.id)
    clock.advance(HEARTBEAT_TIMEOUT + 1)
    controller.reap()
    assert controller.heartbeat("agent", [run.id]) == {run.id: "run already crashed"}
    with pytest.raises(Conflict):
        controller.log(run.id, 0, row(0, loss=1.0))
    with pytest.raises(Conflict):
        controller.finish_run(run.id, exit_code=0)


def test_crashed_runs_count_for_run_cap_and_the_sweep_finishes(
    controller: Controller, clock: FakeClock
) -> None:
    sweep = controller.create_sweep(random_sweep(run_cap=2))
    claim(controller, sweep.id)
    claim(controller, sweep.id)
    clock.advance(HEARTBEAT_TIMEOUT + 1)
    assert controller.next_run(sweep.id, "agent") is None
    assert {r.state for r in controller.list_runs(sweep.id)} == {RunState.CRASHED}
    assert controller.get_sweep(sweep.id).state is SweepState.FINISHED


def test_reaping_finishes_a_sweep_whose_settling_was_lost(
    controller: Controller, clock: FakeClock
) -> None:
    """A server killed between a run's end and the sweep's settle: the restarted server's
    reaper finishes the sweep, and leaves alone one that still has points to hand out."""
    done, open_ = controller.create_sweep(grid(1)), controller.create_sweep(grid(2))
    ended = {"state": RunState.FINISHED, "finished_at": clock.now()}
    for sweep in (done, open_):
        run = claim(controller, sweep.id)
        # the end's commit alone, as the killed server left it
        controller.store.change_run(run.id, lambda r, s: ended)
    restarted = Controller(controller.store, clock=clock, heartbeat_timeout=HEARTBEAT_TIMEOUT)
    assert restarted.get_sweep(done.id).state is SweepState.RUNNING
    assert restarted.reap() == []
    assert restarted.get_sweep(done.id).state is SweepState.FINISHED
    assert restarted.get_sweep(open_.id).state is SweepState.RUNNING
    last = claim(restarted, open_.id)  # the second point is still handed out
    assert last.config == {"x": 1}
    restarted.reap()
    assert restarted.get_sweep(open_.id).state is SweepState.RUNNING  # its run is running


def test_a_sweep_is_not_finished_under_a_run_claimed_while_it_was_settled(
    controller: Controller, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The end of one run settles the sweep while another agent claims its last point: the
    claim lands between counting the running runs and seeing the grid exhausted."""
    sweep = controller.create_sweep(grid(2))
    first = claim(controller, sweep.id)
    other_agent = Controller(controller.store, clock=clock, heartbeat_timeout=HEARTBEAT_TIMEOUT)
    list_runs = controller.store.list_runs
    claimed: list[Run] = []
    claiming = False

    def list_runs_after_a_claim(sweep_id: str, **filters: Any) -> list[Run]:
        nonlocal claiming
        if not filters and not claiming:  # the settle reads every run to see what is left
            claiming = True  # once, even if the claim reads runs too
            claimed.append(claim(other_agent, sweep_id))
        return list_runs(sweep_id, **filters)

    monkeypatch.setattr(controller.store, "list_runs", list_runs_after_a_claim)
    controller.finish_run(first.id, exit_code=0)
    assert claimed and claimed[0].config == {"x": 1}
    assert controller.get_sweep(sweep.id).state is SweepState.RUNNING  # its last run runs
    controller.finish_run(claimed[0].id, exit_code=0)
    assert controller.get_sweep(sweep.id).state is SweepState.FINISHED


def test_rerun_crashed_hands_a_crashed_grid_point_out_again(
    controller: Controller, clock: FakeClock
) -> None:
    if not isinstance(controller.store, AnnotatingStore):
        pytest.skip("the store has no annotate_run yet (needed by rerun_crashed)")
    sweep = controller.create_sweep(grid(3))
    lost = claim(controller, sweep.id)
    clock.advance(HEARTBEAT_TIMEOUT + 1)
    while (run := controller.next_run(sweep.id, "agent")) is not None:
        controller.finish_run(run.id, exit_code=0)
    assert controller.get_sweep(sweep.id).state is SweepState.FINISHED
    assert controller.get_run(lost.id).state is RunState.CRASHED

    assert controller.rerun_crashed(sweep.id) == 1
    assert controller.get_sweep(sweep.id).state is SweepState.RUNNING  # reopened
    again = claim(controller, sweep.id)
    assert again.config == lost.config and again.id != lost.id
    assert controller.next_run(sweep.id, "agent") is None
    controller.finish_run(again.id, exit_code=0)
    assert controller.get_sweep(sweep.id).state is SweepState.FINISHED
    kept = controller.get_run(lost.id)
    assert kept.state is RunState.CRASHED and REQUEUED_NOTE in (kept.notes or "")
    assert controller.rerun_crashed(sweep.id) == 0  # each crashed run is requeued once
    assert sorted(r.config["x"] for r in controller.list_runs(sweep.id)) == [0, 0, 1, 2]


def test_a_requeue_by_another_controller_reaches_this_ones_claims(
    sqlite_url: str, controller: Controller, clock: FakeClock
) -> None:
    """A grid claim keeps the configs it has seen (a ledger); a requeue made by another
    process (here another controller on the same file) must still free the point."""
    sweep = controller.create_sweep(grid(3, run_cap=3))
    lost = claim(controller, sweep.id)
    clock.advance(HEARTBEAT_TIMEOUT + 1)
    controller.get_run(lost.id)  # reaped: crashed
    second = claim(controller, sweep.id)
    with Controller(
        open_store(sqlite_url), clock=clock, heartbeat_timeout=HEARTBEAT_TIMEOUT
    ) as other:
        assert other.rerun_crashed(sweep.id) == 1
    third = claim(controller, sweep.id)
    again = claim(controller, sweep.id)  # run_cap 3 counts the requeued run no more
    # the freed point comes first again: grid order
    assert [second.config["x"], third.config["x"], again.config["x"]] == [1, 0, 2]
    assert third.config == lost.config
    assert controller.next_run(sweep.id, "agent") is None


class SkipRecordingStore:
    """A real store that records the ``skip`` of each claim."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.skips: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def claim_next(self, sweep_id: str, propose: Any, *, skip: int = 0) -> Run | None:
        self.skips.append(skip)
        result: Run | None = self._store.claim_next(sweep_id, propose, skip=skip)
        return result


def test_metric_blind_claims_read_only_new_runs(sqlite_url: str, clock: FakeClock) -> None:
    store = SkipRecordingStore(open_store(sqlite_url))
    with (
        Controller(store, clock=clock) as controller,
        Controller(  # type: ignore[arg-type]
            open_store(sqlite_url), clock=clock
        ) as other,
    ):
        blind = controller.create_sweep(random_sweep(run_cap=6))
        for _ in range(2):
            claim(controller, blind.id)
        claim(other, blind.id)  # another process's run: read once, as a new run
        for _ in range(3):
            claim(controller, blind.id)
        assert controller.next_run(blind.id, "agent") is None
        assert store.skips == [0, 1, 2, 4, 5, 6]
        assert len({r.id for r in controller.list_runs(blind.id)}) == 6

        store.skips.clear()
        aware = controller.create_sweep({**random_sweep(), "method": "bayes"})
        for _ in range(3):
            claim(controller, aware.id)
        assert store.skips == [0, 0, 0]  # bayes needs every run's current state and metric


# ---------------------------------------------------------------------- handing out runs
def test_run_cap_holds_across_many_calls(controller: Controller) -> None:
    sweep = controller.create_sweep(random_sweep(run_cap=5))
    handed = []
    for i in range(20):
        run = controller.next_run(sweep.id, f"agent-{i % 3}")
        if run is not None:
            handed.append(run)
            if i % 2:
                controller.finish_run(run.id, exit_code=i % 4 - 1)
    assert len(handed) == 5
    assert len(controller.list_runs(sweep.id)) == 5
    assert controller.get_sweep(sweep.id).state is SweepState.RUNNING  # runs still running
    for run in controller.list_runs(sweep.id):
        if run.state is RunState.RUNNING:
            controller.finish_run(run.id, exit_code=0)
    assert controller.get_sweep(sweep.id).state is SweepState.FINISHED


def test_grid_exhausted_finishes_the_sweep(controller: Controller) -> None:
    sweep = controller.create_sweep(grid(4))
    runs = [claim(controller, sweep.id) for _ in range(4)]
    assert sorted(r.config["x"] for r in runs) == [0, 1, 2, 3]
    assert controller.next_run(sweep.id, "agent") is None
    assert controller.get_sweep(sweep.id).state is SweepState.RUNNING
    for run in runs:
        controller.finish_run(run.id, exit_code=1)  # failed runs use their point too
    assert controller.get_sweep(sweep.id).state is SweepState.FINISHED


def test_a_seeded_sweep_replays_configs_seeds_and_names(controller: Controller) -> None:
    def replay(seed: int) -> list[tuple[Any, int, str]]:
        sweep = controller.create_sweep(random_sweep(seed=seed))
        assert sweep.seed == seed
        out = []
        for _ in range(5):
            run = claim(controller, sweep.id)
            controller.finish_run(run.id, exit_code=0)
            out.append((dict(run.config), run.seed, run.name))
        return out

    first, second, other = replay(7), replay(7), replay(8)
    assert first == second
    assert [c for c, _, _ in first] != [c for c, _, _ in other]
    assert len({s for _, s, _ in first}) == 5
    assert [n.rsplit("-", 1)[1] for _, _, n in first] == ["1", "2", "3", "4", "5"]


def test_an_unseeded_sweep_draws_and_keeps_a_seed(controller: Controller) -> None:
    seeds = {controller.create_sweep(random_sweep()).seed for _ in range(3)}
    assert len(seeds) == 3  # drawn, not a constant


def test_target_from_the_summary_counts_and_maximize_is_respected(
    controller: Controller,
) -> None:
    config = random_sweep()
    config["metric"] = {"name": "acc", "goal": "maximize", "target": 0.9}
    sweep = controller.create_sweep(config)
    low = claim(controller, sweep.id)
    controller.log(low.id, 0, row(0, acc=0.95), {"acc": 0.5})  # the best logged value counts
    controller.finish_run(low.id, exit_code=1)  # ...but only a finished run reaches the target
    high = claim(controller, sweep.id)
    controller.log(high.id, 0, [], {"acc": 0.91})
    controller.finish_run(high.id, exit_code=0)
    assert controller.next_run(sweep.id, "agent") is None
    assert controller.get_sweep(sweep.id).state is SweepState.FINISHED


def test_invalid_config_stores_nothing(controller: Controller) -> None:
    with pytest.raises(ConfigError) as info:
        controller.create_sweep({"method": "grid", "parameters": {"x": {"min": 5, "max": 1}}})
    assert any(p.startswith("parameters.x") for p, _ in info.value.violations)
    with pytest.raises(ConfigError):
        controller.create_sweep(["not", "a", "mapping"])  # type: ignore[arg-type]
    # scheduler options only the scheduler can check (asha: min_iter < max_iter) fail at creation
    asha = {
        "method": "random",
        "metric": {"name": "loss"},
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
        "early_terminate": {"type": "asha", "min_iter": 9, "max_iter": 3},
    }
    with pytest.raises(ConfigError) as asha_info:
        controller.create_sweep(asha)
    assert any("early_terminate" in p for p, _ in asha_info.value.violations)
    assert controller.list_sweeps() == []


# ---------------------------------------------------------------------- sweep states
def test_pause_holds_new_runs_and_resume_of_an_exhausted_sweep_finishes_it(
    controller: Controller,
) -> None:
    sweep = controller.create_sweep(grid(2))
    runs = [claim(controller, sweep.id) for _ in range(2)]
    controller.set_sweep_state(sweep.id, "pause")
    for run in runs:
        controller.finish_run(run.id, exit_code=0)
    assert controller.get_sweep(sweep.id).state is SweepState.PAUSED  # the user's word stands
    assert controller.set_sweep_state(sweep.id, "resume").state is SweepState.FINISHED


def test_state_changes_are_refused_with_w_and_b_messages(controller: Controller) -> None:
    sweep = controller.create_sweep(grid(2))
    controller.set_sweep_state(sweep.id, "cancel")
    with pytest.raises(Conflict, match=r"^Cannot pause canceled sweep\.$") as info:
        controller.set_sweep_state(sweep.id, "pause")
    assert info.value.details["state"] == "canceled"
    with pytest.raises(Conflict, match=r"^Sweep already canceled\.$"):
        controller.set_sweep_state(sweep.id, "stop")


def test_cancel_kills_running_runs_even_when_they_exit_cleanly(
    controller: Controller, clock: FakeClock
) -> None:
    sweep = controller.create_sweep(grid(3))
    run = claim(controller, sweep.id)
    clock.advance(5)
    controller.set_sweep_state(sweep.id, "cancel")
    asked = controller.get_run(run.id)
    assert asked.stop_reason == "sweep canceled" and asked.updated_at == clock.now()
    assert controller.finish_run(run.id, exit_code=0).state is RunState.KILLED
    assert controller.get_sweep(sweep.id).state is SweepState.CANCELED


def test_an_explicit_final_state_wins(controller: Controller) -> None:
    sweep = controller.create_sweep(grid(3))
    run = claim(controller, sweep.id)
    controller.set_sweep_state(sweep.id, "cancel")
    ended = controller.finish_run(run.id, state=RunState.FINISHED, exit_code=0)
    assert ended.state is RunState.FINISHED


# ---------------------------------------------------------------------- early termination
class RecordingScheduler:
    """Stops every running run whose last loss is above ``limit``; records each call."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.calls: list[list[Trial]] = []

    def __call__(self, spec: SweepSpec, history: Sequence[Trial]) -> list[StopDecision]:
        self.calls.append(list(history))
        return [
            StopDecision(t.run_id, f"loss {t.metric_history[-1]:g} above {self.limit:g}")
            for t in history
            if t.is_running and t.metric_history and t.metric_history[-1] > self.limit
        ]


@pytest.fixture
def scheduler(monkeypatch: pytest.MonkeyPatch) -> RecordingScheduler:
    stub = RecordingScheduler(limit=1.0)
    monkeypatch.setattr(controller_module, "get_scheduler", lambda name: stub)
    return stub


def hyperband_sweep(n: int = 6) -> dict[str, Any]:
    return grid(
        n,
        metric={"name": "loss", "goal": "minimize"},
        early_terminate={"type": "hyperband", "min_iter": 1, "eta": 2},
    )


def test_scheduler_runs_on_every_flush_that_logs_the_metric(
    controller: Controller, scheduler: RecordingScheduler, clock: FakeClock
) -> None:
    sweep = controller.create_sweep(hyperband_sweep())
    assert [list(c) for c in scheduler.calls] == [[]]  # creation checks the options once
    scheduler.calls.clear()
    good, bad = claim(controller, sweep.id), claim(controller, sweep.id)
    assert controller.log(good.id, 0, row(0, loss=0.5)).stop_reason is None
    assert len(scheduler.calls) == 1
    assert controller.log(good.id, 1, row(1, other=3.0)).stop_reason is None
    assert len(scheduler.calls) == 1  # no metric in the batch: nothing to decide
    assert not controller.log(good.id, 0, row(0, loss=0.5)).applied
    assert len(scheduler.calls) == 1  # a retried batch decides nothing either
    clock.advance(3)
    result = controller.log(bad.id, 0, row(0, loss=2.0))
    assert result.stop_reason == "loss 2 above 1"
    trials = {t.run_id: t for t in scheduler.calls[-1]}
    assert trials[good.id].metric_history == (0.5,)
    assert trials[bad.id].metric_history == (2.0,)
    stopped = controller.get_run(bad.id)
    assert stopped.stop_reason == "loss 2 above 1" and stopped.updated_at == clock.now()
    assert controller.heartbeat("agent", [good.id, bad.id]) == {bad.id: "loss 2 above 1"}
    assert controller.finish_run(bad.id, exit_code=-15).state is RunState.STOPPED


def test_a_run_can_be_stopped_by_another_runs_flush(
    controller: Controller, scheduler: RecordingScheduler
) -> None:
    sweep = controller.create_sweep(hyperband_sweep())
    first, second = claim(controller, sweep.id), claim(controller, sweep.id)
    controller.log(first.id, 0, row(0, loss=0.9))
    scheduler.limit = 0.5  # the next decision is stricter
    assert controller.log(second.id, 0, row(0, loss=0.1)).stop_reason is None
    assert controller.get_run(first.id).stop_reason == "loss 0.9 above 0.5"
    # the stop reaches the first run through its own next log
    assert controller.log(first.id, 1, row(1, loss=0.8)).stop_reason == "loss 0.9 above 0.5"


def test_real_hyperband_stops_the_laggard(controller: Controller) -> None:
    sweep = controller.create_sweep(hyperband_sweep())
    a, b, c = (claim(controller, sweep.id) for _ in range(3))
    assert controller.log(a.id, 0, row(0, loss=5.0)).stop_reason is None
    assert controller.log(b.id, 0, row(0, loss=1.0)).stop_reason is None
    # band 1: sorted (1, 2, 5), threshold at index int(3 / 2) = 1 -> 2.0; a (5.0) is worse
    assert controller.log(c.id, 0, row(0, loss=2.0)).stop_reason is None
    reason = controller.get_run(a.id).stop_reason
    assert reason is not None
    assert controller.get_run(b.id).stop_reason is None
    ended = controller.finish_run(a.id, exit_code=0)
    assert ended.state is RunState.STOPPED and ended.stop_reason == reason


# ---------------------------------------------------------------------- timestamps
def test_every_change_moves_updated_at(controller: Controller, clock: FakeClock) -> None:
    sweep = controller.create_sweep(random_sweep())
    run = claim(controller, sweep.id)
    assert run.updated_at == run.created_at == run.heartbeat_at == clock.now()
    clock.advance(1)
    controller.log(run.id, 0, row(0, loss=1.0), {"loss": 1.0})
    assert controller.get_run(run.id).updated_at == clock.now()
    clock.advance(1)
    controller.heartbeat("agent", [run.id])
    beat = controller.get_run(run.id)
    assert beat.heartbeat_at == clock.now() and beat.updated_at == clock.now() - 1
    clock.advance(1)
    ended = controller.finish_run(run.id, exit_code=0)
    assert ended.updated_at == ended.finished_at == clock.now()
    clock.advance(1)
    paused = controller.set_sweep_state(sweep.id, "pause")
    assert paused.updated_at == clock.now()


# ---------------------------------------------------------------------- what a search method sees
class RecordingMethod:
    """Suggests x = a draw of the generator it is given; records what it saw."""

    def __init__(self) -> None:
        self.histories: list[list[Trial]] = []

    def __call__(
        self, spec: SweepSpec, history: Sequence[Trial], n: int, rng: Any
    ) -> list[Suggestion]:
        self.histories.append(list(history))
        return [Suggestion({"x": float(rng.random())}, note=f"seen {len(history)} runs")]


def test_a_learning_method_sees_every_run_with_its_metric_history(
    controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    method = RecordingMethod()
    monkeypatch.setattr(controller_module, "get_method", lambda name: method)
    config = {
        "method": "bayes",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
        "seed": 3,
    }
    sweep = controller.create_sweep(config)
    first = claim(controller, sweep.id)
    assert first.notes == "seen 0 runs"
    controller.log(first.id, 0, row(0, loss=0.5) + row(1, loss="NaN") + row(2, loss=0.25))
    controller.log(first.id, 1, [], {"loss": 0.2})
    controller.finish_run(first.id, exit_code=0)
    second = claim(controller, sweep.id)
    (trial,) = method.histories[-1]
    assert trial.run_id == first.id and trial.state is RunState.FINISHED
    assert trial.params == first.config
    assert trial.metric_history[0] == 0.5 and trial.metric_history[2] == 0.25
    assert math.isnan(trial.metric_history[1])  # a string "NaN" is not a number
    assert trial.summary_metric == 0.2 and trial.created_index == 0
    # the generator is a function of (sweep seed, run index): a replay draws the same x
    replay = controller.create_sweep(config)
    assert claim(controller, replay.id).config == first.config
    assert claim(controller, replay.id).config == second.config
    assert first.config != second.config
