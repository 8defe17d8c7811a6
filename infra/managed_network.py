"""The workspace's managed virtual network: its isolation mode and outbound rules.

With a managed network, Azure ML runs the compute clusters and instances in a network it
manages for the workspace, and adds the rules Azure ML itself needs (its service tags and
private endpoints to the workspace, its storage, key vault and registry) as required rules.
The stack adds, as user-defined rules, a private endpoint to the data lake for each of its
sub-resources, and in `AllowOnlyApprovedOutbound` the FQDNs and service tags from settings.
https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#list-of-required-rules
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra import data_lake
from infra.settings import ManagedNetworkSettings
from infra.settings.models import DATA_LAKE_RULE_PREFIX, FQDN_RULE_PREFIX

USER_DEFINED = ml.RuleCategory.USER_DEFINED

OutboundRule = (
    ml.PrivateEndpointOutboundRuleArgs | ml.FqdnOutboundRuleArgs | ml.ServiceTagOutboundRuleArgs
)


def fqdn_rule_name(host: str) -> str:
    """The rule name of an FQDN rule: `fqdn-` and the host, `*` as `wildcard`, dots as `-`."""
    return FQDN_RULE_PREFIX + host.replace("*", "wildcard").replace(".", "-")


def outbound_rules(
    settings: ManagedNetworkSettings, *, data_lake_id: pulumi.Input[str]
) -> dict[str, OutboundRule]:
    """Rule name -> user-defined outbound rule, for the isolation mode in `settings`."""
    # The jobs read the lake over dfs (abfss://) and Azure ML mounts it over blob.
    rules: dict[str, OutboundRule] = {
        f"{DATA_LAKE_RULE_PREFIX}{group}": ml.PrivateEndpointOutboundRuleArgs(
            type="PrivateEndpoint",
            category=USER_DEFINED,
            destination=ml.PrivateEndpointDestinationArgs(
                service_resource_id=data_lake_id,
                subresource_target=group,
                spark_enabled=False,
            ),
        )
        for group in data_lake.TARGET.private_endpoints
    }
    if not settings.approved_outbound_only:
        return rules  # Azure takes FQDN and service tag rules only in that mode
    for host in settings.fqdn_rules:
        rules[fqdn_rule_name(host)] = ml.FqdnOutboundRuleArgs(
            type="FQDN", category=USER_DEFINED, destination=host
        )
    for tag in settings.service_tag_rules:
        rules[tag.name] = ml.ServiceTagOutboundRuleArgs(
            type="ServiceTag",
            category=USER_DEFINED,
            destination=ml.ServiceTagDestinationArgs(
                service_tag=tag.service_tag,
                protocol=tag.protocol,
                port_ranges=tag.port_ranges,
                action=ml.RuleAction.ALLOW,
            ),
        )
    return rules


def managed_network(
    settings: ManagedNetworkSettings, *, data_lake_id: pulumi.Input[str]
) -> ml.ManagedNetworkSettingsArgs | None:
    """The workspace's `managedNetwork`, or None when Disabled (the property stays unset)."""
    if not settings.enabled:
        return None
    rules = outbound_rules(settings, data_lake_id=data_lake_id)
    # FQDN rules are what makes Azure ML deploy (and bill) an Azure Firewall.
    # https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#pricing
    has_fqdn = any(isinstance(r, ml.FqdnOutboundRuleArgs) for r in rules.values())
    return ml.ManagedNetworkSettingsArgs(
        isolation_mode=settings.isolation_mode,
        outbound_rules=rules,
        firewall_sku=settings.firewall_sku if has_fqdn else None,
    )
