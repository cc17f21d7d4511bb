"""The AI_INSIGHTS SQL: files under sql/ai_insights/, rendered for a stack.

Why files: the SnowflakeInsights component and the fakesnow tests read the same text, so what is
tested is what `pulumi up` creates. Placeholders are `${name}`; every value put in is checked here
(identifiers, an IANA zone name, integers) so rendering cannot inject SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from llm_shared.catalog import Catalog

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "ai_insights"
DEFAULT_DATABASE = "AI_INSIGHTS"
SCHEMA = "AI_INSIGHTS"
TABLE = "LAMBDA_INSIGHTS"
STAGE = "USAGE_EXPORT_STAGE"
FILE_FORMAT = "USAGE_EXPORT_CSV"
PIPE = "USAGE_EXPORT_PIPE"
VIEWS = ("MODEL_CATALOG", "LAMBDA_USAGE_STATS", "KEY_USAGE_STATS", "COST_SAVINGS")  # in creation order
# The plans' batching opportunity: requests above this many tokens, 30 % cheaper in a batch API.
BATCH_MIN_TOKENS = 10_000
BATCH_SAVING_PERCENT = 30
IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")
_ZONE = re.compile(r"^[A-Za-z0-9_+\-/]{1,64}$")
_COLUMN = re.compile(r"^\s+([A-Z][A-Z0-9_]*) ([A-Z_]+(?:\(\d+(?:,\d+)?\))?)( NOT NULL)?,?$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9._:/-]+$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool


def _read(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _render(name: str, database: str, **values: object) -> str:
    if not IDENTIFIER.match(database):
        raise ValueError(f"database {database!r} is not an unquoted Snowflake identifier")
    text = Template(_read(name)).substitute(database=database, schema=SCHEMA, **values)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip()


def table_columns() -> tuple[Column, ...]:
    """The table's columns as written in lambda_insights.sql (one per line)."""
    columns = []
    for line in _read(TABLE.lower()).splitlines():
        match = _COLUMN.match(line)
        if match:
            columns.append(Column(match.group(1), match.group(2), match.group(3) is None))
    if not columns:
        raise ValueError(f"no columns found in {SQL_DIR / 'lambda_insights.sql'}")
    return tuple(columns)


def create_table(database: str) -> str:
    return _render(TABLE.lower(), database)


def copy_statement(database: str) -> str:
    return _render("copy_into", database)


def catalog_rows(catalog: Catalog) -> str:
    rows = []
    for model in catalog:
        if not _MODEL_ID.match(model.id):
            raise ValueError(f"model id {model.id!r} cannot be written as a SQL literal")
        prices = f"{model.input_pico_per_token}, {model.output_pico_per_token}"
        rows.append(f"('{model.id}', '{model.tier}', {prices})")
    return ", ".join(rows)


def view_statement(view: str, database: str, time_zone: str, catalog: Catalog) -> str:
    """The SELECT of one of VIEWS for a stack's time zone and the shared catalog."""
    if not _ZONE.match(time_zone):
        raise ValueError(f"time zone {time_zone!r} is not an IANA zone name")
    return _render(view.lower(), database, time_zone=time_zone, catalog_rows=catalog_rows(catalog),
                   batch_min_tokens=BATCH_MIN_TOKENS, batch_saving_percent=BATCH_SAVING_PERCENT)
