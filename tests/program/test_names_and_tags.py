"""Names come from the Pulumi project and stack; every taggable AWS resource carries the cost tags."""

from __future__ import annotations

import importlib
import inspect
import re

import pulumi

from components.naming import PROJECT, TAG_KEYS
from tests.program.harness import ProgramRun, run_program


def _taggable(type_token: str) -> bool:
    """Whether pulumi-aws declares a `tags` input for this resource type (read from its class)."""
    _, module_path, cls_name = type_token.split(":")
    module = module_path.split("/")[0]
    package = importlib.import_module(f"pulumi_aws.{module}{'_' if module == 'lambda' else ''}")
    return "tags" in inspect.signature(getattr(package, cls_name)._internal_init).parameters


def _component_kind(run: ProgramRun, resource: pulumi.runtime.MockResourceArgs) -> str:
    """The kind of the component a resource was declared in: the last type in its parent's URN."""
    parent = run.options[(resource.typ, resource.name)].parent
    return parent.split("::")[2].split("$")[-1].rsplit(":", 1)[1]


def test_every_taggable_aws_resource_has_project_stack_and_component_tags(run):
    taggable = [r for r in run.resources if r.typ.startswith("aws:") and _taggable(r.typ)]
    assert {r.typ for r in taggable} >= {"aws:sns/topic:Topic", "aws:lambda/function:Function",
                                        "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role",
                                        "aws:cloudwatch/metricAlarm:MetricAlarm",
                                        "aws:secretsmanager/secret:Secret"}
    for resource in taggable:
        tags = resource.inputs.get("tags") or {}
        assert tuple(k for k in TAG_KEYS if k in tags) == TAG_KEYS, (resource.typ, resource.name, tags)
        assert tags["project"] == PROJECT and tags["stack"] == run.stack
        assert tags["component"] == _component_kind(run, resource), (resource.typ, resource.name, tags)


def test_physical_names_start_with_project_and_stack_from_the_engine(run):
    names = [r.inputs["name"] for r in run.resources
             if r.typ in ("aws:sns/topic:Topic", "aws:lambda/function:Function",
                          "aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert names and all(name.startswith(f"{PROJECT}-{run.stack}-") for name in names)


def test_component_types_use_the_project_name(run):
    components = [r.typ for r in run.resources if not r.typ.startswith(("aws:", "command:", "pulumi:"))]
    assert components and all(re.fullmatch(rf"{PROJECT}:index:[A-Z][A-Za-z]+", t) for t in components)


def test_a_stack_of_another_name_names_everything_after_it():
    """Nothing hard-codes a stack: a stack named differently (same config) is named after itself."""
    run = run_program("staging", stack_name="qa")
    function = run.of_type("aws:lambda/function:Function")[0]
    assert function.inputs["name"] == f"{PROJECT}-qa-cost-tracker"
    assert function.inputs["tags"]["stack"] == "qa"
    assert pulumi.get_stack() == "qa"
