"""Storage: the component grouping the workspace storage account and the data lake."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import storage

from infra import data_lake, workspace_storage
from infra.encryption import CustomerManagedKey
from infra.placement import Placement
from infra.settings import DataLakeSettings, StorageAccountSettings


class StorageAccounts(pulumi.ComponentResource):
    """The workspace storage account and the data lake (a separate ADLS Gen2 account).

    Built in two steps: the workspace storage first (the workspace needs it), the data lake
    with `add_data_lake` once the key vault (and a customer-managed key) exist.
    """

    workspace_storage: storage.StorageAccount
    data_lake: storage.StorageAccount
    filesystems: list[storage.BlobContainer]

    def __init__(
        self,
        name: str,
        account: StorageAccountSettings,
        placement: Placement,
        opts: pulumi.ResourceOptions | None = None,
        *,
        workspace_id: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        private_networking: bool = False,
    ) -> None:
        # The type token predates this class's name; it is part of every child's URN.
        super().__init__("azureml-dask:storage:Storage", name, None, opts)
        self._placement = placement
        self._private_networking = private_networking
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

    def add_data_lake(
        self, lake: DataLakeSettings, customer_managed_key: CustomerManagedKey | None = None
    ) -> None:
        """Declare the data lake and its filesystems (once), then the component's outputs."""
        self.data_lake, self.data_lake_blob_service, self.filesystems = data_lake.data_lake(
            lake,
            private_networking=self._private_networking,
            placement=self._placement,
            parent=self,
            customer_managed_key=customer_managed_key,
        )
        self.register_outputs(
            {
                "storageAccountId": self.workspace_storage.id,
                "dataLakeId": self.data_lake.id,
                "filesystems": [c.name for c in self.filesystems],
            }
        )
