"""AWS Lambda entry point: `cost_tracker.handler.handler`, invoked hourly by EventBridge.

Kept thin and cheap to import: settings are validated per invocation (a bad deploy fails loudly
on its first run), while the secret cache, HTTP session and CloudWatch client live at module
level so a warm container reuses them. requests and boto3 are imported on first use.
Any failure propagates: the Lambda Errors metric and the heartbeat alarm must see it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from llm_shared.redaction import redact

from .config import load_tracker_config
from .run import Deps, default_deps, run_once

log = logging.getLogger("cost_tracker")
log.setLevel(logging.INFO)
# botocore logs request and response bodies at DEBUG (a GetSecretValue response holds the secret):
# keep the SDK quiet even if the function's application log level is set to DEBUG.
for _name in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_DEPS: Deps | None = None


def _deps() -> Deps:
    global _DEPS
    if _DEPS is None:
        _DEPS = default_deps()
    return _DEPS


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Run once and return the report (the same figures as the log line)."""
    deps = _deps()
    try:
        settings = load_tracker_config(os.environ)
        return run_once(settings, deps).report
    except Exception as exc:
        detail = redact(str(exc), *deps.secrets.values())
        # Fields of Lambda's JSON log line, not a JSON string inside its message.
        log.error("cost tracker run failed", extra={"event": "cost_tracker.failed",
                                                    "error": type(exc).__name__, "detail": detail})
        raise
