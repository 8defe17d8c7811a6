"""The hardened StorageV2 account that both the workspace storage and the data lake are."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage

from infra.encryption import CustomerManagedKey
from infra.placement import Placement

# Azure sets infrastructure encryption only when an account is created: a change re-creates
# the account. One list for the resource option and the plan diff (plan/diff.py).
# https://learn.microsoft.com/azure/storage/common/infrastructure-encryption-enable
STORAGE_ACCOUNT_REPLACE_ON_CHANGES = ["encryption.requireInfrastructureEncryption"]


def hardened_account(
    resource_name: str,
    account_name: str,
    sku_name: str,
    *,
    hierarchical_namespace: bool,
    allow_shared_key_access: bool,
    require_infrastructure_encryption: bool,
    private_networking: bool,
    placement: Placement,
    opts: pulumi.ResourceOptions,
    sas_policy: storage.SasPolicyArgs | None = None,
    resource_access_rules: list[storage.ResourceAccessRuleArgs] | None = None,
    customer_managed_key: CustomerManagedKey | None = None,
) -> storage.StorageAccount:
    """A StorageV2 account with HTTPS only, TLS 1.2, no public blobs, no cross-tenant copies,
    no local users (SFTP), and double encryption at rest when asked.

    Private: reachable only through its private endpoints and trusted Azure services; with
    `resource_access_rules`, public access stays Enabled but denies every network except the
    listed resource instances (the workspace storage pattern). An account that keeps shared
    key on must bring a `sas_policy`: account-key SAS tokens then have an upper lifetime.
    With `customer_managed_key` the account encrypts with that key, reached as its
    user-assigned identity (Microsoft's keys otherwise; switching either way is an in-place
    update). https://learn.microsoft.com/azure/storage/common/customer-managed-keys-overview
    """
    if allow_shared_key_access and sas_policy is None:
        raise ValueError(f"{resource_name}: an account with shared key on needs a SAS policy")
    network: dict = {"public_network_access": "Enabled"}
    if private_networking:
        network["network_rule_set"] = storage.NetworkRuleSetArgs(
            default_action=storage.DefaultAction.DENY,
            bypass="AzureServices",
            resource_access_rules=resource_access_rules or None,
        )
        if not resource_access_rules:
            network["public_network_access"] = "Disabled"
    keys: dict = {}
    if customer_managed_key is not None:
        keys["identity"] = customer_managed_key.storage_identity()
        keys["encryption"] = customer_managed_key.storage_encryption(
            require_infrastructure_encryption
        )
    elif require_infrastructure_encryption:
        # Off is Azure's default and is left out, so accounts created without it see no change.
        keys["encryption"] = storage.EncryptionArgs(
            key_source=storage.KeySource.MICROSOFT_STORAGE, require_infrastructure_encryption=True
        )
    return storage.StorageAccount(
        resource_name,
        account_name=account_name,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        kind="StorageV2",
        sku=storage.SkuArgs(name=sku_name),
        access_tier=storage.AccessTier.HOT,
        is_hns_enabled=hierarchical_namespace,
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        allow_shared_key_access=allow_shared_key_access,
        sas_policy=sas_policy,
        allow_cross_tenant_replication=False,
        # Local users are the identities of SFTP clients; nothing in this estate uses SFTP.
        # https://learn.microsoft.com/azure/storage/blobs/secure-file-transfer-protocol-support-authorize-access
        is_local_user_enabled=False,
        **network,
        **keys,
        tags=dict(placement.tags),
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                replace_on_changes=STORAGE_ACCOUNT_REPLACE_ON_CHANGES,
                # The name is fixed, so the old account must go before its replacement exists.
                delete_before_replace=True,
            ),
        ),
    )


def soft_delete_blob_service(
    resource_name: str,
    account: storage.StorageAccount,
    *,
    blob_days: int,
    container_days: int,
    placement: Placement,
    opts: pulumi.ResourceOptions,
) -> storage.BlobServiceProperties:
    """The account's blob service with blob and container soft delete: deleted blobs and
    containers stay recoverable for the given days."""
    # https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview
    return storage.BlobServiceProperties(
        resource_name,
        account_name=account.name,
        resource_group_name=placement.resource_group_name,
        blob_services_name="default",
        delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=blob_days),
        container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
            enabled=True, days=container_days
        ),
        opts=opts,
    )
