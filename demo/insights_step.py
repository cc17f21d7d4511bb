"""The demo's export step: the exporter handler against the gateway and the local S3, then the
exported objects loaded into AI_INSIGHTS in the local Snowflake emulator, and the daily view's rows."""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import Any

from demo.insights_emulator import insights
from llm_shared.catalog import default_catalog


def prewarm() -> threading.Thread:
    """Import the emulator (fakesnow, DuckDB, the Snowflake connector: seconds) while the demo's
    workload runs, so the export step itself stays short."""
    thread = threading.Thread(target=lambda: [importlib.import_module(m) for m in ("fakesnow",
                                                                                   "snowflake.connector")],
                              name="fakesnow-import", daemon=True)
    thread.start()
    return thread


def export_and_query(function_name: str, lambda_client: Any, s3: Any, time_zone: str,
                     work_dir: Path) -> dict[str, Any]:
    """Run the export with the environment the program gave its Lambda; return its report and the view."""
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    env = config["Environment"]["Variables"]
    os.environ.update(env)
    from cost_tracker.export_handler import handler

    report = handler({"source": "aws.events", "detail-type": "Scheduled Event"}, None)
    work_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for key in report["objects"]:
        path = work_dir / key.rsplit("/", 1)[-1]
        path.write_bytes(s3.get_object(Bucket=env["EXPORT_BUCKET"], Key=key)["Body"].read())
        files.append(path)
    with insights(time_zone, default_catalog()) as emulated:
        loads = emulated.load(files)
        rows = emulated.rows("LAMBDA_USAGE_STATS", "USAGE_DATE, MODEL, BACKEND")
    return {"export": report, "loaded_files": sum(1 for s in loads if s[1] == "LOADED"),
            "lambda_usage_stats": [{k.lower(): v for k, v in row.items()} for row in rows]}


def render(result: dict[str, Any]) -> str:
    export = result["export"]
    lines = [f"exported {export['records']} rows in {len(export['objects'])} objects "
             f"(cursor {export['from_cursor']} -> {export['to_cursor']}); Snowpipe-style COPY loaded "
             f"{result['loaded_files']} file(s)", "AI_INSIGHTS.LAMBDA_USAGE_STATS:",
             f"  {'date':<10} {'model':<40} {'backend':<10} {'req':>4} {'tokens':>7} {'cost USD':>14} "
             f"{'p95 ms':>8} {'users':>5}"]
    for row in result["lambda_usage_stats"]:
        lines.append(f"  {row['usage_date']!s:<10} {row['model']:<40} {row['backend']:<10} "
                     f"{int(row['requests']):>4} {int(row['total_tokens']):>7} {row['cost_usd']!s:>14} "
                     f"{row['p95_latency_ms']:>8.2f} {int(row['unique_users']):>5}")
    return "\n".join(lines)
