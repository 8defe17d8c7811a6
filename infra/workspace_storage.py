"""The workspace's own storage account: code snapshots, job outputs, default datastores."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import storage

from infra.placement import Placement
from infra.settings import StorageAccountSettings
from infra.storage_account import hardened_account, soft_delete_blob_service
from infra.targets import Target

TARGET = Target(
    key="workspace-storage",
    private_endpoints=("blob", "file"),
    diagnostic_settings=None,
    lock=True,
)

# Azure ML's system datastores reach this account with its key, so shared key stays on. The
# identity-based alternative (systemDatastoresAuthMode: identity) is a preview Microsoft does
# not recommend for production; docs/security.md (CKV2_AZURE_40) has the full reasoning.
# https://learn.microsoft.com/azure/machine-learning/how-to-disable-local-auth-storage
ALLOW_SHARED_KEY_ACCESS = True
SYSTEM_DATASTORES_AUTH_MODE = ml.SystemDatastoresAuthMode.ACCESS_KEY


def workspace_storage(
    settings: StorageAccountSettings,
    *,
    private_networking: bool,
    placement: Placement,
    parent: pulumi.Resource,
    workspace_id: pulumi.Input[str],
    tenant_id: pulumi.Input[str],
) -> tuple[storage.StorageAccount, storage.BlobServiceProperties]:
    """The workspace storage account (StorageV2 WITHOUT hierarchical namespace) and its blob
    service, with blob and container soft delete.

    In a private stack it follows Microsoft's secure workspace pattern: public network access
    Enabled, default action Deny, bypass AzureServices, and a resource-access rule for the
    workspace (with access Disabled, studio and the default datastores lose the account).
    `workspace_id` is built from names: the workspace itself needs this account's id first.
    """
    # https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#secure-azure-storage-accounts
    rules = [storage.ResourceAccessRuleArgs(resource_id=workspace_id, tenant_id=tenant_id)]
    account = hardened_account(
        TARGET.key,
        settings.name,
        settings.sku_name,
        hierarchical_namespace=False,
        allow_shared_key_access=ALLOW_SHARED_KEY_ACCESS,
        require_infrastructure_encryption=settings.require_infrastructure_encryption,
        # An upper lifetime for SAS tokens signed with the key; Log or Block when exceeded.
        # https://learn.microsoft.com/azure/storage/common/sas-expiration-policy
        sas_policy=storage.SasPolicyArgs(
            sas_expiration_period=settings.sas_expiration_period,
            expiration_action=settings.sas_expiration_action,
        ),
        private_networking=private_networking,
        placement=placement,
        opts=placement.options(parent),
        resource_access_rules=rules,
    )
    # Deleted snapshots, outputs and containers stay recoverable for the retention period.
    blob_service = soft_delete_blob_service(
        "workspace-storage-blob-service",
        account,
        blob_days=settings.delete_retention_days,
        container_days=settings.container_delete_retention_days,
        placement=placement,
        opts=placement.options(parent),
    )
    return account, blob_service
