"""Run one stand-in backend: `python -m standins --name gpu --port 0`; prints 'STANDIN_URL <url>'."""

from __future__ import annotations

import argparse
import json

import uvicorn

from .app import Script, StandinApp
from .serving import LOOPBACK, bind_loopback


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", default="standin")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", default="{}", help="JSON object of Script fields")
    args = parser.parse_args(argv)
    script = Script.from_dict(json.loads(args.script))
    sock = bind_loopback(args.port)
    print(f"STANDIN_URL http://{LOOPBACK}:{sock.getsockname()[1]}/v1", flush=True)
    config = uvicorn.Config(StandinApp(args.name, script), log_level="warning", access_log=False,
                            http="httptools", loop="uvloop")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
