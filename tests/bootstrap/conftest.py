from __future__ import annotations

import pytest

from .harness import BootstrapRun, run_bootstrap


@pytest.fixture(scope="package")
def bootstrap_run() -> BootstrapRun:
    return run_bootstrap()
