"""Command macros against W&B's recorded behaviour (agent_commands.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opensweep.agent.macros import build_argv, expand_macro
from opensweep.core.paths import parse_sweep_path
from opensweep.errors import InvalidRequest

DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "wandb-reference" / "agent_commands.json").read_text()
)


def _plain(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v["value"] for k, v in args.items()}


@pytest.mark.parametrize("case", DATA["macro_expansions"], ids=lambda c: c["id"])
def test_macro_expansions_match_wandb(case: dict[str, Any]) -> None:
    params = _plain(case["args"])
    for macro, expected in case["expected"].items():
        got = expand_macro(macro, params, program=None, interpreter="python", params_file=None)
        assert got == expected, macro


@pytest.mark.parametrize("case", DATA["command_assembly"], ids=lambda c: c["id"])
def test_command_assembly_matches_wandb(case: dict[str, Any]) -> None:
    params = _plain(case["args"])
    expected = list(case["expected_argv"])
    if case["id"] == "partial_macro_not_substituted":
        # W&B passes "--batch_size=${batch_size}" through verbatim; we substitute it.
        expected[expected.index("--batch_size=${batch_size}")] = "--batch_size=32"
    params_file = "<WANDB_DIR>/wandb/sweep-<SWEEP_ID>/config-<RUN_ID>.json"
    argv = build_argv(
        case["command"],
        params,
        program=case["program"],
        env=case["env"],
        interpreter="python",
        params_file=params_file,
    )
    assert argv == expected


def test_default_command_is_wandbs() -> None:
    argv = build_argv(None, {"lr": 0.1}, program="train.py", env={}, interpreter="/x/python")
    assert argv == ["/usr/bin/env", "/x/python", "train.py", "--lr=0.1"]
    assert DATA["default_command"] == ["${env}", "${interpreter}", "${program}", "${args}"]


def test_unset_envvar_leaves_bare_name_like_wandb() -> None:
    argv = build_argv(["run", "--out=${envvar:NOPE}/x"], {}, program=None, env={})
    assert argv == ["run", "--out=NOPE/x"]


@pytest.mark.parametrize("case", DATA["sweep_id_parsing"]["cases"], ids=lambda c: c["input"])
def test_sweep_path_parsing_matches_wandb(case: dict[str, Any]) -> None:
    if case["error"]:
        with pytest.raises(InvalidRequest, match="sweep path"):
            parse_sweep_path(case["input"])
        return
    parsed = parse_sweep_path(case["input"])
    assert (parsed.entity, parsed.project, parsed.sweep_id) == (
        case["parsed"]["entity"],
        case["parsed"]["project"],
        case["parsed"]["name"],
    )
