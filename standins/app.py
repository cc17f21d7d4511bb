"""The stand-in's ASGI app: an OpenAI-compatible chat endpoint whose behaviour is scripted.

Raw ASGI (no framework) so the bare stand-in is fast enough to be the benchmark's baseline.
Token counts are real counts of the text (a word/punctuation tokenizer), so costs in tests follow
from what was sent, not from constants.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import orjson

from gateway.asgi import ClientGone, Receive, Scope, Send, read_body, respond_json

_TOKEN = re.compile(r"\w+|[^\w\s]", re.U)
PER_MESSAGE_TOKENS = 3   # role and separators, as chat templates add them
PER_REPLY_TOKENS = 3
CONTROL_PREFIX = "/_standin/"
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


def count_tokens(text: str) -> int:
    """Words and punctuation marks: a deterministic stand-in for a real tokenizer."""
    return len(_TOKEN.findall(text))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def prompt_tokens(messages: list[Any]) -> int:
    """Prompt tokens the stand-in reports for these messages."""
    total = PER_REPLY_TOKENS
    for message in messages:
        if isinstance(message, Mapping):
            total += PER_MESSAGE_TOKENS + count_tokens(_content_text(message.get("content")))
    return total


@dataclass(slots=True)
class Script:
    """What the stand-in does with the next requests; change it at any time."""

    delay_s: float = 0.0              # wait before answering (or before the first chunk)
    chunk_delay_s: float = 0.0        # wait between streamed chunks
    fail_status: int | None = None    # answer with this HTTP status ...
    fail_count: int = 0               # ... for this many requests (-1: every request)
    omit_usage: bool = False          # leave usage out (non-streaming body and the stream's usage chunk)
    reply_tokens: int = 8             # completion length in tokens (capped by max_tokens)
    drop_after_chunks: int | None = None  # streaming: cut the connection after this many chunks
    model_name: str | None = None     # model reported in responses; default: the one asked for
    lie_tokens: int | None = None     # a lying upstream: report this many prompt and completion tokens

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown script field(s): {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        return cls(**data)


class StandinApp:
    """ASGI app. `requests` keeps the last bodies and headers received, for assertions."""

    def __init__(self, name: str = "standin", script: Script | None = None, history: int = 256) -> None:
        self.name = name
        self.script = script or Script()
        self.requests: deque[dict[str, Any]] = deque(maxlen=history)
        self.request_count = 0
        self.completed_streams = 0
        self.abandoned_streams = 0
        self.models_requests = 0
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path.endswith("/chat/completions") and method == "POST":
            with contextlib.suppress(ClientGone):  # the caller left before its body arrived
                await self._chat(scope, receive, send)
        elif path.endswith("/models") and method == "GET":
            self.models_requests += 1
            await respond_json(send, 200, {"object": "list", "data": [
                {"id": self.script.model_name or self.name, "object": "model", "owned_by": "standin"}]})
        elif path.startswith(CONTROL_PREFIX):
            with contextlib.suppress(ClientGone):
                await self._control(path[len(CONTROL_PREFIX):], method, receive, send)
        else:
            await respond_json(send, 404, _error(f"no route {method} {path}", "not_found"))

    async def _control(self, what: str, method: str, receive: Receive, send: Send) -> None:
        if what == "script" and method == "POST":
            try:
                self.script = Script.from_dict(orjson.loads(await read_body(receive)))
            except (ValueError, TypeError) as exc:
                await respond_json(send, 400, _error(str(exc), "invalid_script"))
                return
        if what in ("script", "stats"):
            await respond_json(send, 200, {"script": asdict(self.script), "requests": self.request_count,
                                       "completed_streams": self.completed_streams,
                                       "abandoned_streams": self.abandoned_streams})
        else:
            await respond_json(send, 404, _error(f"no control {what!r}", "not_found"))

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await read_body(receive)
        self.request_count += 1
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await respond_json(send, 400, _error("body is not JSON", "invalid_json"))
            return
        self.requests.append({"body": body, "headers": dict(scope["headers"])})
        script = self.script
        if script.fail_status and script.fail_count != 0:
            if script.fail_count > 0:
                script.fail_count -= 1
            await respond_json(send, script.fail_status, _error(f"{self.name} scripted failure", "scripted"))
            return
        if script.delay_s:
            await asyncio.sleep(script.delay_s)
        messages = body.get("messages") or []
        prompt = prompt_tokens(messages if isinstance(messages, list) else [])
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        n_reply = script.reply_tokens
        if isinstance(limit, int) and limit > 0:
            n_reply = min(n_reply, limit)
        words = [f"w{i}" for i in range(n_reply)]
        finish = "length" if n_reply < script.reply_tokens else "stop"
        model = script.model_name or body.get("model") or self.name
        ident = f"chatcmpl-{self.name}-{next(self._ids)}"
        if script.lie_tokens is not None:
            prompt = n_counted = script.lie_tokens
        else:
            n_counted = n_reply
        usage = {"prompt_tokens": prompt, "completion_tokens": n_counted, "total_tokens": prompt + n_counted}
        if body.get("stream"):
            options = body.get("stream_options") or {}
            await self._stream(receive, send, script, ident, model, words, finish,
                               None if script.omit_usage or not options.get("include_usage") else usage)
            return
        reply: dict[str, Any] = {
            "id": ident, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(words)},
                         "finish_reason": finish}],
        }
        if not script.omit_usage:
            reply["usage"] = usage
        await respond_json(send, 200, reply)

    async def _stream(self, receive: Receive, send: Send, script: Script, ident: str, model: str,
                      words: list[str], finish: str, usage: dict[str, int] | None) -> None:
        created = int(time.time())

        def chunk(delta: dict[str, Any], reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": reason}
            return _event({"id": ident, "object": "chat.completion.chunk", "created": created,
                           "model": model, "choices": [choice]})

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": (" " if i else "") + word}) for i, word in enumerate(words)]
        events.append(chunk({}, finish))
        if usage is not None:
            events.append(_event({"id": ident, "object": "chat.completion.chunk", "created": created,
                                  "model": model, "choices": [], "usage": usage}))
        events.append(b"data: [DONE]\n\n")
        hung_up = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            hung_up.set()

        watcher = asyncio.ensure_future(watch())
        await send({"type": "http.response.start", "status": 200, "headers": _SSE})
        try:
            for index, event in enumerate(events):
                if script.drop_after_chunks is not None and index >= script.drop_after_chunks:
                    raise ConnectionAbortedError(f"{self.name}: scripted drop after {index} chunks")
                if index and script.chunk_delay_s:
                    await asyncio.sleep(script.chunk_delay_s)
                if hung_up.is_set():
                    self.abandoned_streams += 1  # the caller (the gateway) closed the connection
                    return
                await send({"type": "http.response.body", "body": event, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            self.completed_streams += 1
        finally:
            watcher.cancel()


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "standin_error", "param": None, "code": code}}

