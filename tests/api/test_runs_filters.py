"""``Api().runs(path, filters, order)``: W&B's filter dicts on the runs of a project."""

from __future__ import annotations

import pytest

from opensweep.api import Api, runs_to_dataframe
from opensweep.client.base import Client
from opensweep.core.model import MetricRow
from opensweep.errors import InvalidRequest


@pytest.fixture
def two_projects(client: Client) -> dict[str, list[str]]:
    """Project ``a`` (entity ``team``): 3 runs; project ``b``: 2 runs. Returns run ids."""
    ids: dict[str, list[str]] = {}
    for project, entity, lrs in (("a", "team", [0.1, 0.01, 0.001]), ("b", None, [0.1, 0.5])):
        sweep = client.create_sweep(
            {
                "method": "grid",
                "metric": {"name": "loss"},
                "parameters": {
                    "lr": {"values": lrs},
                    "opt": {"parameters": {"name": {"value": "sgd"}}},
                },
            },
            project=project,
            entity=entity,
        )
        ids[project] = []
        for i, _ in enumerate(lrs):
            run = client.next_run(sweep.id, "agent")
            assert run is not None
            client.log(
                run.id, 0, [MetricRow(step=0, values={"loss": float(i)})], {"loss": float(i)}
            )
            if i < 2:
                client.finish_run(run.id, exit_code=i)  # 0 finished, 1 failed
            ids[project].append(run.id)
    return ids


def test_paths_scope_runs_to_a_project(api: Api, two_projects: dict[str, list[str]]) -> None:
    assert [r.id for r in api.runs("a")] == two_projects["a"]
    assert [r.id for r in api.runs("team/a")] == two_projects["a"]
    assert [r.id for r in api.runs("b")] == two_projects["b"]
    assert len(api.runs()) == 5
    assert api.runs("nobody/a") == []
    with pytest.raises(InvalidRequest, match="invalid runs path"):
        api.runs("x/y/z")


def test_runs_outside_sweeps_are_listed_with_their_project(
    api: Api, client: Client, two_projects: dict[str, list[str]]
) -> None:
    """``init()`` without an agent makes a run outside any sweep: W&B lists it with the
    project's other runs, so does Api().runs (not when filtering by sweep)."""
    plain = client.start_run(project="a", entity="team", config={"lr": 0.1})
    elsewhere = client.start_run(project="c", entity="x")
    client.log(plain.id, 0, [MetricRow(step=0, values={"loss": 9.0})], {"loss": 9.0})
    assert [r.id for r in api.runs("a")] == [*two_projects["a"], plain.id]
    assert [r.id for r in api.runs("team/a")] == [*two_projects["a"], plain.id]
    assert [r.id for r in api.runs("c")] == [elsewhere.id]
    assert api.runs("other-team/c") == [] and [r.id for r in api.runs("x/c")] == [elsewhere.id]
    assert len(api.runs()) == 7
    assert [r.id for r in api.runs("a", {"summary_metrics.loss": 9.0})] == [plain.id]
    assert [r.id for r in api.runs("a", {"config.lr": 0.1})] == [two_projects["a"][0], plain.id]
    sweep_id = api.run(two_projects["a"][0]).sweep_id
    assert [r.id for r in api.runs(filters={"sweep": sweep_id})] == two_projects["a"]


def test_equality_filters(api: Api, two_projects: dict[str, list[str]]) -> None:
    a, b = two_projects["a"], two_projects["b"]
    assert [r.id for r in api.runs("a", {"state": "finished"})] == [a[0]]
    assert [r.id for r in api.runs(filters={"config.lr": 0.1})] == [a[0], b[0]]
    assert [r.id for r in api.runs(filters={"config.lr": 0.1, "state": "failed"})] == []
    assert len(api.runs(filters={"config.opt.name": "sgd"})) == 5  # nested keys
    assert len(api.runs(filters={"config.lr.value": 0.5})) == 1  # W&B's older form
    assert [r.id for r in api.runs(filters={"summary_metrics.loss": 2.0})] == [a[2]]
    assert [r.id for r in api.runs(filters={"display_name": api.runs("b")[1].name})] == [b[1]]
    sweep_id = api.run(b[0]).sweep_id
    assert [r.id for r in api.runs(filters={"sweep": sweep_id})] == b
    assert api.runs(filters={"sweep": "unknown"}) == []
    assert api.runs(filters={"config.missing": 1}) == []


def test_operators_and_boolean_combinations(api: Api, two_projects: dict[str, list[str]]) -> None:
    a, b = two_projects["a"], two_projects["b"]
    assert [r.id for r in api.runs("a", {"summary_metrics.loss": {"$gte": 1.0}})] == a[1:]
    assert [r.id for r in api.runs("a", {"config.lr": {"$lt": 0.05, "$gt": 0.005}})] == [a[1]]
    assert [r.id for r in api.runs(filters={"state": {"$in": ["failed", "running"]}})] == [
        a[1],
        a[2],
        b[1],
    ]
    either = api.runs(filters={"$or": [{"config.lr": 0.5}, {"config.lr": 0.001}]})
    assert [r.id for r in either] == [a[2], b[1]]
    both = api.runs(filters={"$and": [{"state": "finished"}, {"config.lr": 0.1}]})
    assert [r.id for r in both] == [a[0], b[0]]
    with pytest.raises(InvalidRequest, match="unsupported operator"):
        api.runs(filters={"config.lr": {"$regex": "x"}})
    with pytest.raises(InvalidRequest, match="unknown run field 'tags'"):
        api.runs(filters={"tags": "x"})


def test_order_and_dataframe(api: Api, two_projects: dict[str, list[str]]) -> None:
    a = two_projects["a"]
    assert [r.id for r in api.runs("a", order="-summary_metrics.loss")] == a[::-1]
    assert [r.id for r in api.runs("a", order="+config.lr")] == a[::-1]
    frame = runs_to_dataframe(api.runs("a"))
    assert list(frame["config.lr"]) == [0.1, 0.01, 0.001]
    assert list(frame["state"]) == ["finished", "failed", "running"]
