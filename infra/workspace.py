"""The Azure ML workspace and its dependents: key vault, monitoring, container registry."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import (
    applicationinsights,
    containerregistry,
    keyvault,
    machinelearningservices,
    operationalinsights,
)

from infra.common import Placement
from infra.naming import ResourceNames
from infra.settings import (
    ContainerRegistrySettings,
    KeyVaultSettings,
    LogAnalyticsSettings,
    WorkspaceSettings,
)


def vault_properties(
    settings: KeyVaultSettings, tenant_id: pulumi.Input[str], *, private_networking: bool = False
) -> dict:
    """Key vault properties: RBAC, soft delete; purge protection only when on.

    A private vault takes no public traffic: network ACLs deny all but trusted Azure services.

    Azure rejects `enablePurgeProtection: false` and never lets it be turned off once on,
    so the property is omitted rather than sent as false.
    """
    properties: dict = {
        "tenant_id": tenant_id,
        "sku": keyvault.SkuArgs(
            family=keyvault.SkuFamily.A, name=keyvault.SkuName(settings.sku_name)
        ),
        "enable_rbac_authorization": True,
        "enable_soft_delete": True,
        "soft_delete_retention_in_days": settings.soft_delete_retention_in_days,
    }
    if settings.enable_purge_protection:
        properties["enable_purge_protection"] = True
    if private_networking:
        properties["public_network_access"] = "Disabled"
        properties["network_acls"] = keyvault.NetworkRuleSetArgs(
            default_action=keyvault.NetworkRuleAction.DENY,
            bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
        )
    else:
        properties["public_network_access"] = "Enabled"
    return properties


def registry_network(private_networking: bool) -> dict:
    """Registry network settings: a private (Premium) registry denies all public traffic."""
    if not private_networking:
        return {"public_network_access": "Enabled"}
    return {
        "public_network_access": "Disabled",
        "network_rule_bypass_options": "AzureServices",
        "network_rule_set": containerregistry.NetworkRuleSetArgs(default_action="Deny"),
    }


class Workspace(pulumi.ComponentResource):
    """Key vault, Log Analytics, Application Insights, registry and the ML workspace."""

    def __init__(
        self,
        name: str,
        *,
        workspace: WorkspaceSettings,
        key_vault: KeyVaultSettings,
        container_registry: ContainerRegistrySettings,
        log_analytics: LogAnalyticsSettings,
        names: ResourceNames,
        storage_account_id: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        placement: Placement,
        private_networking: bool = False,
        image_build_compute: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("azureml-dask:workspace:Workspace", name, None, opts)
        self.key_vault = keyvault.Vault(
            "key-vault",
            vault_name=key_vault.name,
            properties=keyvault.VaultPropertiesArgs(
                **vault_properties(key_vault, tenant_id, private_networking=private_networking)
            ),
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(self, stateful=True),
        )
        self.log_analytics_workspace = operationalinsights.Workspace(
            "log-analytics",
            workspace_name=names.log_analytics_workspace,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=log_analytics.retention_in_days,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(self),
        )
        self.application_insights = applicationinsights.Component(
            "application-insights",
            resource_name_=names.application_insights,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=self.log_analytics_workspace.id,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(self),
        )
        self.container_registry = containerregistry.Registry(
            "container-registry",
            registry_name=container_registry.name,
            sku=containerregistry.SkuArgs(name=container_registry.sku_name),
            admin_user_enabled=False,
            **registry_network(private_networking),
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(self),
        )
        self.workspace = machinelearningservices.Workspace(
            "workspace",
            workspace_name=workspace.name,
            kind="Default",
            sku=machinelearningservices.SkuArgs(
                name="Basic", tier=machinelearningservices.SkuTier.BASIC
            ),
            identity=machinelearningservices.ManagedServiceIdentityArgs(type="SystemAssigned"),
            friendly_name=workspace.friendly_name,
            description=workspace.description,
            storage_account=storage_account_id,
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
