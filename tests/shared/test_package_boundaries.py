"""The shared package must import nothing from AWS or Pulumi: it ships in the gateway image too."""

from __future__ import annotations

import ast
from pathlib import Path

import llm_shared

FORBIDDEN = ("boto3", "botocore", "pulumi", "pulumi_aws", "pulumi_command", "moto")


def test_shared_package_has_no_cloud_imports():
    root = Path(llm_shared.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
    assert len(list(root.glob("*.py"))) >= 10
