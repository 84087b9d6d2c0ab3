"""Acknowledge a cdk-nag finding precisely, at the construct that causes it, with its reason.

cdk-nag 3 reports each IAM wildcard as its own finding, named after the rendered resource
(``AwsSolutions-IAM5[Resource::<LogGroupD9735569.Arn>:log-stream:*]``). Rather than copying
hashed logical ids into the code, :func:`acknowledge_wildcard` renders the resource the way
cdk-nag does, so the acknowledgment follows the resource through refactors and covers that one
wildcard only.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def render_for_nag(value: Any) -> str:
    """Render resolved CloudFormation as cdk-nag does: ``Ref`` → ``<Name>``, ``GetAtt`` → ``<Id.Attr>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render_for_nag(part) for part in parts)
    raise ValueError(f"cannot render {value!r} for a cdk-nag acknowledgment")


def acknowledge_wildcard(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for exactly one wildcard ``resource`` granted under ``scope``."""
    rendered = render_for_nag(Stack.of(scope).resolve(resource))
    Validations.of(scope).acknowledge(
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{rendered}]", reason=reason)
    )


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge a whole AwsSolutions rule under ``scope``."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::{rule}", reason=reason))
