"""LambdaCloudHost: `pulumi up` launches the GPU host on Lambda Cloud, `pulumi destroy` terminates it.

A Pulumi dynamic provider over the public API (cloud.lambda.ai/api/v1, bearer API key):
POST /instance-operations/launch, GET /instances/<id>, POST /instance-operations/terminate.
Create waits (bounded) until the instance is active with an IP, reads its SSH host key once
(`ssh-keyscan`, pinned from then on: every later connection checks it) and records the launch
time, which the cost tracker counts GPU hours from. A launch that fails, or an instance that
comes up unhealthy, is terminated and fails `pulumi up` with the API's code and message (never
the key). An instance terminated outside Pulumi reads as gone, so `pulumi refresh` drops it and
the next `pulumi up` launches a new one.

The API key is an input marked secret (encrypted in state, needed again at delete); the provider
object, which Pulumi serializes into state, holds no secret.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi.dynamic as dynamic

from components.naming import physical_name
from components.settings import LaunchSettings

BOOT_TIMEOUT_SECONDS = 1200  # Lambda: "Instances might take several minutes to launch."
POLL_SECONDS = 10.0
KEYSCAN_TIMEOUT_SECONDS = 300  # sshd starts a little after the API says active
HTTP_TIMEOUT = (5.0, 30.0)
REPLACE_ON = ("api_url", "instance_type", "region", "ssh_key_name", "name")


class LambdaCloudError(RuntimeError):
    """The Lambda Cloud API refused or failed; the message has its code and message, never the key."""


@dataclass(frozen=True)
class Api:
    """The three calls the provider needs, with the key as a bearer token."""

    url: str
    key: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        import requests

        try:
            response = requests.request(method, f"{self.url}{path}", json=body, timeout=HTTP_TIMEOUT,
                                        headers={"Authorization": f"Bearer {self.key}"})
        except requests.RequestException as exc:
            why = type(exc).__name__
            raise LambdaCloudError(f"Lambda Cloud API {method} {path}: unreachable ({why})") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return response.status_code, payload

    def _fail(self, what: str, status: int, payload: Any) -> LambdaCloudError:
        error = payload.get("error") if isinstance(payload, dict) else None
        detail = (f"{error.get('code')}: {error.get('message')}" if isinstance(error, dict)
                  else "no error body")
        return LambdaCloudError(f"Lambda Cloud API {what}: HTTP {status}: {detail}".replace(self.key, "***"))

    def launch(self, *, region: str, instance_type: str, ssh_key_name: str, name: str) -> str:
        body = {"region_name": region, "instance_type_name": instance_type, "ssh_key_names": [ssh_key_name],
                "quantity": 1, "name": name}
        status, payload = self._call("POST", "/instance-operations/launch", body)
        ids = payload.get("data", {}).get("instance_ids") if isinstance(payload, dict) else None
        if status != 200 or not isinstance(ids, list) or len(ids) != 1 or not isinstance(ids[0], str):
            raise self._fail(f"launch {instance_type} in {region}", status, payload)
        return ids[0]

    def get(self, instance_id: str) -> dict[str, Any] | None:
        """The instance, or None once it is gone (404 or terminated)."""
        status, payload = self._call("GET", f"/instances/{instance_id}")
        if status == 404:
            return None
        data = payload.get("data") if isinstance(payload, dict) else None
        if status != 200 or not isinstance(data, dict):
            raise self._fail(f"instance {instance_id}", status, payload)
        return None if data.get("status") == "terminated" else data

    def terminate(self, instance_id: str) -> None:
        """Terminate; an instance already gone is not an error."""
        body = {"instance_ids": [instance_id]}
        status, payload = self._call("POST", "/instance-operations/terminate", body)
        if status not in (200, 404):
            raise self._fail(f"terminate {instance_id}", status, payload)


def scan_host_key(ip: str, port: int = 22, timeout: float = KEYSCAN_TIMEOUT_SECONDS) -> str:
    """The host's ed25519 key as gatewayHostKey takes it ('ssh-ed25519 AAAA...'); retried until sshd
    answers."""
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(["ssh-keyscan", "-T", "5", "-t", "ed25519", "-p", str(port), ip],
                                capture_output=True, text=True, timeout=30, check=False)
        for line in result.stdout.splitlines():
            fields = line.split()
            if len(fields) >= 3 and not line.startswith("#") and fields[1] == "ssh-ed25519":
                return f"{fields[1]} {fields[2]}"
        if time.monotonic() >= deadline:
            raise LambdaCloudError(f"no SSH host key from {ip}:{port} within {timeout:.0f}s (ssh-keyscan)")
        time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))


class LambdaInstanceProvider(dynamic.ResourceProvider):
    """create/read/update/delete of one Lambda Cloud instance. Timings are inputs so tests run fast."""

    def _api(self, props: dict[str, Any]) -> Api:
        return Api(url=props["api_url"].rstrip("/"), key=props["api_key"])

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        api = self._api(props)
        instance_id = api.launch(region=props["region"], instance_type=props["instance_type"],
                                 ssh_key_name=props["ssh_key_name"], name=props["name"])
        launched_at = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            instance = self._wait_active(api, instance_id, float(props["boot_timeout_seconds"]),
                                         float(props["poll_seconds"]))
            host_key = scan_host_key(instance["ip"], timeout=float(props["keyscan_timeout_seconds"]))
        except Exception:
            api.terminate(instance_id)  # a half-launched instance would bill by the hour, unseen
            raise
        return dynamic.CreateResult(instance_id, {**props, "ip": instance["ip"], "host_key": host_key,
                                                  "launched_at": launched_at, "status": instance["status"]})

    @staticmethod
    def _wait_active(api: Api, instance_id: str, timeout: float, poll: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            instance = api.get(instance_id)
            status = instance.get("status") if instance else "terminated"
            if instance and status == "active" and instance.get("ip"):
                return instance
            if status in ("unhealthy", "terminated"):
                raise LambdaCloudError(f"Lambda Cloud instance {instance_id} is {status} after launch")
            if time.monotonic() >= deadline:
                raise LambdaCloudError(f"Lambda Cloud instance {instance_id} not active within "
                                       f"{timeout:.0f}s (last status {status})")
            pulumi.log.info(f"waiting for Lambda Cloud instance {instance_id} ({status})")
            time.sleep(poll)

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        instance = self._api(props).get(id_)
        if instance is None:
            return dynamic.ReadResult(None, {})  # gone: refresh drops it, the next up launches anew
        return dynamic.ReadResult(id_, {**props, "ip": instance.get("ip") or props.get("ip"),
                                        "status": instance.get("status")})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        replaces = [key for key in REPLACE_ON if olds.get(key) != news.get(key)]
        changed = replaces or [key for key in ("api_key",) if olds.get(key) != news.get(key)]
        return dynamic.DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        """Only the API key can change in place (a rotated key); the instance stays."""
        return dynamic.UpdateResult({**olds, "api_key": news["api_key"]})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._api(props).terminate(id_)


class LambdaInstance(dynamic.Resource):
    ip: pulumi.Output[str]
    host_key: pulumi.Output[str]
    launched_at: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(LambdaInstanceProvider(), name,
                         {**props, "ip": None, "host_key": None, "launched_at": None, "status": None}, opts)


@dataclass
class LambdaCloudHostArgs:
    launch: LaunchSettings
    api_key: pulumi.Input[str]
    stack: str


class LambdaCloudHost(pulumi.ComponentResource):
    """The GPU host as a Lambda Cloud instance; exports its IP, pinned host key and launch time."""

    ip: pulumi.Output[str]
    host_key: pulumi.Output[str]
    launched_at: pulumi.Output[str]

    def __init__(self, name: str, args: LambdaCloudHostArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-cost-governance:index:LambdaCloudHost", name, None, opts)
        launch = args.launch
        instance = LambdaInstance(f"{name}-instance", {
            "api_url": launch.api_url,
            "api_key": pulumi.Output.secret(args.api_key),
            "instance_type": launch.instance_type,
            "region": launch.region,
            "ssh_key_name": launch.ssh_key_name,
            "name": physical_name("gpu"),
            "boot_timeout_seconds": BOOT_TIMEOUT_SECONDS,
            "poll_seconds": POLL_SECONDS,
            "keyscan_timeout_seconds": KEYSCAN_TIMEOUT_SECONDS,
        }, opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["api_key"]))
        self.ip = instance.ip
        self.host_key = instance.host_key
        self.launched_at = instance.launched_at
        self.register_outputs({"ip": self.ip, "hostKey": self.host_key, "launchedAt": self.launched_at})
