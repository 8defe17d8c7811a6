"""Every resource policy passes on every real stack and fails on a bad variant of what it guards.

The resources come from the offline engine running the real program for each stack file
(`stack_run` fixture). A bad variant is the same captured registration with one property
weakened; the policy must report it with a message naming the resource and the fix.
Resource kinds a stack file does not declare (e.g. no compute instance configured) use a
hand-built known-good example instead, which must itself pass first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import ResourceValidationPolicy

from plan.offline import ResourceRecord, StackRun
from policy import access, compute, container_registry, key_vault, storage, tags
from policy.pack import POLICIES
from policy.posture import is_production
from tests.policy.captured import changed, resource_args, set_path, stack_args, violations

RESOURCE_POLICIES = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
OWNER = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
TAGS = {"owner": "data-platform", "costCenter": "cc-1234", "environment": "example"}


def _compute_kind(record: ResourceRecord) -> str | None:
    return (record.inputs.get("properties") or {}).get("computeType")


def _example(stack: str, type_: str, name: str, inputs: dict[str, Any]) -> ResourceRecord:
    """A hand-built, known-good registration for kinds a stack file does not declare."""
    urn = f"urn:pulumi:{stack}::azureml-dask::{type_}::{name}"
    return ResourceRecord(urn, type_, name, None, True, f"/example/{name}", inputs, inputs)


def _examples(stack: str) -> list[ResourceRecord]:
    return [
        _example(
            stack,
            compute.COMPUTE,
            "example-cluster",
            {
                "tags": TAGS,
                "properties": {
                    "computeType": "AmlCompute",
                    "properties": {
                        "enableNodePublicIp": False,
                        "remoteLoginPortPublicAccess": "Disabled",
                        "scaleSettings": {
                            "minNodeCount": 0,
                            "maxNodeCount": 4,
                            "nodeIdleTimeBeforeScaleDown": "PT120S",
                        },
                    },
                },
            },
        ),
        _example(
            stack,
            compute.COMPUTE,
            "example-instance",
            {
                "tags": TAGS,
                "properties": {
                    "computeType": "ComputeInstance",
                    "properties": {
                        "enableNodePublicIp": False,
                        "idleTimeBeforeShutdown": "PT30M",
                        "sshSettings": {"sshPublicAccess": "Disabled"},
                    },
                },
            },
        ),
        _example(
            stack,
            access.ROLE_ASSIGNMENT,
            "example-role-assignment",
            {"principalType": "Group", "roleDefinitionId": f"/subscriptions/s{READER}"},
        ),
    ]


@dataclasses.dataclass(frozen=True)
class BadVariant:
    """One way to weaken a guarded resource, and what the policy must say about it."""

    id: str
    policy: ResourceValidationPolicy
    type: str
    change: Callable[[dict[str, Any]], None]
    expect: str
    select: Callable[[ResourceRecord], bool] = lambda r: True
    stack_tags: tuple[tuple[str, str], ...] = ()
    allowed_in_production: bool = False


BAD_VARIANTS = [
    BadVariant(
        "http-allowed",
        storage.HTTPS_AND_TLS,
        storage.STORAGE_ACCOUNT,
        set_path("enableHttpsTrafficOnly", False),
        "enableHttpsTrafficOnly",
    ),
    BadVariant(
        "tls-1.0",
        storage.HTTPS_AND_TLS,
        storage.STORAGE_ACCOUNT,
        set_path("minimumTlsVersion", "TLS1_0"),
        "minimumTlsVersion is 'TLS1_0'",
    ),
    BadVariant(
        "tls-unset",
        storage.HTTPS_AND_TLS,
        storage.STORAGE_ACCOUNT,
        set_path("minimumTlsVersion", None),
        "minimumTlsVersion is None",
    ),
    BadVariant(
        "public-blob-account",
        storage.NO_PUBLIC_BLOB_ACCESS,
        storage.STORAGE_ACCOUNT,
        set_path("allowBlobPublicAccess", True),
        "allowBlobPublicAccess",
    ),
    BadVariant(
        "public-container",
        storage.NO_PUBLIC_BLOB_ACCESS,
        storage.BLOB_CONTAINER,
        set_path("publicAccess", "Container"),
        "publicAccess is 'Container'",
    ),
    BadVariant(
        "data-lake-without-hns",
        storage.DATA_LAKE_NAMESPACE,
        storage.STORAGE_ACCOUNT,
        set_path("isHnsEnabled", False),
        "hierarchical namespace",
        select=lambda r: r.name == storage.DATA_LAKE_LOGICAL_NAME,
    ),
    BadVariant(
        "local-users-on",
        storage.NO_LOCAL_USERS,
        storage.STORAGE_ACCOUNT,
        set_path("isLocalUserEnabled", True),
        "isLocalUserEnabled",
    ),
    BadVariant(
        "local-users-by-default",
        storage.NO_LOCAL_USERS,
        storage.STORAGE_ACCOUNT,
        set_path("isLocalUserEnabled", None),
        "CKV_AZURE_244",
    ),
    BadVariant(
        "shared-key-without-sas-policy",
        storage.SAS_EXPIRATION_POLICY,
        storage.STORAGE_ACCOUNT,
        set_path("sasPolicy", None),
        "sasPolicy.sasExpirationPeriod",
        select=lambda r: r.name == "workspace-storage",
    ),
    BadVariant(
        "shared-key-by-default-without-sas-policy",
        storage.SAS_EXPIRATION_POLICY,
        storage.STORAGE_ACCOUNT,
        set_path("allowSharedKeyAccess", None),
        "CKV2_AZURE_41",
        select=lambda r: r.name == storage.DATA_LAKE_LOGICAL_NAME,
    ),
    BadVariant(
        "no-blob-soft-delete",
        storage.SOFT_DELETE,
        storage.BLOB_SERVICE,
        set_path("deleteRetentionPolicy.enabled", False),
        "deleted blobs",
    ),
    BadVariant(
        "no-container-soft-delete",
        storage.SOFT_DELETE,
        storage.BLOB_SERVICE,
        set_path("containerDeleteRetentionPolicy", None),
        "deleted containers",
    ),
    BadVariant(
        "production-account-without-double-encryption",
        storage.INFRASTRUCTURE_ENCRYPTION,
        storage.STORAGE_ACCOUNT,
        set_path("encryption", None),
        "requireInfrastructureEncryption",
        stack_tags=(("production", "true"),),
    ),
    BadVariant(
        "vault-access-policies",
        key_vault.KEY_VAULT,
        key_vault.VAULT,
        set_path("properties.enableRbacAuthorization", False),
        "enableRbacAuthorization",
    ),
    BadVariant(
        "vault-no-soft-delete",
        key_vault.KEY_VAULT,
        key_vault.VAULT,
        set_path("properties.enableSoftDelete", False),
        "enableSoftDelete",
    ),
    BadVariant(
        "production-vault-without-purge-protection",
        key_vault.KEY_VAULT,
        key_vault.VAULT,
        set_path("properties.enablePurgeProtection", None),
        "enablePurgeProtection",
        stack_tags=(("production", "true"),),
    ),
    BadVariant(
        "registry-admin-user",
        container_registry.ADMIN_USER_DISABLED,
        container_registry.REGISTRY,
        set_path("adminUserEnabled", True),
        "adminUserEnabled",
    ),
    BadVariant(
        "production-registry-not-zone-redundant",
        container_registry.ZONE_REDUNDANT_IN_PRODUCTION,
        container_registry.REGISTRY,
        set_path("zoneRedundancy", "Disabled"),
        "zoneRedundancy is 'Disabled'",
        stack_tags=(("production", "true"),),
    ),
    BadVariant(
        "production-registry-keeps-untagged-manifests",
        container_registry.RETENTION_POLICY_IN_PRODUCTION,
        container_registry.REGISTRY,
        set_path("policies", None),
        "untagged manifests are kept forever",
        stack_tags=(("production", "true"),),
    ),
    BadVariant(
        "cluster-node-public-ip",
        compute.NO_PUBLIC_ACCESS,
        compute.COMPUTE,
        set_path("properties.properties.enableNodePublicIp", True),
        "enableNodePublicIp",
        select=lambda r: _compute_kind(r) == compute.AML_COMPUTE,
    ),
    BadVariant(
        "cluster-public-ip-by-default",
        compute.NO_PUBLIC_ACCESS,
        compute.COMPUTE,
        set_path("properties.properties.enableNodePublicIp", None),
        "enableNodePublicIp",
        select=lambda r: _compute_kind(r) == compute.AML_COMPUTE,
    ),
    BadVariant(
        "cluster-public-ssh",
        compute.NO_PUBLIC_ACCESS,
        compute.COMPUTE,
        set_path("properties.properties.remoteLoginPortPublicAccess", "Enabled"),
        "remoteLoginPortPublicAccess",
        select=lambda r: _compute_kind(r) == compute.AML_COMPUTE,
    ),
    BadVariant(
        "instance-node-public-ip",
        compute.NO_PUBLIC_ACCESS,
        compute.COMPUTE,
        set_path("properties.properties.enableNodePublicIp", True),
        "enableNodePublicIp",
        select=lambda r: _compute_kind(r) == compute.COMPUTE_INSTANCE,
    ),
    BadVariant(
        "instance-public-ssh",
        compute.NO_PUBLIC_ACCESS,
        compute.COMPUTE,
        set_path("properties.properties.sshSettings.sshPublicAccess", "Enabled"),
        "sshPublicAccess",
        select=lambda r: _compute_kind(r) == compute.COMPUTE_INSTANCE,
    ),
    BadVariant(
        "cluster-never-scales-down",
        compute.CLUSTER_SCALE_DOWN,
        compute.COMPUTE,
        set_path("properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown", None),
        "nodeIdleTimeBeforeScaleDown",
        select=lambda r: _compute_kind(r) == compute.AML_COMPUTE,
    ),
    BadVariant(
        "cluster-idle-time-not-iso",
        compute.CLUSTER_SCALE_DOWN,
        compute.COMPUTE,
        set_path("properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown", "120"),
        "nodeIdleTimeBeforeScaleDown is '120'",
        select=lambda r: _compute_kind(r) == compute.AML_COMPUTE,
    ),
    BadVariant(
        "cluster-warm-nodes-outside-production",
        compute.CLUSTER_SCALE_DOWN,
        compute.COMPUTE,
        set_path("properties.properties.scaleSettings.minNodeCount", 2),
        "minNodeCount is 2",
        select=lambda r: _compute_kind(r) == compute.AML_COMPUTE,
        allowed_in_production=True,
    ),
    BadVariant(
        "instance-never-shuts-down",
        compute.INSTANCE_IDLE_SHUTDOWN,
        compute.COMPUTE,
        set_path("properties.properties.idleTimeBeforeShutdown", None),
        "idleTimeBeforeShutdown",
        select=lambda r: _compute_kind(r) == compute.COMPUTE_INSTANCE,
    ),
    BadVariant(
        "role-assignment-without-principal-type",
        access.ROLE_ASSIGNMENTS,
        access.ROLE_ASSIGNMENT,
        set_path("principalType", None),
        "principalType",
    ),
    BadVariant(
        "role-assignment-owner",
        access.ROLE_ASSIGNMENTS,
        access.ROLE_ASSIGNMENT,
        lambda props: props.update(
            roleDefinitionId=str(props.get("roleDefinitionId", "")).rsplit("/providers/", 1)[0]
            + OWNER
        ),
        "grants Owner",
    ),
    BadVariant(
        "untagged-storage-account",
        tags.TAGS_PRESENT,
        storage.STORAGE_ACCOUNT,
        set_path("tags.owner", None),
        "tags owner are missing",
    ),
    BadVariant(
        "untagged-workspace",
        tags.TAGS_PRESENT,
        "azure-native:machinelearningservices:Workspace",
        set_path("tags", None),
        "tags owner, costCenter, environment are missing",
    ),
    BadVariant(
        "empty-cost-center-resource-group",
        tags.TAGS_PRESENT,
        "azure-native:resources:ResourceGroup",
        set_path("tags.costCenter", " "),
        "tags costCenter are missing or empty",
    ),
]


def _guarded(run: StackRun, variant: BadVariant) -> list[ResourceRecord]:
    """The stack's resources the variant applies to; a hand-built example when it has none."""
    for source in ([r for r in run.resources if r.custom], _examples(run.stack)):
        found = [r for r in source if r.type == variant.type and variant.select(r)]
        if found:
            return found
    raise AssertionError(f"no {variant.type} to weaken for {variant.id}")


@pytest.mark.parametrize("policy", RESOURCE_POLICIES, ids=lambda p: p.name)
def test_policy_passes_on_every_resource_of_the_stack(stack_run: StackRun, policy):
    for record in stack_run.resources:
        if record.custom:
            assert violations(policy, resource_args(record)) == [], record.urn


@pytest.mark.parametrize("policy", RESOURCE_POLICIES, ids=lambda p: p.name)
def test_policy_passes_on_the_hand_built_examples(stack: str, policy):
    for record in _examples(stack):
        assert violations(policy, resource_args(record)) == [], record.urn


@pytest.mark.parametrize("variant", BAD_VARIANTS, ids=lambda v: v.id)
def test_policy_fails_on_a_weakened_resource(stack_run: StackRun, variant: BadVariant):
    tags = dict(variant.stack_tags)
    for record in _guarded(stack_run, variant):
        assert violations(variant.policy, resource_args(record)) == [], record.urn
        messages = violations(variant.policy, resource_args(changed(record, variant.change), tags))
        if variant.allowed_in_production and is_production(record.urn, tags):
            assert messages == [], record.urn
            continue
        assert len(messages) == 1, messages
        (message,) = messages
        assert variant.expect in message
        assert f"{record.type} '{record.name}' ({record.urn})" in message
        assert "Fix: " in message


def test_every_policy_has_a_bad_variant():
    assert {v.policy.name for v in BAD_VARIANTS} == {p.name for p in RESOURCE_POLICIES}


def test_every_storage_account_declares_its_soft_delete(stack_run: StackRun) -> None:
    policy = storage.EVERY_ACCOUNT_HAS_SOFT_DELETE
    assert violations(policy, stack_args(stack_run.resources)) == []
    for service in stack_run.by_type(storage.BLOB_SERVICE):
        rest = [r for r in stack_run.resources if r is not service]
        (message,) = violations(policy, stack_args(rest))
        assert "no BlobServiceProperties is declared" in message and "Fix: " in message
        assert f"'{service.name.removesuffix('-blob-service')}'" in message
