"""YAML loading that reads ``1e-5`` as a number.

PyYAML implements YAML 1.1, whose float pattern needs a dot: ``1e-5`` comes back as the
*string* "1e-5" (W&B's configs suffer from this). Our loader resolves YAML 1.2-style floats,
rejects duplicate keys (PyYAML silently keeps the last one) and turns syntax errors into
:class:`~opensweep.errors.ConfigError` with the line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from opensweep.errors import ConfigError

_FLOAT = re.compile(
    r"""^(?:
        [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
      | [-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
      | [-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
      | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
      | [-+]?\.(?:inf|Inf|INF)
      | \.(?:nan|NaN|NAN)
    )$""",
    re.X,
)


class SweepLoader(yaml.SafeLoader):
    """SafeLoader + YAML 1.2 floats (``1e-5``) + an error on duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key: the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# a copy of SafeLoader's resolvers with the float one replaced (not shared with SafeLoader)
SweepLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SweepLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and text.strip().lower().endswith((".yaml", ".yml", ".json"))


def load_yaml(text_or_path: str | os.PathLike[str]) -> Any:
    """Parse YAML (or JSON) text, or read the file at a path (``Path`` or a string ending in
    .yaml/.yml/.json)."""
    if isinstance(text_or_path, os.PathLike) or _looks_like_path(str(text_or_path)):
        path = Path(text_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            message = f"cannot read sweep config {str(path)!r}: {exc.strerror}"
            raise ConfigError(message, violations=[("", message)]) from None
    else:
        text = str(text_or_path)
    try:
        return yaml.load(text, Loader=SweepLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            "invalid sweep config", violations=[("", f"invalid YAML{where}: {problem}")]
        ) from None
