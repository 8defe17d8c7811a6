"""Run a few components under Pulumi mocks and return what they registered.

For unit tests of single components (private networking, diagnostics, locks) that take plain
values; whole stacks run through `infra.offline` instead.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT = "azureml-dask"

# type token -> the input holding the Azure name Azure echoes back as `name`
NAME_INPUTS = {
    "azure-native:network:PrivateEndpoint": "privateEndpointName",
    "azure-native:network:PrivateDnsZoneGroup": "privateDnsZoneGroupName",
    "azure-native:privatedns:PrivateZone": "privateZoneName",
    "azure-native:privatedns:VirtualNetworkLink": "virtualNetworkLinkName",
    "azure-native:monitor:DiagnosticSetting": "name",
    "azure-native:authorization:ManagementLockAtResourceGroupLevel": "lockName",
    "azure-native:authorization:ManagementLockByScope": "lockName",
}


@dataclass
class Registration:
    """One custom resource as the mock saw it: type, logical name, camelCase inputs."""

    type: str
    name: str
    id: str
    inputs: dict[str, Any]


class RecordingMocks(pulumi_mocks.Mocks):
    """Mocks that give every resource an ARM-like id and remember every registration."""

    def __init__(self) -> None:
        self.registrations: list[Registration] = []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        resource_id = f"/subscriptions/sub/resourceGroups/rg/providers/mock/{args.name}"
        inputs = dict(args.inputs)
        self.registrations.append(Registration(args.typ, args.name, resource_id, inputs))
        name = inputs.get(NAME_INPUTS.get(args.typ, ""), args.name)
        return resource_id, {**inputs, "name": name}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        return {}, []


def run_components(program: Callable[[], Any], stack: str = "test") -> list[Registration]:
    """Run `program` (which declares resources) under mocks; return every registration."""

    def run() -> list[Registration]:
        runtime_settings.reset_options(project=PROJECT, stack=stack)
        mocks = RecordingMocks()
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
        _sync_await(run_pulumi_func(program))
        return mocks.registrations

    return contextvars.Context().run(run)


def by_type(registrations: list[Registration], type_: str) -> list[Registration]:
    """The registrations of one type token."""
    return [r for r in registrations if r.type == type_]
