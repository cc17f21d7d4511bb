"""Token counts the gateway needs before (or without) the upstream's own count.

`prompt_upper_bound` must never be below what the upstream will bill, because reservations are
made from it: byte-level BPE tokenizers emit at most one token per UTF-8 byte, plus the chat
template's few tokens per message. `estimate_text_tokens` is the usual ~4 characters per token,
used only when an upstream reports no usage (the ledger row is then marked estimated).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .json_depth import MAX_JSON_DEPTH, first_too_deep

TEMPLATE_TOKENS_PER_MESSAGE = 8
# Chat templates may add a default system preamble (Llama 3.1's adds a dated header of ~25 tokens).
TEMPLATE_TOKENS_PER_REQUEST = 64
# With tools, templates add instructions on how to call them (Llama 3.1's: about 60 tokens).
TEMPLATE_TOKENS_FOR_TOOLS = 128
# Message fields besides the content that templates render into the prompt (billed as prompt tokens).
_RENDERED_FIELDS = ("tool_calls", "function_call", "name")


def _parts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
    return []


def _rendered_bytes(value: Any) -> int:
    """Bytes of a JSON value as templates render it (`tojson`, indented; ASCII escapes cost more).
    `json.dumps` recurses, so the depth is checked first (parse_chat_request has already refused
    deeper bodies; this keeps the function safe on its own)."""
    if first_too_deep(value) is not None:
        raise ValueError(f"a value nested deeper than {MAX_JSON_DEPTH} levels has no prompt bound")
    return len(json.dumps(value, indent=4))


def prompt_upper_bound(messages: Sequence[Mapping[str, Any]], tools: Any = None) -> int:
    """At least as many tokens as any byte-level tokenizer makes of these messages (and tool
    definitions: the request's `tools`/`functions`, which the template renders into the prompt)."""
    total = TEMPLATE_TOKENS_PER_REQUEST
    for message in messages:
        total += TEMPLATE_TOKENS_PER_MESSAGE
        for text in _parts(message.get("content")):
            total += len(text.encode("utf-8"))
        for key in _RENDERED_FIELDS:
            if message.get(key):
                total += _rendered_bytes(message[key])
    if tools:
        total += TEMPLATE_TOKENS_FOR_TOOLS + _rendered_bytes(tools)
    return total


def estimate_text_tokens_from_chars(chars: int) -> int:
    """A typical count for text of this length (about 4 characters a token), >= 1 when non-empty."""
    return (chars + 3) // 4


def estimate_text_tokens(text: str) -> int:
    return estimate_text_tokens_from_chars(len(text))


def estimate_prompt_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A typical prompt count; never 0, so an estimated request never costs nothing."""
    total = 3
    for message in messages:
        total += 3 + sum(estimate_text_tokens(t) for t in _parts(message.get("content")))
    return total
