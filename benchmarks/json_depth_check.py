"""Cost of the gateway's nesting check (gateway/json_depth.py) against parsing the same body.

Every chat body is parsed with orjson; bodies with more brackets than the depth limit are also
walked level by level. This prints, per body shape, the walk's time, the parse's time (the baseline,
same process) and their ratio. Usage:
    python benchmarks/json_depth_check.py [--rounds N]   (default 5; the best round is reported)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import orjson

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "functions")]

from gateway.json_depth import first_too_deep, may_be_too_deep  # noqa: E402


def _tool(i: int) -> dict:
    item = {"type": "object", "properties": {"b": {"type": "string"}}}
    schema = {"type": "object", "properties": {"a": {"type": "array", "items": item}}}
    return {"type": "function", "function": {"name": f"f{i}", "parameters": schema}}


BODIES: dict[str, bytes] = {
    "chat, 1 message": orjson.dumps({"model": "auto", "messages": [{"role": "user", "content": "Hello"}]}),
    "agent, 20 tools": orjson.dumps({"model": "auto", "messages": [{"role": "user", "content": "hi"}],
                                     "tools": [_tool(i) for i in range(20)]}),
    "1 MiB of empty lists (worst case)": b'{"model":"x","metadata":[' + b",".join([b"[]"] * 340_000) + b"]}",
    "1 MiB of 60-deep chains": b'{"m":[' + b",".join([b"[" * 60 + b"1" + b"]" * 60] * 8000) + b"]}",
}


def _best(fn: Callable[[], object], rounds: int) -> float:
    """Seconds per call, best of `rounds` rounds of enough calls to last about 50 ms."""
    calls = 1
    while True:
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - started > 0.05:
            break
        calls *= 4
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def _check(raw: bytes, body: object) -> object:
    """What parse_chat_request does after parsing: count brackets, walk only when there are many."""
    return may_be_too_deep(raw) and first_too_deep(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per measurement (best is kept)")
    rounds = parser.parse_args().rounds
    print(f"{'body':<36} {'bytes':>9} {'parse µs':>10} {'check µs':>10} {'check/parse':>12}")
    for name, raw in BODIES.items():
        body = orjson.loads(raw)
        parse = _best(partial(orjson.loads, raw), rounds)
        check = _best(partial(_check, raw, body), rounds)
        print(f"{name:<36} {len(raw):>9} {parse * 1e6:>10.1f} {check * 1e6:>10.1f} {check / parse:>12.2f}")


if __name__ == "__main__":
    main()
