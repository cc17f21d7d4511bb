"""GatewayHost: the GPU host's containers, over SSH (pulumi-command): model server, gateway, TLS proxy.

Order: the vLLM model server (when the stack maps models to it) must be healthy before the gateway
starts, and the gateway before Caddy puts it on the network; each step is run-container.sh, which
waits for its container's health and, when it fails, prints the last log lines and restarts the
container it replaced, so a failed `pulumi up` leaves the previous containers running.

Designed around pulumi-command's pitfalls:
- the connection pins the host key (without it any host, spoofed or not, is trusted);
- secrets travel on stdin into 0600 files, never through `environment` (sent as SSH Setenv,
  which sshd drops unless AcceptEnv allows it) and never in a command string;
- steps that see secrets log nothing and keep stdout/stderr as secret outputs;
- a changed configuration runs a container step's `update` (the same idempotent script), never a
  replacement: a replacement would run the old step's `delete` (stop the container) first and
  leave nothing to roll back to. Only moving the host (the trigger) replaces a step, delete-first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pulumi
import pulumi_command as command

from components.gateway_env import _check as single_line_secret
from components.gateway_env import render_env_file
from components.naming import CostTaggedComponent
from components.settings import GatewaySettings, HostSpec, SecretSettings, Settings

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
SCRIPTS = ("preflight.sh", "write-file.sh", "run-container.sh", "stop.sh")
GATEWAY_CONTAINER = "llm-gateway"
MODEL_SERVER_CONTAINER = "llm-model-server"
PROXY_CONTAINER = "llm-proxy"
DATA_VOLUME = "llm-gateway-data"
MODEL_CACHE_VOLUME = "llm-model-cache"
PROXY_VOLUMES = ("llm-proxy-data:/data", "llm-proxy-config:/config")  # Caddy's certificates and state
TLS_DIR_IN_PROXY = "/etc/caddy/tls"
# Pulling a multi-GB image over a slow link can take a while; the health wait is added on top.
PULL_ALLOWANCE_SECONDS = 900


def health_check_host(bind_address: str) -> str:
    """Where /healthz is asked: the bound address itself, or loopback when bound to all."""
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


def revision(*contents: str) -> str:
    """A digest of the (secret) files a container reads: it goes into the step's command so a
    changed file re-runs the step; the file contents themselves never do."""
    return hashlib.sha256("\0".join(contents).encode()).hexdigest()


@dataclass(frozen=True)
class Paths:
    """Where the program's files live on the host."""

    bin: str
    gateway_env: str
    model_server_env: str
    caddyfile: str
    tls_dir: str

    @classmethod
    def under(cls, remote_dir: str) -> Paths:
        return cls(bin=f"{remote_dir}/bin", gateway_env=f"{remote_dir}/gateway.env",
                   model_server_env=f"{remote_dir}/model-server.env", caddyfile=f"{remote_dir}/Caddyfile",
                   tls_dir=f"{remote_dir}/tls")

    def script(self, name: str) -> str:
        return f"{self.bin}/{name}"


def model_server_env(hugging_face_token: str | None) -> str:
    """The model server's env file: the Hugging Face token (gated models) never reaches argv."""
    lines = ["VLLM_NO_USAGE_STATS=1"]
    if hugging_face_token:
        lines.append(f"HF_TOKEN={single_line_secret('huggingFaceToken', hugging_face_token)}")
    return "".join(f"{line}\n" for line in lines)


def model_server_argv(g: GatewaySettings, paths: Paths, rev: str) -> list[str]:
    """vLLM's official image on the NVIDIA runtime, bound to loopback, its model cache on a volume."""
    return [
        "bash", paths.script("run-container.sh"), "--hash-file", paths.model_server_env, "--revision", rev,
        MODEL_SERVER_CONTAINER, g.model_server_image, f"http://127.0.0.1:{g.model_server_port}/health",
        str(g.model_server_health_timeout_seconds),
        "--restart", "unless-stopped", "--network", "host", "--runtime", "nvidia", "--gpus", "all",
        "--ipc", "host", "--env-file", paths.model_server_env,
        "--volume", f"{MODEL_CACHE_VOLUME}:/root/.cache/huggingface",
        "--", "--model", g.model_server_model, "--host", "127.0.0.1", "--port", str(g.model_server_port),
        "--gpu-memory-utilization", repr(g.model_server_gpu_memory), *g.model_server_args,
    ]


def gateway_argv(g: GatewaySettings, paths: Paths, rev: str) -> list[str]:
    return [
        "bash", paths.script("run-container.sh"), "--hash-file", paths.gateway_env, "--revision", rev,
        GATEWAY_CONTAINER, g.image, f"http://{health_check_host(g.bind_address)}:{g.port}/healthz",
        str(g.health_timeout_seconds),
        "--restart", "unless-stopped", "--network", "host", "--env-file", paths.gateway_env,
        "--volume", f"{DATA_VOLUME}:/data",
    ]


def render_caddyfile(g: GatewaySettings) -> str:
    """Caddy in front of the loopback-bound gateway: automatic HTTPS for gatewayUrl's host name, or
    the certificate from ESC. flush_interval -1 relays streamed chat chunks as they come."""
    site = urlparse(g.url).netloc
    options = f"{{\n\temail {g.acme_email}\n}}\n\n" if g.acme_email else ""
    tls = (f"\ttls {TLS_DIR_IN_PROXY}/cert.pem {TLS_DIR_IN_PROXY}/key.pem\n"
           if g.tls_mode == "provided" else "")
    upstream = f"{health_check_host(g.bind_address)}:{g.port}"
    return (f"# Written by `pulumi up` (GatewayHost); edits here are overwritten.\n{options}{site} {{\n{tls}"
            f"\treverse_proxy {upstream} {{\n\t\tflush_interval -1\n\t}}\n}}\n")


def proxy_argv(g: GatewaySettings, paths: Paths, rev: str) -> list[str]:
    """Health is the public https URL asked on this host (--resolve), certificate checked as the
    cost tracker will check it."""
    parsed = urlparse(g.url)
    files = [paths.caddyfile]
    volumes = [f"{paths.caddyfile}:/etc/caddy/Caddyfile:ro", *PROXY_VOLUMES]
    if g.tls_mode == "provided":
        files += [f"{paths.tls_dir}/cert.pem", f"{paths.tls_dir}/key.pem"]
        volumes.append(f"{paths.tls_dir}:{TLS_DIR_IN_PROXY}:ro")
    hash_files = [arg for file in files for arg in ("--hash-file", file)]
    return [
        "bash", paths.script("run-container.sh"), "--resolve",
        f"{parsed.hostname}:{parsed.port or 443}:127.0.0.1", *hash_files, "--revision", rev,
        PROXY_CONTAINER, g.proxy_image, f"{g.url}/healthz", str(g.health_timeout_seconds),
        "--restart", "unless-stopped", "--network", "host",
        *[arg for volume in volumes for arg in ("--volume", volume)],
    ]


ONE_HOST_NAME = "gateway"  # the one-host keys' component name; gatewayHosts entries are gateway-<name>


def component_name(spec: HostSpec) -> str:
    return f"{ONE_HOST_NAME}-{spec.name}" if spec.name else ONE_HOST_NAME


@dataclass
class GatewayHostArgs:
    settings: Settings
    secrets: SecretSettings
    # A launched instance supplies these (else the spec's, from gatewayHosts or gatewayHost / gatewayHostKey).
    host: pulumi.Input[str] | None = None
    host_key: pulumi.Input[str] | None = None
    spec: HostSpec | None = None  # which host (default: the only one)
    # The shared ledger's DSN (ledgerKind postgres or rds), a secret; None: SQLite on the host.
    ledger_url: pulumi.Input[str] | None = None
    # The first gatewayHosts entry takes over the resources the one-host keys created (aliases), so
    # moving a stack from gatewayHost to gatewayHosts with that host first replaces nothing.
    adopt_one_host: bool = False


class GatewayHost(CostTaggedComponent):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: GatewayHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        adopt = args.adopt_one_host and name != ONE_HOST_NAME
        if adopt:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                aliases=[pulumi.Alias(name=ONE_HOST_NAME)]))
        super().__init__("GatewayHost", name, opts)
        s, secrets = args.settings, args.secrets
        spec = args.spec or s.gateway.hosts[0]
        # This host's view of the shared settings: its own address, host key and URL.
        g = dataclasses.replace(s.gateway, host=spec.host, host_key=spec.host_key, url=spec.url)
        one_host_parent = (f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::"
                           f"{pulumi.get_project()}:index:GatewayHost::{ONE_HOST_NAME}")

        def opts_for(child: str, **more: object) -> pulumi.ResourceOptions:
            """parent=self, and with `adopt` an alias to the child's one-host name and parent."""
            old = f"{ONE_HOST_NAME}{child.removeprefix(name)}"
            aliases = [pulumi.Alias(name=old, parent=one_host_parent)] if adopt else None
            return pulumi.ResourceOptions(parent=self, aliases=aliases, **more)  # type: ignore[arg-type]

        if secrets.ssh_private_key is None or (secrets.gateway_client_tokens is None and not g.client_keys):
            raise ValueError("GatewayHost needs the sshPrivateKey and gatewayClientTokens secrets")
        host = args.host if args.host is not None else g.host
        connection = command.remote.ConnectionArgs(
            host=host,
            port=g.ssh_port,
            user=g.user,
            private_key=secrets.ssh_private_key,
            host_key=args.host_key if args.host_key is not None else g.host_key,
            dial_error_limit=5,
            per_dial_timeout=15,
        )
        paths = Paths.under(g.remote_dir)
        scripts = scripts_digest()
        # Moving the gateway to another host replaces the steps: the old ones' delete stops the
        # containers on the old host (with the old connection) before the new host gets them.
        where = [host, str(g.ssh_port), g.user]

        # CopyToRemote creates only the last element of its remote path: on a fresh host the
        # bin dir (and the remote dir above it) must be made first.
        dirs = command.remote.Command(
            f"{name}-dirs", connection=connection, create=shlex.join(["mkdir", "-p", "--", paths.bin]),
            triggers=where, opts=opts_for(f"{name}-dirs"))
        copies = [
            command.remote.CopyToRemote(
                f"{name}-{script.removesuffix('.sh')}-script",
                connection=connection,
                source=pulumi.FileAsset(str(SCRIPTS_DIR / script)),
                remote_path=paths.script(script),
                opts=opts_for(f"{name}-{script.removesuffix('.sh')}-script", depends_on=[dirs]),
            )
            for script in SCRIPTS
        ]
        preflight = command.remote.Command(
            f"{name}-preflight", connection=connection,
            create=shlex.join(["bash", paths.script("preflight.sh")]), triggers=[scripts, *where],
            opts=opts_for(f"{name}-preflight", depends_on=copies))

        def write(step: str, dest: str, kind: str, content: pulumi.Input[str],
                  secret: bool = True) -> command.remote.Command:
            """A file from stdin; a secret content never reaches a log or a command line."""
            return command.remote.Command(
                f"{name}-{step}", connection=connection,
                create=shlex.join(["bash", paths.script("write-file.sh"), dest, kind]),
                stdin=pulumi.Output.secret(content) if secret else content,
                logging=command.remote.Logging.NONE,
                triggers=where,
                opts=opts_for(f"{name}-{step}", depends_on=[preflight],
                              additional_secret_outputs=["stdout", "stderr"]))

        def container(step: str, container_name: str, argv: pulumi.Output[list[str]], timeout: int,
                      after: Sequence[pulumi.Resource]) -> command.remote.Command:
            run: pulumi.Output[str] = pulumi.Output.secret(argv.apply(shlex.join))
            budget = f"{PULL_ALLOWANCE_SECONDS + timeout}s"
            return command.remote.Command(
                f"{name}-{step}", connection=connection, create=run, update=run,
                delete=shlex.join(["bash", paths.script("stop.sh"), container_name]),
                triggers=where,
                opts=opts_for(f"{name}-{step}", depends_on=list(after), delete_before_replace=True,
                              custom_timeouts=pulumi.CustomTimeouts(create=budget, update=budget)))

        chain: list[pulumi.Resource] = []
        if g.model_server_port:
            env = pulumi.Output.from_input(secrets.hugging_face_token or "").apply(
                lambda token: model_server_env(token or None))
            env_step = write("model-server-env", paths.model_server_env, "env", env)
            model_server = container(
                "model-server", MODEL_SERVER_CONTAINER,
                env.apply(lambda text: model_server_argv(g, paths, revision(text, scripts))),
                g.model_server_health_timeout_seconds, [env_step])
            chain = [model_server]

        gateway_env = pulumi.Output.all(secrets.gateway_client_tokens, secrets.gateway_admin_token,
                                        secrets.serverless_api_key, secrets.gateway_client_key_tokens,
                                        args.ledger_url).apply(
            lambda v: render_env_file(s, client_tokens=v[0], admin_token=v[1], serverless_api_key=v[2],
                                      client_key_tokens=v[3], bind_address=g.bind_address, ledger_url=v[4])
        )
        env_step = write("env-file", paths.gateway_env, "env", gateway_env)
        gateway = container(
            "container", GATEWAY_CONTAINER,
            gateway_env.apply(lambda text: gateway_argv(g, paths, revision(text, scripts))),
            g.health_timeout_seconds, [env_step, *chain])

        if g.tls_mode != "none":
            caddyfile = render_caddyfile(g)
            files = [write("caddyfile", paths.caddyfile, "text", caddyfile, secret=False)]
            cert: pulumi.Output[list[str]] = pulumi.Output.from_input([caddyfile])
            if g.tls_mode == "provided":
                if secrets.tls_certificate is None or secrets.tls_private_key is None:
                    raise ValueError("tlsMode provided needs the tlsCertificate and tlsPrivateKey secrets")
                tls = paths.tls_dir
                files += [write("tls-certificate", f"{tls}/cert.pem", "pem", secrets.tls_certificate),
                          write("tls-private-key", f"{tls}/key.pem", "pem", secrets.tls_private_key)]
                cert = pulumi.Output.all(caddyfile, secrets.tls_certificate, secrets.tls_private_key)
            container("proxy", PROXY_CONTAINER,
                      cert.apply(lambda texts: proxy_argv(g, paths, revision(*texts, scripts))),
                      g.health_timeout_seconds, [*files, gateway])

        self.url = pulumi.Output.from_input(g.url)
        self.deploy_stdout = gateway.stdout
        self.register_outputs({"url": self.url})
