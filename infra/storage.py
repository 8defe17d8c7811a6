"""Storage: the component grouping the workspace storage account and the data lake."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage

from infra import data_lake, workspace_storage
from infra.placement import Placement
from infra.settings import DataLakeSettings, StorageAccountSettings


class StorageAccounts(pulumi.ComponentResource):
    """The workspace storage account and the data lake (a separate ADLS Gen2 account)."""

    workspace_storage: storage.StorageAccount
    data_lake: storage.StorageAccount
    filesystems: list[storage.BlobContainer]

    def __init__(
        self,
        name: str,
        account: StorageAccountSettings,
        lake: DataLakeSettings,
        placement: Placement,
        opts: pulumi.ResourceOptions | None = None,
        *,
        workspace_id: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        private_networking: bool = False,
    ) -> None:
        # The type token predates this class's name; it is part of every child's URN.
        super().__init__("azureml-dask:storage:Storage", name, None, opts)
        self.workspace_storage, self.workspace_storage_blob_service = (
            workspace_storage.workspace_storage(
                account,
                private_networking=private_networking,
                placement=placement,
                parent=self,
                workspace_id=workspace_id,
                tenant_id=tenant_id,
            )
        )
        self.data_lake, self.data_lake_blob_service, self.filesystems = data_lake.data_lake(
            lake, private_networking=private_networking, placement=placement, parent=self
        )
        self.register_outputs(
            {
                "storageAccountId": self.workspace_storage.id,
                "dataLakeId": self.data_lake.id,
                "filesystems": [c.name for c in self.filesystems],
            }
        )
