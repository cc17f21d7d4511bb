"""Estimate how demanding a chat request is, from features of its text (no model call).

A keyword match alone misroutes short hard questions and long easy ones, so the score combines
length, code blocks, the number of questions and enumerated steps, conversation depth, and
explicit cues in both directions ("step by step", "prove" vs "briefly", "yes or no").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LOW = "low"
MEDIUM = "medium"
HIGH = "high"
LEVELS = (LOW, MEDIUM, HIGH)

_CODE_FENCE = re.compile(r"```")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_CODE_SHAPE = re.compile(r"(\bdef |\bclass |\breturn\b|=>|;\s*$|\{\s*$|\bSELECT\b.+\bFROM\b)", re.M | re.I)
_STEP_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+\S", re.M)
_WORD = re.compile(r"\w+", re.U)

_HARD_CUES = (
    "step by step", "step-by-step", "prove", "proof", "derive", "architecture", "design a",
    "design an", "trade-off", "tradeoff", "trade off", "analyze", "analyse", "compare",
    "optimi", "debug", "refactor", "implement", "algorithm", "complexity of", "in detail",
    "comprehensive", "thorough", "evaluate", "strategy", "plan for", "reason about",
    "explain why", "root cause", "edge case", "multi-step", "migrate", "benchmark",
)
# Open-ended generation asks: more than a lookup, less than a design problem.
_TASK_CUES = (
    "write ", "explain", "summarize", "summarise", "draft", "outline", "describe", "how do i",
    "how can i", "pros and cons", "convert", "query", "difference between", "example",
    "generate", "create a", "list the", "review",
)
_EASY_CUES = (
    "briefly", "in one word", "in one sentence", "one-line", "yes or no", "tl;dr", "tldr",
    "translate", "spell", "what time", "capital of", "define ", "synonym", "hello", "hi ",
    "thanks", "thank you", "quick question", "short answer", "just the number", "rephrase",
    "fix the typo", "classify", "sentiment",
)


@dataclass(frozen=True, slots=True)
class ComplexityEstimate:
    """The level plus the score and features that produced it, for the routing reason."""

    level: str
    score: float
    features: dict[str, float]


def _text_of(messages: Iterable[Mapping[str, object]]) -> tuple[str, str, int]:
    """(last user text, all text, number of user turns); content may be a list of parts."""
    last_user, parts, turns = "", [], 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            # Only string parts: str() of client-supplied structure would recurse without a bound.
            content = " ".join(
                p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            )
        text = content if isinstance(content, str) else ""
        parts.append(text)
        if message.get("role") == "user":
            last_user, turns = text, turns + 1
    return last_user, "\n".join(parts), turns


def estimate(messages: Iterable[Mapping[str, object]]) -> ComplexityEstimate:
    """Score a conversation; thresholds were tuned on tests/data/complexity_prompts.json."""
    last_user, everything, turns = _text_of(messages)
    lowered = last_user.lower()
    words = len(_WORD.findall(last_user))
    context_words = len(_WORD.findall(everything))
    fences = len(_CODE_FENCE.findall(last_user)) // 2
    code_lines = len(_CODE_SHAPE.findall(last_user)) + len(_INLINE_CODE.findall(last_user)) // 3
    questions = last_user.count("?")
    steps = len(_STEP_LINE.findall(last_user))
    hard = sum(1 for cue in _HARD_CUES if cue in lowered)
    easy = sum(1 for cue in _EASY_CUES if cue in lowered)
    task = sum(1 for cue in _TASK_CUES if cue in lowered)

    features = {
        "words": float(words),
        "context_words": float(context_words),
        "code_blocks": float(fences),
        "code_lines": float(code_lines),
        "questions": float(questions),
        "steps": float(steps),
        "hard_cues": float(hard),
        "easy_cues": float(easy),
        "task_cues": float(task),
        "turns": float(turns),
    }
    score = 0.0
    score += min(words / 40.0, 3.0)                 # length of the ask itself
    score += min(context_words / 1500.0, 1.5)       # long context to digest
    score += 1.5 * min(fences, 2) + 0.5 * min(code_lines, 4)
    score += 0.6 * max(min(questions, 5) - 1, 0)    # several questions in one go
    score += 0.5 * min(steps, 6)
    score += 1.4 * min(hard, 3)
    score += 0.9 * min(task, 2)
    score -= 1.5 * min(easy, 2)
    score += 0.3 * max(min(turns, 6) - 2, 0)        # deep conversations carry state
    if score < 1.0:
        level = LOW
    elif score < 3.5:
        level = MEDIUM
    else:
        level = HIGH
    return ComplexityEstimate(level=level, score=round(score, 3), features=features)
