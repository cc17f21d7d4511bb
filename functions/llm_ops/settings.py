"""Where the operator tools find the gateway and its tokens: environment names and loading.

Tokens come from files (what a desktop assistant's config should point at) or, failing that, from
the environment; they are held out of every repr and never printed. The admin token is optional:
without it the admin-only tools (usage, budget, optimization) are simply not offered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .env_names import (
    GATEWAY_ADMIN_TOKEN,
    GATEWAY_ADMIN_TOKEN_FILE,
    GATEWAY_TOKEN,
    GATEWAY_TOKEN_FILE,
    GATEWAY_URL,
)

DEFAULT_URL = "http://127.0.0.1:8080"


class OpsConfigError(ValueError):
    """The gateway URL or a token is missing or unusable; the message names the variable."""


@dataclass(frozen=True, slots=True)
class OpsSettings:
    gateway_url: str
    token: str = field(repr=False)
    admin_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpsSettings:
        env = os.environ if env is None else env
        token = _token(env, GATEWAY_TOKEN_FILE, GATEWAY_TOKEN)
        if token is None:
            raise OpsConfigError(f"{GATEWAY_TOKEN_FILE} (or {GATEWAY_TOKEN}) is required: a client token of "
                                 "the gateway")
        return cls(gateway_url=base_url(env.get(GATEWAY_URL) or DEFAULT_URL), token=token,
                   admin_token=_token(env, GATEWAY_ADMIN_TOKEN_FILE, GATEWAY_ADMIN_TOKEN))

    def secrets(self) -> tuple[str, ...]:
        return tuple(t for t in (self.token, self.admin_token) if t)


def base_url(raw: str) -> str:
    """The gateway's root URL, without a trailing slash or /v1."""
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise OpsConfigError(f"{GATEWAY_URL}: an http(s) URL without credentials is required, such as "
                             f"{DEFAULT_URL}")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def read_token_file(path: str, variable: str) -> str:
    """A token from a file (whitespace around it ignored); the message names the variable, not the token."""
    try:
        token = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise OpsConfigError(f"{variable}: cannot read {path} ({exc.strerror})") from None
    if not token:
        raise OpsConfigError(f"{variable}: {path} is empty")
    return token


def _token(env: Mapping[str, str], file_var: str, value_var: str) -> str | None:
    path = (env.get(file_var) or "").strip()
    if path:
        return read_token_file(path, file_var)
    token = (env.get(value_var) or "").strip()
    return token or None
