"""A realistic mixed workload sent through the gateway with the official `openai` client.

Different priorities and complexities, a few streams, several users; then one budget breach:
keep asking until the gateway refuses with 429 `budget_exceeded` (bounded).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import openai
from openai.types.chat import ChatCompletionMessageParam

PROMPTS = {
    "low": ["What is the capital of France?", "Translate 'thank you' into German.",
            "Yes or no: is 91 a prime number?"],
    "medium": ["Write a short, friendly email telling a customer their order ships two days late and "
               "offering a 10% discount code.",
               "Explain how a hash map works and when I would use one instead of a list."],
    "high": ["Design an architecture for a multi-region payments ledger. Compare consensus replication "
             "with a primary and synchronous standbys, explain the failure modes step by step, and "
             "propose a migration plan from a single Postgres instance."],
}
PRIORITIES = ("balanced", "low_cost", "performance", "latency_critical", "balanced")
USERS = ("ana", "bo", "chen", "dee", "eli")


@dataclass
class WorkloadResult:
    sent: int = 0
    ok: int = 0
    streamed: int = 0
    refused_budget: int = 0
    breach_after: int | None = None
    by_backend: Counter[str] = field(default_factory=Counter)
    by_model: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def _one(client: openai.OpenAI, result: WorkloadResult, prompt: str, priority: str, user: str,
         stream: bool) -> bool:
    """Send one request; False when the gateway refused it for budget."""
    result.sent += 1
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": prompt}]
    headers = {"x-cost-priority": priority}
    try:
        if stream:
            with client.chat.completions.with_streaming_response.create(
                    model="auto", messages=messages, max_tokens=64, user=user, stream=True,
                    extra_headers=headers) as response:
                for _ in response.iter_lines():
                    pass
                backend, model = response.headers.get("x-backend"), response.headers.get("x-model")
            result.streamed += 1
        else:
            raw = client.chat.completions.with_raw_response.create(
                model="auto", messages=messages, max_tokens=64, user=user, extra_headers=headers)
            raw.parse()
            backend, model = raw.headers.get("x-backend"), raw.headers.get("x-model")
    except openai.RateLimitError as exc:
        if getattr(exc, "code", None) == "budget_exceeded" or "budget" in str(exc):
            result.refused_budget += 1
            return False
        result.errors.append(str(exc))
        return True
    result.ok += 1
    result.by_backend[backend or "?"] += 1
    result.by_model[model or "?"] += 1
    return True


def run_workload(base_url: str, token: str, mixed_requests: int = 40,
                 breach_limit: int = 2000) -> WorkloadResult:
    """The mixed phase (every 5th request streamed), then requests until the budget refuses one."""
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=token, max_retries=0, timeout=30)
    result = WorkloadResult()
    shapes = itertools.cycle([(level, text) for level, texts in PROMPTS.items() for text in texts])
    for index in range(mixed_requests):
        _, prompt = next(shapes)
        _one(client, result, prompt, PRIORITIES[index % len(PRIORITIES)], USERS[index % len(USERS)],
             stream=index % 5 == 4)
    for index in range(breach_limit):
        if not _one(client, result, PROMPTS["medium"][index % 2], "performance", USERS[index % len(USERS)],
                    stream=False):
            result.breach_after = result.ok
            break
    client.close()
    return result
