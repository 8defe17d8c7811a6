"""Private networking policy (a stack policy: it relates resources to their endpoints).

Where the stack must be private (see `policy.posture`), and for every resource that itself
disables public network access, the resource must be reachable only through private
endpoints: public network access `Disabled`, network ACLs `Deny` where the resource has
them, and a private endpoint with a private DNS zone group for each sub-resource (group id)
Azure ML uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policy.posture import requires_private_networking
from policy.violations import prop, report_stack_resource

PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
REGISTRY = "azure-native:containerregistry:Registry"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
PRIVATE_LINK_TYPES = (STORAGE_ACCOUNT, VAULT, REGISTRY, WORKSPACE)


def required_group_ids(resource: PolicyResource) -> set[str]:
    """The private endpoint sub-resources Azure ML needs on this resource."""
    if resource.resource_type == STORAGE_ACCOUNT:
        # The data lake is read through dfs (abfss://); the workspace storage mounts files.
        hns = prop(resource.props, "isHnsEnabled") is True
        return {"blob", "dfs"} if hns else {"blob", "file"}
    return {
        VAULT: {"vault"},
        REGISTRY: {"registry"},
        WORKSPACE: {"amlworkspace"},
    }.get(resource.resource_type, set())


def _access_settings(resource: PolicyResource) -> tuple[Any, Any, bool]:
    """(publicNetworkAccess, network ACL default action, whether the type has ACLs)."""
    props = resource.props
    if resource.resource_type == VAULT:
        return (
            prop(props, "properties", "publicNetworkAccess"),
            prop(props, "properties", "networkAcls", "defaultAction"),
            True,
        )
    if resource.resource_type in (STORAGE_ACCOUNT, REGISTRY):
        return (
            prop(props, "publicNetworkAccess"),
            prop(props, "networkRuleSet", "defaultAction"),
            True,
        )
    return prop(props, "publicNetworkAccess"), None, False


def _admits_only_workspaces(resource: PolicyResource) -> bool:
    """A storage account in the secure workspace pattern: public access Enabled, but every
    network denied except resource-access rules for Azure ML workspaces."""
    # https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#secure-azure-storage-accounts
    if resource.resource_type != STORAGE_ACCOUNT:
        return False
    rules = _safe(lambda: prop(resource.props, "networkRuleSet", "resourceAccessRules")) or []
    return bool(rules) and all(
        "/providers/microsoft.machinelearningservices/workspaces/"
        in str(_safe(lambda r=r: prop(r, "resourceId")) or "").lower()
        for r in rules
    )


def _safe(value: Any) -> Any:
    """Read a possibly-unknown value (during preview) as None instead of failing."""
    try:
        return value()
    except UnknownValueError:
        return None


def _targets(endpoint: PolicyResource, resource: PolicyResource) -> bool:
    """Whether a private endpoint connects to `resource`."""
    linked = prop(endpoint.property_dependencies, "privateLinkServiceConnections") or []
    if any(r.urn == resource.urn for r in linked):
        return True
    if any(r.urn == resource.urn for r in endpoint.dependencies):
        return True
    resource_id = _safe(lambda: prop(resource.props, "id"))
    if not resource_id:
        return False
    connections = _safe(lambda: prop(endpoint.props, "privateLinkServiceConnections")) or []
    return any(
        str(_safe(lambda c=c: prop(c, "privateLinkServiceId")) or "").lower()
        == str(resource_id).lower()
        for c in connections
    )


def _group_ids(endpoint: PolicyResource) -> set[str]:
    connections = _safe(lambda: prop(endpoint.props, "privateLinkServiceConnections")) or []
    ids: set[str] = set()
    for connection in connections:
        ids.update(_safe(lambda c=connection: prop(c, "groupIds")) or [])
    return ids


def has_zone_group(endpoint: PolicyResource, zone_groups: Iterable[PolicyResource]) -> bool:
    """Whether a private DNS zone group belongs to `endpoint` (by dependency or name)."""
    name = _safe(lambda: prop(endpoint.props, "privateEndpointName"))
    for group in zone_groups:
        if any(r.urn == endpoint.urn for r in group.dependencies):
            return True
        if name and _safe(lambda g=group: prop(g.props, "privateEndpointName")) == name:
            return True
    return False


def validate_private_networking(args: StackValidationArgs, report: ReportViolation) -> None:
    """Private resources disable public access and have private endpoints with DNS."""
    endpoints = [r for r in args.resources if r.resource_type == PRIVATE_ENDPOINT]
    zone_groups = [r for r in args.resources if r.resource_type == PRIVATE_DNS_ZONE_GROUP]
    for resource in args.resources:
        if resource.resource_type not in PRIVATE_LINK_TYPES:
            continue
        public, default_action, has_acls = _access_settings(resource)
        stack_private = requires_private_networking(resource.urn, args.stack_tags)
        if not stack_private and public != "Disabled":
            continue  # a public resource in a stack that allows it

        if public != "Disabled" and not (
            public == "Enabled" and default_action == "Deny" and _admits_only_workspaces(resource)
        ):
            report_stack_resource(
                report,
                resource,
                f"this stack must be private but publicNetworkAccess is {public!r}.",
                "set azureml-dask:privateNetworking: true in the stack file (public network "
                "access is then Disabled everywhere).",
            )
        if has_acls and default_action != "Deny":
            report_stack_resource(
                report,
                resource,
                f"the network ACL default action is {default_action!r}, not 'Deny'.",
                "set the network rule set's default_action='Deny' with bypass='AzureServices'.",
            )
        linked = [e for e in endpoints if _targets(e, resource)]
        present = set().union(*(_group_ids(e) for e in linked)) if linked else set()
        missing = sorted(required_group_ids(resource) - present)
        if missing:
            report_stack_resource(
                report,
                resource,
                f"no private endpoint for sub-resource(s) {', '.join(missing)}, so nothing in "
                "the virtual network can reach it once public access is off.",
                "create the private endpoints with infra.private_networking.PrivateEndpoints.",
            )
        for endpoint in linked:
            if not has_zone_group(endpoint, zone_groups):
                report_stack_resource(
                    report,
                    resource,
                    f"private endpoint '{endpoint.name}' has no private DNS zone group, so its "
                    "name still resolves to the public address.",
                    "add a PrivateDnsZoneGroup linking the endpoint to its privatelink zone.",
                )


PRIVATE_ENDPOINTS = StackValidationPolicy(
    name="private-endpoints-where-private",
    description="Resources of a private stack (or that disable public access) have public "
    "access off and private endpoints with private DNS.",
    validate=validate_private_networking,
)
