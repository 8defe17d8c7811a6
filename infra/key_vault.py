"""The key vault: RBAC-only, soft delete on, private when the stack is private."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import keyvault

from infra.placement import Placement
from infra.settings import KeyVaultSettings
from infra.targets import DiagnosticCategories, Target

TARGET = Target(
    key="key-vault",
    private_endpoints=("vault",),
    diagnostic_settings=DiagnosticCategories(),
    lock=True,
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


def key_vault(
    settings: KeyVaultSettings,
    *,
    tenant_id: pulumi.Input[str],
    private_networking: bool,
    placement: Placement,
    parent: pulumi.Resource,
) -> keyvault.Vault:
    """The workspace's key vault (stateful: its secrets cannot be re-created)."""
    return keyvault.Vault(
        TARGET.key,
        vault_name=settings.name,
        properties=keyvault.VaultPropertiesArgs(
            **vault_properties(settings, tenant_id, private_networking=private_networking)
        ),
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        tags=dict(placement.tags),
        opts=placement.options(parent, stateful=True),
    )
