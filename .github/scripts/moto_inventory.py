"""Count what the Pulumi program created in a local AWS endpoint, and check it against expectations.

integration.yml runs it after `pulumi up` (everything the program declares must exist) and after
`pulumi destroy` (nothing may be left), so a resource the provider "created" only in Pulumi's state,
or one that outlives the stack, fails the job.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import boto3

# What the program always creates with the gateway disabled: daily and monthly alarms at two
# thresholds, forecast, heartbeat and tracker errors (7); gateway token and Lambda API key secrets.
# tests/pipeline/test_integration_stack.py checks these against the program itself.
CREATED_AT_LEAST = {"sns_topics": 1, "metric_alarms": 7, "lambda_functions": 1, "secrets": 2,
                    "event_rules": 1, "log_groups": 1, "iam_roles": 1, "dashboards": 1}
# The Pulumi resource type behind each count.
RESOURCE_TYPES = {
    "sns_topics": "aws:sns/topic:Topic",
    "metric_alarms": "aws:cloudwatch/metricAlarm:MetricAlarm",
    "lambda_functions": "aws:lambda/function:Function",
    "secrets": "aws:secretsmanager/secret:Secret",
    "event_rules": "aws:cloudwatch/eventRule:EventRule",
    "log_groups": "aws:cloudwatch/logGroup:LogGroup",
    "iam_roles": "aws:iam/role:Role",
    "dashboards": "aws:cloudwatch/dashboard:Dashboard",
}


def inventory(endpoint_url: str | None, region: str) -> dict[str, int]:
    """Resource counts per kind in the endpoint (None: the default AWS endpoint or an in-process mock)."""

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint_url, region_name=region)

    counters: dict[str, Callable[[], int]] = {
        "sns_topics": lambda: len(client("sns").list_topics()["Topics"]),
        "metric_alarms": lambda: len(client("cloudwatch").describe_alarms()["MetricAlarms"]),
        "lambda_functions": lambda: len(client("lambda").list_functions()["Functions"]),
        "secrets": lambda: len(client("secretsmanager").list_secrets()["SecretList"]),
        "event_rules": lambda: len(client("events").list_rules()["Rules"]),
        "log_groups": lambda: len(client("logs").describe_log_groups()["logGroups"]),
        "iam_roles": lambda: len([r for r in client("iam").list_roles()["Roles"]
                                  if not r["Path"].startswith("/aws-service-role/")]),
        "dashboards": lambda: len(client("cloudwatch").list_dashboards()["DashboardEntries"]),
    }
    return {kind: count() for kind, count in counters.items()}


def problems(counts: dict[str, int], expect: str) -> list[str]:
    """What is wrong with the counts for the expected state ('created' or 'destroyed')."""
    if expect == "destroyed":
        return [f"{kind}: {n} left after destroy" for kind, n in counts.items() if n]
    return [f"{kind}: {counts.get(kind, 0)} found, expected at least {least}"
            for kind, least in CREATED_AT_LEAST.items() if counts.get(kind, 0) < least]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--expect", choices=("created", "destroyed"), required=True)
    args = parser.parse_args(argv)
    counts = inventory(args.endpoint_url, args.region)
    print(json.dumps(counts, indent=2, sort_keys=True))
    found = problems(counts, args.expect)
    for problem in found:
        print(f"::error::{problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
