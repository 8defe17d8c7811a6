"""A consuming team's Pulumi program on top of an azureml-dask platform stack.

It reads the platform's outputs through a stack reference, refuses a contract version it was
not written against, and declares what the team owns: a resource group, a user-assigned
identity in it, and "Storage Blob Data Reader" for that identity on ONE data lake filesystem.
It creates no datastore: the platform already has an identity-based datastore for every
filesystem (`datastoreNames`), and access comes from the role, not from the datastore.

Self-contained on purpose: a consuming team depends on the outputs contract
(docs/outputs.md), never on the platform's code.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization, managedidentity, resources

# The contract versions this program was written against ("2" and "3" only added outputs).
# A new version may remove or retype an output: read its notes in docs/outputs.md first.
ACCEPTED_CONTRACT_VERSIONS = ("1", "2", "3")

# The outputs this program reads; all of them are in contract version "1".
REQUIRED_OUTPUTS = (
    "subscriptionId",
    "resourceGroupName",
    "location",
    "dataLakeAccountName",
    "dataLakeFilesystems",
    "datastoreNames",
)

# Read-only data access, assigned at container (filesystem) scope.
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage#storage-blob-data-reader
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"

# Role assignment names are GUIDs; a stable one makes re-creation idempotent.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("8b6f0a52-3c1d-4e7a-9f25-d4a0c6e1b937")


class ContractError(ValueError):
    """The platform stack's outputs are not what this program can use."""


@dataclass(frozen=True)
class PlatformFilesystem:
    """What this program needs from the platform, for the one filesystem it reads."""

    subscription_id: str
    location: str
    data_lake_account_name: str
    filesystem: str
    datastore_name: str
    scope: str  # the filesystem (blob container) as an Azure resource id


def read_platform(
    outputs: Mapping[str, Any], stack: str, filesystem: str | None
) -> PlatformFilesystem:
    """Check the platform's outputs against the contract and pick the filesystem."""
    version = outputs.get("outputsContractVersion")
    if version not in ACCEPTED_CONTRACT_VERSIONS:
        raise ContractError(
            f"platform stack {stack} publishes outputs contract version {version!r}; this "
            f"program accepts {', '.join(ACCEPTED_CONTRACT_VERSIONS)}. Read what the new "
            "version changed (docs/outputs.md), adapt, then add it to "
            "ACCEPTED_CONTRACT_VERSIONS"
        )
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        raise ContractError(
            f"platform stack {stack} (outputs contract version {version}) has no "
            f"{', '.join(missing)}: the contract promises these outputs, so the platform "
            "broke it without a new version; tell its team"
        )
    filesystems = list(outputs["dataLakeFilesystems"])
    chosen = filesystem or filesystems[0]
    if chosen not in filesystems:
        raise ContractError(
            f"config filesystem: {chosen!r} is not in dataLakeFilesystems of platform stack "
            f"{stack}; choose one of: {', '.join(filesystems)}"
        )
    sub, rg, account = (
        outputs["subscriptionId"],
        outputs["resourceGroupName"],
        outputs["dataLakeAccountName"],
    )
    return PlatformFilesystem(
        subscription_id=sub,
        location=outputs["location"],
        data_lake_account_name=account,
        filesystem=chosen,
        # The contract lists the identity-based datastores first, in filesystem order.
        datastore_name=outputs["datastoreNames"][filesystems.index(chosen)],
        # https://learn.microsoft.com/azure/storage/blobs/assign-azure-role-data-access
        scope=(
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/"
            f"storageAccounts/{account}/blobServices/default/containers/{chosen}"
        ),
    )


def role_assignment_name(scope: str, principal_id: str, role_definition_id: str) -> str:
    """The same GUID for the same assignment, so a re-run never hits RoleAssignmentExists."""
    key = f"{scope.lower()}|{principal_id.lower()}|{role_definition_id.lower()}"
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, key))


config = pulumi.Config()
platform_stack = config.require("platformStack")  # e.g. my-org/azureml-dask/dev
requested_filesystem = config.get("filesystem")  # default: the platform's first
project, stack = pulumi.get_project(), pulumi.get_stack()

platform_reference = pulumi.StackReference("platform", stack_name=platform_stack)
# Every resource below waits for this check: nothing is declared on a refused contract.
platform = platform_reference.outputs.apply(
    lambda outputs: read_platform(outputs, platform_stack, requested_filesystem)
)

# The team's own resource group: its lifecycle, locks and RBAC stay the team's, and the
# platform's `pulumi destroy` or drift checks never meet resources it does not manage.
resource_group = resources.ResourceGroup(
    "resource-group",
    resource_group_name=config.get("resourceGroupName") or f"rg-{project}-{stack}",
    location=platform.apply(lambda p: p.location),
)
identity = managedidentity.UserAssignedIdentity(
    "identity",
    resource_name_=config.get("identityName") or f"id-{project}-{stack}",
    resource_group_name=resource_group.name,
    location=resource_group.location,
)

role_definition_id = platform.apply(
    lambda p: (
        f"/subscriptions/{p.subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{STORAGE_BLOB_DATA_READER}"
    )
)
scope = platform.apply(lambda p: p.scope)
reader = authorization.RoleAssignment(
    "filesystem-reader",
    role_assignment_name=pulumi.Output.all(scope, identity.principal_id, role_definition_id).apply(
        lambda v: role_assignment_name(v[0], v[1], v[2])
    ),
    scope=scope,
    role_definition_id=role_definition_id,
    principal_id=identity.principal_id,
    # Named, the type spares Azure a directory lookup that fails while a new identity
    # replicates (PrincipalNotFound).
    # https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#new-service-principal
    principal_type="ServicePrincipal",
)

pulumi.export("identityClientId", identity.client_id)
pulumi.export("identityPrincipalId", identity.principal_id)
pulumi.export("identityId", identity.id)
pulumi.export("dataLakeFilesystem", platform.apply(lambda p: p.filesystem))
pulumi.export("dataLakeFilesystemScope", scope)
pulumi.export("datastoreName", platform.apply(lambda p: p.datastore_name))
pulumi.export("roleAssignmentId", reader.id)
