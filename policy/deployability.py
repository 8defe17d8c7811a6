"""Deployability rules: cross-resource requirements Azure enforces at deploy or run time.

Each is a stack policy (it relates resources to each other) and cites the Microsoft doc
that states the requirement. A stack that breaks one deploys, but a job or a scale-out
then fails on real Azure.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.access import role_name_for_definition_id
from infra.catalog.vm_sizes import vm_size
from policy.private_networking import PRIVATE_DNS_ZONE_GROUP, PRIVATE_ENDPOINT, has_zone_group
from policy.violations import prop, report_stack_resource

COMPUTE = "azure-native:machinelearningservices:Compute"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
DATASTORE = "azure-native:machinelearningservices:Datastore"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
GROUP_LOCK = "azure-native:authorization:ManagementLockAtResourceGroupLevel"
SCOPE_LOCK = "azure-native:authorization:ManagementLockByScope"
REGISTRY_ROLES = {"AcrPull", "AcrPush"}
LAKE_DATA_ROLES = {
    "Storage Blob Data Reader",
    "Storage Blob Data Contributor",
    "Storage Blob Data Owner",
}
# Workspace roles that let a group read data through datastores (Reader and Compute
# Operator do not), so only their holders need a data role on the lake.
DATASTORE_USER_ROLES = {"AzureML Data Scientist", "Contributor"}
_GROUP_SCOPE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/?$", re.IGNORECASE)


def _by_type(args: StackValidationArgs, resource_type: str) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type == resource_type]


def _roles(args: StackValidationArgs) -> list[tuple[str, str | None, str]]:
    """(principal id, role name, scope) of every role assignment, ids lower-cased."""
    return [
        (
            str(prop(r.props, "principalId") or "").lower(),
            role_name_for_definition_id(str(prop(r.props, "roleDefinitionId") or "")),
            str(prop(r.props, "scope") or "").lower(),
        )
        for r in _by_type(args, ROLE_ASSIGNMENT)
    ]


def _clusters(args: StackValidationArgs) -> list[PolicyResource]:
    return [
        c
        for c in _by_type(args, COMPUTE)
        if prop(c.props, "properties", "computeType") == "AmlCompute"
    ]


def validate_cluster_registry_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """A cluster running as a user-assigned identity holds AcrPull/AcrPush on the registry."""
    # https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication#scenario-azure-container-registry-without-admin-user
    registries = {
        str(prop(w.props, "workspaceName")): str(prop(w.props, "containerRegistry") or "").lower()
        for w in _by_type(args, WORKSPACE)
    }
    roles = _roles(args)
    for cluster in _clusters(args):
        identities: Any = prop(cluster.props, "identity", "userAssignedIdentities") or {}
        registry = registries.get(str(prop(cluster.props, "workspaceName")), "")
        if not registry or not isinstance(identities, dict):
            continue  # no workspace registry in this stack, or Azure grants a system identity
        for identity_id, identity in identities.items():
            principal = str(prop(identity, "principalId") or "").lower()
            if not any(
                p == principal and role in REGISTRY_ROLES and scope == registry
                for p, role, scope in roles
            ):
                report_stack_resource(
                    report,
                    cluster,
                    f"its identity {identity_id} holds neither AcrPull nor AcrPush on the "
                    "workspace registry, so nodes cannot pull the job image (the admin user is "
                    "off).",
                    "grant AcrPull on the registry to the cluster identity (infra.access).",
                )


def validate_no_resource_group_lock(args: StackValidationArgs, report: ReportViolation) -> None:
    """No lock on the resource group while Azure ML compute exists."""
    # https://learn.microsoft.com/azure/machine-learning/how-to-create-attach-compute-cluster#limitations
    if not _by_type(args, COMPUTE):
        return
    for lock in args.resources:
        scope = str(prop(lock.props, "scope") or "")
        if lock.resource_type == GROUP_LOCK or (
            lock.resource_type == SCOPE_LOCK and _GROUP_SCOPE.match(scope)
        ):
            report_stack_resource(
                report,
                lock,
                "a lock on the resource group stops Azure ML compute clusters from scaling "
                "(Azure deletes nodes) and blocks their delete-before-replace.",
                "lock the stateful resources one by one (infra.locks), never the group.",
            )


def validate_no_retired_vm_size(args: StackValidationArgs, report: ReportViolation) -> None:
    """No compute uses a VM size Azure has retired (the one catalog: infra/catalog)."""
    # Each size's retirement doc is its catalog `source`, e.g. https://learn.microsoft.com/azure/virtual-machines/ncv3-nc6s-nc12s-nc24s-retirement
    for compute in _by_type(args, COMPUTE):
        name = str(prop(compute.props, "properties", "properties", "vmSize") or "")
        size = vm_size(name) if name else None
        if size is not None and size.retired:
            report_stack_resource(
                report,
                compute,
                f"vmSize {name} was retired by Azure on {size.retired_on} ({size.source}).",
                f"use a current size, e.g. {', '.join(size.replacements) or 'see the doc'}.",
            )


def validate_groups_read_identity_datastores(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    """Groups that may use datastores hold a blob data role on each identity-based lake."""
    # https://learn.microsoft.com/azure/machine-learning/how-to-datastore#create-an-azure-data-lake-storage-gen2-datastore
    accounts = {
        str(prop(a.props, "name") or "").lower(): str(prop(a.props, "id") or "").lower()
        for a in _by_type(args, STORAGE_ACCOUNT)
    }
    workspaces = {str(prop(w.props, "id") or "").lower() for w in _by_type(args, WORKSPACE)}
    group_assignments = [
        r for r in _by_type(args, ROLE_ASSIGNMENT) if prop(r.props, "principalType") == "Group"
    ]
    groups = {
        str(prop(r.props, "principalId") or "").lower()
        for r in group_assignments
        if str(prop(r.props, "scope") or "").lower() in workspaces
        and role_name_for_definition_id(str(prop(r.props, "roleDefinitionId") or ""))
        in DATASTORE_USER_ROLES
    }
    roles = _roles(args)
    for store in _by_type(args, DATASTORE):
        if prop(store.props, "properties", "credentials", "credentialsType") != "None":
            continue
        lake = accounts.get(str(prop(store.props, "properties", "accountName") or "").lower())
        if not lake:
            continue  # a lake outside this stack: its access is managed elsewhere
        for group in sorted(groups):
            if not any(
                p == group and role in LAKE_DATA_ROLES and scope == lake for p, role, scope in roles
            ):
                report_stack_resource(
                    report,
                    store,
                    f"group {group} holds a workspace role but no Storage Blob data role on "
                    "the lake, and this identity-based datastore uses the caller's identity.",
                    "list the group in groups.dataScientists (it then gets "
                    "groups.dataScientistsDataLakeRole on the lake).",
                )


def validate_private_endpoint_dns(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every private endpoint has a private DNS zone group."""
    # https://learn.microsoft.com/azure/private-link/private-endpoint-dns
    zone_groups = _by_type(args, PRIVATE_DNS_ZONE_GROUP)
    for endpoint in _by_type(args, PRIVATE_ENDPOINT):
        if not has_zone_group(endpoint, zone_groups):
            report_stack_resource(
                report,
                endpoint,
                "it has no private DNS zone group, so the service's name still resolves to "
                "its public address.",
                "add a PrivateDnsZoneGroup linking it to its privatelink zone.",
            )


def validate_managed_network_compute_without_subnet(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    """No compute in a customer subnet when its workspace has a managed network."""
    # https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#limitations
    managed = {
        str(prop(w.props, "workspaceName")): mode
        for w in _by_type(args, WORKSPACE)
        if (mode := prop(w.props, "managedNetwork", "isolationMode")) not in (None, "Disabled")
    }
    for compute in _by_type(args, COMPUTE):
        mode = managed.get(str(prop(compute.props, "workspaceName")))
        subnet = prop(compute.props, "properties", "properties", "subnet")
        if mode is not None and subnet is not None:
            report_stack_resource(
                report,
                compute,
                f"its workspace's managed network is {mode}, where Azure ML creates compute "
                "only inside that network, yet the compute names a customer subnet "
                f"({prop(subnet, 'id')}).",
                "leave the subnet out (infra.compute: subnet_id=None with a managed network).",
            )


def validate_system_datastores_reach_storage(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    """A workspace whose system datastores use the account key has a storage account that
    still allows shared key."""
    # https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage
    accounts = {str(prop(a.props, "id") or "").lower(): a for a in _by_type(args, STORAGE_ACCOUNT)}
    for workspace in _by_type(args, WORKSPACE):
        # AccessKey is Azure's default when the property is left out.
        mode = str(prop(workspace.props, "systemDatastoresAuthMode") or "AccessKey")
        account = accounts.get(str(prop(workspace.props, "storageAccount") or "").lower())
        if account is None or mode.lower() != "accesskey":
            continue  # storage outside this stack, or identity-based system datastores
        if prop(account.props, "allowSharedKeyAccess") is False:
            report_stack_resource(
                report,
                workspace,
                f"its system datastores use the account key (systemDatastoresAuthMode {mode}) "
                f"but its storage account {prop(account.props, 'name')} has shared key off, so "
                "code snapshots, job outputs and studio lose the account.",
                "keep allow_shared_key_access=True on the workspace storage, or set "
                "systemDatastoresAuthMode identity first and grant users their data roles.",
            )


CLUSTER_REGISTRY_ACCESS = StackValidationPolicy(
    name="cluster-identity-can-pull-images",
    description="The identity a compute cluster runs as holds AcrPull or AcrPush on the "
    "workspace registry.",
    validate=validate_cluster_registry_access,
)
NO_RESOURCE_GROUP_LOCK = StackValidationPolicy(
    name="no-resource-group-lock-with-compute",
    description="No lock on the resource group while Azure ML compute exists.",
    validate=validate_no_resource_group_lock,
)
NO_RETIRED_VM_SIZE = StackValidationPolicy(
    name="compute-vm-size-not-retired",
    description="No compute uses a VM size Azure has retired.",
    validate=validate_no_retired_vm_size,
)
GROUPS_READ_DATASTORES = StackValidationPolicy(
    name="groups-can-read-identity-datastores",
    description="Every group holding a workspace role holds a Storage Blob data role on the "
    "lake of each identity-based datastore.",
    validate=validate_groups_read_identity_datastores,
)
PRIVATE_ENDPOINT_DNS = StackValidationPolicy(
    name="private-endpoint-has-dns-zone-group",
    description="Every private endpoint has a private DNS zone group.",
    validate=validate_private_endpoint_dns,
)
MANAGED_NETWORK_COMPUTE = StackValidationPolicy(
    name="managed-network-compute-has-no-subnet",
    description="No compute in a customer subnet when its workspace has a managed network.",
    validate=validate_managed_network_compute_without_subnet,
)

SYSTEM_DATASTORES_REACH_STORAGE = StackValidationPolicy(
    name="workspace-key-datastores-need-shared-key",
    description="A workspace whose system datastores use the account key has a storage "
    "account that allows shared key.",
    validate=validate_system_datastores_reach_storage,
)

POLICIES: tuple[StackValidationPolicy, ...] = (
    CLUSTER_REGISTRY_ACCESS,
    NO_RESOURCE_GROUP_LOCK,
    NO_RETIRED_VM_SIZE,
    GROUPS_READ_DATASTORES,
    PRIVATE_ENDPOINT_DNS,
    MANAGED_NETWORK_COMPUTE,
    SYSTEM_DATASTORES_REACH_STORAGE,
)
"""The deployability rules, in the order the pack lists them."""
