"""The README's layout table (Development, `| Path | What |`) matches the tree: every top-level
folder and every package under functions/ has a row, and every path a row names exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _table_paths() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| Path | What |")
    rows = []
    for line in readme[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1])
    return [p.rstrip("/") for row in rows for p in re.findall(r"`([^`]+)`", row)]


def _tracked() -> list[str]:
    listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return listing.stdout.split()


def test_every_path_in_the_layout_table_exists():
    tracked = _tracked()
    for path in _table_paths():
        exists = any(t == path or t.startswith(f"{path}/") for t in tracked)
        assert exists, f"README names {path}: not in the tree"


def test_every_folder_and_package_has_a_row():
    listed = set(_table_paths())
    tracked = _tracked()
    folders = {t.split("/")[0] for t in tracked if "/" in t and not t.startswith(".github/")}
    folders |= {"/".join(t.split("/")[:2]) for t in tracked if t.startswith((".github/", "functions/"))
                and t.count("/") >= 2}
    folders -= {"functions"}
    missing = {f for f in folders if f not in listed}
    assert not missing, f"README's layout table has no row for {sorted(missing)}"
