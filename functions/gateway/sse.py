"""Server-sent-event pass-through with metering.

Forwards every complete line as soon as it arrives (no buffering beyond a partial line), reads
the usage chunk the upstream sends at the end, and counts streamed text so usage can be
estimated when the upstream sends none or the client leaves early.
"""

from __future__ import annotations

from typing import Any

import orjson

from .token_estimates import estimate_text_tokens_from_chars

_DATA = b"data:"
# One SSE line (one chunk's JSON) is a few hundred bytes; a backend sending more than this without a
# line break is broken or hostile, and buffering it would grow without bound.
MAX_SSE_LINE_BYTES = 1_048_576


class SseLineTooLong(Exception):
    """The upstream sent more than MAX_SSE_LINE_BYTES without a line break."""


def usage_counts(usage: Any) -> tuple[int, int] | None:
    """(prompt, completion) from an OpenAI usage object, or None when absent or malformed."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    for value in (prompt, completion):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return None
    return prompt, completion  # type: ignore[return-value]


def _delta_chars(delta: dict[str, Any]) -> int:
    """Characters a delta adds: its text and any tool-call arguments (both are billed output)."""
    chars = 0
    content = delta.get("content")
    if isinstance(content, str):
        chars += len(content)
    calls = delta.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            arguments = function.get("arguments") if isinstance(function, dict) else None
            if isinstance(arguments, str):
                chars += len(arguments)
    return chars


class StreamMeter:
    """Feed upstream bytes in, get the bytes to forward out; `usage` once the upstream sent it."""

    def __init__(self, forward_usage_chunk: bool) -> None:
        self._forward_usage_chunk = forward_usage_chunk
        self._pending = b""
        self.usage: tuple[int, int] | None = None
        self.text_chars = 0
        self.events = 0

    def feed(self, data: bytes) -> bytes:
        buffer = self._pending + data if self._pending else data
        cut = buffer.rfind(b"\n")
        complete, pending = (b"", buffer) if cut < 0 else (buffer[: cut + 1], buffer[cut + 1:])
        if len(pending) > MAX_SSE_LINE_BYTES:
            raise SseLineTooLong(f"an upstream line passed {MAX_SSE_LINE_BYTES} bytes without a line break")
        self._pending = pending
        if not complete:
            return b""
        kept = [line for line in complete.split(b"\n") if self._keep(line)]
        return b"\n".join(kept)

    def finish(self) -> bytes:
        """Whatever partial line is left when the upstream ends, closed as an event: SSE parsers
        drop an unterminated last event, and the gateway's cost comment follows it."""
        rest, self._pending = self._pending, b""
        return rest + b"\n\n" if rest and self._keep(rest) else b""

    def _keep(self, line: bytes) -> bool:
        if not line.startswith(_DATA):
            return True
        payload = line[5:].strip()
        if not payload or payload == b"[DONE]":
            return True
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return True
        if not isinstance(event, dict):
            return True
        self.events += 1
        choices = event.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if isinstance(delta, dict):
                    self.text_chars += _delta_chars(delta)
        counts = usage_counts(event.get("usage"))
        if counts is not None:
            self.usage = counts
            return self._forward_usage_chunk or bool(choices)
        return True

    def estimated_completion_tokens(self) -> int:
        """Tokens streamed so far, estimated from the text length."""
        return estimate_text_tokens_from_chars(self.text_chars)
