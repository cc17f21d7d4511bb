"""The cost monitor's report: run the cost tracker's CLI against one stack, in report mode, and say
whether its spend is at or above the warning threshold.

The tracker Lambda's own environment (from `aws lambda get-function-configuration`, which holds
only Secrets Manager ARNs, never a secret) configures the run, so the monitor reads exactly what
the tracker reads. `--dry-run` always: the tracker stays the only writer of the cost metrics.
A failed read fails this script (exit 1): a report never shows zero because a read failed.

usage: cost_report.py --stack S --type standard|detailed|optimization --lambda-env FILE --out DIR
Writes DIR/report.json and DIR/issue.md; prints `status=...` and `alert=true|false` lines for
$GITHUB_OUTPUT.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

from cost_tracker import cli

ALERT_STATUSES = ("warning", "exceeded")


def lambda_environment(path: Path) -> dict[str, str]:
    """The Lambda's Environment.Variables as JSON; anything else is refused."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: expected a JSON object of strings (Environment.Variables)")
    return data


def run_report(kind: str, environ: dict[str, str]) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--type", kind, "--dry-run"], environ=environ)
    if code != 0:
        raise RuntimeError(f"the cost tracker CLI failed (exit {code}): {err.getvalue().strip()}")
    return json.loads(out.getvalue())


def _line(name: str, period: dict[str, Any]) -> str:
    return (f"| {name} | {period.get('spent_usd')} | {period.get('budget_usd')} | "
            f"{period.get('percent_used')} % | {period.get('status')} |")


def issue_body(stack: str, kind: str, report: dict[str, Any], run_url: str) -> str:
    """Markdown for the one cost-alert issue (one section per stack)."""
    forecast = report.get("forecast", {})
    lines = [
        f"## Stack `{stack}`: {report.get('status')}",
        "",
        f"Cost monitor ({kind}) at {report.get('run_at')}, [run]({run_url}).",
        "",
        "| Period | Spend (USD) | Budget (USD) | Used | Status |",
        "| --- | --- | --- | --- | --- |",
        _line("day", report.get("day", {})),
        _line("month", report.get("month", {})),
        "",
        f"Month forecast: {forecast.get('monthly_usd')} USD ({forecast.get('status')}).",
        "",
        "<details><summary>Full report</summary>",
        "",
        "```json",
        json.dumps(report, indent=2, sort_keys=True),
        "```",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--type", choices=cli.TYPES, default="standard")
    parser.add_argument("--lambda-env", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--run-url", default="")
    args = parser.parse_args(argv)
    try:
        report = run_report(args.type, lambda_environment(args.lambda_env))
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"cost_report: {args.stack}: {exc}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    alert = report.get("status") in ALERT_STATUSES
    if alert:
        (args.out / "issue.md").write_text(issue_body(args.stack, args.type, report, args.run_url))
    print(f"status={report.get('status')}")
    print(f"alert={'true' if alert else 'false'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
