"""The workspace's container registry: admin user off, private (Premium) when the stack is;
zone redundancy and a retention policy for untagged manifests where settings ask."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerregistry

from infra.placement import Placement
from infra.settings import ContainerRegistrySettings
from infra.targets import DiagnosticCategories, Target

TARGET = Target(
    key="container-registry",
    private_endpoints=("registry",),
    diagnostic_settings=DiagnosticCategories(),
    lock=True,
)

# A registry's zone redundancy is fixed when it is created: a change re-creates the registry.
# One list for the resource option and the plan diff (plan/diff.py).
# https://learn.microsoft.com/azure/container-registry/zone-redundancy
REGISTRY_REPLACE_ON_CHANGES = ["zoneRedundancy"]


def registry_network(private_networking: bool) -> dict:
    """Registry network settings: a private (Premium) registry denies all public traffic."""
    if not private_networking:
        return {"public_network_access": "Enabled"}
    return {
        "public_network_access": "Disabled",
        "network_rule_bypass_options": "AzureServices",
        "network_rule_set": containerregistry.NetworkRuleSetArgs(default_action="Deny"),
    }


def retention_policy(settings: ContainerRegistrySettings) -> dict:
    """The retention policy for untagged manifests, where set (settings: Premium only).

    Left out when unset, so registries created without it see no change.
    """
    if settings.retention_policy_days is None:
        return {}
    # Untagged manifests are deleted after `days` (Premium, preview); manifests untagged
    # before the policy was enabled are kept.
    # https://learn.microsoft.com/azure/container-registry/container-registry-retention-policy
    return {
        "policies": containerregistry.PoliciesArgs(
            retention_policy=containerregistry.RetentionPolicyArgs(
                status=containerregistry.PolicyStatus.ENABLED,
                days=settings.retention_policy_days,
            )
        )
    }


def container_registry(
    settings: ContainerRegistrySettings,
    *,
    private_networking: bool,
    placement: Placement,
    parent: pulumi.Resource,
) -> containerregistry.Registry:
    """The registry Azure ML builds and pulls job images from; identities pull, no admin user."""
    return containerregistry.Registry(
        TARGET.key,
        registry_name=settings.name,
        sku=containerregistry.SkuArgs(name=settings.sku_name),
        admin_user_enabled=False,
        **registry_network(private_networking),
        # Settings allow Enabled on Premium only; the SDK sends Disabled when unset.
        zone_redundancy=settings.zone_redundancy,
        **retention_policy(settings),
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        tags=dict(placement.tags),
        # The name is fixed, so the old registry must go before its replacement exists.
        opts=placement.options(
            parent, replace_on_changes=REGISTRY_REPLACE_ON_CHANGES, delete_before_replace=True
        ),
    )
