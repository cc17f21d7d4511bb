"""Cost-tracker benchmark: cold import, run time excluding network, and the Lambda zip size.

Run from the repository root:  .venv/bin/python benchmarks/tracker_bench.py [--rows 1000000]
It fills a real SQLite ledger with a month of usage (executemany, one transaction), serves it
from the gateway usage stand-in on 127.0.0.1, and invokes `cost_tracker.handler.handler` with
moto standing in for CloudWatch and Secrets Manager. Time spent inside HTTP calls (the stand-in
aggregating the ledger) and AWS API calls is measured and subtracted: what is left is the
tracker's own work. Cold import is timed in fresh interpreters against `import json`.
The zip is built by components.packaging.build_tracker_zip, as the CostTracker component does.
Targets: cold import < 150 ms, run < 300 ms excluding network, zip < 1 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

TARGET_IMPORT_MS, TARGET_RUN_MS, TARGET_ZIP_BYTES = 150.0, 300.0, 1_000_000
TOKEN = "bench-gateway-admin-token-5d41402abc4b2a76"
MODELS = (("llama3.1-8b-instruct", "serverless", 0.55), ("llama3.1-70b-instruct-fp8", "serverless", 0.2),
          ("llama-4-maverick-17b-128e-instruct-fp8", "serverless", 0.05),
          ("llama3.1-70b-instruct-fp8", "gpu", 0.2))


def fill_ledger(path: Path, rows: int, now: datetime) -> float:
    """`rows` requests spread over the 30 days before `now`; returns seconds taken."""
    from gateway.ledger import Ledger
    from llm_shared.catalog import default_catalog

    Ledger(path).close()  # the real schema and indexes
    catalog, rng = default_catalog(), random.Random(7)
    start_ms, span_ms = int((now - timedelta(days=30)).timestamp() * 1000), 30 * 86_400_000
    choices = [(m, b) for m, b, _ in MODELS]
    weights = [w for _, _, w in MODELS]

    def generate():
        for i in range(rows):
            model, backend = rng.choices(choices, weights)[0]
            prompt, completion = rng.randint(20, 4000), rng.randint(1, 800)
            price = catalog.get(model)
            cost = prompt * price.input_pico_per_token + completion * price.output_pico_per_token
            yield (f"r{i}", start_ms + rng.randrange(span_ms), model, backend, prompt, completion, cost,
                   rng.uniform(50, 2000), "ok", 0, f"u{rng.randrange(500)}", None,
                   rng.choice(("low", "medium", "high")))

    began = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO usage (request_id, ts_ms, model, backend, prompt_tokens, completion_tokens, cost_pico, "
        "latency_ms, status, estimated, user_id, session_id, complexity) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        generate())
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - began


def fresh_import_ms(statement: str, runs: int = 7) -> float:
    """Median wall time of `statement` in new interpreters (imports nothing else first)."""
    path = str(ROOT / "functions")
    code = (f"import sys, time; sys.path[:0] = [{path!r}]; t = time.perf_counter(); {statement}; "
            "print((time.perf_counter() - t) * 1000)")
    samples = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True, timeout=60).stdout) for _ in range(runs)]
    return statistics.median(samples)


def heavy_modules_after_import() -> list[str]:
    path = str(ROOT / "functions")
    code = (f"import sys; sys.path[:0] = [{path!r}]; import cost_tracker.handler; "
            "print(','.join(m for m in ('requests', 'boto3', 'botocore', 'urllib3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return [m for m in out.strip().split(",") if m]


def constant(value: Any) -> Callable[[], Any]:
    """A factory that always returns this run's client (what the handler's Deps expect)."""
    return lambda: value


class Timed:
    """Proxy that adds the wall time of every method call on `target` to `self.seconds`."""

    def __init__(self, target: Any) -> None:
        self._target, self.seconds = target, 0.0
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                took = time.perf_counter() - began
                self.seconds += took
                self.calls.append((kwargs.get("params") or {}).get("period", name) + f" {took * 1000:.0f} ms")
        return call


def run_handler(rows: int, runs: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    import cost_tracker.handler as handler_module
    from cost_tracker import env_names as env
    from cost_tracker.run import Deps
    from cost_tracker.secrets import SecretCache
    from gateway.ledger import Ledger
    from llm_shared.http import build_session
    from standins.gateway_usage import gateway_standin

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp, mock_aws():
        path = Path(tmp) / "ledger.db"
        fill_s = fill_ledger(path, rows, now)
        ledger = Ledger(path)
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                           "AWS_DEFAULT_REGION": "us-east-1"})
        arn = boto3.client("secretsmanager").create_secret(Name="bench/token", SecretString=TOKEN)["ARN"]
        with gateway_standin(ledger, TOKEN, lambda: datetime.now(UTC)) as gateway:
            os.environ.update({env.METRIC_NAMESPACE: "LLMCostGovernance/bench", env.STACK_NAME: "bench",
                               env.DAILY_BUDGET_USD: "500", env.MONTHLY_BUDGET_USD: "10000",
                               env.GATEWAY_URL: gateway.url, env.GATEWAY_TOKEN_SECRET_ARN: arn,
                               env.GPU_INSTANCE_TYPE: "gpu_1x_a10", env.GPU_HOURLY_USD: "0.75"})
            samples: list[dict[str, Any]] = []
            for _ in range(runs):
                session = Timed(build_session())
                cloudwatch = Timed(boto3.client("cloudwatch"))
                secrets_client = Timed(boto3.client("secretsmanager"))
                handler_module._DEPS = Deps(SecretCache(constant(secrets_client)), constant(session),
                                            constant(cloudwatch))
                began = time.perf_counter()
                report = handler_module.handler({"source": "aws.events"}, None)
                total = time.perf_counter() - began
                network = session.seconds + cloudwatch.seconds + secrets_client.seconds
                samples.append({"total_ms": total * 1000, "http_ms": session.seconds * 1000,
                                "http_calls": session.calls,
                                "aws_ms": (cloudwatch.seconds + secrets_client.seconds) * 1000,
                                "own_ms": (total - network) * 1000, "report": report})
        ledger.close()
    best = min(samples, key=lambda s: s["own_ms"])
    return {"rows": rows, "fill_s": fill_s, "samples": samples, "best": best,
            "median_own_ms": statistics.median(s["own_ms"] for s in samples)}


def zip_size() -> int:
    from components.packaging import build_tracker_zip

    with tempfile.TemporaryDirectory() as tmp:
        return build_tracker_zip(out_dir=Path(tmp)).size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    baseline = fresh_import_ms("import json")
    handler_ms = fresh_import_ms("import cost_tracker.handler")
    first_call_ms = fresh_import_ms("import cost_tracker.handler, requests, boto3")
    heavy = heavy_modules_after_import()
    print(f"cold import  import json (baseline)        {baseline:8.1f} ms")
    print(f"cold import  cost_tracker.handler          {handler_ms:8.1f} ms  "
          f"({handler_ms / baseline:.1f}x json)  heavy modules loaded: {heavy or 'none'}")
    print(f"cold import  handler + requests + boto3    {first_call_ms:8.1f} ms  "
          f"({first_call_ms / baseline:.1f}x json)  (the SDKs load on the first invocation)")

    result = run_handler(args.rows, args.runs)
    best = result["best"]
    print(f"ledger       {result['rows']:,} rows written in {result['fill_s']:.2f} s "
          f"(executemany, one transaction)")
    print(f"run          total {best['total_ms']:.1f} ms = stand-in HTTP {best['http_ms']:.1f} ms "
          f"({', '.join(best['http_calls'])}) + AWS (moto) {best['aws_ms']:.1f} ms "
          f"+ tracker's own work {best['own_ms']:.1f} ms")
    print(f"             best of {args.runs}; median own work {result['median_own_ms']:.1f} ms; "
          f"own work / json import = {best['own_ms'] / baseline:.2f}x")
    metrics = best["report"]["metrics"]
    print(f"             month spend ${best['report']['month']['spent_usd']}, {metrics['datums']} datums "
          f"in {metrics['calls']} PutMetricData call(s)")

    size = zip_size()
    print(f"zip          {size:,} bytes ({size / TARGET_ZIP_BYTES:.2f} of the 1 MB target)")
    verdict = {"cold_import": handler_ms < TARGET_IMPORT_MS,
               "run_excl_network": best["own_ms"] < TARGET_RUN_MS, "zip": size < TARGET_ZIP_BYTES}
    print(json.dumps({"baseline_import_json_ms": round(baseline, 1),
                      "handler_import_ms": round(handler_ms, 1),
                      "handler_plus_sdk_import_ms": round(first_call_ms, 1),
                      "run_own_ms": round(best["own_ms"], 1), "run_total_ms": round(best["total_ms"], 1),
                      "http_ms": round(best["http_ms"], 1), "zip_bytes": size, "targets_met": verdict}))
    return 0 if all(verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
