"""The workspace's container registry: admin user off, private (Premium) when the stack is."""

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


def registry_network(private_networking: bool) -> dict:
    """Registry network settings: a private (Premium) registry denies all public traffic."""
    if not private_networking:
        return {"public_network_access": "Enabled"}
    return {
        "public_network_access": "Disabled",
        "network_rule_bypass_options": "AzureServices",
        "network_rule_set": containerregistry.NetworkRuleSetArgs(default_action="Deny"),
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
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        tags=dict(placement.tags),
        opts=placement.options(parent),
    )
