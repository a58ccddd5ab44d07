"""Turn a run's parameters into a command line, with W&B's command macros.

Pure: the caller passes the environment, interpreter and file paths. Like W&B, an item that is
exactly ``${macro}`` expands to zero or more argv items, values are rendered with ``str()``
(``True``, ``None``, dict/list reprs) and ``${envvar:NAME}`` is substituted anywhere in an item.
Unlike W&B, ``${name}`` of a top-level parameter is also substituted inside an item
(``--batch=${batch_size}`` works; W&B passes it through verbatim). Unknown exact macros
expand to nothing, as in W&B.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_COMMAND: tuple[str, ...] = ("${env}", "${interpreter}", "${program}", "${args}")

_EXACT = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_.:\-]*)\}$")
_INLINE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)(?::([A-Za-z_][A-Za-z0-9_]*))?\}")


def _flags(params: Mapping[str, Any], prefix: str, sep: str) -> list[str]:
    return [f"{prefix}{k}{sep}{v}" for k, v in params.items()]


def expand_macro(
    name: str,
    params: Mapping[str, Any],
    *,
    program: str | None,
    interpreter: str,
    params_file: str | None,
) -> list[str] | None:
    """argv items for an exact ``${name}`` item; None when ``name`` is not a known macro."""
    if name == "env":
        return ["/usr/bin/env"]
    if name == "interpreter":
        return [interpreter]
    if name == "program":
        return [program] if program else []
    if name == "args":
        return _flags(params, "--", "=")
    if name == "args_no_equals":
        return [item for k, v in params.items() for item in (f"--{k}", str(v))]
    if name == "args_no_hyphens":
        return _flags(params, "", "=")
    if name == "args_no_boolean_flags":
        out: list[str] = []
        for k, v in params.items():
            if v is True:
                out.append(f"--{k}")
            elif v is not False:
                out.append(f"--{k}={v}")
        return out
    if name == "args_json":
        return [json.dumps(dict(params))]
    if name == "args_json_file":
        return [params_file] if params_file else []
    if name == "args_append_hydra":
        return _flags(params, "+", "=")
    if name == "args_override_hydra":
        return _flags(params, "++", "=")
    return None


def _substitute_inline(item: str, params: Mapping[str, Any], env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        head, arg = match.group(1), match.group(2)
        if head == "envvar" and arg is not None:
            return env.get(arg, arg)  # W&B leaves the bare NAME when the variable is unset
        if arg is None and head in params:
            return str(params[head])
        return match.group(0)

    return _INLINE.sub(replace, item)


def build_argv(
    command: Sequence[str] | None,
    params: Mapping[str, Any],
    *,
    program: str | None,
    env: Mapping[str, str],
    interpreter: str = "python",
    params_file: str | None = None,
) -> list[str]:
    """The argv for one run. ``params`` are the run's top-level parameters (nested as dicts)."""
    argv: list[str] = []
    for item in command or DEFAULT_COMMAND:
        exact = _EXACT.match(item)
        if exact and not exact.group(1).startswith("envvar:"):
            expanded = expand_macro(
                exact.group(1),
                params,
                program=program,
                interpreter=interpreter,
                params_file=params_file,
            )
            if expanded is not None:
                argv.extend(expanded)
                continue
            if exact.group(1) not in params:
                continue  # an unknown macro expands to nothing, as in W&B
        argv.append(_substitute_inline(item, params, env))
    return argv
