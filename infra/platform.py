"""The one ComponentResource that composes the stack from its settings."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, resources

from infra import (
    container_registry,
    data_lake,
    key_vault,
    monitoring,
    workspace,
    workspace_storage,
)
from infra.access import Access
from infra.compute import Compute
from infra.datastores import Datastores
from infra.diagnostics import Diagnostics, DiagnosticTarget
from infra.locks import Locks
from infra.naming import ResourceNames
from infra.network import Network
from infra.placement import Placement
from infra.private_networking import PrivateLinkTarget, PrivateNetworking
from infra.settings import Settings
from infra.storage import StorageAccounts
from infra.targets import Target
from infra.workspace import WorkspaceResources

TARGETS: tuple[Target, ...] = (
    workspace.TARGET,
    workspace_storage.TARGET,
    data_lake.TARGET,
    key_vault.TARGET,
    container_registry.TARGET,
)
"""The one table of targets: each resource's private endpoints, diagnostics and lock."""


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
        self.network = Network(
            "network",
            settings.virtual_network,
            names,
            placement,
            child,
            compute_subnet=settings.has_compute_subnet,
        )
        self.storage_accounts = StorageAccounts(
            "storage",
            settings.storage_account,
            placement,
            child,
            workspace_id=pulumi.Output.concat(
                "/subscriptions/",
                self.client.subscription_id,
                "/resourceGroups/",
                self.resource_group.name,
                "/providers/Microsoft.MachineLearningServices/workspaces/",
                settings.workspace.name,
            ),
            tenant_id=self.client.tenant_id,
            private_networking=settings.private_networking,
        )
        self.workspace_storage = self.storage_accounts.workspace_storage
        self.workspace_resources = WorkspaceResources(
            "workspace",
            workspace=settings.workspace,
            key_vault_settings=settings.key_vault,
            container_registry_settings=settings.container_registry,
            log_analytics=settings.log_analytics,
            names=names,
            tenant_id=self.client.tenant_id,
            placement=placement,
            private_networking=settings.private_networking,
            encryption=settings.encryption,
            subscription_id=self.client.subscription_id,
            opts=child,
        )
        self.key_vault = self.workspace_resources.key_vault
        self.container_registry = self.workspace_resources.container_registry
        self.log_analytics_workspace = self.workspace_resources.log_analytics_workspace
        self.customer_managed_key = self.workspace_resources.customer_managed_key
        # The lake comes after the vault (with customer-managed keys it encrypts with its key)
        # and before the workspace (whose managed network reaches it by private endpoint).
        self.storage_accounts.add_data_lake(settings.data_lake, self.customer_managed_key)
        self.data_lake = self.storage_accounts.data_lake
        self.filesystems = self.storage_accounts.filesystems
        self.workspace_resources.add_workspace(
            storage_account_id=self.workspace_storage.id,
            data_lake_id=self.data_lake.id,
            image_build_compute=settings.image_build_compute,
        )
        self.workspace = self.workspace_resources.workspace
        self._secure(settings, names, child)
        # No recipients, no alert: a rule nobody hears only costs its evaluations.
        self.failed_jobs_alert = (
            monitoring.failed_jobs_alert(
                settings.monitoring.alert_emails,
                log_analytics_workspace_id=self.log_analytics_workspace.id,
                names=names,
                placement=placement,
                parent=self,
            )
            if settings.monitoring.alert_emails
            else None
        )
        self.access = Access(
            "access",
            identity_name=names.compute_identity,
            service_principal=settings.service_principal,
            groups=settings.groups,
            data_lake_id=self.data_lake.id,
            workspace_id=self.workspace.id,
            container_registry_id=self.container_registry.id,
            image_build_compute=settings.image_build_compute,
            workspace_principal_id=(
                self.workspace.identity.apply(lambda i: i.principal_id if i else "")
                if settings.private_networking
                else None
            ),
            key_vault_name=self.key_vault.name,
            subscription_id=self.client.subscription_id,
            deployer_object_id=self.client.object_id,
            placement=placement,
            opts=child,
        )
        self.compute = Compute(
            "compute",
            clusters=settings.compute_clusters,
            instances=settings.compute_instances,
            workspace_name=self.workspace.name,
            # None in a managed network: Azure ML places the nodes there itself.
            subnet_id=self.network.compute_subnet.id if self.network.compute_subnet else None,
            identity_id=self.access.compute_identity.id,
            tenant_id=self.client.tenant_id,
            placement=placement,
            # No-public-IP nodes talk to Azure ML only through the workspace private endpoint
            # (Azure rejects them without it); in a private stack they also reach storage,
            # vault and registry only privately: have endpoints and DNS in place first.
            # Nodes pull their image and read the lake as the identity: grants come first.
            depends_on=[
                *([self.private_networking] if self.private_networking else []),
                *self.access.compute_identity_role_assignments,
            ],
            opts=child,
        )
        self.datastores = Datastores(
            "datastores",
            filesystems=settings.data_lake.filesystems,
            data_lake_name=self.data_lake.name,
            workspace_name=self.workspace.name,
            service_principal=self.access.service_principal,
            tenant_id=self.client.tenant_id,
            placement=placement,
            private_networking=settings.private_networking,
            depends_on=[*self.filesystems, *self.access.role_assignments],
            opts=child,
        )
        self.register_outputs({"resourceGroupName": self.resource_group.name})

    def _secure(
        self, settings: Settings, names: ResourceNames, child: pulumi.ResourceOptions
    ) -> None:
        """Private endpoints, diagnostic settings, and locks (when protected).

        The workspace private endpoint exists whenever compute runs in the compute subnet:
        nodes without public IPs reach Azure ML only through it (in a managed network Azure
        ML adds its own, as a required rule). `privateNetworking` adds the endpoints of
        storage, key vault and registry (and turns public access off).
        """
        resource_ids: dict[str, pulumi.Input[str]] = {
            workspace.TARGET.key: self.workspace.id,
            workspace_storage.TARGET.key: self.workspace_storage.id,
            data_lake.TARGET.key: self.data_lake.id,
            key_vault.TARGET.key: self.key_vault.id,
            container_registry.TARGET.key: self.container_registry.id,
        }
        private = [
            t
            for t in TARGETS
            if settings.private_networking
            or (t is workspace.TARGET and settings.has_compute and settings.has_compute_subnet)
        ]
        self.private_networking: PrivateNetworking | None = None
        if private:
            self.private_networking = PrivateNetworking(
                "private-networking",
                targets=tuple(
                    PrivateLinkTarget(t.key, resource_ids[t.key], t.private_endpoints)
                    for t in private
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
            targets=tuple(
                DiagnosticTarget(
                    t.key,
                    t.diagnostics_scope(resource_ids[t.key]),
                    metric_categories=t.diagnostic_settings.metric_categories,
                    log_category_groups=t.diagnostic_settings.log_category_groups,
                )
                for t in TARGETS
                if t.diagnostic_settings is not None
            ),
            log_analytics_workspace_id=self.log_analytics_workspace.id,
            opts=child,
        )
        self.locks: Locks | None = None
        if settings.protect:
            self.locks = Locks(
                "locks",
                resources={t.key: resource_ids[t.key] for t in TARGETS if t.lock},
                opts=child,
            )
