"""Plain-language operator sentences -> an intent and its slots. Pure: no network, no model call.

Why rules and not a model: the parser decides whether a sentence spends money (`run`) or only
reads figures, so it must be predictable, instant and free. Cues are matched on the sentence
with quoted text removed (a quoted prompt is payload, not an instruction), then resolved in a
fixed order: infrastructure commands are refused (`unknown`: this tool never deploys), routing
questions explain, savings questions optimize, hypothetical costs estimate, questions about
spend or usage check costs (so a cost question never reaches a model), and only an explicit
task runs. Anything else is `unknown`, which asks back and does nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llm_shared.catalog import TIERS, Catalog, default_catalog
from llm_shared.routing import BALANCED, LATENCY_CRITICAL, LOW_COST, PERFORMANCE

CHECK_COSTS = "check_costs"
OPTIMIZE = "optimize"
ESTIMATE = "estimate"
EXPLAIN = "explain"
RUN = "run"
UNKNOWN = "unknown"
INTENTS = (CHECK_COSTS, OPTIMIZE, ESTIMATE, EXPLAIN, RUN, UNKNOWN)
DAY = "day"
MONTH = "month"
# Intents whose answer covers a period; elsewhere "today" belongs to the prompt, not to a slot.
_PERIOD_INTENTS = (CHECK_COSTS, OPTIMIZE)


@dataclass(frozen=True, slots=True)
class Parse:
    """What a sentence asks for. `prompt` is the text a run/estimate/explain would send."""

    intent: str
    cost_priority: str | None
    model: str | None
    period: str | None
    prompt: str

    def slots(self) -> dict[str, str | None]:
        """The public shape printed by `--classify`: intent plus the three slots."""
        return {"intent": self.intent, "cost_priority": self.cost_priority, "model": self.model,
                "period": self.period}


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


_QUOTED = re.compile(r"(?<!\w)(?:'[^']{2,}'|\"[^\"]{2,}\"|“[^”]{2,}”)(?!\w)")
_INFRA = _any(
    r"\bpulumi\b",
    r"\b(?:deploy|destroy|tear\s+down|restart|reboot|provision|scale|shut\s+down)\b"
    r"(?!\s+serverless\s+inference).{0,40}"
    r"\b(?:stack|gateway|host|infrastructure|infra|cluster|instance|server|production|prod|staging)\b",
)
_EXPLAIN = _any(
    r"\brout(?:e|ed|es|ing|er)\b",
    r"\bwhich\s+(?:model|backend|tier)\s+(?:would|will|should|does|handles?|is)\b",
    r"\bwhich\s+backend\b",
    r"\bwhat\s+tier\b",
    r"\bserverless\s+or\s+(?:to\s+)?(?:the\s+)?gpu\b",
    r"\bwould\b.{0,60}\bgo\s+(?:to\s+the\s+gpu|serverless)\b",
    r"\bwhy\s+(?:would|did|does)\b.{0,60}\b(?:gpu|serverless|model|backend)\b",
)
_OPTIMIZE = _any(
    r"\boptimi[sz](?:e|es|ing|ation|ations)\b",
    r"\b(?:reduce|cut|lower|trim|shrink)\b.{0,20}\b(?:costs?|spend|spending|bill|bills)\b",
    r"\bsav(?:e|ed|ing|ings)\b",
    r"\bspend\s+less\b",
    r"\bcheaper\b",
    r"\bbring\b.{0,30}\bdown\b",
    r"\b(?:spending|paying|costs?)\s+too\s+much\b",
    r"\brecommendations?\b",
    r"\bwast(?:e|ing)\b",
)
_ESTIMATE = _any(
    r"\bestimat(?:e|es|ed|ing)\b",
    r"\bhow\s+much\s+(?:would|will|might|could)\b",
    r"\bwhat\s+(?:would|will|might)\b.{0,60}\bcost\b",
    r"\bcost\s+to\s+(?:run|send|process)\b",
    r"\bquote\b",
    r"\bworst[- ]case\b",
    r"\bhow\s+expensive\b",
    r"\bprice\b",
    r"\bwould\b.{0,40}\btake\b",
    r"\bwould\b.{0,60}\bcost\b",
)
_CHECK = _any(
    r"\bhow\s+much\s+(?:money|did|have|has)\b",
    r"\bso\s+far\b",
    r"\bcosts?\s+(?:breakdown|report|us|today)\b",
    r"\bcosts?\b.{0,20}\b(?:today|this\s+month|for\s+the\s+month)\b",
    r"\bspen[dt]\b",
    r"\bspending\b",
    r"\bbill\b",
    r"\busage\b",
    r"\bbudget\b",
    r"\bburn\b",
    r"\b(?:month|year)[- ]to[- ]date\b",
    r"\bhow\s+many\s+(?:requests|tokens|calls)\b.{0,40}\b(?:did|went|have|today|this\s+month)\b",
    r"\b(?:p95|p50|p99|avg|average)\s+latency\b",
    r"\blimit\b",
    r"\bwarning\b",
    r"\bremaining\b",
    r"\bstats\b",
)
_RUN_STRONG = _any(
    r"\bdeploy\s+serverless\s+inference\b",
    r"\buse\s+(?:lambda|serverless(?:\s+inference)?)\b",
    r"^\s*run\s+this\b",
    r"\bsend\s+(?:this|the)\s+prompt\b",
    r"\bask\s+the\s+model\b",
    r"^\s*(?:[\w-]+\s+)?(?:prompt|answer|reply|task)\s*:",
)
_TASK_VERBS = (
    "write", "translate", "summarize", "summarise", "draft", "classify", "explain", "generate", "analyze",
    "analyse", "compare", "rewrite", "describe", "create", "brainstorm", "prove", "list", "answer",
    "tell me a", "compose", "outline", "review", "fix", "convert", "extract", "please",
)
# A task verb first, perhaps after a short label such as "Real-time:".
_TASK = re.compile(r"^(?:[\w'-]+(?:\s+[\w'-]+){0,2}\s*:\s*)?(?:" + "|".join(_TASK_VERBS) + r")\b", re.I)

_PRIORITY = (
    (LOW_COST, _any(r"\blow[- ]cost\b", r"\bcost[- ]optimi[sz]ed\b", r"\bcheap(?:ly)?\b", r"\bcheapest\b",
                    r"\bbudget[- ]friendly\b", r"\binexpensive\b", r"\beconomical\b")),
    (LATENCY_CRITICAL, _any(r"\bfast\b", r"\bquickly\b", r"\breal[- ]time\b", r"\blow[- ]latency\b",
                            r"\basap\b", r"\burgent(?:ly)?\b", r"\bright\s+away\b",
                            r"\blatency[- ]critical\b")),
    (PERFORMANCE, _any(r"\bhigh[- ]quality\b", r"\bbest[- ]quality\b", r"\bbest\s+model\b",
                       r"\bmost\s+capable\b", r"\btop[- ]quality\b", r"\bperformance\b")),
    (BALANCED, _any(r"\bbalanced\b")),
)
_MONTH = _any(r"\bthis\s+month\b", r"\bthe\s+month\b", r"\bmonthly\b", r"\bmonth[- ]to[- ]date\b", r"\bmtd\b",
              r"\bmonth's\b")
_DAY = _any(r"\btoday\b", r"\btoday's\b", r"\bdaily\b", r"\bthis\s+day\b", r"\bthe\s+day\b")
_TIER_WORDS = {"small": ("small", "smallest", "tiny"), "medium": ("medium", "mid-size", "midsize"),
               "large": ("large", "largest", "biggest")}
_GENERIC_ID_PARTS = frozenset({"llama", "instruct", "chat", "fp8", "fp16", "bf16", "int4", "int8", "it"})
_WORDS = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?", re.I)
# Control phrases stripped from a run's prompt: they steer the gateway, the model need not read them.
_CONTROL = _any(
    r",?\s*(?:with|using|at|in)\s+(?:a\s+|an\s+|the\s+)?"
    r"(?:low[- ]cost|high[- ]quality|best[- ]quality|balanced|performance|latency[- ]critical|"
    r"cost[- ]optimi[sz]ed)"
    r"(?:\s+(?:priority|settings|model|mode))?",
    r",?\s*(?:cheap|high[- ]quality|low[- ]latency|fast|quickly)\s+please\b",
    r",?\s*as\s+cheaply\s+as\s+possible",
    r",?\s*(?:with|using|on)\s+(?:the\s+)?(?:best|most\s+capable)\s+model",
)


def _model_aliases(catalog: Catalog) -> list[tuple[re.Pattern[str], str]]:
    """Words naming one catalog model (e.g. 8b, 70b, maverick) and tier phrases (the small model)."""
    parts: dict[str, set[str]] = {}
    for model in catalog:
        for word in _WORDS.findall(model.id.replace("-", " ")):
            parts.setdefault(word.lower(), set()).add(model.id)
    aliases = []
    for word, ids in parts.items():
        if len(ids) == 1 and word not in _GENERIC_ID_PARTS and not word.replace(".", "").isdigit():
            aliases.append((re.compile(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", re.I), next(iter(ids))))
    for model in catalog:
        aliases.append((re.compile(rf"\b{re.escape(model.id)}\b", re.I), model.id))
    for tier in TIERS:
        words = "|".join(_TIER_WORDS[tier])
        if any(m.tier == tier for m in catalog):
            aliases.append((re.compile(rf"\b(?:{words})\s+model\b", re.I), catalog.for_tier(tier).id))
    return aliases


def _model(text: str, catalog: Catalog) -> str | None:
    found = {model_id for pattern, model_id in _model_aliases(catalog) if pattern.search(text)}
    return found.pop() if len(found) == 1 else None  # two models named: no single slot value


def _priority(text: str) -> str | None:
    for name, pattern in _PRIORITY:
        if pattern.search(text):
            return name
    return None


def _period(text: str) -> str | None:
    if _MONTH.search(text):
        return MONTH
    if _DAY.search(text):
        return DAY
    return None


def _intent(cues: str) -> str:
    if not _WORDS.search(cues) or _INFRA.search(cues):
        return UNKNOWN
    if _EXPLAIN.search(cues):
        return EXPLAIN
    if _OPTIMIZE.search(cues):
        return OPTIMIZE
    if _ESTIMATE.search(cues):
        return ESTIMATE
    if _RUN_STRONG.search(cues):
        return RUN
    if _CHECK.search(cues):
        return CHECK_COSTS
    if _TASK.search(cues.strip()):
        return RUN
    return UNKNOWN


def _prompt(text: str, intent: str) -> str:
    quoted = _QUOTED.search(text)
    if intent in (EXPLAIN, ESTIMATE) and quoted:
        return quoted.group(0)[1:-1].strip()
    head, colon, tail = text.partition(":")
    if colon and tail.strip() and len(head.split()) <= 8:
        text = tail
    return _CONTROL.sub("", text).strip(" ,")


def parse(text: str, catalog: Catalog | None = None) -> Parse:
    """The intent and slots of one sentence; a slot the sentence does not state is None."""
    catalog = catalog or default_catalog()
    cues = _QUOTED.sub(" ", text)
    intent = _intent(cues)
    if intent == UNKNOWN:
        return Parse(UNKNOWN, None, None, None, text.strip())
    return Parse(intent=intent, cost_priority=_priority(cues), model=_model(cues, catalog),
                 period=_period(cues) if intent in _PERIOD_INTENTS else None,
                 prompt=_prompt(text, intent))
