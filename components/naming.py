"""Names and cost-allocation tags of everything the program creates: one owner, from the Pulumi
project and stack the engine runs (pulumi.get_project()/get_stack()), never a hard-coded copy.

Every component derives from `CostTaggedComponent`: its type token is `<project>:index:<Kind>` and
every taggable AWS resource under it carries the tags project, stack and component, so Cost
Explorer can split the bill by stack and by concern. Why a transformation and not the AWS
provider's default_tags: an explicit provider does not read the stack's `aws:` config (the
integration stack points the default provider at a local endpoint that way), and moving every
resource to a new provider is a change of provider on a deployed stack; see docs/adr/0004.
"""

from __future__ import annotations

import re
from pathlib import Path

import pulumi

_PULUMI_YAML = Path(__file__).resolve().parent.parent / "Pulumi.yaml"


def _committed_project() -> str:
    match = re.search(r"^name:\s*(\S+)\s*$", _PULUMI_YAML.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise RuntimeError(f"{_PULUMI_YAML} has no top-level 'name:'")
    return match.group(1)


# The project name as Pulumi.yaml declares it, for code that runs outside the engine (the program
# runner, config error messages); inside the program pulumi.get_project() returns the same.
PROJECT = _committed_project()
TAG_KEYS = ("project", "stack", "component")


def stack_prefix() -> str:
    """`<project>-<stack>`: the start of every physical name, so two stacks never collide."""
    return f"{pulumi.get_project()}-{pulumi.get_stack()}"


def physical_name(*parts: str) -> str:
    """A physical (AWS) name: the stack prefix and the parts, joined by '-'."""
    return "-".join((stack_prefix(), *parts))


def cost_tags(component: str) -> dict[str, str]:
    """The cost-allocation tags of a resource under `component` (a component kind, e.g. CostTracker)."""
    return dict(zip(TAG_KEYS, (pulumi.get_project(), pulumi.get_stack(), component), strict=True))


def _tagging(component: str) -> pulumi.ResourceTransformation:
    def add_tags(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        # Generated pulumi-aws classes list every declared input in props: "tags" means taggable.
        if not args.type_.startswith("aws:") or "tags" not in args.props:
            return None
        props = dict(args.props)
        tags = cost_tags(component)
        own = props.get("tags") or {}
        if isinstance(own, dict):
            props["tags"] = {**tags, **own}
        else:  # an Output of tags: merged once it resolves
            props["tags"] = pulumi.Output.from_input(own).apply(lambda resolved: {**tags, **(resolved or {})})
        return pulumi.ResourceTransformationResult(props, args.opts)

    return add_tags


class CostTaggedComponent(pulumi.ComponentResource):
    """A component typed `<project>:index:<kind>` whose taggable AWS children carry the cost tags."""

    def __init__(self, kind: str, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        tagged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[_tagging(kind)]))
        super().__init__(f"{pulumi.get_project()}:index:{kind}", name, None, tagged)
