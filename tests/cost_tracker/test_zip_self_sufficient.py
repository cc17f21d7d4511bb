"""The Lambda zip carries what the handler needs: its zones work without a system tz database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from components.packaging import build_tracker_zip
from standins.gateway_usage import gateway_standin

from .conftest import GATEWAY_TOKEN, SMALL, add_usage

_PROBE = (
    "import sys, zoneinfo; from datetime import datetime, UTC; "
    "from cost_tracker.config import load_tracker_config; "
    "env = dict(METRIC_NAMESPACE='N', STACK_NAME='s', DAILY_BUDGET_USD='1', MONTHLY_BUDGET_USD='30', "
    "GATEWAY_URL='https://gw.example.com', GATEWAY_TOKEN_SECRET_ARN='arn:x', TIME_ZONE='Europe/Berlin'); "
    "s = load_tracker_config(env); print(datetime(2026, 7, 1, tzinfo=UTC).astimezone(s.zone).utcoffset())"
)


def _probe(tmp_path: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """Run the probe with only `paths` importable and no system zone files (as on a bare image)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TZ")}
    env["PYTHONTZPATH"] = str(tmp_path / "no-zoneinfo")
    code = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}; " + _PROBE
    return subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def test_time_zones_work_from_the_zip_alone(tmp_path):
    built = build_tracker_zip(out_dir=tmp_path)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(built.path).extractall(unpacked)
    result = _probe(tmp_path, unpacked)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2:00:00"  # CEST, from the vendored tzdata package


def test_without_the_vendored_zones_a_bare_image_could_not_resolve_them(tmp_path):
    functions = Path(__file__).resolve().parents[2] / "functions"
    result = _probe(tmp_path, functions)
    if result.returncode == 0:
        pytest.skip("this interpreter has its own tzdata package; the bare-image case cannot be shown")
    assert "TIME_ZONE: time zone 'Europe/Berlin' is not a known IANA zone" in result.stderr


def test_a_run_from_the_unpacked_zip_uses_only_what_the_zip_carries(tmp_path, ledger):
    built = build_tracker_zip(out_dir=tmp_path)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(built.path).extractall(unpacked)
    environ = {"METRIC_NAMESPACE": "N", "STACK_NAME": "zip", "DAILY_BUDGET_USD": "5",
               "MONTHLY_BUDGET_USD": "50", "GATEWAY_TOKEN_SECRET_ARN": "arn:x:token"}
    code = (
        "import json; from cost_tracker.config import load_tracker_config; "
        "from cost_tracker.run import Deps, default_session, run_once; "
        "from cost_tracker.secrets import SecretCache; import requests, sys; "
        "env = json.loads(sys.argv[1]); secrets = SecretCache(lambda: None); "
        "secrets.seed(env['GATEWAY_TOKEN_SECRET_ARN'], sys.argv[2]); "
        "deps = Deps(secrets, default_session, lambda: None); "
        "result = run_once(load_tracker_config(env), deps, dry_run=True); "
        "print(json.dumps({'requests': requests.__file__, 'requests_day': result.report['requests_day'], "
        "'modules': sorted({m.split('.')[0] for m in sys.modules})}))"
    )
    with gateway_standin(ledger, GATEWAY_TOKEN, lambda: datetime.now(UTC)) as gateway:
        add_usage(ledger, datetime.now(UTC), SMALL, count=2)
        environ["GATEWAY_URL"] = gateway.url
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        command = f"import sys; sys.path.insert(0, {str(unpacked)!r}); " + code
        result = subprocess.run([sys.executable, "-I", "-c", command, json.dumps(environ), GATEWAY_TOKEN],
                                capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["requests"].startswith(str(unpacked))  # the vendored requests, not the venv's
    assert out["requests_day"] == 2
    assert "boto3" not in out["modules"]  # a dry run never needs the SDK
