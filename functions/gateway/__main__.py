"""Entry point: `python -m gateway` reads the environment, then serves with uvicorn (uvloop + httptools).

One process by design: the budget guard lives in memory, and a second worker would hold a second,
blind copy of it. One core serves several thousand requests a second (docs/gateway.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import uvicorn

from llm_shared.errors import ConfigError

from . import env_names, json_logs
from .app import GatewayApp
from .config import GatewayConfig
from .http_protocol import SERVER_OPTIONS


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """No options: the container's env file is the whole configuration; --help lists its names."""
    names = sorted(v for k, v in vars(env_names).items() if k.isupper() and isinstance(v, str))
    parser = argparse.ArgumentParser(
        prog="llm-gateway", description=(__doc__ or "").splitlines()[0],
        epilog="Configured only by environment variables (docs/gateway.md): " + ", ".join(names) + ".")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    parse_args(argv)
    logs = json_logs.configure(logging.INFO)
    try:
        config = GatewayConfig.from_env()
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    # Defence in depth: no log line may carry a token or key, whatever an exception message holds.
    logs.setFormatter(json_logs.JsonFormatter(config.secrets()))
    # log_config=None: uvicorn's loggers propagate to the JSON handler instead of getting text ones.
    uvicorn.run(GatewayApp(config), host=config.host, port=config.port, loop="uvloop", log_level="info",
                log_config=None, timeout_graceful_shutdown=15, **SERVER_OPTIONS)


if __name__ == "__main__":
    main()
