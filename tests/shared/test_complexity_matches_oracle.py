"""The complexity estimate's fast path gives exactly what the straightforward one gave.

The oracle below is the estimate as it was before it was made faster (each text scanned
several times, every cue checked one by one, the code-shape regex on every prompt), kept here
verbatim apart from returning a tuple. It shares the cue lists with the module (they are the rule).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from llm_shared.complexity import _EASY_CUES, _HARD_CUES, _TASK_CUES, HIGH, LOW, MEDIUM, estimate

LABELLED = json.loads((Path(__file__).parents[1] / "data" / "complexity_prompts.json").read_text())["prompts"]

_CODE_FENCE = re.compile(r"```")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_CODE_SHAPE = re.compile(r"(\bdef |\bclass |\breturn\b|=>|;\s*$|\{\s*$|\bSELECT\b.+\bFROM\b)", re.M | re.I)
_STEP_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+\S", re.M)
_WORD = re.compile(r"\w+", re.U)

def _text_of(messages: Iterable[Mapping[str, object]]) -> tuple[str, str, int]:
    """(last user text, all text, number of user turns); content may be a list of parts."""
    last_user, parts, turns = "", [], 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(
                p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            )
        text = content if isinstance(content, str) else ""
        parts.append(text)
        if message.get("role") == "user":
            last_user, turns = text, turns + 1
    return last_user, "\n".join(parts), turns


def oracle_estimate(messages: Iterable[Mapping[str, object]]) -> tuple[str, float, dict[str, float]]:
    """The estimate as it was before the speed-up (same cue lists: imported, not copied)."""
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
    return level, round(score, 3), features


def fast(messages: list) -> tuple[str, float, dict[str, float]]:
    result = estimate(messages)
    return result.level, result.score, result.features


@pytest.mark.parametrize("item", LABELLED, ids=lambda item: item["prompt"][:30])
def test_labelled_prompts_agree(item):
    messages = [{"role": "user", "content": item["prompt"]}]
    assert fast(messages) == oracle_estimate(messages)


PIECES = [*_HARD_CUES, *_EASY_CUES, *_TASK_CUES,
          "def f(x):", "class A:", "return x", "a => b", "x = 1;", "if (x) {", "SELECT a FROM b",
          "select * from t", "RETURN", "DEF ", "`x`", "```", "```py\nprint(1)\n```", "?",
          "1.", "2)", "-", "*",
          "•", "\n", "\n1. step", "\n- item", "  ", "word", "Word", "é", "ſ", "İ", "K", "ﬀ", "日本語",
          "claſs ", "ſelect a from b", "DESIGN AN", "Step By Step", "hi", "hi ", "thank", ";", "{", "=>",
          "tl;dr", "in one", "sentence", "x" * 50, "lorem ipsum " * 8]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) + rng.choice(("", " ", "\n", ", ", ". "))
                   for _ in range(rng.randint(0, 40)))


def random_messages(rng: random.Random) -> list:
    messages = []
    for _ in range(rng.randint(0, 6)):
        role = rng.choice(("user", "user", "assistant", "system", "tool"))
        shape = rng.random()
        if shape < 0.7:
            content: object = random_text(rng)
        elif shape < 0.9:
            content = [rng.choice(({"type": "text", "text": random_text(rng)}, {"type": "image_url"},
                                   {"text": 7}, "not a part")) for _ in range(rng.randint(0, 3))]
        else:
            content = rng.choice((None, 42, {"text": "x"}))
        messages.append({"role": role, "content": content})
    return messages


def test_a_large_fuzzed_set_agrees():
    rng = random.Random(20261202)
    levels = set()
    for _ in range(4000):
        messages = random_messages(rng)
        expected = oracle_estimate(messages)
        assert fast(messages) == expected, messages
        levels.add(expected[0])
    assert levels == {LOW, MEDIUM, HIGH}  # the set reaches every level, so it tests every branch
