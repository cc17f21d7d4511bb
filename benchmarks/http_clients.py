"""Upstream HTTP client candidates side by side: CPU µs per call and calls/s against one stand-in.

Run from the repository root:  .venv/bin/python benchmarks/http_clients.py
Each candidate runs in its own fresh process (its own event loop and runtime threads) against the
same local stand-in upstream, posting the benchmark's chat body at 1 and 32 concurrent calls.
CPU per call is the client process's user+system time from /proc (all threads, so a client's
Rust runtime threads count), divided by the calls made. The ratio column is against aiohttp as
the gateway configured it before (the baseline, measured in the same run). Candidates that are
not installed are skipped with a note. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

BODY = json.dumps({"model": "llama3.1-8b-instruct", "max_tokens": 16,
                   "messages": [{"role": "user", "content": "Say hello to the benchmark in a few words."}]
                   }).encode()
HEADERS = {"Content-Type": "application/json", "Accept": "application/json",
           "Authorization": "Bearer standin-key"}
CANDIDATES = ("aiohttp", "aiohttp-tuned", "pyreqwest", "pyreqwest-mt", "rnet", "httpr", "gateway-upstream")

Post = Callable[[], Awaitable[tuple[int, bytes]]]


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of a process (all its threads) from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _client(name: str, url: str) -> tuple[Post, Callable[[], Awaitable[None]]]:
    """(post one request, close) for a candidate."""
    if name in ("aiohttp", "aiohttp-tuned"):
        import aiohttp

        if name == "aiohttp":
            connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=30, ttl_dns_cache=300)
            timeout = aiohttp.ClientTimeout(total=None, connect=3, sock_read=60)
            session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",),
                                            timeout=timeout)
        else:  # fewer per-request objects: no timeout machinery, no cookie jar, no decompression
            connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=30, ttl_dns_cache=None,
                                             use_dns_cache=False, enable_cleanup_closed=False)
            session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",),
                                            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                                            timeout=aiohttp.ClientTimeout(total=None))

        async def post() -> tuple[int, bytes]:
            async with session.post(url, data=BODY, headers=HEADERS) as response:
                return response.status, await response.read()

        return post, session.close
    if name in ("pyreqwest", "pyreqwest-mt"):
        from datetime import timedelta

        from pyreqwest.client import ClientBuilder

        builder = (ClientBuilder().error_for_status(False).max_connections(512).tcp_nodelay(True)
                   .connect_timeout(timedelta(seconds=3)).read_timeout(timedelta(seconds=60)).http1_only())
        client = builder.runtime_multithreaded(name == "pyreqwest-mt").build()

        async def post() -> tuple[int, bytes]:
            response = await client.post(url).headers(HEADERS).body_bytes(BODY).build().send()
            return response.status, bytes(await response.bytes())

        return post, client.close
    if name == "rnet":
        import rnet

        rnet_client = rnet.Client(http1_only=True)

        async def post() -> tuple[int, bytes]:
            response = await rnet_client.post(url, body=BODY, headers=HEADERS)
            return int(response.status.as_int()) if hasattr(response.status, "as_int") else \
                int(str(response.status).split()[0]), await response.bytes()

        async def close() -> None:
            return None

        return post, close
    if name == "httpr":
        import httpr

        httpr_client = httpr.AsyncClient(max_concurrency=64)

        async def post() -> tuple[int, bytes]:
            response = await httpr_client.post(url, content=BODY, headers=HEADERS)
            return response.status_code, response.content

        return post, httpr_client.aclose
    if name == "gateway-upstream":  # whatever functions/gateway/upstreams.py uses today
        from gateway.upstreams import Upstream

        upstream = Upstream("bench", url.rsplit("/chat/completions", 1)[0], "standin-key")
        await upstream.start()

        async def post() -> tuple[int, bytes]:
            status, payload, _ = await upstream.complete(BODY)
            return status, payload

        return post, upstream.close
    raise SystemExit(f"unknown candidate {name}")


async def _drive(post: Post, concurrency: int, seconds: float) -> int:
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            status, payload = await post()
            if status != 200 or not payload:
                raise RuntimeError(f"bad answer {status}")
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def _one(name: str, url: str, seconds: float) -> dict[str, float]:
    post, close = await _client(name, url)
    out: dict[str, float] = {}
    try:
        await _drive(post, 32, 0.5)  # warm the pool
        for concurrency in (1, 32):
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            calls = await _drive(post, concurrency, seconds)
            cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - t0
            out[f"c{concurrency}_rps"] = calls / wall
            out[f"c{concurrency}_cpu_us"] = cpu / calls * 1e6
    finally:
        await close()
    return out


def run_candidate(name: str, url: str, seconds: float) -> dict[str, float] | str:
    """One candidate in a fresh process; its figures, or why it could not run."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "functions")])}
    try:
        proc = subprocess.run([sys.executable, __file__, "--one", name, "--url", url,
                               "--seconds", str(seconds)], capture_output=True, text=True, env=env,
                              timeout=seconds * 4 + 60)
    except subprocess.TimeoutExpired:
        return "timed out"
    for line in proc.stdout.splitlines():
        if line.startswith("CLIENT_JSON "):
            return json.loads(line.removeprefix("CLIENT_JSON "))
    return (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per concurrency")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("CLIENT_JSON " + json.dumps(asyncio.run(_one(args.one, args.url, args.seconds))), flush=True)
        return
    from standins import standin_process

    with standin_process("upstream") as upstream:
        url = f"{upstream}/chat/completions"
        results = {name: run_candidate(name, url, args.seconds) for name in args.candidates.split(",")}
    base = results.get("aiohttp")
    print("\n| client | c=1 calls/s | c=1 CPU µs/call | c=32 calls/s | c=32 CPU µs/call | CPU vs aiohttp |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, figures in results.items():
        if isinstance(figures, str):
            print(f"| {name} | skipped: {figures} | | | | |")
            continue
        ratio = (f"{figures['c32_cpu_us'] / base['c32_cpu_us']:.2f}" if isinstance(base, dict) else "-")
        print(f"| {name} | {figures['c1_rps']:.0f} | {figures['c1_cpu_us']:.0f} | {figures['c32_rps']:.0f} "
              f"| {figures['c32_cpu_us']:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
