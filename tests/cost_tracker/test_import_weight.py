"""The handler module stays cheap to import: the SDKs load on first use, not at cold start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def test_importing_the_handler_loads_neither_boto3_nor_requests():
    heavy = ("boto3", "botocore", "requests", "urllib3", "sqlite3")
    code = (f"import sys; sys.path[:0] = [{str(FUNCTIONS)!r}]; import cost_tracker.handler; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
