"""Stand-in for the Lambda Cloud API's GET /api/v1/instance-types, which cannot be reached here.

Served by the stand-ins' one HTTP server (`http_server.py`) on 127.0.0.1, answering with the documented shape:
`{"data": {<name>: {"instance_type": {"price_cents_per_hour": ...}}}}` behind a bearer API key.
Used by the cost tracker's tests and the local demo.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from .http_server import Reply, Request, http_server, json_reply


@dataclass
class LambdaCloudStandIn:
    """Stand-in for the Lambda Cloud API's GET /api/v1/instance-types (bearer API key)."""

    api_key: str
    prices_cents: dict[str, int]
    status: int = 200
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def respond(self, request: Request) -> Reply:
        path, headers = request.path, request.headers
        self.requests.append(path)
        if path != "/api/v1/instance-types":
            return json_reply(404, {"error": {"code": "global/object-does-not-exist"}})
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return json_reply(401, {"error": {"code": "global/invalid-api-key",
                                              "message": "API key was invalid, expired, or deleted."}})
        if self.status != 200:
            return json_reply(self.status, {"error": {"code": "global/unknown", "message": "stand-in"}})
        data = {
            name: {
                "instance_type": {"name": name, "description": f"stand-in {name}",
                                  "gpu_description": "stand-in GPU", "price_cents_per_hour": cents,
                                  "specs": {"vcpus": 30, "memory_gib": 200, "storage_gib": 1400, "gpus": 1}},
                "regions_with_capacity_available": [{"name": "us-east-1", "description": "Virginia, USA"}],
            }
            for name, cents in self.prices_cents.items()
        }
        return json_reply(200, {"data": data})


@contextlib.contextmanager
def lambda_cloud_standin(api_key: str, prices_cents: dict[str, int]) -> Iterator[LambdaCloudStandIn]:
    standin = LambdaCloudStandIn(api_key=api_key, prices_cents=prices_cents)
    with http_server(standin.respond) as base:
        standin.url = f"{base}/api/v1"
        yield standin
