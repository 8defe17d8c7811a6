"""The example consumer (examples/consumer) against the outputs every stack really exports.

The consumer's own `__main__.py` runs under the offline engine's mocks, extended so that its
`pulumi.StackReference` reads the outputs `plan.offline.run_stack` produced for a stack. A
change to the outputs contract that breaks consumers (a removed or renamed output, a new
version) fails here.
"""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import mocks as pulumi_mocks

from infra.access import ROLES
from infra.outputs import CONTRACT_VERSION
from plan.offline import REPO_ROOT, AzureMocks, ResourceRecord, StackRun, run_program
from tests.infra.test_outputs import RELEASED

CONSUMER = REPO_ROOT / "examples" / "consumer"
PROJECT = yaml.safe_load((CONSUMER / "Pulumi.yaml").read_text())["name"]
PLATFORM_STACK = "my-org/azureml-dask/dev"
# What the consumer reads (also its REQUIRED_OUTPUTS); each must fail clearly when absent.
READ_OUTPUTS = (
    "outputsContractVersion",
    "subscriptionId",
    "resourceGroupName",
    "location",
    "dataLakeAccountName",
    "dataLakeFilesystems",
    "datastoreNames",
)


class StackReferenceMocks(AzureMocks):
    """Azure mocks that also answer stack references with given stacks' outputs."""

    def __init__(self, stacks: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__()
        self.stacks = stacks
        self.references: list[str] = []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs["name"]
            self.references.append(name)
            return name, {"name": name, "outputs": dict(self.stacks[name]), "secretOutputNames": []}
        return super().new_resource(args)


@dataclass
class ConsumerRun:
    run: StackRun
    references: list[str]
    namespace: dict[str, Any] = field(default_factory=dict)


def run_consumer(
    platform_outputs: Mapping[str, Any],
    extra_config: Mapping[str, str] | None = None,
    records: list[ResourceRecord] | None = None,
    *,
    platform_stack: str | None = PLATFORM_STACK,
) -> ConsumerRun:
    """Run examples/consumer/__main__.py as the Pulumi CLI would, against these outputs."""
    mocks = StackReferenceMocks({PLATFORM_STACK: platform_outputs})
    config = {f"{PROJECT}:platformStack": platform_stack} if platform_stack else {}
    config.update({f"{PROJECT}:{k}": v for k, v in (extra_config or {}).items()})
    namespace: dict[str, Any] = {}

    def program() -> None:
        namespace.update(runpy.run_path(str(CONSUMER / "__main__.py"), run_name="__main__"))

    run = run_program(program, "dev", project=PROJECT, config=config, mocks=mocks, records=records)
    return ConsumerRun(run, mocks.references, namespace)


def failure(platform_outputs: Mapping[str, Any], **config: str) -> tuple[str, list]:
    """The consumer's error message for these outputs, and what it registered meanwhile."""
    records: list[ResourceRecord] = []
    with pytest.raises(ValueError) as raised:
        run_consumer(platform_outputs, config, records)
    return str(raised.value), records


def test_consumer_reads_every_stack(stack_run: StackRun) -> None:
    platform = stack_run.outputs
    consumer = run_consumer(platform)
    assert consumer.references == [PLATFORM_STACK]

    group = consumer.run.one("azure-native:resources:ResourceGroup")
    assert group.inputs["resourceGroupName"] == f"rg-{PROJECT}-dev"
    assert group.inputs["location"] == platform["location"]
    identity = consumer.run.one("azure-native:managedidentity:UserAssignedIdentity")
    assert identity.inputs["resourceGroupName"] == group.inputs["resourceGroupName"]
    assert identity.inputs["resourceName"] == f"id-{PROJECT}-dev"

    reader = consumer.run.one("azure-native:authorization:RoleAssignment")
    filesystem = platform["dataLakeFilesystems"][0]
    assert reader.inputs["scope"] == (
        f"/subscriptions/{platform['subscriptionId']}/resourceGroups/"
        f"{platform['resourceGroupName']}/providers/Microsoft.Storage/storageAccounts/"
        f"{platform['dataLakeAccountName']}/blobServices/default/containers/{filesystem}"
    )
    assert reader.inputs["roleDefinitionId"] == (
        f"/subscriptions/{platform['subscriptionId']}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{ROLES['Storage Blob Data Reader']}"
    )
    assert reader.inputs["principalId"] == identity.outputs["principalId"]
    assert reader.inputs["principalType"] == "ServicePrincipal"
    # The team's group and identity, and one role on the platform's side: nothing else.
    assert sorted(r.type for r in consumer.run.resources if r.custom) == sorted(
        [group.type, identity.type, reader.type]
    )

    assert consumer.run.outputs["identityClientId"] == identity.outputs["clientId"]
    assert consumer.run.outputs["dataLakeFilesystem"] == filesystem
    assert consumer.run.outputs["datastoreName"] == platform["datastoreNames"][0]


def test_consumer_accepts_the_current_contract_and_only_released_ones(stack_run: StackRun) -> None:
    namespace = run_consumer(stack_run.outputs).namespace
    accepted = namespace["ACCEPTED_CONTRACT_VERSIONS"]
    # A new CONTRACT_VERSION fails here until the example is checked against it.
    assert CONTRACT_VERSION in accepted
    assert set(accepted) <= set(RELEASED)
    assert set(namespace["REQUIRED_OUTPUTS"]) | {"outputsContractVersion"} == set(READ_OUTPUTS)
    for version in accepted:
        assert set(READ_OUTPUTS) <= set(RELEASED[version]), version
    assert namespace["STORAGE_BLOB_DATA_READER"] == ROLES["Storage Blob Data Reader"]


def test_consumer_reads_the_filesystem_it_is_configured_for(stack_run: StackRun) -> None:
    platform = stack_run.outputs
    filesystem = platform["dataLakeFilesystems"][-1]
    consumer = run_consumer(platform, {"filesystem": filesystem})
    reader = consumer.run.one("azure-native:authorization:RoleAssignment")
    assert reader.inputs["scope"].endswith(f"/blobServices/default/containers/{filesystem}")
    index = platform["dataLakeFilesystems"].index(filesystem)
    assert consumer.run.outputs["datastoreName"] == platform["datastoreNames"][index]


def test_unknown_contract_version_is_refused_before_anything_is_declared(
    stack_run: StackRun,
) -> None:
    message, records = failure({**stack_run.outputs, "outputsContractVersion": "99"})
    assert f"platform stack {PLATFORM_STACK} publishes outputs contract version '99'" in message
    assert "this program accepts 1, 2" in message
    assert records == []


def test_missing_contract_version_is_refused(stack_run: StackRun) -> None:
    platform = {k: v for k, v in stack_run.outputs.items() if k != "outputsContractVersion"}
    message, records = failure(platform)
    assert "outputs contract version None" in message
    assert records == []


@pytest.mark.parametrize("removed", [o for o in READ_OUTPUTS if o != "outputsContractVersion"])
def test_removed_output_is_named(stack_run: StackRun, removed: str) -> None:
    platform = {k: v for k, v in stack_run.outputs.items() if k != removed}
    message, records = failure(platform)
    assert f"(outputs contract version {CONTRACT_VERSION}) has no {removed}:" in message
    assert records == []


def test_renamed_output_is_named(stack_run: StackRun) -> None:
    platform = dict(stack_run.outputs)
    platform["dataLakeName"] = platform.pop("dataLakeAccountName")
    message, _ = failure(platform)
    assert "has no dataLakeAccountName:" in message


def test_unknown_filesystem_names_the_config_key_and_the_choices(stack_run: StackRun) -> None:
    message, records = failure(stack_run.outputs, filesystem="raw")
    choices = ", ".join(stack_run.outputs["dataLakeFilesystems"])
    assert "config filesystem: 'raw' is not in dataLakeFilesystems of platform stack" in message
    assert f"choose one of: {choices}" in message
    assert records == []


def test_missing_platform_stack_names_the_config_key(stack_run: StackRun) -> None:
    with pytest.raises(pulumi.ConfigMissingError, match=f"{PROJECT}:platformStack"):
        run_consumer(stack_run.outputs, platform_stack=None)
