"""GatewayHost: deploys the gateway container onto the existing GPU host over SSH (pulumi-command).

Designed around pulumi-command's pitfalls:
- the connection pins the host key (without it any host, spoofed or not, is trusted);
- secrets travel on stdin into a 0600 env file, never through `environment` (sent as SSH Setenv,
  which sshd drops unless AcceptEnv allows it) and never in a command string;
- steps that see secrets log nothing and keep stdout/stderr as secret outputs;
- the deploy step re-runs only when a hash of image, config, env file and scripts changes, and is
  replaced delete-before-create: the default create-before-delete would run the old step's
  `delete` (stop the fixed-name container) right after the new container started.
"""

from __future__ import annotations

import hashlib
import ipaddress
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_command as command

from components.gateway_env import render_env_file
from components.naming import CostTaggedComponent
from components.settings import SecretSettings, Settings

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
SCRIPTS = ("preflight.sh", "write-env.sh", "deploy.sh", "stop.sh")
CONTAINER_NAME = "llm-gateway"
DATA_VOLUME = "llm-gateway-data"
# Pulling a multi-GB image over a slow link can take a while; the health wait is added on top.
PULL_ALLOWANCE_SECONDS = 900


def health_check_host(bind_address: str) -> str:
    """Where deploy.sh asks /healthz: the bound address itself, or loopback when bound to all."""
    address = ipaddress.ip_address(bind_address)
    if address.is_unspecified:
        return "127.0.0.1"
    return f"[{address}]" if address.version == 6 else str(address)


def scripts_digest() -> str:
    """One hash over every remote script, so an edited script re-runs the steps that use it."""
    digest = hashlib.sha256()
    for name in SCRIPTS:
        digest.update(name.encode() + b"\0" + (SCRIPTS_DIR / name).read_bytes() + b"\0")
    return digest.hexdigest()


def deploy_trigger(settings: Settings, env_file: str, scripts: str) -> str:
    """What the running container depends on; a change replaces (re-runs) the deploy step.

    The host is part of it: moving the gateway must stop the container on the old host (the
    replacement's delete runs with the old connection) before starting it on the new one.
    """
    g = settings.gateway
    parts = [g.host, str(g.ssh_port), g.user, g.image, str(g.port), DATA_VOLUME,
             hashlib.sha256(env_file.encode()).hexdigest(), scripts]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass
class GatewayHostArgs:
    settings: Settings
    secrets: SecretSettings


class GatewayHost(CostTaggedComponent):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: GatewayHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("GatewayHost", name, opts)
        s, g, secrets = args.settings, args.settings.gateway, args.secrets
        if secrets.ssh_private_key is None or secrets.gateway_client_tokens is None:
            raise ValueError("GatewayHost needs the sshPrivateKey and gatewayClientTokens secrets")
        connection = command.remote.ConnectionArgs(
            host=g.host,
            port=g.ssh_port,
            user=g.user,
            private_key=secrets.ssh_private_key,
            host_key=g.host_key,
            dial_error_limit=5,
            per_dial_timeout=15,
        )
        bin_dir = f"{g.remote_dir}/bin"
        env_path = f"{g.remote_dir}/gateway.env"
        scripts = scripts_digest()

        # CopyToRemote creates only the last element of its remote path: on a fresh host the
        # bin dir (and the remote dir above it) must be made first.
        dirs = command.remote.Command(
            f"{name}-dirs",
            connection=connection,
            create=shlex.join(["mkdir", "-p", "--", bin_dir]),
            opts=pulumi.ResourceOptions(parent=self),
        )
        copies = [
            command.remote.CopyToRemote(
                f"{name}-{script.removesuffix('.sh')}-script",
                connection=connection,
                source=pulumi.FileAsset(str(SCRIPTS_DIR / script)),
                remote_path=f"{bin_dir}/{script}",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[dirs]),
            )
            for script in SCRIPTS
        ]

        def run(script: str, *argv: object) -> str:
            return shlex.join(["bash", f"{bin_dir}/{script}", *map(str, argv)])

        preflight = command.remote.Command(
            f"{name}-preflight",
            connection=connection,
            create=run("preflight.sh"),
            triggers=[scripts],
            opts=pulumi.ResourceOptions(parent=self, depends_on=copies),
        )

        env_file = pulumi.Output.all(secrets.gateway_client_tokens, secrets.gateway_admin_token,
                                     secrets.serverless_api_key).apply(
            lambda v: render_env_file(s, client_tokens=v[0], admin_token=v[1], serverless_api_key=v[2],
                                      bind_address=g.bind_address)
        )
        env_step = command.remote.Command(
            f"{name}-env-file",
            connection=connection,
            create=run("write-env.sh", env_path),
            stdin=pulumi.Output.secret(env_file),  # type: ignore[arg-type]  # pulumi's Output.secret lacks from_input's Output[U] overload
            logging=command.remote.Logging.NONE,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[preflight],
                                        additional_secret_outputs=["stdout", "stderr"]),
        )

        trigger: pulumi.Output[str] = pulumi.Output.secret(
            env_file.apply(lambda text: deploy_trigger(s, text, scripts)))
        deploy = command.remote.Command(
            f"{name}-container",
            connection=connection,
            create=run("deploy.sh", CONTAINER_NAME, g.image, env_path, g.port, g.health_timeout_seconds,
                       DATA_VOLUME, health_check_host(g.bind_address)),
            delete=run("stop.sh", CONTAINER_NAME),
            triggers=[trigger],
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[env_step],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(
                    create=f"{PULL_ALLOWANCE_SECONDS + g.health_timeout_seconds}s"),
            ),
        )
        self.url = pulumi.Output.from_input(g.url)
        self.deploy_stdout = deploy.stdout
        self.register_outputs({"url": self.url})
