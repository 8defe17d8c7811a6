"""Secure by default, for every stack file: private networking, diagnostics, locks (mocks)."""

from __future__ import annotations

import json

import pytest

from infra.diagnostics import ALL_LOGS, ALL_METRICS, STORAGE_TRANSACTION_METRICS
from infra.private_networking import PRIVATE_DNS_ZONES
from infra.settings import PROJECT, Settings
from plan.offline import ResourceRecord, StackRun, run_config

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
        # The workspace storage stays Enabled, denying all but the workspace (secure pattern).
        want = "Enabled" if name == "workspace-storage" else expected
        assert _public_network_access(stack_run.one(type_, name)) == want, name


def test_private_workspace_storage_admits_only_the_workspace(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    account = stack_run.one(SA, "workspace-storage").inputs
    if not stack_settings.private_networking:
        assert "networkRuleSet" not in account
        return
    workspace = stack_run.one(MLW, "workspace")
    rules = account["networkRuleSet"]
    assert (rules["defaultAction"], rules["bypass"]) == ("Deny", "AzureServices")
    assert rules["resourceAccessRules"] == [
        {"resourceId": workspace.id, "tenantId": stack_run.outputs["tenantId"]}
    ]


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


def _expected_targets(settings: Settings) -> dict[tuple[str, str], set[str]]:
    """The private link targets a stack must have: the workspace whenever it declares
    compute (no-public-IP nodes need it), everything when private."""
    if settings.private_networking:
        return PRIVATE_LINK_TARGETS
    if settings.compute_clusters or settings.compute_instances:
        return {(MLW, "workspace"): {"amlworkspace"}}
    return {}


def test_private_endpoints_exactly_for_the_expected_targets(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    subnet = stack_run.one("azure-native:network:Subnet", "private-endpoint-subnet")
    found: dict[str, set[str]] = {}
    for endpoint in stack_run.by_type(PE):
        assert endpoint.inputs["subnet"]["id"] == subnet.id
        for connection in endpoint.inputs["privateLinkServiceConnections"]:
            found.setdefault(connection["privateLinkServiceId"], set()).update(
                connection["groupIds"]
            )
    expected = {
        stack_run.one(t, n).id: groups
        for (t, n), groups in _expected_targets(stack_settings).items()
    }
    assert found == expected


def test_stacks_with_compute_have_the_workspace_endpoint_and_its_dns(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    if not (stack_settings.compute_clusters or stack_settings.compute_instances):
        pytest.skip(f"stack {stack_run.stack} declares no compute")
    workspace = stack_run.one(MLW, "workspace")
    (endpoint,) = [
        e
        for e in stack_run.by_type(PE)
        if e.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] == workspace.id
    ]
    assert endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["amlworkspace"]
    zones = {z.id: z.inputs["privateZoneName"] for z in stack_run.by_type(ZONE)}
    (group,) = [
        g
        for g in stack_run.by_type(ZONE_GROUP)
        if g.inputs["privateEndpointName"] == endpoint.inputs["privateEndpointName"]
    ]
    assert {zones[c["privateDnsZoneId"]] for c in group.inputs["privateDnsZoneConfigs"]} == {
        "privatelink.api.azureml.ms",
        "privatelink.notebooks.azure.net",
    }
    # The endpoint does not change who may reach the workspace: that is the switch's job.
    expected_access = "Disabled" if stack_settings.private_networking else "Enabled"
    assert workspace.inputs["publicNetworkAccess"] == expected_access


def test_private_dns_zones_are_linked_and_every_endpoint_uses_them(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    vnet = stack_run.one("azure-native:network:VirtualNetwork")
    zones = {z.inputs["privateZoneName"]: z for z in stack_run.by_type(ZONE)}
    groups_needed = set().union(*_expected_targets(stack_settings).values())
    assert set(zones) == {z for g in groups_needed for z in PRIVATE_DNS_ZONES[g]}
    links = stack_run.by_type(ZONE_LINK)
    assert sorted(link.inputs["privateZoneName"] for link in links) == sorted(zones)
    assert all(link.inputs["virtualNetwork"]["id"] == vnet.id for link in links)
    assert all(link.inputs["registrationEnabled"] is False for link in links)
    groups = {g.inputs["privateEndpointName"]: g for g in stack_run.by_type(ZONE_GROUP)}
    assert len(groups) == len(stack_run.by_type(PE))
    for endpoint in stack_run.by_type(PE):
        group = groups[endpoint.inputs["privateEndpointName"]]
        (group_id,) = endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"]
        zone_ids = {c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]}
        assert zone_ids == {zones[z].id for z in PRIVATE_DNS_ZONES[group_id]}


def test_a_public_stack_without_compute_has_no_private_endpoints_or_zones() -> None:
    config = {
        f"{PROJECT}:location": "westeurope",
        f"{PROJECT}:tags": json.dumps({"owner": "data-platform", "costCenter": "cc-1"}),
    }
    run = run_config("dev", config)
    assert run.by_type("azure-native:machinelearningservices:Compute") == []
    for type_ in (PE, ZONE, ZONE_LINK, ZONE_GROUP):
        assert run.by_type(type_) == [], type_
    assert run.one(MLW, "workspace").inputs["publicNetworkAccess"] == "Enabled"


def test_compute_waits_for_the_private_endpoints_and_their_dns(stack_run: StackRun) -> None:
    needed = {r.urn for r in stack_run.by_type(PE) + stack_run.by_type(ZONE_GROUP)}
    assert needed
    computes = stack_run.by_type("azure-native:machinelearningservices:Compute")
    assert computes
    for compute in computes:
        assert needed <= set(compute.dependencies), compute.name


def test_private_stacks_build_images_on_their_first_cluster(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    workspace = stack_run.one(MLW, "workspace").inputs
    if not stack_settings.private_networking:
        assert "imageBuildCompute" not in workspace
        return
    first = stack_settings.compute_clusters[0].name
    assert workspace["imageBuildCompute"] == first
    cluster = stack_run.one("azure-native:machinelearningservices:Compute", f"cluster-{first}")
    assert cluster.inputs["properties"]["computeType"] == "AmlCompute"
    subnet = stack_run.one("azure-native:network:Subnet", "compute-subnet")
    assert cluster.inputs["properties"]["properties"]["subnet"]["id"] == subnet.id


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


def test_protected_stacks_lock_each_stateful_resource_and_never_the_group(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    # A delete lock on the group stops cluster scaling and blocks delete-before-replace.
    assert stack_run.by_type(RG_LOCK) == []
    scope_locks = stack_run.by_type(SCOPE_LOCK)
    if not stack_settings.protect:
        assert scope_locks == []
        return
    assert {lock.inputs["level"] for lock in scope_locks} == {"CanNotDelete"}
    stateful = {
        stack_run.one(SA, "data-lake").id,
        stack_run.one(SA, "workspace-storage").id,
        stack_run.one("azure-native:keyvault:Vault", "key-vault").id,
        stack_run.one("azure-native:containerregistry:Registry", "container-registry").id,
        stack_run.one("azure-native:machinelearningservices:Workspace", "workspace").id,
    }
    assert {lock.inputs["scope"] for lock in scope_locks} == stateful


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
        expected["azureml-dask:locks:Locks"] = {SCOPE_LOCK}
    for component_type, child_types in expected.items():
        children = stack_run.children(components[component_type])
        assert {c.type for c in children} == child_types


def test_prod_is_private_and_protected(stack_run: StackRun, stack_settings: Settings) -> None:
    if stack_run.stack != "prod":
        pytest.skip("only the prod stack")
    assert stack_settings.private_networking and stack_settings.protect
