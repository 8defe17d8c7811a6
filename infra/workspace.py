"""The Azure ML workspace, and the component grouping it with the resources it is bound to."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices

from infra import container_registry, key_vault, monitoring, workspace_storage
from infra.naming import ResourceNames
from infra.placement import Placement
from infra.settings import (
    ContainerRegistrySettings,
    KeyVaultSettings,
    LogAnalyticsSettings,
    WorkspaceSettings,
)
from infra.targets import DiagnosticCategories, Target

TARGET = Target(
    key="workspace",
    private_endpoints=("amlworkspace",),
    diagnostic_settings=DiagnosticCategories(),
    lock=True,
)


class WorkspaceResources(pulumi.ComponentResource):
    """Key vault, Log Analytics, Application Insights, registry and the ML workspace."""

    def __init__(
        self,
        name: str,
        *,
        workspace: WorkspaceSettings,
        key_vault_settings: KeyVaultSettings,
        container_registry_settings: ContainerRegistrySettings,
        log_analytics: LogAnalyticsSettings,
        names: ResourceNames,
        storage_account_id: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        placement: Placement,
        private_networking: bool = False,
        image_build_compute: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # The type token predates this class's name; it is part of every child's URN.
        super().__init__("azureml-dask:workspace:Workspace", name, None, opts)
        self.key_vault = key_vault.key_vault(
            key_vault_settings,
            tenant_id=tenant_id,
            private_networking=private_networking,
            placement=placement,
            parent=self,
        )
        self.log_analytics_workspace = monitoring.log_analytics_workspace(
            log_analytics, names=names, placement=placement, parent=self
        )
        self.application_insights = monitoring.application_insights(
            log_analytics_workspace_id=self.log_analytics_workspace.id,
            names=names,
            placement=placement,
            parent=self,
        )
        self.container_registry = container_registry.container_registry(
            container_registry_settings,
            private_networking=private_networking,
            placement=placement,
            parent=self,
        )
        self.workspace = machinelearningservices.Workspace(
            TARGET.key,
            workspace_name=workspace.name,
            kind="Default",
            sku=machinelearningservices.SkuArgs(
                name="Basic", tier=machinelearningservices.SkuTier.BASIC
            ),
            identity=machinelearningservices.ManagedServiceIdentityArgs(type="SystemAssigned"),
            friendly_name=workspace.friendly_name,
            description=workspace.description,
            storage_account=storage_account_id,
            # By key, as the workspace storage keeps shared key on (infra/workspace_storage.py).
            system_datastores_auth_mode=workspace_storage.SYSTEM_DATASTORES_AUTH_MODE,
            key_vault=self.key_vault.id,
            application_insights=self.application_insights.id,
            container_registry=self.container_registry.id,
            public_network_access=workspace.public_network_access,
            # A private registry is out of reach of Azure's default image build compute.
            image_build_compute=image_build_compute,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(self, stateful=True),
        )
        self.register_outputs(
            {
                "workspaceId": self.workspace.id,
                "keyVaultUri": self.key_vault.properties.vault_uri,
                "containerRegistryLoginServer": self.container_registry.login_server,
            }
        )
