"""The Lambda zips: right contents, no boto3, small, and byte-for-byte reproducible."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from components.packaging import (
    MAX_ZIP_BYTES,
    TRACKER_VENDOR_DIR,
    PackagingError,
    build_slack_forwarder_zip,
    build_tracker_zip,
    build_zip,
)


@pytest.fixture(scope="module")
def tracker_zip(tmp_path_factory):
    return build_tracker_zip(out_dir=tmp_path_factory.mktemp("zip"))


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_tracker_zip_has_handler_shared_package_and_vendored_deps(tracker_zip):
    entries = set(names(tracker_zip.path))
    assert {"cost_tracker/handler.py", "cost_tracker/env_names.py", "llm_shared/__init__.py",
            "llm_shared/catalog.json", "llm_shared/cloudwatch_contract.py", "requests/__init__.py",
            "urllib3/__init__.py"} <= entries


def test_tracker_zip_carries_no_gateway_only_module(tracker_zip):
    """The usage ledger is the gateway's (the tracker reads usage over HTTP): it stays out of the zip."""
    assert [n for n in names(tracker_zip.path) if n.rsplit("/", 1)[-1].startswith("ledger")] == []


def test_tracker_zip_has_no_boto3_caches_tests_or_console_scripts(tracker_zip):
    for name in names(tracker_zip.path):
        top = name.split("/", 1)[0]
        assert top not in {"boto3", "botocore", "s3transfer", "bin", "tests"}, name
        assert top not in {"llm_ops", "mcp", "langgraph"}, name  # operator tools never ship to Lambda
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
        assert not Path(name).name.startswith("."), name


def test_tracker_zip_is_under_5_mb(tracker_zip):
    assert tracker_zip.size == tracker_zip.path.stat().st_size < MAX_ZIP_BYTES


def test_zip_is_reproducible_so_unchanged_code_does_not_redeploy(tracker_zip, tmp_path):
    again = build_tracker_zip(out_dir=tmp_path)
    assert again.sha256_b64 == tracker_zip.sha256_b64
    assert again.path.read_bytes() == tracker_zip.path.read_bytes()
    with zipfile.ZipFile(again.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_a_code_change_changes_the_hash(tmp_path):
    source = tmp_path / "pkg"
    source.mkdir()
    (source / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    first = build_zip("fn", [(source, "pkg/")], tmp_path / "out")
    (source / "handler.py").write_text("def handler(event, context):\n    return 2\n")
    assert build_zip("fn", [(source, "pkg/")], tmp_path / "out").sha256_b64 != first.sha256_b64


def test_the_zip_alone_imports_the_handler_with_only_stdlib_and_boto3(tracker_zip, tmp_path):
    """Unzipped and isolated from this venv (as in Lambda, where boto3 is the runtime's): the vendored
    dependencies are complete."""
    root = tmp_path / "lambda"
    with zipfile.ZipFile(tracker_zip.path) as archive:
        archive.extractall(root)
    # What the python3.12 Lambda runtime adds: boto3 and its own dependencies, nothing else.
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(__import__("boto3").__file__).parents[1]
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py"):
        if (site / name).exists():
            (runtime / name).symlink_to(site / name)
    boto3_dir = runtime
    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import cost_tracker.handler as h; "
            "assert callable(h.handler); import requests; assert requests.__file__.startswith(sys.argv[1])")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(root), str(boto3_dir)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_missing_vendor_dir_says_to_run_make_install(tmp_path):
    with pytest.raises(PackagingError, match="make install"):
        build_tracker_zip(out_dir=tmp_path, vendor_dir=tmp_path / "no-vendor")


def test_boto3_in_the_vendor_dir_is_refused(tmp_path):
    vendor = tmp_path / "vendor"
    (vendor / "boto3").mkdir(parents=True)
    (vendor / "boto3" / "__init__.py").write_text("")
    (vendor / ".done").write_text("")
    with pytest.raises(PackagingError, match="boto3 must not be bundled"):
        build_tracker_zip(out_dir=tmp_path, vendor_dir=vendor)


def test_vendor_dir_is_the_one_make_install_fills():
    assert TRACKER_VENDOR_DIR.parts[-2:] == ("build", "tracker-vendor")
    makefile = (TRACKER_VENDOR_DIR.parents[1] / "Makefile").read_text()
    assert "VENDOR  := build/tracker-vendor" in makefile


def test_slack_forwarder_zip_is_its_package_and_the_shared_url_rule_only(tmp_path):
    built = build_slack_forwarder_zip(out_dir=tmp_path)
    assert sorted(names(built.path)) == ["llm_shared/__init__.py", "llm_shared/urls.py",
                                         "slack_forwarder/__init__.py", "slack_forwarder/handler.py"]
    assert built.size < 20_000
    root = tmp_path / "lambda"
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(root)
    code = ("import sys; sys.path[:0] = [sys.argv[1]]; import slack_forwarder.handler as h; "
            "assert callable(h.handler)")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(root)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_parallel_builds_into_one_directory_do_not_clash(tmp_path):
    """Two stacks or two test runs may build at once in the shared build/ directory."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: build_tracker_zip(out_dir=tmp_path), range(4)))
    assert len({r.sha256_b64 for r in results}) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["cost-tracker.zip"]
