"""The deployability rules on every real stack, and on weakened variants of it."""

from __future__ import annotations

import dataclasses

import pytest

from plan.offline import ResourceRecord, StackRun
from policy.deployability import (
    CLUSTER_REGISTRY_ACCESS,
    COMPUTE,
    DATASTORE,
    GROUP_LOCK,
    GROUPS_READ_DATASTORES,
    NO_RESOURCE_GROUP_LOCK,
    NO_RETIRED_VM_SIZE,
    POLICIES,
    PRIVATE_ENDPOINT_DNS,
    ROLE_ASSIGNMENT,
    STORAGE_ACCOUNT,
    SYSTEM_DATASTORES_REACH_STORAGE,
    WORKSPACE,
)
from policy.private_networking import PRIVATE_DNS_ZONE_GROUP, PRIVATE_ENDPOINT
from tests.policy.captured import changed, set_path, stack_args, violations


def _without(run: StackRun, drop) -> list[ResourceRecord]:
    return [r for r in run.resources if not drop(r)]


def _role(record: ResourceRecord) -> str | None:
    from infra.access import role_name_for_definition_id

    return role_name_for_definition_id(record.inputs["roleDefinitionId"])


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_passes_on_every_stack(stack_run: StackRun, policy) -> None:
    assert violations(policy, stack_args(stack_run.resources)) == []


def test_cluster_without_registry_role_is_reported(stack_run: StackRun) -> None:
    clusters = [
        r
        for r in stack_run.by_type(COMPUTE)
        if r.inputs["properties"]["computeType"] == "AmlCompute"
    ]
    if not clusters:
        pytest.skip(f"stack {stack_run.stack} has no cluster")
    rest = _without(
        stack_run, lambda r: r.type == ROLE_ASSIGNMENT and _role(r) in {"AcrPull", "AcrPush"}
    )
    messages = violations(CLUSTER_REGISTRY_ACCESS, stack_args(rest))
    assert len(messages) == len(clusters), messages
    assert all("neither AcrPull nor AcrPush" in m and "Fix: " in m for m in messages)


def test_resource_group_lock_is_reported(stack_run: StackRun) -> None:
    if not stack_run.by_type(COMPUTE):
        pytest.skip(f"stack {stack_run.stack} has no compute")
    group = stack_run.one("azure-native:resources:ResourceGroup")
    lock = dataclasses.replace(
        group,
        urn=group.urn.replace("ResourceGroup", "ManagementLockAtResourceGroupLevel") + "-lock",
        type=GROUP_LOCK,
        name="group-lock",
        inputs={"level": "CanNotDelete", "resourceGroupName": group.name},
        outputs={"level": "CanNotDelete", "resourceGroupName": group.name},
        dependencies=[],
    )
    messages = violations(NO_RESOURCE_GROUP_LOCK, stack_args([*stack_run.resources, lock]))
    assert len(messages) == 1 and "stops Azure ML compute clusters from scaling" in messages[0]
    # A scope lock on the group is the same lock.
    scoped = dataclasses.replace(
        lock,
        type="azure-native:authorization:ManagementLockByScope",
        outputs={"level": "CanNotDelete", "scope": group.id},
    )
    assert len(violations(NO_RESOURCE_GROUP_LOCK, stack_args([*stack_run.resources, scoped]))) == 1


def test_retired_vm_size_is_reported(stack_run: StackRun) -> None:
    computes = stack_run.by_type(COMPUTE)
    if not computes:
        pytest.skip(f"stack {stack_run.stack} has no compute")
    weakened = changed(computes[0], set_path("properties.properties.vmSize", "Standard_NC6s_v3"))
    records = [weakened if r.urn == weakened.urn else r for r in stack_run.resources]
    messages = violations(NO_RETIRED_VM_SIZE, stack_args(records))
    assert len(messages) == 1
    assert "Standard_NC6s_v3 was retired by Azure on 2025-09-30" in messages[0]


def test_group_without_lake_role_is_reported(stack_run: StackRun) -> None:
    lake_ids = {r.id for r in stack_run.by_type(STORAGE_ACCOUNT)}
    lake_grants = [
        r
        for r in stack_run.by_type(ROLE_ASSIGNMENT)
        if r.inputs["principalType"] == "Group" and r.inputs["scope"] in lake_ids
    ]
    stores = [
        r
        for r in stack_run.by_type(DATASTORE)
        if r.inputs["properties"]["credentials"] == {"credentialsType": "None"}
    ]
    if not lake_grants:
        pytest.skip(f"stack {stack_run.stack} has no data-scientist group")
    rest = _without(stack_run, lambda r: r in lake_grants)
    messages = violations(GROUPS_READ_DATASTORES, stack_args(rest))
    assert len(messages) == len(lake_grants) * len(stores), messages
    assert all("no Storage Blob data role on the lake" in m for m in messages)


def test_private_endpoint_without_dns_is_reported(stack_run: StackRun) -> None:
    endpoints = stack_run.by_type(PRIVATE_ENDPOINT)
    if not endpoints:
        pytest.skip(f"stack {stack_run.stack} has no private endpoint")
    rest = _without(stack_run, lambda r: r.type == PRIVATE_DNS_ZONE_GROUP)
    messages = violations(PRIVATE_ENDPOINT_DNS, stack_args(rest))
    assert len(messages) == len(endpoints)
    assert all("no private DNS zone group" in m for m in messages)


def test_key_based_system_datastores_without_shared_key_are_reported(stack_run: StackRun) -> None:
    storage = stack_run.one(STORAGE_ACCOUNT, "workspace-storage")
    keyless = changed(storage, set_path("allowSharedKeyAccess", False))
    records = [keyless if r is storage else r for r in stack_run.resources]
    messages = violations(SYSTEM_DATASTORES_REACH_STORAGE, stack_args(records))
    assert len(messages) == 1, messages
    assert "systemDatastoresAuthMode AccessKey" in messages[0] and "Fix: " in messages[0]
    # Azure's default (the property left out) is the account key too.
    workspace = stack_run.one(WORKSPACE, "workspace")
    default = changed(workspace, set_path("systemDatastoresAuthMode", None))
    records = [default if r is workspace else r for r in records]
    assert len(violations(SYSTEM_DATASTORES_REACH_STORAGE, stack_args(records))) == 1
    # Identity-based system datastores do not need the key.
    identity = changed(workspace, set_path("systemDatastoresAuthMode", "Identity"))
    records = [identity if r is default else r for r in records]
    assert violations(SYSTEM_DATASTORES_REACH_STORAGE, stack_args(records)) == []
