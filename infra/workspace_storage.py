"""The workspace's own storage account: code snapshots, job outputs, default datastores."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage

from infra.placement import Placement
from infra.settings import StorageAccountSettings
from infra.storage_account import hardened_account
from infra.targets import Target

TARGET = Target(
    key="workspace-storage",
    private_endpoints=("blob", "file"),
    diagnostic_settings=None,
    lock=True,
)


def workspace_storage(
    settings: StorageAccountSettings,
    *,
    private_networking: bool,
    placement: Placement,
    parent: pulumi.Resource,
    workspace_id: pulumi.Input[str],
    tenant_id: pulumi.Input[str],
) -> storage.StorageAccount:
    """The workspace storage account: StorageV2 WITHOUT hierarchical namespace.

    In a private stack it follows Microsoft's secure workspace pattern: public network access
    Enabled, default action Deny, bypass AzureServices, and a resource-access rule for the
    workspace (with access Disabled, studio and the default datastores lose the account).
    `workspace_id` is built from names: the workspace itself needs this account's id first.
    """
    # https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#secure-azure-storage-accounts
    rules = [storage.ResourceAccessRuleArgs(resource_id=workspace_id, tenant_id=tenant_id)]
    # Azure ML's default datastores use its account key, so shared-key access stays on here.
    return hardened_account(
        TARGET.key,
        settings.name,
        settings.sku_name,
        hierarchical_namespace=False,
        allow_shared_key_access=True,
        private_networking=private_networking,
        placement=placement,
        opts=placement.options(parent),
        resource_access_rules=rules,
    )
