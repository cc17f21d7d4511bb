"""Entry point: `python -m gateway` reads the environment, then serves with uvicorn (uvloop + httptools).

One process by design: the budget guard lives in memory, and a second worker would hold a second,
blind copy of it. One core serves several thousand requests a second (docs/gateway.md).
"""

from __future__ import annotations

import logging
import sys

import uvicorn

from llm_shared.errors import ConfigError

from .app import GatewayApp
from .config import GatewayConfig


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = GatewayConfig.from_env()
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    uvicorn.run(GatewayApp(config), host=config.host, port=config.port, loop="uvloop", http="httptools",
                lifespan="on", access_log=False, log_level="info", timeout_graceful_shutdown=15,
                proxy_headers=False, server_header=False, date_header=False)


if __name__ == "__main__":
    main()
