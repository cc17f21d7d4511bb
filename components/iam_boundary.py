"""The permissions boundary every IAM role of the stack carries, when the stack has one configured.

Why: the deploy role (bootstrap/deploy_policy.py) may create roles and write their inline policies.
It may only do so for roles carrying the stack's boundary, a managed policy it cannot change, so it
cannot grant itself more through a role it creates. The bootstrap writes the boundary's ARN into
the stack's ESC environment as `iamPermissionsBoundaryArn`; a stack run without the bootstrap
leaves it unset and its roles get none. One stack transformation sets it, so a role a component
adds later carries it too.
"""

from __future__ import annotations

import re

import pulumi

KEY = "iamPermissionsBoundaryArn"
ALLOWED = "the ARN of an IAM managed policy, arn:aws:iam::<12 digits>:policy/<name> (written by bootstrap/)"
ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:policy/[\w+=,.@/-]{1,128}$")
ROLE_TYPE = "aws:iam/role:Role"


def boundary_transformation(boundary_arn: str) -> pulumi.ResourceTransformation:
    """Sets permissions_boundary on every aws.iam.Role (a role naming its own boundary keeps it)."""

    def add_boundary(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != ROLE_TYPE or args.props.get("permissions_boundary"):
            return None
        return pulumi.ResourceTransformationResult({**args.props, "permissions_boundary": boundary_arn},
                                                   args.opts)

    return add_boundary
