"""Load generator for the hard-kill test, run as its own process (its own core and interpreter lock).

python load_until_killed.py URL TOKEN CONNECTIONS MAX_SECONDS
Posts small chat requests over CONNECTIONS keep-alive connections until the gateway stops answering
(or MAX_SECONDS pass), then prints one line per acknowledged request: `ACK <monotonic s> <request id>`
(CLOCK_MONOTONIC is shared by all processes, so the test can compare it with the kill time).
Prints `READY` once the first request was acknowledged.
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp

BODY = b'{"model": "llama3.1-8b-instruct", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}'


async def main(url: str, token: str, connections: int, max_seconds: float) -> None:
    acks: list[tuple[float, str]] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deadline = time.monotonic() + max_seconds
    ready = False

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal ready
        while time.monotonic() < deadline:
            try:
                async with session.post(url, data=BODY, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        continue
                    acks.append((time.monotonic(), response.headers["x-request-id"]))
            except (TimeoutError, aiohttp.ClientError, OSError):
                return  # the gateway is gone
            if not ready:
                ready = True
                print("READY", flush=True)

    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=connections)) as s:
        await asyncio.gather(*(worker(s) for _ in range(connections)))
    sys.stdout.write("".join(f"ACK {at:.6f} {request_id}\n" for at, request_id in acks))
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
