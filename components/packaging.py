"""Deterministic Lambda zips built from the repo at `pulumi up` time.

Why deterministic: fixed timestamps, permissions and sorted entries make the same sources give the
same bytes, so the content hash (the function's source_code_hash) only changes when code does and
an unchanged function is never redeployed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
BUILD_DIR = REPO_ROOT / "build"
TRACKER_VENDOR_DIR = BUILD_DIR / "tracker-vendor"
MAX_ZIP_BYTES = 5 * 1024 * 1024
# The Lambda runtime provides these; bundling them bloats the zip and pins a stale SDK.
FORBIDDEN_TOP_LEVEL = frozenset({"boto3", "botocore", "s3transfer"})
_EXCLUDED_DIRS = frozenset({"__pycache__", "tests"})
# Console scripts of vendored packages: useless in Lambda.
_EXCLUDED_TOP_LEVEL = frozenset({"bin"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".dist-info/RECORD")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class PackagingError(RuntimeError):
    """A Lambda zip cannot be built; the message says what to do."""


@dataclass(frozen=True)
class BuiltZip:
    path: Path
    sha256_b64: str  # the form Lambda's source_code_hash expects
    size: int


def _files(root: Path, prefix: str) -> Iterable[tuple[str, Path]]:
    if root.is_file():  # a single module: prefix is its folder in the zip
        yield f"{prefix}{root.name}", root
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_dir() or any(part in _EXCLUDED_DIRS or part.startswith(".") for part in rel.parts):
            continue
        name = f"{prefix}{rel.as_posix()}"
        if name.endswith(_EXCLUDED_SUFFIXES) or name.split("/", 1)[0] in _EXCLUDED_TOP_LEVEL:
            continue
        yield name, path


def build_zip(name: str, sources: Iterable[tuple[Path, str]], out_dir: Path = BUILD_DIR) -> BuiltZip:
    """Zip each (directory or file, prefix-in-zip) source into out_dir/name.zip, byte-for-byte
    reproducibly."""
    entries: dict[str, Path] = {}
    for root, prefix in sources:
        if not root.exists():
            raise PackagingError(f"{name}: source {root} does not exist")
        for arcname, path in _files(root, prefix):
            entries.setdefault(arcname, path)
    forbidden = sorted({a.split("/", 1)[0] for a in entries} & FORBIDDEN_TOP_LEVEL)
    if forbidden:
        raise PackagingError(f"{name}: {', '.join(forbidden)} must not be bundled "
                             "(the Lambda runtime provides it)")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}.zip"
    # A unique temp file, then an atomic rename: parallel builds (two stacks, test runs) never clash.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}-", suffix=".zip.tmp", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for arcname in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[arcname].read_bytes())
    data = tmp.read_bytes()
    if len(data) > MAX_ZIP_BYTES:
        tmp.unlink()
        raise PackagingError(f"{name}: zip is {len(data)} bytes, over the {MAX_ZIP_BYTES} byte budget")
    tmp.replace(out)
    return BuiltZip(out, base64.b64encode(hashlib.sha256(data).digest()).decode(), len(data))


def build_tracker_zip(out_dir: Path = BUILD_DIR, vendor_dir: Path = TRACKER_VENDOR_DIR,
                      functions_dir: Path = FUNCTIONS_DIR) -> BuiltZip:
    """The cost tracker: its handler package, the shared package and the pinned vendored deps."""
    if not (vendor_dir / ".done").exists():
        raise PackagingError(
            f"{vendor_dir} is missing or incomplete: run `make install` to vendor the cost tracker's "
            "pinned dependencies (functions/cost_tracker/requirements.txt)"
        )
    handler = functions_dir / "cost_tracker" / "handler.py"
    if not handler.is_file():
        raise PackagingError(f"{handler} is missing: the tracker's handler module must exist to deploy")
    return build_zip("cost-tracker", [
        (functions_dir / "cost_tracker", "cost_tracker/"),
        (functions_dir / "llm_shared", "llm_shared/"),
        (vendor_dir, ""),
    ], out_dir)


def build_slack_forwarder_zip(out_dir: Path = BUILD_DIR, functions_dir: Path = FUNCTIONS_DIR) -> BuiltZip:
    """The Slack forwarder: its own package and the one shared module it imports (the URL rule)."""
    shared = functions_dir / "llm_shared"
    return build_zip("slack-forwarder", [
        (functions_dir / "slack_forwarder", "slack_forwarder/"),
        (shared / "__init__.py", "llm_shared/"),
        (shared / "urls.py", "llm_shared/"),
    ], out_dir)
