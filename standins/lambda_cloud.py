"""Stand-in for the Lambda Cloud API (cloud.lambda.ai/api/v1), which cannot be reached here.

Served by the stand-ins' one HTTP server (`http_server.py`) on 127.0.0.1 behind a bearer API key,
answering with the documented shapes:
- GET /instance-types: `{"data": {<name>: {"instance_type": {"price_cents_per_hour": ...}}}}`
  (the cost tracker's tests and the local demo);
- POST /instance-operations/launch, GET /instances/<id>, POST /instance-operations/terminate:
  `{"data": {"instance_ids": [...]}}`, `{"data": {"id", "ip", "status", ...}}`,
  `{"data": {"terminated_instances": [...]}}`, errors as `{"error": {"code", "message"}}`
  (the Lambda Cloud instance provider's tests). An instance boots for `boot_polls` reads, then is
  `boot_status` (active, with an IP); `launch_error` makes launches fail; `vanish()` terminates one
  behind Pulumi's back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .http_server import Reply, Request, http_server, json_reply

API = "/api/v1"
DENIED = json_reply(401, {"error": {"code": "global/invalid-api-key",
                                    "message": "API key was invalid, expired, or deleted."}})


def _missing(what: str) -> Reply:
    error = {"code": "global/object-does-not-exist", "message": f"{what} not found"}
    return json_reply(404, {"error": error})


@dataclass
class LambdaCloudStandIn:
    """Stand-in for the Lambda Cloud API: instance types (prices) and the instance lifecycle."""

    api_key: str
    prices_cents: dict[str, int]
    status: int = 200
    requests: list[str] = field(default_factory=list)
    url: str = ""
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    launches: list[dict[str, Any]] = field(default_factory=list)
    boot_polls: int = 1  # reads of a new instance that still say "booting"
    boot_status: str = "active"  # what a booted instance becomes ("unhealthy": a failed boot)
    launch_error: tuple[int, str, str] | None = None  # (HTTP status, code, message)

    def respond(self, request: Request) -> Reply:
        path = request.path
        self.requests.append(path if request.method == "GET" else f"{request.method} {path}")
        known = (f"{API}/instance-types", f"{API}/instances/", f"{API}/instance-operations/")
        if not path.startswith(known):
            return _missing(path)
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return DENIED
        if request.method == "POST":
            return self._operation(path, request.json() or {})
        if self.status != 200:
            return json_reply(self.status, {"error": {"code": "global/unknown", "message": "stand-in"}})
        if path.startswith(f"{API}/instances/"):
            return self._instance(path.removeprefix(f"{API}/instances/"))
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

    def _instance(self, instance_id: str) -> Reply:
        instance = self.instances.get(instance_id)
        if instance is None or instance["status"] == "terminated":
            return _missing(f"instance {instance_id}")
        if instance["status"] == "booting":
            instance["polls"] += 1
            if instance["polls"] > self.boot_polls:
                instance["status"] = self.boot_status
                if self.boot_status == "active":
                    instance["ip"] = f"198.51.100.{len(self.instances)}"
        return json_reply(200, {"data": {k: v for k, v in instance.items() if k != "polls"}})

    def _operation(self, path: str, payload: dict[str, Any]) -> Reply:
        if path == f"{API}/instance-operations/launch":
            self.launches.append(payload)
            if self.launch_error is not None:
                status, code, message = self.launch_error
                return json_reply(status, {"error": {"code": code, "message": message}})
            instance_id = f"0920582c7ff041399e34823a0be6{len(self.instances):04d}"
            self.instances[instance_id] = {
                "id": instance_id, "name": payload.get("name"), "status": "booting", "polls": 0,
                "ssh_key_names": payload.get("ssh_key_names"), "region": {"name": payload.get("region_name")},
                "instance_type": {"name": payload.get("instance_type_name")},
            }
            return json_reply(200, {"data": {"instance_ids": [instance_id]}})
        if path == f"{API}/instance-operations/terminate":
            wanted = payload.get("instance_ids", [])
            gone = [i for i in wanted if i in self.instances and self.instances[i]["status"] != "terminated"]
            if len(gone) != len(wanted):
                return _missing("instance")
            for instance_id in gone:
                self.instances[instance_id]["status"] = "terminated"
            return json_reply(200, {"data": {"terminated_instances": [self.instances[i] for i in gone]}})
        return _missing(path)

    def vanish(self, instance_id: str) -> None:
        """The instance is terminated outside Pulumi (console, another tool)."""
        self.instances[instance_id]["status"] = "terminated"


@contextlib.contextmanager
def lambda_cloud_standin(api_key: str, prices_cents: dict[str, int]) -> Iterator[LambdaCloudStandIn]:
    standin = LambdaCloudStandIn(api_key=api_key, prices_cents=prices_cents)
    with http_server(standin.respond) as base:
        standin.url = f"{base}{API}"
        yield standin
