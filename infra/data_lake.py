"""The data lake: an ADLS Gen2 account (hierarchical namespace) and its filesystems."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage

from infra.diagnostics import STORAGE_TRANSACTION_METRICS
from infra.encryption import CustomerManagedKey
from infra.placement import Placement
from infra.settings import DataLakeSettings
from infra.storage_account import hardened_account, soft_delete_blob_service
from infra.targets import DiagnosticCategories, Target

TARGET = Target(
    key="data-lake",
    private_endpoints=("blob", "dfs"),
    # A storage account's own scope has metrics only; its data-plane logs are the blob service's.
    diagnostic_settings=DiagnosticCategories(
        metric_categories=(STORAGE_TRANSACTION_METRICS,), sub_resource="blobServices/default"
    ),
    lock=True,
)


def data_lake(
    settings: DataLakeSettings,
    *,
    private_networking: bool,
    placement: Placement,
    parent: pulumi.Resource,
    customer_managed_key: CustomerManagedKey | None = None,
) -> tuple[storage.StorageAccount, storage.BlobServiceProperties, list[storage.BlobContainer]]:
    """The lake account, its blob service (soft delete), and one filesystem per name."""
    # isHnsEnabled and infrastructure encryption cannot change after creation: changing them
    # replaces the account and destroys its data, hence `protect` on stacks that ask for it.
    account = hardened_account(
        TARGET.key,
        settings.name,
        settings.sku_name,
        hierarchical_namespace=True,
        allow_shared_key_access=False,
        require_infrastructure_encryption=settings.require_infrastructure_encryption,
        private_networking=private_networking,
        placement=placement,
        customer_managed_key=customer_managed_key,
        # With a customer-managed key, the account's identity must hold its grant first.
        opts=placement.options(
            parent,
            stateful=True,
            depends_on=customer_managed_key.ready if customer_managed_key else [],
        ),
    )
    blob_service = soft_delete_blob_service(
        "data-lake-blob-service",
        account,
        blob_days=settings.delete_retention_days,
        container_days=settings.container_delete_retention_days,
        placement=placement,
        opts=placement.options(parent),
    )
    filesystems = [
        storage.BlobContainer(
            f"filesystem-{fs}",
            container_name=fs,
            account_name=account.name,
            resource_group_name=placement.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            opts=placement.options(parent, stateful=True, depends_on=[blob_service]),
        )
        for fs in settings.filesystems
    ]
    return account, blob_service, filesystems
