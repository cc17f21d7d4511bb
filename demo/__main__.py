"""`make demo`: the whole system on one machine, on embedded defaults.

1. a local AWS endpoint (the moto server on 127.0.0.1) and OpenAI-compatible stand-ins for the two
   backends (canned text, real token counts);
2. the AWS side created from the same Pulumi program and stack settings as a real deploy, under
   Pulumi mocks that create every AWS resource in the local endpoint through boto3;
3. the gateway (a local process) and a mixed workload through it with the official `openai` client,
   ending in one budget breach;
4. the cost-tracker handler, with the environment the program gave the Lambda, against the gateway
   and the local endpoint;
5. a report: spend by backend and model, budget per period, metrics pushed, and whether each alarm
   would fire now; also as JSON and a PNG chart; then one MCP tool result and one plain-language
   answer from the operator tools (llm_ops) against the same gateway. Everything started is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO_BUDGETS = {"dailyBudgetUsd": "0.002", "monthlyBudgetUsd": "0.05"}
START_TIMEOUT_S = 20.0


def child_pids() -> list[int]:
    """Processes this demo started (Linux /proc), so the end-to-end test can check none survive."""
    pids: set[int] = set()
    for children in Path("/proc/self/task").glob("*/children"):
        pids.update(int(pid) for pid in children.read_text().split())
    return sorted(pids)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def gateway_process(env: dict[str, str], url: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m gateway` with the given environment; waits for /healthz, stops it on exit."""
    import requests

    path = os.pathsep.join([str(REPO / "functions"), str(REPO)])
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gateway"], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **env, "PYTHONPATH": path}, cwd=REPO)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"gateway exited with {proc.returncode}; see {log_path}")
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{url}/healthz", timeout=1).ok:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gateway not healthy after {START_TIMEOUT_S:.0f} s; see {log_path}")
                time.sleep(0.1)
            yield proc
        finally:
            proc.terminate()  # SIGTERM: the gateway flushes its ledger and exits
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def wait_for_ledger(url: str, admin_token: str, expected: int, timeout: float = 10.0) -> dict[str, Any]:
    """The ledger is written in batches off the request path: wait until every request is in it."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        summary = requests.get(f"{url}/v1/usage/summary", params={"period": "month"},
                               headers={"Authorization": f"Bearer {admin_token}"}, timeout=5).json()
        if summary["totals"]["requests"] >= expected or time.monotonic() > deadline:
            return summary
        time.sleep(0.1)


def run_tracker(function_name: str, lambda_client: Any) -> dict[str, Any]:
    """Invoke the handler in this process with the environment the program gave the Lambda."""
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    os.environ.update(config["Environment"]["Variables"])
    from cost_tracker.handler import handler

    return handler({"source": "aws.events", "detail-type": "Scheduled Event"}, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="staging", choices=("staging", "prod"))
    parser.add_argument("--out", default=str(REPO / "demo-output"), help="where report.json and the chart go")
    parser.add_argument("--requests", type=int, default=40, help="requests in the mixed phase")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    # Heavy imports (pulumi, boto3, openai) after the arguments, so `--help` answers at once.
    import boto3

    from components.gateway_env import gateway_environment
    from components.program_runner import PROJECT, run_program, stack_config
    from components.settings import parse_settings
    from demo import report as reporting
    from demo.aws_emulator import MotoBackedMocks
    from demo.insights_step import export_and_query, prewarm
    from demo.insights_step import render as render_insights
    from demo.ops_tail import closing_lines
    from demo.workload import run_workload
    from standins import Script, standin_process

    demo_secrets = {
        "gatewayAdminToken": secrets.token_urlsafe(24),
        "lambdaApiKey": secrets.token_urlsafe(24),
        "gatewayClientTokens": secrets.token_urlsafe(24),
    }
    client_token = demo_secrets["gatewayClientTokens"]
    gateway_port = _free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    overrides: dict[str, str | None] = {
        **DEMO_BUDGETS,
        "gatewayEnabled": "false",        # no GPU host here: the gateway runs as a local process
        "gatewayUrl": gateway_url,
        "gpuInstanceType": None,          # ... and there are no GPU hours to price
        "gpuHourlyUsd": None,
        "encryptAlertTopic": "false",
        "usageExportEnabled": "true",     # the usage export to (local) S3; Snowflake runs emulated below
    }

    with contextlib.ExitStack() as stack:
        print("[1/6] local AWS endpoint (moto server) and backend stand-ins ...", flush=True)
        emulator_import = prewarm()
        aws_url = stack.enter_context(moto_server())
        os.environ.update({"AWS_ENDPOINT_URL": aws_url, "AWS_ACCESS_KEY_ID": "demo",
                           "AWS_SECRET_ACCESS_KEY": "demo", "AWS_DEFAULT_REGION": "us-east-1"})
        serverless_url = stack.enter_context(standin_process("serverless-standin", Script(reply_tokens=48)))
        gpu_url = stack.enter_context(standin_process("gpu-standin", Script(reply_tokens=48)))
        # The gateway's side of the settings: the stand-ins (loopback) and a free local port.
        overrides.update({"serverlessBaseUrl": serverless_url, "gpuBaseUrl": gpu_url,
                          "gatewayPort": str(gateway_port)})

        print(f"[2/6] AWS side from the Pulumi program, stack {args.stack} ...", flush=True)
        mocks = MotoBackedMocks(aws_url)
        outputs = run_program(mocks, args.stack, overrides=overrides, secrets=demo_secrets).outputs
        raw = {k.removeprefix(f"{PROJECT}:"): v for k, v in stack_config(args.stack, overrides).items()}
        settings = parse_settings(args.stack, "us-east-1", raw)

        print("[3/6] gateway and a mixed workload through it (openai client) ...", flush=True)
        gateway_env = gateway_environment(
            settings, client_tokens=client_token, admin_token=demo_secrets["gatewayAdminToken"],
            serverless_api_key=secrets.token_urlsafe(16), ledger_url=str(out / "ledger.sqlite3"))
        with contextlib.suppress(FileNotFoundError):
            for suffix in ("", "-wal", "-shm"):
                (out / f"ledger.sqlite3{suffix}").unlink()
        stack.enter_context(gateway_process(gateway_env, gateway_url, out / "gateway.log"))
        workload = run_workload(gateway_url, client_token, mixed_requests=args.requests)
        usage = wait_for_ledger(gateway_url, demo_secrets["gatewayAdminToken"], workload.ok)

        print("[4/6] cost tracker handler against the gateway and the local endpoint ...", flush=True)
        session = boto3.session.Session(region_name="us-east-1")
        lambda_client = session.client("lambda", endpoint_url=aws_url)
        tracker = run_tracker(outputs["costTrackerFunctionName"], lambda_client)
        cloudwatch = session.client("cloudwatch", endpoint_url=aws_url)

        print("[5/6] usage export to S3, loaded into AI_INSIGHTS (Snowflake emulated by fakesnow) ...",
              flush=True)
        emulator_import.join(60)
        insights = export_and_query(outputs["usageExportFunctionName"], lambda_client,
                                    session.client("s3", endpoint_url=aws_url), settings.time_zone,
                                    out / "export")

        print("[6/6] report ...", flush=True)
        result = reporting.build(
            stack=args.stack, settings=settings, outputs=outputs, workload=workload, usage=usage,
            tracker=tracker, cloudwatch=cloudwatch, created=mocks.created, now=datetime.now(UTC),
            processes=child_pids(),
        )
        result["insights"] = insights
        (out / "report.json").write_text(json.dumps(result, indent=2, default=str))
        reporting.chart(result, out / "spend.png")
        print(reporting.render_text(result))
        print(render_insights(insights))
        print("\nOperator tools against the same gateway:")
        print(closing_lines(gateway_url, client_token, demo_secrets["gatewayAdminToken"]))
        print(f"\nwrote {out / 'report.json'} and {out / 'spend.png'} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
