"""Load benchmark: one stand-in upstream bare, behind a minimal proxy, the gateway and LiteLLM proxy.

Run from the repository root:  .venv/bin/python benchmarks/gateway_load.py   (or make bench-gateway)
It starts everything on 127.0.0.1 (each server in its own process), drives each target with
`wrk` (Debian package `wrk`) at 1 and 32 connections and prints, per run: throughput, p50/p99
latency, CPU µs per request of each process (the target's and the upstream's, utime+stime from
/proc over the run), and the ratios gateway / minimal proxy and gateway / LiteLLM. The minimal
proxy (benchmarks/minimal_proxy.py) is the baseline: the same kind of server and the old client
with a batched ledger and nothing else. After each ledger-keeping target the script checks that
every completed request has its ledger row (it exits non-zero if not). LiteLLM
(`litellm[proxy]`) is installed on first use into build/litellm-venv, a separate environment, and
runs with one worker. With `--postgres` the gateway also runs on a Postgres ledger (a fresh
database on the machine's server, 127.0.0.1:5432, dropped after) in the same run, and the script
prints its throughput at 32 connections over the SQLite gateway's (target >= 0.8x) and its Postgres
round trips per 1,000 requests from gateway_postgres_round_trips_total (all purposes: ledger writes
and budget leases; target <= 25). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
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
    requests: int = 0
    cpu_us: dict[str, float] | None = None  # process name -> CPU µs per request


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live children (a server's workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for candidate in [pid, *_children(pid)]:
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{candidate}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out + [g for c in out for g in _children(c)]


def upstream_pid() -> int:
    """The stand-in process this script started (a child running `-m standins`)."""
    for child in _children(os.getpid()):
        with contextlib.suppress(OSError):
            if b"standins" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
    raise RuntimeError("stand-in process not found")


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


@dataclass
class Target:
    name: str
    url: str
    token: str
    pid: int | None = None  # None: the bare upstream itself


@contextlib.contextmanager
def minimal_proxy(upstream: str, workdir: Path, server: str = "uvicorn") -> Iterator[Target]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "benchmarks")])}
    name = "proxy" if server == "uvicorn" else f"proxy-{server}"
    command = [sys.executable, str(ROOT / "benchmarks" / "minimal_proxy.py"), upstream,
               str(workdir / f"{name}.sqlite3"), str(port), server]
    with _process(command, env, workdir / f"{name}.log") as proc:
        _wait_http(f"http://127.0.0.1:{port}/healthz", 30)
        yield Target(name, f"http://127.0.0.1:{port}/v1", "unused", proc.pid)


def proxy_rows(target: Target) -> int:
    with urllib.request.urlopen(target.url.removesuffix("/v1") + "/count", timeout=30) as response:
        return int(response.read())


@contextlib.contextmanager
def gateway(upstream: str, workdir: Path, tree: Path = ROOT, name: str = "gateway",
            ledger_url: str | None = None) -> Iterator[Target]:
    port = _free_port()
    (workdir / name).mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": f"{tree / 'functions'}",
           "GATEWAY_CLIENT_TOKENS": CLIENT_TOKEN, "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
           "SERVERLESS_BASE_URL": upstream, "GPU_BASE_URL": upstream,
           "DAILY_BUDGET_USD": "1000000", "MONTHLY_BUDGET_USD": "10000000",
           "LEDGER_URL": ledger_url or str(workdir / name / "ledger.sqlite3"), "GATEWAY_HOST": "127.0.0.1",
           "GATEWAY_PORT": str(port)}
    if tree != ROOT and ledger_url is None:  # an older commit (--before) may only know LEDGER_PATH
        env["LEDGER_PATH"] = env.pop("LEDGER_URL")
    with _process([sys.executable, "-m", "gateway"], env, workdir / f"{name}.log") as proc:
        _wait_http(f"http://127.0.0.1:{port}/healthz", 30)
        yield Target(name, f"http://127.0.0.1:{port}/v1", CLIENT_TOKEN, proc.pid)


@contextlib.contextmanager
def checkout(ref: str, workdir: Path) -> Iterator[Path]:
    """The tree of a git commit, as a temporary worktree (removed afterwards)."""
    tree = workdir / "before-tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), ref], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


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
def litellm(cli: Path, upstream: str, workdir: Path) -> Iterator[Target]:
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
    with _process(command, env, workdir / "litellm.log") as proc:
        _wait_http(f"http://127.0.0.1:{port}/health/liveliness", 400)  # slow to import on a busy machine
        yield Target("litellm", f"http://127.0.0.1:{port}/v1", LITELLM_KEY, proc.pid)


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
                          data["socket_errors"] + data["status_errors"], data["requests"])
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


def measure(target: Target, upstream: int, args: argparse.Namespace,
            workdir: Path) -> tuple[list[Result], int]:
    """wrk at 1 and 32 connections; also returns how many requests completed in all (warm-up too)."""
    check_once(target.url, target.token)
    warm = run_wrk(target.url, target.token, 32, args.warmup, workdir)  # warm pools and caches
    completed = 1 + (warm.requests if warm else 0)
    results = []
    for connections in (1, 32):
        pids = {"upstream": upstream, **({target.name: target.pid} if target.pid else {})}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        result = run_wrk(target.url, target.token, connections, args.seconds, workdir)
        if result is None:
            print(f"{target.name}: wrk produced no result at {connections} connections", flush=True)
            continue
        completed += result.requests
        result.target = target.name
        result.cpu_us = {name: (cpu_seconds(pid) - before[name]) / max(result.requests, 1) * 1e6
                         for name, pid in pids.items()}
        results.append(result)
        cpu = "  ".join(f"{name} {us:5.0f} µs" for name, us in result.cpu_us.items())
        print(f"  {target.name:<8} c={connections:<3} {result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
              f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}  CPU/request: {cpu}", flush=True)
    return results, completed


def postgres_round_trips(url: str) -> int:
    """gateway_postgres_round_trips_total summed over purposes (ledger, lease), from /metrics."""
    request = urllib.request.Request(url.removesuffix("/v1") + "/metrics",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        lines = response.read().decode().splitlines()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in lines
                   if line.startswith("gateway_postgres_round_trips_total{")))


def postgres_mode(upstream: str, upstream_process: int, args: argparse.Namespace, workdir: Path,
                  sqlite_results: list[Result]) -> tuple[list[Result], bool]:
    """The gateway on a fresh Postgres database: throughput vs the SQLite gateway, round trips."""
    import psycopg

    from tests.pg import fresh_database

    with fresh_database() as dsn, gateway(upstream, workdir, name="gateway-pg", ledger_url=dsn) as target:
        with psycopg.connect(dsn) as conn:  # the server's CPU (postmaster and its backends) on this machine
            row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        server = int((Path(row[0] if row else "") / "postmaster.pid").read_text().split()[0])
        server_before = cpu_seconds(server)
        measured, completed = measure(target, upstream_process, args, workdir)
        server_us = (cpu_seconds(server) - server_before) / max(completed, 1) * 1e6
        ok = check_rows(target.name, completed, ledger_requests(target.url))
        trips = postgres_round_trips(target.url)
    pg32 = next((r for r in measured if r.connections == 32), None)
    sqlite32 = next((r for r in sqlite_results if r.target == "gateway" and r.connections == 32), None)
    if pg32 and sqlite32:
        print(f"gateway Postgres / SQLite ledger throughput at 32 connections: "
              f"{pg32.rps / sqlite32.rps:.2f}x "
              f"({pg32.rps:.0f} vs {sqlite32.rps:.0f} req/s; target >= 0.8x)")
    print(f"Postgres round trips per 1,000 requests: {trips / max(completed, 1) * 1000:.2f} "
          f"({trips} for {completed} requests incl. warm-up and start; target <= 25); Postgres server "
          f"CPU {server_us:.0f} µs/request, on the same 2 cores as everything else here")
    return measured, ok


def interleaved(upstream: str, upstream_process: int, args: argparse.Namespace,
                workdir: Path) -> bool:
    """Bare, minimal proxy and gateway measured in alternating rounds, all three running at once.

    On a machine other work shares, load comes and goes within a run: measured one after the
    other, one target can get a quiet minute and the next a busy one. Alternating short rounds
    (the proxy first in even rounds, the gateway first in odd ones) exposes both to the same
    load, so each round's ratio means something. Prints every round; returns whether every
    completed request has its ledger row."""
    sub = workdir / "interleaved"
    sub.mkdir()
    with minimal_proxy(upstream, sub) as proxy, gateway(upstream, sub) as gw:
        bare = Target("bare", upstream, "unused")
        completed = {}
        for target in (proxy, gw):
            check_once(target.url, target.token)
            warm = run_wrk(target.url, target.token, 32, args.warmup, sub)
            completed[target.name] = 1 + (warm.requests if warm else 0)
        print("\n| round | proxy req/s c=32 | gateway req/s c=32 | gateway / proxy | CPU µs/request "
              "gateway (proxy) | added p50 c=1 gateway (proxy) |")
        print("|---:|---:|---:|---:|---:|---:|")
        ratios = []
        for index in range(args.interleave):
            order = (proxy, gw) if index % 2 == 0 else (gw, proxy)
            got: dict[str, Result] = {}
            p50: dict[str, float] = {}
            for connections in (1, 32):
                for target in (bare, *order) if connections == 1 else order:
                    pid = target.pid
                    before = cpu_seconds(pid) if pid else 0.0
                    result = run_wrk(target.url, target.token, connections, args.seconds, sub)
                    if result is None:
                        raise RuntimeError(f"{target.name}: wrk produced no result")
                    if target.name in completed:
                        completed[target.name] += result.requests
                    if connections == 1:
                        p50[target.name] = result.p50_ms
                    else:
                        spent = cpu_seconds(pid) - before if pid else 0.0
                        result.cpu_us = {target.name: spent / max(result.requests, 1) * 1e6}
                        got[target.name] = result
            ratio = got["gateway"].rps / got["proxy"].rps
            ratios.append(ratio)
            cpu = {name: (got[name].cpu_us or {}).get(name, 0.0) for name in ("gateway", "proxy")}
            print(f"| {index + 1} | {got['proxy'].rps:.0f} | {got['gateway'].rps:.0f} | {ratio:.2f}x "
                  f"| {cpu['gateway']:.0f} ({cpu['proxy']:.0f}) | {p50['gateway'] - p50['bare']:.3f} ms "
                  f"({p50['proxy'] - p50['bare']:.3f} ms) |", flush=True)
        print(f"gateway / minimal proxy at 32 connections, interleaved rounds: median "
              f"{statistics.median(ratios):.2f}x, lowest {min(ratios):.2f}x (target >= 1.0x)")
        ok = check_rows("proxy (interleaved)", completed["proxy"], proxy_rows(proxy))
        return check_rows("gateway (interleaved)", completed["gateway"], ledger_requests(gw.url)) and ok


def check_rows(name: str, completed: int, rows: int) -> bool:
    """Every completed request must have its row; rows may exceed it by requests wrk cut off at the end."""
    ok = rows >= completed
    print(f"  {name} ledger: {rows} rows for {completed} completed requests: "
          f"{'every completed request recorded' if ok else f'MISSING {completed - rows}'}", flush=True)
    return ok


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
    print("\n| target | connections | req/s | p50 ms | p99 ms | errors | CPU µs/request (target) "
          "| CPU µs/request (upstream) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        cpu = r.cpu_us or {}
        print(f"| {r.target} | {r.connections} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
              f"| {r.errors} | {cpu.get(r.target, 0):.0f} | {cpu.get('upstream', 0):.0f} |")
    print()
    bare1 = by.get(("bare", 1))
    for name in ("proxy", "gateway"):
        one = by.get((name, 1))
        if bare1 and one:
            print(f"{name} added p50 latency at 1 connection: {one.p50_ms - bare1.p50_ms:.3f} ms"
                  + (" (target <= 0.5 ms)" if name == "gateway" else ""))
    gw32, proxy32, lite32 = by.get(("gateway", 32)), by.get(("proxy", 32)), by.get(("litellm", 32))
    if gw32 and proxy32 and proxy32.rps > 0:
        print(f"gateway / minimal proxy throughput at 32 connections: {gw32.rps / proxy32.rps:.2f}x "
              "(target >= 1.0x, stretch 1.3x)")
    if gw32 and lite32 and lite32.rps > 0:
        print(f"gateway / LiteLLM throughput at 32 connections: {gw32.rps / lite32.rps:.1f}x (target >= 25x)")
    before32 = by.get(("before", 32))
    if gw32 and before32 and before32.rps > 0 and proxy32:
        print(f"before / minimal proxy throughput at 32 connections: {before32.rps / proxy32.rps:.2f}x; "
              f"CPU per request at 32 connections: before {(before32.cpu_us or {}).get('before', 0):.0f} µs, "
              f"now {(gw32.cpu_us or {}).get('gateway', 0):.0f} µs, "
              f"minimal proxy {(proxy32.cpu_us or {}).get('proxy', 0):.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="discarded warm-up seconds per target")
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--before", metavar="REF",
                        help="also run the gateway of this commit (e.g. main) as 'before', in the same run")
    parser.add_argument("--server-candidates", action="store_true",
                        help="also run the minimal proxy on granian, to compare servers in the same run")
    parser.add_argument("--postgres", action="store_true",
                        help="also run the gateway on a Postgres ledger (127.0.0.1:5432) in the same run")
    parser.add_argument("--interleave", type=int, default=0, metavar="ROUNDS",
                        help="also measure bare, minimal proxy and gateway in ROUNDS alternating rounds "
                             "(fair on a machine other work shares)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    results: list[Result] = []
    rows_ok = True
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp, standin_process("upstream") as upstream:
        workdir = Path(tmp)
        upstream_process = upstream_pid()
        print(f"upstream stand-in: {upstream}", flush=True)
        results += measure(Target("bare", upstream, "unused"), upstream_process, args, workdir)[0]
        bare_stream = stream_first_byte_ms(upstream, "unused")
        with minimal_proxy(upstream, workdir) as target:
            measured, completed = measure(target, upstream_process, args, workdir)
            results += measured
            rows_ok &= check_rows("proxy", completed, proxy_rows(target))
        if args.server_candidates:
            with minimal_proxy(upstream, workdir, "granian") as target:
                measured, completed = measure(target, upstream_process, args, workdir)
                results += measured
                rows_ok &= check_rows(target.name, completed, proxy_rows(target))
        with gateway(upstream, workdir) as target:
            measured, completed = measure(target, upstream_process, args, workdir)
            results += measured
            rows_ok &= check_rows("gateway", completed, ledger_requests(target.url))
            gateway_stream = stream_first_byte_ms(target.url, CLIENT_TOKEN)
        if args.postgres:
            measured, ok = postgres_mode(upstream, upstream_process, args, workdir, results)
            results += measured
            rows_ok &= ok
        if args.before:
            with checkout(args.before, workdir) as tree, gateway(upstream, workdir, tree, "before") as target:
                measured, completed = measure(target, upstream_process, args, workdir)
                results += measured
                rows_ok &= check_rows("before", completed, ledger_requests(target.url))
        if args.interleave:
            rows_ok &= interleaved(upstream, upstream_process, args, workdir)
        cli = None if args.skip_litellm else ensure_litellm()
        if cli is not None:
            try:
                with litellm(cli, upstream, workdir) as target:
                    results += measure(target, upstream_process, args, workdir)[0]
            except (RuntimeError, OSError) as exc:
                log = workdir / "litellm.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                print(f"LiteLLM run failed: {exc}\n{tail}", flush=True)
    report(results)
    print(f"streaming, 1 connection, p50: first chunk bare {bare_stream[0]:.2f} ms, gateway "
          f"{gateway_stream[0]:.2f} ms; whole stream bare {bare_stream[1]:.2f} ms, gateway "
          f"{gateway_stream[1]:.2f} ms")
    if not rows_ok:
        sys.exit("a completed request has no ledger row")


if __name__ == "__main__":
    main()
