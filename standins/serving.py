"""Start and stop local ASGI servers on 127.0.0.1 with a free port, in a thread or a subprocess.

Every runner is a context manager that yields once the server accepts connections and stops it
on exit (bounded waits), so nothing outlives a test or a benchmark.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import uvicorn

from .app import Script, StandinApp

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (port 0: the OS picks a free one).

    It listens at once, so clients told the port can connect (they queue) before the server runs.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def asgi_server(app: Any, *, port: int = 0, **uvicorn_options: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a daemon thread; yields 'http://127.0.0.1:PORT'."""
    sock = bind_loopback(port)
    options = {"log_level": "warning", "access_log": False, "lifespan": "on", **uvicorn_options}
    server = uvicorn.Server(uvicorn.Config(app, **options))

    def run() -> None:
        with contextlib.suppress(SystemExit):  # uvicorn exits on a failed startup; we report it below
            server.run(sockets=[sock])

    thread = threading.Thread(target=run, daemon=True,
                              name=f"asgi-{sock.getsockname()[1]}")
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("ASGI server did not start (see its log above)")
        time.sleep(0.005)
    try:
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_TIMEOUT_S)
        sock.close()


@dataclass(slots=True)
class StandinHandle:
    """A running in-process stand-in: `url` is its OpenAI base URL (ending in /v1)."""

    url: str
    app: StandinApp

    @property
    def script(self) -> Script:
        return self.app.script

    @script.setter
    def script(self, script: Script) -> None:
        self.app.script = script

    def last_request(self) -> dict[str, Any]:
        return self.app.requests[-1]


@contextlib.contextmanager
def standin_server(name: str = "standin", script: Script | None = None) -> Iterator[StandinHandle]:
    """A stand-in backend in a thread of this process."""
    app = StandinApp(name, script)
    with asgi_server(app) as base:
        yield StandinHandle(f"{base}/v1", app)


@contextlib.contextmanager
def standin_process(name: str = "standin", script: Script | None = None, *,
                    port: int = 0) -> Iterator[str]:
    """A stand-in backend in its own Python process (own core, own GIL); yields its /v1 URL.

    Scripts can be changed while it runs with POST {url}/../_standin/script.
    """
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "standins", "--name", name, "--port", str(port),
               "--script", json.dumps(asdict(script or Script()))]
    path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True, cwd=root)
    try:
        line = _read_line(proc, START_TIMEOUT_S)
        if not line.startswith("STANDIN_URL "):
            raise RuntimeError(f"stand-in {name} did not start: {line!r}")
        yield line.split(" ", 1)[1].strip()
    finally:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
        if proc.stdout:
            proc.stdout.close()


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline() if proc.stdout else ""),
                              daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""
