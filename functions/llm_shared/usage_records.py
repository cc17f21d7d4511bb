"""The usage-records page: finished ledger rows in commit order, for the Snowflake export.

Written down once here. The gateway builds a page with `build_page`; the exporter validates it
with `parse_page`, which is strict: a missing or extra field, a cursor that does not climb, more
rows than asked, or a page that says more follow while it is short (a truncated read) all raise,
so a bad read can never be exported as if it were the whole story.

`cursor` is the ledger's commit-order sequence (see docs/adr/0008-usage-records-cursor.md): a row
committed later always has a larger cursor, even when its request started earlier, so paging by
`after=<last cursor seen>` never skips a late row. No prompt or completion text is ever included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import LLMSharedError

# 2: records carry key_name (the client key). A strict reader of another version refuses the page.
SCHEMA_VERSION = 2
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
STATUSES = ("ok", "error", "partial")
BACKENDS = ("serverless", "gpu")
COMPLEXITIES = ("low", "medium", "high")

# (field, kind): the record's columns in export order. Kinds: "cursor"/"count" (integer >= 0),
# "text" (non-empty string), "optional" (string or null), "number" (finite >= 0), "flag" (bool),
# or a tuple of allowed strings (a None in it allows null).
FIELDS: tuple[tuple[str, Any], ...] = (
    ("cursor", "cursor"),
    ("request_id", "text"),
    ("ts_ms", "count"),
    ("model", "text"),
    ("backend", BACKENDS),
    ("prompt_tokens", "count"),
    ("completion_tokens", "count"),
    ("cost_pico", "count"),
    ("latency_ms", "number"),
    ("status", STATUSES),
    ("estimated", "flag"),
    ("complexity", (*COMPLEXITIES, None)),
    ("cost_priority", "optional"),
    ("user_id", "optional"),
    ("session_id", "optional"),
    ("key_name", "optional"),  # the client key's name; null in rows from before named keys
)
FIELD_NAMES = tuple(name for name, _ in FIELDS)
_TOP_KEYS = {"schema_version", "after", "limit", "next_after", "has_more", "records"}


class UsageRecordsError(LLMSharedError, ValueError):
    """The records page is not what the contract says; the message says what is off."""


@dataclass(frozen=True, slots=True)
class RecordsPage:
    after: int
    next_after: int
    has_more: bool
    records: tuple[dict[str, Any], ...]


def build_page(*, after: int, limit: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The payload for up to `limit` rows after `after`; `rows` may hold one extra (has_more probe)."""
    records = rows[:limit]
    return {
        "schema_version": SCHEMA_VERSION,
        "after": after,
        "limit": limit,
        "next_after": records[-1]["cursor"] if records else after,
        "has_more": len(rows) > limit,
        "records": records,
    }


def _fail(path: str, problem: str) -> UsageRecordsError:
    return UsageRecordsError(f"usage records {path}: {problem}")


def _int(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(path, f"expected an integer >= 0, got {value!r}")
    return value


def _field(value: Any, kind: Any, path: str) -> Any:
    if kind in ("cursor", "count"):
        return _int(value, path)
    if kind == "text":
        if not isinstance(value, str) or not value:
            raise _fail(path, f"expected a non-empty string, got {value!r}")
    elif kind == "optional":
        if value is not None and not isinstance(value, str):
            raise _fail(path, f"expected a string or null, got {value!r}")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
            raise _fail(path, f"expected a finite number >= 0, got {value!r}")
    elif kind == "flag":
        if not isinstance(value, bool):
            raise _fail(path, f"expected true or false, got {value!r}")
    elif value not in kind:
        allowed = ", ".join("null" if k is None else k for k in kind)
        raise _fail(path, f"expected one of {allowed}, got {value!r}")
    return value


def parse_page(payload: Any, *, after: int, limit: int) -> RecordsPage:
    """Validate one page asked for with `after` and `limit`; raise UsageRecordsError otherwise."""
    if not isinstance(payload, dict):
        raise _fail("", f"expected an object, got {type(payload).__name__}")
    if payload.keys() != _TOP_KEYS:
        missing, extra = sorted(_TOP_KEYS - payload.keys()), sorted(payload.keys() - _TOP_KEYS)
        raise _fail("", f"missing {missing}, unexpected {extra}")
    if payload["schema_version"] != SCHEMA_VERSION:
        raise _fail("schema_version", f"expected {SCHEMA_VERSION}, got {payload['schema_version']!r}")
    if _int(payload["after"], "after") != after:
        raise _fail("after", f"asked for {after}, got {payload['after']}")
    if _int(payload["limit"], "limit") != limit:
        raise _fail("limit", f"asked for {limit}, got {payload['limit']}")
    items = payload["records"]
    if not isinstance(items, list):
        raise _fail("records", f"expected a list, got {type(items).__name__}")
    if len(items) > limit:
        raise _fail("records", f"{len(items)} records on a page of at most {limit}")
    has_more = payload["has_more"]
    if not isinstance(has_more, bool):
        raise _fail("has_more", f"expected true or false, got {has_more!r}")
    if has_more and len(items) < limit:
        raise _fail("has_more", f"more records follow a page of {len(items)} < {limit}: a truncated page")
    records, previous = [], after
    for index, item in enumerate(items):
        path = f"records[{index}]"
        if not isinstance(item, dict) or item.keys() != set(FIELD_NAMES):
            got = sorted(item) if isinstance(item, dict) else type(item).__name__
            raise _fail(path, f"expected exactly the fields {list(FIELD_NAMES)}, got {got}")
        record = {name: _field(item[name], kind, f"{path}.{name}") for name, kind in FIELDS}
        if record["cursor"] <= previous:
            raise _fail(f"{path}.cursor", f"{record['cursor']} does not follow {previous} (commit order)")
        previous = record["cursor"]
        records.append(record)
    if _int(payload["next_after"], "next_after") != previous:
        raise _fail("next_after", f"{payload['next_after']} is not the last cursor on the page ({previous})")
    return RecordsPage(after=after, next_after=previous, has_more=has_more, records=tuple(records))
