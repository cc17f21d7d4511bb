"""Load benchmark: the same stand-in upstream bare, behind the gateway, and behind LiteLLM proxy.

Run from the repository root:  .venv/bin/python benchmarks/gateway_load.py
It starts everything on 127.0.0.1 (each server in its own process), drives each target with
`wrk` (Debian package `wrk`) at 1 and 32 connections, prints throughput and p50/p99 latency and
the ratios, and stops everything. LiteLLM (`litellm[proxy]`) is installed on first use into
build/litellm-venv, a separate environment, and runs with one worker. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from standins import standin_process  # noqa: E402
from standins.serving import bind_loopback  # noqa: E402

LITELLM_VENV = ROOT / "build" / "litellm-venv"
LITELLM_SPEC = "litellm[proxy]"
MODEL = "llama3.1-8b-instruct"
CLIENT_TOKEN = "bench-client-token-0123456789"
ADMIN_TOKEN = "bench-admin-token-0123456789"
LITELLM_KEY = "sk-bench-master-key-0123456789"
BODY = {"model": MODEL, "max_tokens": 16,
        "messages": [{"role": "user", "content": "Say hello to the benchmark in a few words."}]}

WRK_LUA = """
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local non2xx = 0
response = function(status, headers, body)
  if status ~= 200 then non2xx = non2xx + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, " ..
    "\\"socket_errors\\": %d, \\"status_errors\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass
class Result:
    target: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _free_port() -> int:
    sock = bind_loopback(0)
    port = sock.getsockname()[1]
    sock.close()
    return port


def _wait_http(url: str, timeout: float, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f}s ({last})")


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)


@contextlib.contextmanager
def gateway(upstream: str, workdir: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'functions'}",
           "GATEWAY_CLIENT_TOKENS": CLIENT_TOKEN, "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
           "SERVERLESS_BASE_URL": upstream, "GPU_BASE_URL": upstream,
           "DAILY_BUDGET_USD": "1000000", "MONTHLY_BUDGET_USD": "10000000",
           "LEDGER_PATH": str(workdir / "ledger.sqlite3"), "GATEWAY_HOST": "127.0.0.1",
           "GATEWAY_PORT": str(port)}
    with _process([sys.executable, "-m", "gateway"], env, workdir / "gateway.log"):
        _wait_http(f"http://127.0.0.1:{port}/healthz", 30)
        yield f"http://127.0.0.1:{port}/v1"


def ensure_litellm() -> Path | None:
    """The litellm CLI of the separate venv, installing it on first use; None if that fails."""
    cli = LITELLM_VENV / "bin" / "litellm"
    if cli.exists():
        return cli
    print(f"installing {LITELLM_SPEC} into {LITELLM_VENV} (first run only) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
        if Path(uv).exists():
            cmd = [uv, "pip", "install", "--quiet", "--python", str(LITELLM_VENV / "bin" / "python"),
                   LITELLM_SPEC]
        else:
            cmd = [str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", LITELLM_SPEC]
        subprocess.run(cmd, check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"LiteLLM could not be installed ({exc}); reporting the other targets only", flush=True)
        return None
    return cli if cli.exists() else None


@contextlib.contextmanager
def litellm(cli: Path, upstream: str, workdir: Path) -> Iterator[str]:
    port = _free_port()
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {upstream}\n"
        "      api_key: standin-key\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n",
        encoding="utf-8",
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False",
           "LITELLM_LOG": "ERROR", "NO_DOCS": "True"}
    env.pop("DATABASE_URL", None)
    command = [str(cli), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
               "--num_workers", "1"]
    with _process(command, env, workdir / "litellm.log"):
        _wait_http(f"http://127.0.0.1:{port}/health/liveliness", 120)
        yield f"http://127.0.0.1:{port}/v1"


def run_wrk(url: str, token: str, connections: int, seconds: int, workdir: Path) -> Result | None:
    script = workdir / "post.lua"
    script.write_text(WRK_LUA, encoding="utf-8")
    env = {**os.environ, "BENCH_BODY": json.dumps(BODY), "BENCH_TOKEN": token}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
               f"{url}/chat/completions"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60).stdout
    for line in out.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON "):])
            return Result("", connections, data["requests"] / (data["duration_us"] / 1e6),
                          data["p50_us"] / 1000, data["p99_us"] / 1000,
                          data["socket_errors"] + data["status_errors"])
    print(out)
    return None


def check_once(url: str, token: str) -> None:
    """One request before loading, so a misconfigured target fails loudly instead of counting errors."""
    request = urllib.request.Request(f"{url}/chat/completions", data=json.dumps(BODY).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    if not body.get("choices"):
        raise RuntimeError(f"{url}: unexpected answer {body}")


def ledger_requests(url: str) -> int:
    """Requests the gateway's ledger holds for today: proof the ledger was on during the runs."""
    request = urllib.request.Request(f"{url}/usage/summary?period=day",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(json.loads(response.read())["totals"]["requests"])


def measure(name: str, url: str, token: str, args: argparse.Namespace, workdir: Path) -> list[Result]:
    check_once(url, token)
    run_wrk(url, token, 32, args.warmup, workdir)  # warm pools and caches, discarded
    results = []
    for connections in (1, 32):
        result = run_wrk(url, token, connections, args.seconds, workdir)
        if result is None:
            print(f"{name}: wrk produced no result at {connections} connections", flush=True)
            continue
        result.target = name
        results.append(result)
        print(f"  {name:<8} c={connections:<3} {result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
              f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}", flush=True)
    return results


def stream_first_byte_ms(url: str, token: str, count: int = 200) -> tuple[float, float]:
    """p50 time to the first content chunk and to the end of a short stream, one request at a time."""
    import asyncio
    import statistics

    import aiohttp

    body = {**BODY, "stream": True}

    async def run() -> tuple[float, float]:
        first, whole = [], []
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as session:
            for index in range(count + 20):
                started = time.perf_counter()
                async with session.post(f"{url}/chat/completions", json=body, headers=headers) as response:
                    got_first = None
                    async for line in response.content:
                        if got_first is None and line.startswith(b"data: {"):
                            got_first = time.perf_counter()
                    ended = time.perf_counter()
                if index >= 20 and got_first is not None:  # the first 20 warm up
                    first.append((got_first - started) * 1000)
                    whole.append((ended - started) * 1000)
        return statistics.median(first), statistics.median(whole)

    return asyncio.run(run())


def report(results: list[Result]) -> None:
    by = {(r.target, r.connections): r for r in results}
    print("\n| target | connections | req/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.target} | {r.connections} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
              f"| {r.errors} |")
    print()
    bare1, gw1 = by.get(("bare", 1)), by.get(("gateway", 1))
    if bare1 and gw1:
        added = gw1.p50_ms - bare1.p50_ms
        print(f"gateway added p50 latency at 1 connection: {added:.3f} ms (target <= 1 ms)")
    gw32, lite32 = by.get(("gateway", 32)), by.get(("litellm", 32))
    if gw32 and lite32 and lite32.rps > 0:
        print(f"gateway / LiteLLM throughput at 32 connections: {gw32.rps / lite32.rps:.1f}x (target >= 25x)")
    bare32 = by.get(("bare", 32))
    if gw32 and bare32:
        print(f"gateway / bare throughput at 32 connections: {gw32.rps / bare32.rps:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="discarded warm-up seconds per target")
    parser.add_argument("--skip-litellm", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp, standin_process("upstream") as upstream:
        workdir = Path(tmp)
        print(f"upstream stand-in: {upstream}", flush=True)
        results += measure("bare", upstream, "unused", args, workdir)
        bare_stream = stream_first_byte_ms(upstream, "unused")
        with gateway(upstream, workdir) as url:
            results += measure("gateway", url, CLIENT_TOKEN, args, workdir)
            gateway_stream = stream_first_byte_ms(url, CLIENT_TOKEN)
            print(f"  gateway ledger: {ledger_requests(url)} requests recorded in today's usage summary",
                  flush=True)
        cli = None if args.skip_litellm else ensure_litellm()
        if cli is not None:
            try:
                with litellm(cli, upstream, workdir) as url:
                    results += measure("litellm", url, LITELLM_KEY, args, workdir)
            except (RuntimeError, OSError) as exc:
                log = workdir / "litellm.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                print(f"LiteLLM run failed: {exc}\n{tail}", flush=True)
    report(results)
    print(f"streaming, 1 connection, p50: first chunk bare {bare_stream[0]:.2f} ms, gateway "
          f"{gateway_stream[0]:.2f} ms; whole stream bare {bare_stream[1]:.2f} ms, gateway "
          f"{gateway_stream[1]:.2f} ms")


if __name__ == "__main__":
    main()
