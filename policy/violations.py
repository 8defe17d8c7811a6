"""Reading a resource's camelCase properties and wording its violations, for every policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs


def prop(props: Mapping[str, Any] | None, *path: str) -> Any:
    """The value at `path` in a resource's (camelCase) properties, or None where absent."""
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def describe(resource_type: str, name: str, urn: str) -> str:
    """How a violation names its resource: type, logical name and URN."""
    return f"{resource_type} '{name}' ({urn})"


def violation(
    report_violation: ReportViolation,
    *,
    resource_type: str,
    name: str,
    urn: str,
    problem: str,
    fix: str,
    stack_level: bool = False,
) -> None:
    """Report one violation as `<resource>: <problem> Fix: <fix>`.

    Stack policies pass the URN so the CLI attaches the message to the resource; resource
    policies always report against the resource being validated.
    """
    message = f"{describe(resource_type, name, urn)}: {problem} Fix: {fix}"
    report_violation(message, urn if stack_level else None)


def report_resource(
    args: ResourceValidationArgs, report_violation: ReportViolation, problem: str, fix: str
) -> None:
    """Report one violation against the resource a resource policy is validating."""
    violation(
        report_violation,
        resource_type=args.resource_type,
        name=args.name,
        urn=args.urn,
        problem=problem,
        fix=fix,
    )


def report_stack_resource(
    report_violation: ReportViolation, resource: PolicyResource, problem: str, fix: str
) -> None:
    """Report one violation a stack policy found, attached to `resource`."""
    violation(
        report_violation,
        resource_type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        problem=problem,
        fix=fix,
        stack_level=True,
    )
