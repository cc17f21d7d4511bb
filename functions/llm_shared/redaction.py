"""The one redaction rule: every secret value in a text becomes '***' before it is logged or raised.

One owner because the gateway's log filter, the cost tracker's log line, handler, CLI and HTTP
errors all hide the same values; copies drifted (None secrets, a secret inside another).
"""

from __future__ import annotations

MASK = "***"


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every non-empty secret replaced by '***'; the longest first, so a secret that
    contains another is hidden whole (its Bearer form included)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
