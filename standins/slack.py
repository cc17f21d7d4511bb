"""Stand-in for a Slack incoming webhook (hooks.slack.com), for the Slack forwarder's tests.

Records each JSON body it is posted and answers with `status`; a path in `revoked` answers 404,
as Slack does for a deleted webhook.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .http_server import Reply, Request, http_server

WEBHOOK_PATH = "/services/T0/B0/secret-path-5c8d"  # the secret part is easy to search logs for


@dataclass
class SlackStandIn:
    status: int = 200
    revoked: set[str] = field(default_factory=set)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""  # the webhook URL (base + WEBHOOK_PATH)

    def respond(self, request: Request) -> Reply:
        self.received.append({"path": request.path, "type": request.headers.get("Content-Type"),
                              "json": request.json()})
        return (404 if request.path in self.revoked else self.status), b"ok"


@contextlib.contextmanager
def slack_standin() -> Iterator[SlackStandIn]:
    standin = SlackStandIn()
    with http_server(standin.respond) as base:
        standin.url = f"{base}{WEBHOOK_PATH}"
        yield standin
