"""The AI_INSIGHTS objects in fakesnow (Snowflake emulated on DuckDB), built from the SQL files.

fakesnow runs tables, views, file formats, internal stages, PUT and COPY INTO, not storage
integrations, external stages or pipes: those are Pulumi resources tested under mocks. So the
exporter's objects are PUT to an internal stage of the same name and loaded with the pipe's own
COPY statement. fakesnow cannot hold a database and a schema of the same name, so the tests
use the database ANALYTICS (a stack's snowflakeDatabase; the default is AI_INSIGHTS). Used by the
fakesnow tests and `make demo`.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from components import insights_sql as sql
from llm_shared.catalog import Catalog

DATABASE = "ANALYTICS"
FILE_FORMAT_SQL = (f"CREATE FILE FORMAT IF NOT EXISTS {{db}}.{sql.SCHEMA}.{sql.FILE_FORMAT} TYPE = CSV "
                   "COMPRESSION = GZIP SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"' "
                   "EMPTY_FIELD_AS_NULL = TRUE")


class Insights:
    """A cursor on the emulated schema, with the load and query steps the tests and demo need."""

    def __init__(self, cursor: Any, database: str) -> None:
        self.cursor, self.database = cursor, database

    def run(self, statement: str) -> list[tuple]:
        self.cursor.execute(statement)
        return self.cursor.fetchall()

    def load(self, files: list[Path]) -> list[tuple]:
        """PUT each file to the stage, then the pipe's COPY INTO; returns COPY's per-file status."""
        for path in files:
            self.run(f"PUT file://{path} @{self.database}.{sql.SCHEMA}.{sql.STAGE} AUTO_COMPRESS=FALSE")
        return self.run(sql.copy_statement(self.database))

    def table_totals(self) -> tuple[int, int]:
        """(rows, exact cost) of the loaded table."""
        table = f"{self.database}.{sql.SCHEMA}.{sql.TABLE}"
        ((count, cost),) = self.run(f"SELECT COUNT(*), SUM(CAST(COST_PICO AS NUMBER(38,0))) FROM {table}")  # noqa: S608
        return int(count), int(cost or 0)

    def rows(self, view: str, order_by: str) -> list[dict[str, Any]]:
        """Every row of one of the views (names are the module's constants, not input)."""
        self.cursor.execute(f"SELECT * FROM {self.database}.{sql.SCHEMA}.{view} ORDER BY {order_by}")  # noqa: S608
        names = [d.name for d in self.cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self.cursor.fetchall()]


@contextlib.contextmanager
def insights(time_zone: str, catalog: Catalog, database: str = DATABASE) -> Iterator[Insights]:
    import fakesnow
    import snowflake.connector
    from fakesnow.transforms.stage import LOCAL_BUCKET_PATH

    # Databases live in memory per patch, but staged files in one directory per process: start empty.
    for name in {database, database.lower()}:
        shutil.rmtree(Path(LOCAL_BUCKET_PATH) / name, ignore_errors=True)
    with fakesnow.patch(), snowflake.connector.connect() as conn:
        emulated = Insights(conn.cursor(), database)
        emulated.run(f"CREATE DATABASE IF NOT EXISTS {database}")
        emulated.run(f"CREATE SCHEMA IF NOT EXISTS {database}.{sql.SCHEMA}")
        emulated.run(sql.create_table(database))
        emulated.run(FILE_FORMAT_SQL.format(db=database))
        emulated.run(f"CREATE STAGE IF NOT EXISTS {database}.{sql.SCHEMA}.{sql.STAGE}")
        for view in sql.VIEWS:
            statement = sql.view_statement(view, database, time_zone, catalog)
            emulated.run(f"CREATE OR REPLACE VIEW {database}.{sql.SCHEMA}.{view} AS {statement}")
        yield emulated
