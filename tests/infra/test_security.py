"""Secure by default, for every stack file: private networking, diagnostics, locks (mocks)."""

from __future__ import annotations

import pytest

from infra.diagnostics import ALL_LOGS, ALL_METRICS, STORAGE_TRANSACTION_METRICS
from infra.offline import ResourceRecord, StackRun
from infra.private_networking import PRIVATE_DNS_ZONES
from infra.settings import Settings

SA = "azure-native:storage:StorageAccount"
KV = "azure-native:keyvault:Vault"
ACR = "azure-native:containerregistry:Registry"
MLW = "azure-native:machinelearningservices:Workspace"
PE = "azure-native:network:PrivateEndpoint"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
RG_LOCK = "azure-native:authorization:ManagementLockAtResourceGroupLevel"
SCOPE_LOCK = "azure-native:authorization:ManagementLockByScope"

# (type, logical name) -> the private endpoint sub-resources Azure ML needs on it
PRIVATE_LINK_TARGETS = {
    (MLW, "workspace"): {"amlworkspace"},
    (SA, "workspace-storage"): {"blob", "file"},
    (SA, "data-lake"): {"blob", "dfs"},
    (KV, "key-vault"): {"vault"},
    (ACR, "container-registry"): {"registry"},
}


def _public_network_access(record: ResourceRecord) -> str | None:
    if record.type == KV:
        return record.inputs["properties"].get("publicNetworkAccess")
    return record.inputs.get("publicNetworkAccess")


def test_public_network_access_follows_the_private_networking_switch(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    expected = "Disabled" if stack_settings.private_networking else "Enabled"
    for type_, name in PRIVATE_LINK_TARGETS:
        assert _public_network_access(stack_run.one(type_, name)) == expected, name


def test_private_stacks_deny_public_traffic_but_trusted_azure_services(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    if not stack_settings.private_networking:
        pytest.skip(f"stack {stack_run.stack} is not private")
    for name in ("workspace-storage", "data-lake"):
        rules = stack_run.one(SA, name).inputs["networkRuleSet"]
        assert rules["defaultAction"] == "Deny"
        assert rules["bypass"] == "AzureServices"
    acls = stack_run.one(KV).inputs["properties"]["networkAcls"]
    assert acls == {"defaultAction": "Deny", "bypass": "AzureServices"}
    registry = stack_run.one(ACR).inputs
    assert registry["sku"]["name"] == "Premium"
    assert registry["networkRuleSet"]["defaultAction"] == "Deny"
    assert registry["networkRuleBypassOptions"] == "AzureServices"


def test_public_stacks_have_no_private_endpoints_or_zones(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    if stack_settings.private_networking:
        pytest.skip(f"stack {stack_run.stack} is private")
    for type_ in (PE, ZONE, ZONE_LINK, ZONE_GROUP):
        assert stack_run.by_type(type_) == []


def test_private_endpoints_for_every_target_and_sub_resource(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    if not stack_settings.private_networking:
        pytest.skip(f"stack {stack_run.stack} is not private")
    subnet = stack_run.one("azure-native:network:Subnet", "private-endpoint-subnet")
    found: dict[str, set[str]] = {}
    for endpoint in stack_run.by_type(PE):
        assert endpoint.inputs["subnet"]["id"] == subnet.id
        for connection in endpoint.inputs["privateLinkServiceConnections"]:
            found.setdefault(connection["privateLinkServiceId"], set()).update(
                connection["groupIds"]
            )
    expected = {stack_run.one(t, n).id: groups for (t, n), groups in PRIVATE_LINK_TARGETS.items()}
    assert found == expected


def test_private_dns_zones_are_linked_and_every_endpoint_uses_them(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    if not stack_settings.private_networking:
        pytest.skip(f"stack {stack_run.stack} is not private")
    vnet = stack_run.one("azure-native:network:VirtualNetwork")
    zones = {z.inputs["privateZoneName"]: z for z in stack_run.by_type(ZONE)}
    assert set(zones) == {z for names in PRIVATE_DNS_ZONES.values() for z in names}
    links = stack_run.by_type(ZONE_LINK)
    assert sorted(link.inputs["privateZoneName"] for link in links) == sorted(zones)
    assert all(link.inputs["virtualNetwork"]["id"] == vnet.id for link in links)
    groups = {g.inputs["privateEndpointName"]: g for g in stack_run.by_type(ZONE_GROUP)}
    for endpoint in stack_run.by_type(PE):
        group = groups[endpoint.inputs["privateEndpointName"]]
        (group_id,) = endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"]
        zone_ids = {c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]}
        assert zone_ids == {zones[z].id for z in PRIVATE_DNS_ZONES[group_id]}


def test_compute_waits_for_the_private_endpoints_and_their_dns(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    if not stack_settings.private_networking:
        pytest.skip(f"stack {stack_run.stack} is not private")
    needed = {r.urn for r in stack_run.by_type(PE) + stack_run.by_type(ZONE_GROUP)}
    computes = stack_run.by_type("azure-native:machinelearningservices:Compute")
    assert computes
    for compute in computes:
        assert needed <= set(compute.dependencies), compute.name


def test_diagnostics_send_all_logs_and_metrics_to_log_analytics(stack_run: StackRun) -> None:
    log_analytics = stack_run.one("azure-native:operationalinsights:Workspace")
    lake = stack_run.one(SA, "data-lake")
    expected = {
        stack_run.one(MLW).id: ALL_METRICS,
        f"{lake.id}/blobServices/default": STORAGE_TRANSACTION_METRICS,
        stack_run.one(KV).id: ALL_METRICS,
        stack_run.one(ACR).id: ALL_METRICS,
    }
    settings = {d.inputs["resourceUri"]: d.inputs for d in stack_run.by_type(DIAGNOSTIC)}
    assert set(settings) == set(expected)
    for uri, metric in expected.items():
        assert settings[uri]["workspaceId"] == log_analytics.id
        assert settings[uri]["logs"] == [{"categoryGroup": ALL_LOGS, "enabled": True}]
        assert settings[uri]["metrics"] == [{"category": metric, "enabled": True}]


def test_protected_stacks_lock_the_resource_group_and_the_data_lake(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    group_locks = stack_run.by_type(RG_LOCK)
    scope_locks = stack_run.by_type(SCOPE_LOCK)
    if not stack_settings.protect:
        assert group_locks == scope_locks == []
        return
    (group_lock,) = group_locks
    assert group_lock.inputs["level"] == "CanNotDelete"
    assert group_lock.inputs["resourceGroupName"] == stack_settings.resource_group_name
    (lake_lock,) = scope_locks
    assert lake_lock.inputs["level"] == "CanNotDelete"
    assert lake_lock.inputs["scope"] == stack_run.one(SA, "data-lake").id


def test_security_components_sit_under_the_platform(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    platform = stack_run.one("azureml-dask:platform:Platform")
    components = {r.type: r for r in stack_run.children(platform) if not r.custom}
    expected = {"azureml-dask:diagnostics:Diagnostics": {DIAGNOSTIC}}
    if stack_settings.private_networking:
        expected["azureml-dask:private_networking:PrivateNetworking"] = {
            PE,
            ZONE,
            ZONE_LINK,
            ZONE_GROUP,
        }
    if stack_settings.protect:
        expected["azureml-dask:locks:Locks"] = {RG_LOCK, SCOPE_LOCK}
    for component_type, child_types in expected.items():
        children = stack_run.children(components[component_type])
        assert {c.type for c in children} == child_types


def test_prod_is_private_and_protected(stack_run: StackRun, stack_settings: Settings) -> None:
    if stack_run.stack != "prod":
        pytest.skip("only the prod stack")
    assert stack_settings.private_networking and stack_settings.protect
