"""Storage: the workspace's own account and the ADLS Gen2 data lake with its filesystems."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage

from infra.common import Placement
from infra.settings import DataLakeSettings, StorageAccountSettings


def _hardened_account(
    resource_name: str,
    account_name: str,
    sku_name: str,
    *,
    hierarchical_namespace: bool,
    allow_shared_key_access: bool,
    placement: Placement,
    opts: pulumi.ResourceOptions,
) -> storage.StorageAccount:
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
        allow_cross_tenant_replication=False,
        tags=dict(placement.tags),
        opts=opts,
    )


class Storage(pulumi.ComponentResource):
    """The workspace storage account and the data lake (a separate ADLS Gen2 account)."""

    storage_account: storage.StorageAccount
    data_lake: storage.StorageAccount
    filesystems: list[storage.BlobContainer]

    def __init__(
        self,
        name: str,
        account: StorageAccountSettings,
        lake: DataLakeSettings,
        placement: Placement,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("azureml-dask:storage:Storage", name, None, opts)
        # The workspace's own account must NOT have a hierarchical namespace. Azure ML's
        # default datastores use its account key, so shared-key access stays on here.
        self.storage_account = _hardened_account(
            "workspace-storage",
            account.name,
            account.sku_name,
            hierarchical_namespace=False,
            allow_shared_key_access=True,
            placement=placement,
            opts=placement.options(self),
        )
        # isHnsEnabled cannot change after creation: changing it replaces the account and
        # destroys its data, hence `protect` on stacks that ask for it.
        self.data_lake = _hardened_account(
            "data-lake",
            lake.name,
            lake.sku_name,
            hierarchical_namespace=True,
            allow_shared_key_access=False,
            placement=placement,
            opts=placement.options(self, stateful=True),
        )
        self.data_lake_blob_service = storage.BlobServiceProperties(
            "data-lake-blob-service",
            account_name=self.data_lake.name,
            resource_group_name=placement.resource_group_name,
            blob_services_name="default",
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=lake.delete_retention_days
            ),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=lake.container_delete_retention_days
            ),
            opts=placement.options(self),
        )
        self.filesystems = [
            storage.BlobContainer(
                f"filesystem-{fs}",
                container_name=fs,
                account_name=self.data_lake.name,
                resource_group_name=placement.resource_group_name,
                public_access=storage.PublicAccess.NONE,
                opts=placement.options(
                    self, stateful=True, depends_on=[self.data_lake_blob_service]
                ),
            )
            for fs in lake.filesystems
        ]
        self.register_outputs(
            {
                "storageAccountId": self.storage_account.id,
                "dataLakeId": self.data_lake.id,
                "filesystems": [c.name for c in self.filesystems],
            }
        )
