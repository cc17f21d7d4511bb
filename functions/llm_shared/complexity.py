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


# Every cue of the three lists in one tuple (the lists stay the rule). Short texts are scanned
# once by a prefix-tree regex that finds the longest cue starting at each position; the cues
# contained in a found one are present too. Long texts are faster with one `in` per cue.
_ALL_CUES = (*_HARD_CUES, *_EASY_CUES, *_TASK_CUES)
_HARD_END = len(_HARD_CUES)
_EASY_END = _HARD_END + len(_EASY_CUES)
_SHORT_TEXT = 160


def _trie_pattern(words: Iterable[str]) -> str:
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        alternatives = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


_CUE_SCAN = re.compile(f"(?=({_trie_pattern(_ALL_CUES)}))")
_CONTAINED = {cue: tuple(i for i, other in enumerate(_ALL_CUES) if other in cue) for cue in _ALL_CUES}


def _cues_present(lowered: str) -> list[bool]:
    if len(lowered) > _SHORT_TEXT:
        return list(map(lowered.__contains__, _ALL_CUES))
    present = [False] * len(_ALL_CUES)
    for found in set(_CUE_SCAN.findall(lowered)):
        for index in _CONTAINED[found]:
            present[index] = True
    return present

# A code-shape match needs one of these in the lower-cased text (ASCII only: under re.I some
# non-ASCII letters such as 'ſ' match 's', so non-ASCII text always runs the regex).
_CODE_SHAPE_NEEDS = ("def ", "class ", "return", "=>", ";", "{", "select")


@dataclass(frozen=True, slots=True)
class ComplexityEstimate:
    """The level plus the score and features that produced it, for the routing reason."""

    level: str
    score: float
    features: dict[str, float]


def _text_of(messages: Iterable[Mapping[str, object]]) -> tuple[str, int, int, int]:
    """(last user text, its words, words of all text, user turns); content may be a list of parts.

    Words are counted per message: the separators that used to join the texts are not word
    characters, so the sum equals the count over the joined text, and each text is scanned once.
    """
    last_user, turns, context_words = "", 0, 0
    last_user_words = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            # Only string parts: str() of client-supplied structure would recurse without a bound.
            content = " ".join(
                p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)
            )
        text = content if isinstance(content, str) else ""
        words = len(_WORD.findall(text)) if text else 0
        context_words += words
        if message.get("role") == "user":
            last_user, last_user_words, turns = text, words, turns + 1
    return last_user, last_user_words, context_words, turns


def _code_lines(text: str, lowered: str) -> int:
    if text.isascii() and not any(map(lowered.__contains__, _CODE_SHAPE_NEEDS)):
        shapes = 0
    else:
        shapes = len(_CODE_SHAPE.findall(text))
    return shapes + (len(_INLINE_CODE.findall(text)) // 3 if "`" in text else 0)


def estimate(messages: Iterable[Mapping[str, object]]) -> ComplexityEstimate:
    """Score a conversation; thresholds were tuned on tests/data/complexity_prompts.json."""
    last_user, words, context_words, turns = _text_of(messages)
    lowered = last_user.lower()
    fences = last_user.count("```") // 2
    code_lines = _code_lines(last_user, lowered)
    questions = last_user.count("?")
    steps = len(_STEP_LINE.findall(last_user)) if last_user else 0
    present = _cues_present(lowered)
    hard = sum(present[:_HARD_END])
    easy = sum(present[_HARD_END:_EASY_END])
    task = sum(present[_EASY_END:])

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
