"""The Azure ML workspace, and the component grouping it with the resources it is bound to."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices

from infra import container_registry, key_vault, managed_network, monitoring, workspace_storage
from infra.encryption import CustomerManagedKey
from infra.naming import ResourceNames
from infra.placement import Placement
from infra.settings import (
    ContainerRegistrySettings,
    EncryptionSettings,
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

# Azure ML takes a customer-managed key only when it creates the workspace: turning
# encryption on or off re-creates it. The plan diff reads the same list.
# https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys#limitations
WORKSPACE_REPLACE_ON_CHANGES = ["encryption"]


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
        tenant_id: pulumi.Input[str],
        placement: Placement,
        private_networking: bool = False,
        encryption: EncryptionSettings | None = None,
        subscription_id: pulumi.Input[str] = "",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """The workspace's key vault (with the customer-managed key when `encryption` asks
        for one), monitoring and registry; `add_workspace` then declares the workspace.

        Two steps because the data lake sits between them: it encrypts with the vault's key,
        and the workspace's managed network has a private endpoint rule to it.
        """
        # The type token predates this class's name; it is part of every child's URN.
        super().__init__("azureml-dask:workspace:Workspace", name, None, opts)
        self.key_vault = key_vault.key_vault(
            key_vault_settings,
            tenant_id=tenant_id,
            private_networking=private_networking,
            placement=placement,
            parent=self,
        )
        self.customer_managed_key: CustomerManagedKey | None = None
        if encryption is not None and encryption.customer_managed_keys:
            self.customer_managed_key = CustomerManagedKey(
                "customer-managed-key",
                encryption,
                key_vault=self.key_vault,
                identity_name=names.encryption_identity,
                subscription_id=subscription_id,
                placement=placement,
                opts=pulumi.ResourceOptions(parent=self),
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
        self._workspace_settings = workspace
        self._placement = placement
        self._private_networking = private_networking

    def add_workspace(
        self,
        *,
        storage_account_id: pulumi.Input[str],
        data_lake_id: pulumi.Input[str],
        image_build_compute: str | None = None,
    ) -> None:
        """Declare the workspace (once), linked to this component's resources."""
        workspace, placement, cmk = (
            self._workspace_settings,
            self._placement,
            self.customer_managed_key,
        )
        self.workspace = machinelearningservices.Workspace(
            TARGET.key,
            workspace_name=workspace.name,
            kind="Default",
            sku=machinelearningservices.SkuArgs(
                name="Basic", tier=machinelearningservices.SkuTier.BASIC
            ),
            # The system identity keeps Azure ML's own grants; the key's identity is added.
            identity=machinelearningservices.ManagedServiceIdentityArgs(
                type="SystemAssigned,UserAssigned", user_assigned_identities=[cmk.identity.id]
            )
            if cmk
            else machinelearningservices.ManagedServiceIdentityArgs(type="SystemAssigned"),
            encryption=cmk.workspace_encryption() if cmk else None,
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
            # Absent when Disabled: today's workspaces declare no managed network at all.
            managed_network=managed_network.managed_network(
                workspace.managed_network, data_lake_id=data_lake_id
            ),
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(
                self,
                stateful=True,
                replace_on_changes=WORKSPACE_REPLACE_ON_CHANGES,
                depends_on=cmk.ready if cmk else [],
            ),
        )
        self.register_outputs(
            {
                "workspaceId": self.workspace.id,
                "keyVaultUri": self.key_vault.properties.vault_uri,
                "containerRegistryLoginServer": self.container_registry.login_server,
            }
        )
