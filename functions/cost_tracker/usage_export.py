"""Export finished ledger rows to S3 as gzip CSV objects named by their cursor range.

The bucket is the state: the last exported cursor is the highest range end among the objects
under the prefix, so a re-run writes nothing twice and a run that failed half-way resumes after
the last object it finished. Each object is one validated page, its bytes deterministic (fixed
gzip header), written only after the whole page validated: a bad or partial page raises with
nothing written for it. The function runs with reserved concurrency 1, so two runs never export
overlapping pages under different names.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from llm_shared.errors import ConfigError
from llm_shared.usage_records import FIELD_NAMES, MAX_LIMIT, UsageRecordsError, parse_page

from . import env_names as env
from .config import secret_base_url
from .gateway_deps import GatewayDeps, default_session
from .secrets import SecretCache, aws_client
from .usage import DEFAULT_TIMEOUT, UsageReadError, get_json

RECORDS_PATH = "/v1/usage/records"
DEFAULT_PAGE_SIZE = 5000
SAFETY_MARGIN_MS = 15_000  # stop starting pages this close to the Lambda timeout
# The CSV's columns, in the order of the Snowflake table (sql/ai_insights/lambda_insights.sql).
_RENAMED = {"cursor": "ledger_cursor", "ts_ms": "ts"}
CSV_COLUMNS = ("stack", *(_RENAMED.get(name, name) for name in FIELD_NAMES))
_KEY = re.compile(r"^(\d{20})-(\d{20})\.csv\.gz$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]+/$")


class ExportError(RuntimeError):
    """The export could not finish; objects already written stay (the next run resumes after them)."""


@dataclass(frozen=True, slots=True)
class ExportSettings:
    stack: str
    gateway_url: str
    gateway_token_secret: str
    bucket: str
    prefix: str
    page_size: int = DEFAULT_PAGE_SIZE


def load_export_settings(environ: Mapping[str, str]) -> ExportSettings:
    """Validate the exporter's environment; raise ConfigError naming every bad variable."""
    get = {name: environ.get(name, "").strip() for name in (*env.EXPORT_REQUIRED, env.EXPORT_PAGE_SIZE)}
    problems = [f"{name}: required, not set" for name in env.EXPORT_REQUIRED if not get[name]]
    url = secret_base_url(env.GATEWAY_URL, get[env.GATEWAY_URL], problems) if get[env.GATEWAY_URL] else ""
    prefix = get[env.EXPORT_PREFIX]
    if prefix and not _PREFIX.match(prefix):
        problems.append(f"{env.EXPORT_PREFIX}: {prefix!r} must be S3-safe characters ending in '/'")
    size_raw = get[env.EXPORT_PAGE_SIZE] or str(DEFAULT_PAGE_SIZE)
    if not size_raw.isdigit() or not 1 <= int(size_raw) <= MAX_LIMIT:
        problems.append(f"{env.EXPORT_PAGE_SIZE}: {size_raw!r} must be a whole number in [1, {MAX_LIMIT}]")
    if problems:
        raise ConfigError("invalid usage-export settings: " + "; ".join(problems))
    return ExportSettings(stack=get[env.STACK_NAME], gateway_url=url,
                          gateway_token_secret=get[env.GATEWAY_TOKEN_SECRET_ARN],
                          bucket=get[env.EXPORT_BUCKET], prefix=prefix, page_size=int(size_raw))


# -- pure parts ---------------------------------------------------------------------------------

def object_key(prefix: str, first: int, last: int) -> str:
    """Zero-padded, so keys sort in cursor order."""
    return f"{prefix}{first:020d}-{last:020d}.csv.gz"


def last_exported(keys: Iterable[str], prefix: str) -> int:
    """The highest cursor already in the bucket (0 when nothing was exported)."""
    last = 0
    for key in keys:
        match = _KEY.match(key.removeprefix(prefix)) if key.startswith(prefix) else None
        if match:
            last = max(last, int(match.group(2)))
    return last


def _ts(ts_ms: int) -> str:
    """UTC, millisecond precision: the TIMESTAMP_NTZ the table holds."""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{ts_ms % 1000:03d}"


def csv_gz(records: Iterable[Mapping[str, Any]], stack: str) -> bytes:
    """A header line and one line per record; empty fields are NULL; the same rows give the same bytes."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        row: list[Any] = [stack]
        for name in FIELD_NAMES:
            value = record[name]
            if name == "ts_ms":
                value = _ts(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            elif name == "latency_ms":
                value = repr(float(value))
            row.append("" if value is None else value)
        writer.writerow(row)
    return gzip.compress(text.getvalue().encode(), compresslevel=6, mtime=0)


# -- I/O ------------------------------------------------------------------------------------------

@dataclass
class ExportDeps(GatewayDeps):
    s3_factory: Callable[[], Any]
    timeout: tuple[float, float] = DEFAULT_TIMEOUT

    @cached_property
    def s3(self) -> Any:
        return self.s3_factory()


def default_export_deps() -> ExportDeps:
    return ExportDeps(SecretCache(), default_session, lambda: aws_client("s3"))


def exported_cursor(s3: Any, bucket: str, prefix: str) -> int:
    """ListObjectsV2 over the prefix (1000 keys a call); the bucket is the export's only state."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", ())]
    return last_exported(keys, prefix)


def fetch_page(settings: ExportSettings, deps: ExportDeps, after: int) -> Any:
    where = f"gateway usage records {RECORDS_PATH}?after={after}"
    query = {"after": after, "limit": settings.page_size}
    payload = deps.with_token(settings.gateway_token_secret, lambda token: get_json(
        deps.session, settings.gateway_url, RECORDS_PATH, query, token, where, timeout=deps.timeout))
    try:
        return parse_page(payload, after=after, limit=settings.page_size)
    except UsageRecordsError as exc:
        raise UsageReadError(f"{where}: {exc}") from None


def export_once(settings: ExportSettings, deps: ExportDeps, *,
                remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """Export every page after the bucket's cursor (until the time runs short); return a report."""
    started = time.monotonic()
    cursor = start = exported_cursor(deps.s3, settings.bucket, settings.prefix)
    objects, rows, more = [], 0, True
    while more and (remaining_ms is None or remaining_ms() > SAFETY_MARGIN_MS):
        page = fetch_page(settings, deps, cursor)
        more = page.has_more
        if not page.records:
            break
        key = object_key(settings.prefix, page.records[0]["cursor"], page.next_after)
        deps.s3.put_object(Bucket=settings.bucket, Key=key, Body=csv_gz(page.records, settings.stack),
                           ContentType="application/gzip")
        objects.append(key)
        rows += len(page.records)
        cursor = page.next_after
    return {"event": "usage_export.run", "stack": settings.stack, "bucket": settings.bucket,
            "from_cursor": start, "to_cursor": cursor, "objects": objects, "records": rows,
            "complete": not more, "seconds": round(time.monotonic() - started, 3)}
