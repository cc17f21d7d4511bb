"""What a run that reads the gateway talks to: the cached secrets and one HTTP session.

The tracker's run (`run.Deps`) and the usage exporter (`usage_export.ExportDeps`) both read the
gateway with a bearer token from Secrets Manager; the session is built on first use (requests
costs ~130 ms to import) and a token refused with 401/403 is refetched once, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from .secrets import SecretCache
from .usage import UsageReadError

T = TypeVar("T")


def default_session() -> Any:
    from llm_shared.http import build_session  # deferred: requests costs ~130 ms to import

    return build_session()


@dataclass
class GatewayDeps:
    secrets: SecretCache
    session_factory: Callable[[], Any]

    @cached_property
    def session(self) -> Any:
        return self.session_factory()

    def with_token(self, secret_id: str, read: Callable[[str], T]) -> T:
        """`read(token)`; on 401/403 forget the token and read once more with a fresh one (a warm
        container may hold a token rotated since), then give up with that error."""
        try:
            return read(self.secrets.get(secret_id))
        except UsageReadError as exc:
            if exc.status not in (401, 403):
                raise
        self.secrets.forget(secret_id)
        return read(self.secrets.get(secret_id))
