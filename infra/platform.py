"""The one ComponentResource that composes the stack from its settings."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, resources

from infra.access import Access
from infra.common import Placement
from infra.compute import Compute
from infra.datastores import Datastores
from infra.diagnostics import (
    STORAGE_TRANSACTION_METRICS,
    Diagnostics,
    DiagnosticTarget,
    blob_service_uri,
)
from infra.locks import Locks
from infra.naming import ResourceNames
from infra.network import Network
from infra.private_networking import PRIVATE_LINK_GROUPS, PrivateLinkTarget, PrivateNetworking
from infra.settings import Settings
from infra.storage import Storage
from infra.workspace import Workspace


class Platform(pulumi.ComponentResource):
    """An Azure ML estate for Dask: network, storage, workspace, compute, access, datastores."""

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("azureml-dask:platform:Platform", name, None, opts)
        self.settings = settings
        names = ResourceNames(settings.name_prefix, settings.environment, settings.name_suffix)
        self.client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        )

        self.resource_group = resources.ResourceGroup(
            "resource-group",
            resource_group_name=settings.resource_group_name,
            location=settings.location,
            tags=dict(settings.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        placement = Placement(
            resource_group_name=self.resource_group.name,
            location=settings.location,
            tags=settings.tags,
            protect=settings.protect,
        )
        child = pulumi.ResourceOptions(parent=self)
        self.network = Network("network", settings.virtual_network, names, placement, child)
        self.storage = Storage(
            "storage",
            settings.storage_account,
            settings.data_lake,
            placement,
            child,
            private_networking=settings.private_networking,
        )
        self.workspace = Workspace(
            "workspace",
            workspace=settings.workspace,
            key_vault=settings.key_vault,
            container_registry=settings.container_registry,
            log_analytics=settings.log_analytics,
            names=names,
            storage_account_id=self.storage.storage_account.id,
            tenant_id=self.client.tenant_id,
            placement=placement,
            private_networking=settings.private_networking,
            image_build_compute=settings.image_build_compute,
            opts=child,
        )
        self._secure(settings, names, child)
        self.access = Access(
            "access",
            identity_name=names.compute_identity,
            service_principal=settings.service_principal,
            groups=settings.groups,
            data_lake_id=self.storage.data_lake.id,
            workspace_id=self.workspace.workspace.id,
            key_vault_name=self.workspace.key_vault.name,
            subscription_id=self.client.subscription_id,
            deployer_object_id=self.client.object_id,
            placement=placement,
            opts=child,
        )
        self.compute = Compute(
            "compute",
            clusters=settings.compute_clusters,
            instances=settings.compute_instances,
            workspace_name=self.workspace.workspace.name,
            subnet_id=self.network.compute_subnet.id,
            identity_id=self.access.compute_identity.id,
            tenant_id=self.client.tenant_id,
            placement=placement,
            # No-public-IP nodes talk to Azure ML only through the workspace private endpoint
            # (Azure rejects them without it); in a private stack they also reach storage,
            # vault and registry only privately: have endpoints and DNS in place first.
            depends_on=[self.private_networking] if self.private_networking else [],
            opts=child,
        )
        self.datastores = Datastores(
            "datastores",
            filesystems=settings.data_lake.filesystems,
            data_lake_name=self.storage.data_lake.name,
            workspace_name=self.workspace.workspace.name,
            service_principal=self.access.service_principal,
            tenant_id=self.client.tenant_id,
            placement=placement,
            depends_on=[*self.storage.filesystems, *self.access.role_assignments],
            opts=child,
        )
        self.register_outputs({"resourceGroupName": self.resource_group.name})

    def _secure(
        self, settings: Settings, names: ResourceNames, child: pulumi.ResourceOptions
    ) -> None:
        """Private endpoints, diagnostic settings, and locks (when protected).

        The workspace private endpoint exists whenever the stack declares compute: nodes
        without public IPs reach Azure ML only through it. `privateNetworking` adds the
        endpoints of storage, key vault and registry (and turns public access off).
        """
        workspace, storage = self.workspace, self.storage
        resource_ids = {
            "workspace": workspace.workspace.id,
            "workspace-storage": storage.storage_account.id,
            "data-lake": storage.data_lake.id,
            "key-vault": workspace.key_vault.id,
            "container-registry": workspace.container_registry.id,
        }
        keys = [
            key
            for key in PRIVATE_LINK_GROUPS
            if settings.private_networking or (key == "workspace" and settings.has_compute)
        ]
        self.private_networking: PrivateNetworking | None = None
        if keys:
            self.private_networking = PrivateNetworking(
                "private-networking",
                targets=tuple(
                    PrivateLinkTarget(key, resource_ids[key], PRIVATE_LINK_GROUPS[key])
                    for key in keys
                ),
                virtual_network_id=self.network.virtual_network.id,
                subnet_id=self.network.private_endpoint_subnet.id,
                resource_group_name=self.resource_group.name,
                location=settings.location,
                name_base=names.base,
                tags=settings.tags,
                opts=child,
            )
        self.diagnostics = Diagnostics(
            "diagnostics",
            targets=(
                DiagnosticTarget("workspace", workspace.workspace.id),
                DiagnosticTarget(
                    "data-lake",
                    blob_service_uri(storage.data_lake.id),
                    metric_categories=(STORAGE_TRANSACTION_METRICS,),
                ),
                DiagnosticTarget("key-vault", workspace.key_vault.id),
                DiagnosticTarget("container-registry", workspace.container_registry.id),
            ),
            log_analytics_workspace_id=workspace.log_analytics_workspace.id,
            opts=child,
        )
        self.locks: Locks | None = None
        if settings.protect:
            self.locks = Locks(
                "locks",
                resource_group_name=self.resource_group.name,
                resources={"data-lake": storage.data_lake.id},
                opts=child,
            )
