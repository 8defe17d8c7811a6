"""The one ComponentResource that composes the stack from its settings."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, resources

from infra.access import Access
from infra.common import Placement
from infra.compute import Compute
from infra.datastores import Datastores
from infra.naming import ResourceNames
from infra.network import Network
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
            "storage", settings.storage_account, settings.data_lake, placement, child
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
            opts=child,
        )
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
