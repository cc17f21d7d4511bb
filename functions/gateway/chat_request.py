"""Validation of a chat-completions request body: precise 4xx messages, never a 500.

Only what the gateway relies on is checked (model, messages, token limits, streaming flags,
routing hints); other OpenAI parameters pass through to the upstream untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from llm_shared.catalog import Catalog, Model
from llm_shared.errors import ConfigError
from llm_shared.routing import AUTO_MODEL, validate_priority

from .json_depth import MAX_JSON_DEPTH, first_too_deep, may_be_too_deep
from .openai_errors import GatewayError, bad_request

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MAX_N = 16
MAX_USER_CHARS = 256  # stored in every ledger row
GATEWAY_ONLY_FIELDS = ("cost_priority",)


@dataclass(slots=True)
class ChatRequest:
    """A validated request; `body` is the client's JSON object as parsed."""

    body: dict[str, Any]
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    client_wants_usage: bool
    max_tokens: int | None
    n: int
    cost_priority: str | None
    user: str | None


def _int_field(body: Mapping[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"{name} must be an integer, got {type(value).__name__}", name, "invalid_type")
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"between {low} and {high}"
        raise bad_request(f"{name} must be {allowed}, got {value}", name, "invalid_value")
    return value


def _check_message(index: int, message: Any) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise bad_request(f"{where} must be an object with 'role' and 'content'", where, "invalid_type")
    role = message.get("role")
    if role not in ROLES:
        raise bad_request(f"{where}.role must be one of {', '.join(ROLES)}, got {role!r}", f"{where}.role",
                          "invalid_value")
    content = message.get("content")
    if isinstance(content, str):
        return
    if isinstance(content, list):
        for part_index, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise bad_request(f"{where}.content[{part_index}] must be an object with a 'type'",
                                  f"{where}.content", "invalid_type")
            if part["type"] == "text" and not isinstance(part.get("text"), str):
                raise bad_request(f"{where}.content[{part_index}].text must be a string",
                                  f"{where}.content[{part_index}].text", "invalid_type")
        return
    if content is None and role in ("assistant", "tool", "function") and (
            message.get("tool_calls") or message.get("function_call")):
        return
    raise bad_request(f"{where}.content must be a string or a list of content parts, "
                      f"got {type(content).__name__}", f"{where}.content", "invalid_type")


def _field_named(path: tuple[str | int, ...]) -> str:
    """The field a 400 names: a top-level field, or a message's field (and a content part's)."""
    top = str(path[0])
    if top != "messages" or len(path) < 2:
        return top
    name = f"messages[{path[1]}]"
    if len(path) < 3 or not isinstance(path[2], str):
        return name
    name += f".{path[2]}"
    if path[2] == "content" and len(path) >= 5 and isinstance(path[3], int) and isinstance(path[4], str):
        name += f"[{path[3]}].{path[4]}"
    return name


def parse_chat_request(raw: bytes, catalog: Catalog, header_priority: str | None = None) -> ChatRequest:
    """Parse and validate; raises GatewayError (400/404) naming the offending field."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"request body is not valid JSON: {exc}", None, "invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object", None, "invalid_type")
    if may_be_too_deep(raw):
        path = first_too_deep(body)
        if path is not None:
            field = _field_named(path)
            raise bad_request(f"{field} nests deeper than the gateway's limit of {MAX_JSON_DEPTH} levels "
                              "(counting the request body as one)", field, "nesting_too_deep")

    model = body.get("model")
    if model is None:
        raise bad_request(f"model is required: a catalog model id or '{AUTO_MODEL}'", "model",
                          "missing_field")
    if not isinstance(model, str) or not model:
        raise bad_request(f"model must be a non-empty string, got {model!r}", "model", "invalid_type")
    if model != AUTO_MODEL and model not in catalog:
        known = ", ".join((AUTO_MODEL, *catalog.ids))
        raise GatewayError(404, f"unknown model {model!r}; known models: {known}", param="model",
                           code="model_not_found")

    messages = body.get("messages")
    if messages is None:
        raise bad_request("messages is required: a non-empty list of messages", "messages", "missing_field")
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages must be a non-empty list", "messages", "invalid_type")
    for index, message in enumerate(messages):
        _check_message(index, message)

    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad_request(f"stream must be true or false, got {stream!r}", "stream", "invalid_type")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise bad_request("stream_options must be an object", "stream_options", "invalid_type")
    include_usage = (options or {}).get("include_usage", False)
    if not isinstance(include_usage, bool):
        raise bad_request("stream_options.include_usage must be true or false",
                          "stream_options.include_usage", "invalid_type")

    max_tokens = _int_field(body, "max_tokens", 1)
    max_completion = _int_field(body, "max_completion_tokens", 1)
    n = _int_field(body, "n", 1, MAX_N) or 1

    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise bad_request("user must be a string", "user", "invalid_type")
    if user is not None and len(user) > MAX_USER_CHARS:
        raise bad_request(f"user may be at most {MAX_USER_CHARS} characters", "user", "invalid_value")
    priority = body.get("cost_priority", header_priority)
    try:
        priority = validate_priority(priority) if priority is not None else None
    except ConfigError as exc:
        raise bad_request(str(exc), "cost_priority", "invalid_value") from None

    request = ChatRequest(body=body, model=model, messages=messages, stream=bool(stream),
                          client_wants_usage=include_usage, max_tokens=max_completion or max_tokens,
                          n=n, cost_priority=priority, user=user or None)
    if model != AUTO_MODEL:
        check_context_window(request, catalog.get(model))
    return request


def check_context_window(request: ChatRequest, model: Model) -> None:
    """max_tokens may not exceed the serving model's context window."""
    if request.max_tokens is not None and request.max_tokens > model.context_window:
        field = "max_completion_tokens" if "max_completion_tokens" in request.body else "max_tokens"
        raise bad_request(f"{field} {request.max_tokens} is above the context window of {model.id} "
                          f"({model.context_window} tokens)", field, "context_length_exceeded")


def upstream_body(request: ChatRequest, upstream_model: str) -> bytes:
    """The JSON sent upstream: the client's body with the served model, usage asked for, hints removed."""
    body = request.body
    for key in GATEWAY_ONLY_FIELDS:
        body.pop(key, None)
    body["model"] = upstream_model
    if request.stream:
        options = body.get("stream_options") or {}
        body["stream_options"] = {**options, "include_usage": True}
    return orjson.dumps(body)
