"""A second `pulumi up` with nothing changed changes nothing; a change touches only what depends on it."""

from __future__ import annotations

from typing import Any

import pulumi

from tests.program.harness import ProgramRun, run_program


def normalized(value: Any) -> Any:
    """Inputs as comparable data (assets and archives by path, as their content hash follows the file)."""
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return (type(value).__name__, value.path)
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalized(v) for v in value]
    return value


def inputs_by_resource(run: ProgramRun) -> dict[tuple[str, str], Any]:
    return {(r.typ, r.name): normalized(r.inputs) for r in run.resources}


def changed(before: ProgramRun, after: ProgramRun) -> set[str]:
    old, new = inputs_by_resource(before), inputs_by_resource(after)
    assert old.keys() == new.keys()
    return {name for (typ, name), inputs in new.items() if old[(typ, name)] != inputs}


# Each test makes its own baseline right before the change: the session's run may predate an edit
# of functions/ by someone else, which (rightly) changes the tracker's code hash.


def test_running_the_program_again_declares_identical_inputs():
    assert changed(run_program("prod"), run_program("prod")) == set()


def test_a_new_image_changes_only_the_container_step():
    before = run_program("prod")
    after = run_program("prod", {"gatewayImage": "ghcr.io/example-org/llm-gateway:0.2.0"})
    assert changed(before, after) == {"gateway-container"}


def test_a_budget_change_reaches_alarms_tracker_dashboard_and_gateway_but_not_the_rest():
    before = run_program("prod")
    after = run_program("prod", {"dailyBudgetUsd": "60"})
    assert changed(before, after) == {
        "budget-alarms-daily-cost-warning", "budget-alarms-daily-cost-critical",  # thresholds
        "cost-tracker",                                                             # DAILY_BUDGET_USD
        "dashboard",                                                                # budget lines
        "gateway-env-file", "gateway-container",                                    # env file + restart
    }


def test_a_model_server_setting_changes_only_the_model_server_step():
    before = run_program("prod")
    for key, value in (("modelServerGpuMemoryUtilization", "0.8"),
                       ("modelServerExtraArgs", '["--max-model-len", "8192"]'),
                       ("modelServerImage", "vllm/vllm-openai:v0.11.1")):
        assert changed(before, run_program("prod", {key: value})) == {"gateway-model-server"}, key


def test_a_new_model_map_restarts_the_model_server_and_the_gateway_but_not_the_proxy():
    """The gateway routes by the map (its env file has it), so it restarts with the new one."""
    before = run_program("prod")
    after = run_program("prod", {"gpuModelMap": '{"llama3.1-8b-instruct": "meta-llama/Llama-3.1-8B"}'})
    assert changed(before, after) == {"gateway-model-server", "gateway-env-file", "gateway-container"}
