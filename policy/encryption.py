"""Customer-managed key rules: the vault holding the key keeps it, and the identity can use it.

Stack policies: a workspace or storage account that names a key relates to the vault that
holds it and to the identity that reaches it. A key in a vault outside this stack is
managed elsewhere and not checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.access import role_name_for_definition_id
from policy.violations import prop, report_stack_resource

WORKSPACE = "azure-native:machinelearningservices:Workspace"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ENCRYPTION_ROLE = "Key Vault Crypto Service Encryption User"


def _by_type(args: StackValidationArgs, resource_type: str) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type == resource_type]


def _lower(value: Any) -> str:
    return str(value or "").rstrip("/").lower()


def _encrypted(args: StackValidationArgs) -> Iterator[tuple[PolicyResource, PolicyResource, str]]:
    """(resource, vault of its key, identity id) for each resource encrypted with a key
    held in one of this stack's vaults."""
    vaults = _by_type(args, VAULT)
    by_id = {_lower(prop(v.props, "id")): v for v in vaults}
    by_uri = {_lower(prop(v.props, "properties", "vaultUri")): v for v in vaults}
    for workspace in _by_type(args, WORKSPACE):
        encryption = prop(workspace.props, "encryption")
        if prop(encryption, "status") != "Enabled":
            continue
        vault = by_id.get(_lower(prop(encryption, "keyVaultProperties", "keyVaultArmId")))
        if vault is not None:
            yield workspace, vault, str(prop(encryption, "identity", "userAssignedIdentity") or "")
    for account in _by_type(args, STORAGE_ACCOUNT):
        encryption = prop(account.props, "encryption")
        if str(prop(encryption, "keySource") or "").lower() != "microsoft.keyvault":
            continue
        vault = by_uri.get(_lower(prop(encryption, "keyVaultProperties", "keyVaultUri")))
        if vault is not None:
            identity = prop(encryption, "encryptionIdentity", "encryptionUserAssignedIdentity")
            yield account, vault, str(identity or "")


def validate_key_vault_purge_protection(args: StackValidationArgs, report: ReportViolation) -> None:
    """The vault holding a customer-managed key has purge protection on."""
    # https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys#prerequisites
    for resource, vault, _ in _encrypted(args):
        if prop(vault.props, "properties", "enablePurgeProtection") is not True:
            report_stack_resource(
                report,
                resource,
                f"it is encrypted with a customer-managed key in vault "
                f"{prop(vault.props, 'name')}, which has no purge protection: a purged key "
                "leaves the data unreadable for good, and Azure requires it.",
                "set azureml-dask:keyVault.enablePurgeProtection: true in the stack file.",
            )


def validate_key_identity_role(args: StackValidationArgs, report: ReportViolation) -> None:
    """The identity a resource reaches its customer-managed key as holds the crypto role."""
    # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-service-encryption-user
    principals = {
        _lower(prop(i.props, "id")): _lower(prop(i.props, "principalId"))
        for i in _by_type(args, IDENTITY)
    }
    grants = {
        (_lower(prop(r.props, "principalId")), _lower(prop(r.props, "scope")))
        for r in _by_type(args, ROLE_ASSIGNMENT)
        if role_name_for_definition_id(str(prop(r.props, "roleDefinitionId") or ""))
        == ENCRYPTION_ROLE
    }
    for resource, vault, identity in _encrypted(args):
        vault_id = _lower(prop(vault.props, "id"))
        principal = principals.get(_lower(identity))
        if not any(
            p == principal and (scope == vault_id or scope.startswith(vault_id + "/keys/"))
            for p, scope in grants
        ):
            report_stack_resource(
                report,
                resource,
                f"its encryption identity {identity or '(none)'} holds no {ENCRYPTION_ROLE} on "
                f"vault {prop(vault.props, 'name')}, so Azure cannot wrap or unwrap with the key.",
                "grant the role on the vault to the identity (infra.encryption) and make the "
                "resource depend on that grant.",
            )


KEY_VAULT_PURGE_PROTECTION = StackValidationPolicy(
    name="customer-managed-key-vault-purge-protection",
    description="The key vault holding a customer-managed key has purge protection.",
    validate=validate_key_vault_purge_protection,
)
KEY_IDENTITY_ROLE = StackValidationPolicy(
    name="customer-managed-key-identity-has-crypto-role",
    description="The identity that reaches a customer-managed key holds Key Vault Crypto "
    "Service Encryption User on its vault.",
    validate=validate_key_identity_role,
)

POLICIES: tuple[StackValidationPolicy, ...] = (KEY_VAULT_PURGE_PROTECTION, KEY_IDENTITY_ROLE)
"""The customer-managed key rules, in the order the pack lists them."""
