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
) -> storage.StorageAccount:
    """The workspace storage account: StorageV2 WITHOUT hierarchical namespace."""
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
    )
