"""Secrets Manager look-ups, cached for the life of a warm Lambda container.

An hourly function that re-fetched its secrets every run would pay a round trip each time for
values that change only on rotation; a cold start (or a rotation plus a failed call) refetches.
boto3 is imported on first use so importing the handler stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SecretError(RuntimeError):
    """A secret could not be read; the message names the secret id, never its value."""


def aws_client(service: str) -> Any:
    """A boto3 client with timeouts that fit a 60 s function (botocore's default is 60 s each)."""
    import boto3  # deferred: ~300 ms of import the handler module should not pay up front
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client(service, config=config)


def _default_client() -> Any:
    return aws_client("secretsmanager")


class SecretCache:
    """Fetch secret strings by id (ARN or name) once, then serve them from memory."""

    def __init__(self, client_factory: Callable[[], Any] = _default_client) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._values: dict[str, str] = {}

    def get(self, secret_id: str) -> str:
        if secret_id in self._values:
            return self._values[secret_id]
        if self._client is None:
            self._client = self._client_factory()
        try:
            response = self._client.get_secret_value(SecretId=secret_id)
        except Exception as exc:  # botocore's ClientError and transport errors alike
            # ClientError carries the AWS error code; transport errors have no response (or None).
            response = getattr(exc, "response", None)
            code = (response.get("Error", {}).get("Code") if isinstance(response, dict) else None) \
                or type(exc).__name__
            raise SecretError(f"cannot read secret {secret_id}: {code}") from None
        value = response.get("SecretString")
        if not isinstance(value, str) or not value.strip():
            raise SecretError(f"secret {secret_id} has no SecretString value (empty or binary)")
        self._values[secret_id] = value.strip()
        return self._values[secret_id]

    def seed(self, secret_id: str, value: str) -> None:
        """Hold a value obtained elsewhere (the CLI's --gateway-token-file) under an id."""
        if not value.strip():
            raise SecretError(f"secret {secret_id} is empty")
        self._values[secret_id] = value.strip()

    def forget(self, secret_id: str | None = None) -> None:
        """Drop one cached value (e.g. after the gateway rejects a rotated token) or all of them."""
        if secret_id is None:
            self._values.clear()
        else:
            self._values.pop(secret_id, None)

    def values(self) -> tuple[str, ...]:
        """Every secret value held, so error and log text can be redacted against them."""
        return tuple(self._values.values())
