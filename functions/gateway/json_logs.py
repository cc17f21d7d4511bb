"""The gateway's log lines: one JSON object each, with fields, so a shipper reads fields, not text.

Fields: `ts` (UTC, ms), `level`, `logger`, `message`, whatever the call passed as `extra={...}`,
and `exc_info` for a traceback. uvicorn's own loggers propagate here when it runs with
`log_config=None`. Every text in a line (message, fields, traceback) goes through the shared
`redact` before it is JSON-escaped, so no token or key reaches the log, whatever an exception
message holds. orjson, already the gateway's JSON library, keeps this one small class instead of a logging
dependency in the image.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from llm_shared.redaction import redact

# Attributes every LogRecord has (and uvicorn's colour copy of its message): not extra fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime",
                                                                            "color_message"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON with every secret in it replaced by '***'."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = secrets

    def _text(self, text: str) -> str:
        return redact(text, *self._secrets)

    def _field(self, value: Any) -> Any:
        """JSON numbers as they are (ints within 64 bits), anything else as its redacted text."""
        if value is None or isinstance(value, bool | float):
            return value
        if isinstance(value, int) and -2**63 <= value < 2**64:
            return value
        return self._text(value if isinstance(value, str) else repr(value))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._text(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = self._field(value)
        if record.exc_info:
            entry["exc_info"] = self._text(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = self._text(self.formatStack(record.stack_info))
        return orjson.dumps(entry).decode()


def configure(level: int = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """The root logger writes JSON lines to `stream` (stderr by default) and nowhere else; the
    caller sets `JsonFormatter(secrets)` on the returned handler once it knows the secrets."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
