"""AWS Lambda entry point: `cost_tracker.export_handler.handler`, the hourly usage export to S3.

A second function from the tracker's zip, with its own schedule, log group and Errors alarm, so an
export failure never silences the cost alarms. Any failure propagates (after a redacted log line).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from llm_shared.redaction import redact

from .usage_export import ExportDeps, default_export_deps, export_once, load_export_settings

log = logging.getLogger("usage_export")
log.setLevel(logging.INFO)
for _name in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_DEPS: ExportDeps | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Export what is new since the bucket's last object; return (and log) the report."""
    global _DEPS
    if _DEPS is None:
        _DEPS = default_export_deps()
    deps = _DEPS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    try:
        report = export_once(load_export_settings(os.environ), deps, remaining_ms=remaining)
    except Exception as exc:
        # Fields of Lambda's JSON log line, not a JSON string inside its message.
        log.error("usage export failed", extra={"event": "usage_export.failed", "error": type(exc).__name__,
                                                "detail": redact(str(exc), *deps.secrets.values())})
        raise
    fields = json.loads(json.dumps(report, default=str))
    log.info("usage export", extra={"event": fields.pop("event", "usage_export.run"), "report": fields})
    return report
