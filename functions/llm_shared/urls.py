"""The URL rules: what a base URL may look like, and which URLs a secret may travel on.

One owner because the stack settings (at preview), the gateway (at start), the cost tracker (each
run) and the Slack forwarder all send bearer tokens, API keys or a webhook over URLs they read from
configuration; when each wrote its own check they drifted, and a key went out over plain http.
Standard library only: the Slack forwarder's zip carries this module alone.

Both checks return why a URL is refused, or None, and never quote the URL: a key pasted into the
wrong variable must not reach a log. Callers name the setting and decide how to report.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# Hosts that are this machine: plain http to them never leaves it.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

BASE_URL_ALLOWED = "an http:// or https:// base URL without credentials, query or fragment"
SECRET_URL_ALLOWED = ("an https:// base URL without credentials, query or fragment "
                      f"(plain http:// only to {', '.join(sorted(LOOPBACK_HOSTS))})")


def base_url_problem(url: str) -> str | None:
    """Why `url` is not a usable http(s) base URL, or None."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unbalanced '[' in the host
        return "not an http(s) URL"
    if parts.scheme not in ("http", "https") or not hostname or any(c.isspace() for c in url):
        return "not an http(s) URL"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "a base URL carries no credentials, query or fragment"
    return None


def secret_url_problem(url: str) -> str | None:
    """Why a secret (token, API key, webhook) may not travel on `url`, or None: https, or plain
    http to a loopback host only."""
    problem = base_url_problem(url)
    if problem is None and urlsplit(url).scheme == "http" and urlsplit(url).hostname not in LOOPBACK_HOSTS:
        problem = "plain http to a host other than loopback would expose the secret sent on it; use https"
    return problem
