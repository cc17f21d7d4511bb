from __future__ import annotations

import pytest

from tests.program.harness import ProgramRun

from .full_program import run_everything
from .harness import BootstrapRun, run_bootstrap


@pytest.fixture(scope="package")
def bootstrap_run() -> BootstrapRun:
    return run_bootstrap()


@pytest.fixture(scope="package")
def full_programs() -> dict[str, ProgramRun]:
    """The main program of each stack with every optional component on and the bootstrap's boundary."""
    return {stack: run_everything(stack) for stack in ("staging", "prod")}
