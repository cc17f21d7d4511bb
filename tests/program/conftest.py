"""One real program run per committed stack, shared by every test that only reads its resources."""

from __future__ import annotations

import pytest

from tests.program.harness import ProgramRun, run_program

STACKS = ("staging", "prod")


@pytest.fixture(scope="session")
def program_runs() -> dict[str, ProgramRun]:
    return {stack: run_program(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def run(request: pytest.FixtureRequest, program_runs: dict[str, ProgramRun]) -> ProgramRun:
    return program_runs[request.param]
