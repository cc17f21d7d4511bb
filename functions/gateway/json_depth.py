"""How deep a client's JSON may nest, checked without recursion.

The JSON parser accepts 1,024 levels, but the code after it does not: orjson re-encodes at most
254, `json.dumps` (the prompt bound's rendering) and `str()` recurse in Python. One iterative walk
at the door bounds every later step; no real chat request nests anywhere near the limit (a tool's
JSON schema ten levels deep sits about 25 levels down in the body).
"""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 64  # the request body itself is level 1
_PATH_KEPT = 5       # enough to name messages[i].content[j].text
_CONTAINERS = (dict, list)  # exact classes: what a JSON parser builds


def first_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> tuple[str | int, ...] | None:
    """The path (first few keys/indexes) to a container nested deeper than `limit`, or None."""
    level = [value] if value.__class__ in _CONTAINERS else []
    for _ in range(limit):  # one level per pass, one comprehension doing the work: no path bookkeeping
        if not level:
            return None
        level = [child for node in level for child in (node.values() if node.__class__ is dict else node)
                 if child.__class__ in _CONTAINERS]
    return _path_to_depth(value, limit) if level else None


def _path_to_depth(value: Any, limit: int) -> tuple[str | int, ...]:
    """Only for a body known to be too deep: find one over-deep container's path."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if depth > limit:
            return path
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            if child.__class__ in _CONTAINERS:
                stack.append((child, depth + 1, (*path, key) if len(path) < _PATH_KEPT else path))
    raise AssertionError("unreachable: the level walk found a container deeper than the limit")


def may_be_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """False when the JSON text has too few brackets to nest past `limit` (skips the walk for most
    bodies; brackets inside strings only make this answer True more often)."""
    return raw.count(b"{") + raw.count(b"[") > limit
