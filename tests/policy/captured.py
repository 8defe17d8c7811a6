"""Turn resources captured by the offline engine into the arguments policies receive.

`pulumi preview --policy-pack` hands each resource policy a `ResourceValidationArgs` whose
`props` are the resource's inputs (camelCase, as the mocks record them) and each stack
policy a `StackValidationArgs` with every resource's outputs and dependencies. Building the
same objects from `plan.offline` registrations lets the tests call each policy's `validate`
directly on exactly what a real stack declares.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from plan.offline import ResourceRecord


def _options(record: ResourceRecord) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=record.protect,
        ignore_changes=[],
        delete_before_replace=record.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=record.parent,
    )


def resource_args(
    record: ResourceRecord, stack_tags: Mapping[str, str] | None = None
) -> ResourceValidationArgs:
    """What a resource policy receives for this registration."""
    return ResourceValidationArgs(
        resource_type=record.type,
        props=copy.deepcopy(record.inputs),
        urn=record.urn,
        name=record.name,
        opts=_options(record),
        provider=None,
        stack_tags=dict(stack_tags or {}),
    )


def stack_args(
    records: Iterable[ResourceRecord], stack_tags: Mapping[str, str] | None = None
) -> StackValidationArgs:
    """What a stack policy receives for these registrations (outputs and dependencies)."""
    records = [r for r in records if r.custom]
    resources = {
        r.urn: PolicyResource(
            resource_type=r.type,
            props=copy.deepcopy(r.outputs),
            urn=r.urn,
            name=r.name,
            opts=_options(r),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for r in records
    }
    for r in records:
        resources[r.urn].dependencies = [resources[u] for u in r.dependencies if u in resources]
    return StackValidationArgs(list(resources.values()), stack_tags=dict(stack_tags or {}))


def violations(policy: Policy, args: ResourceValidationArgs | StackValidationArgs) -> list[str]:
    """Every violation message `policy` reports for `args`."""
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        assert isinstance(args, ResourceValidationArgs)
        policy.validate(args, report)
    else:
        assert isinstance(policy, StackValidationPolicy)
        assert isinstance(args, StackValidationArgs)
        policy.validate(args, report)
    return found


def changed(record: ResourceRecord, change: Callable[[dict[str, Any]], None]) -> ResourceRecord:
    """A copy of `record` whose inputs and outputs both went through `change`."""
    inputs = copy.deepcopy(record.inputs)
    outputs = copy.deepcopy(record.outputs)
    change(inputs)
    change(outputs)
    return dataclasses.replace(record, inputs=inputs, outputs=outputs)


def set_path(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets a dotted property path (creating objects on the way); None deletes."""

    def change(props: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = props
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)

    return change
