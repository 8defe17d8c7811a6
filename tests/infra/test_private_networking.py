"""Private endpoints, DNS zones and zone groups, as Azure receives them (mocks)."""

from __future__ import annotations

import pytest

from infra.private_networking import PRIVATE_DNS_ZONES, PrivateLinkTarget, PrivateNetworking
from plan.offline import ResourceRecord
from tests.component_mocks import by_type, run_components

VNET_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
SUBNET_ID = f"{VNET_ID}/subnets/snet-private-endpoints"
TAGS = {"owner": "team", "costCenter": "cc", "environment": "test"}
TARGETS = (
    PrivateLinkTarget("workspace", "/id/workspace", ("amlworkspace",)),
    PrivateLinkTarget("workspace-storage", "/id/storage", ("blob", "file")),
    PrivateLinkTarget("data-lake", "/id/lake", ("blob", "dfs")),
    PrivateLinkTarget("key-vault", "/id/vault", ("vault",)),
    PrivateLinkTarget("container-registry", "/id/registry", ("registry",)),
)


def _declare() -> None:
    PrivateNetworking(
        "private-networking",
        targets=TARGETS,
        virtual_network_id=VNET_ID,
        subnet_id=SUBNET_ID,
        resource_group_name="rg-test",
        location="westeurope",
        name_base="amldask-test",
        tags=TAGS,
    )


@pytest.fixture(scope="module")
def registrations() -> list[ResourceRecord]:
    return run_components(_declare)


def test_one_endpoint_per_target_and_group_in_the_endpoint_subnet(registrations):
    endpoints = by_type(registrations, "azure-native:network:PrivateEndpoint")
    seen = set()
    for endpoint in endpoints:
        assert endpoint.inputs["subnet"]["id"] == SUBNET_ID
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        (group,) = connection["groupIds"]
        seen.add((connection["privateLinkServiceId"], group))
        assert endpoint.inputs["tags"] == TAGS
        assert endpoint.inputs["location"] == "westeurope"
    expected = {(str(t.resource_id), g) for t in TARGETS for g in t.group_ids}
    assert seen == expected
    assert len(endpoints) == len(expected) == 7


def test_zones_are_global_linked_to_the_vnet_without_auto_registration(registrations):
    zones = by_type(registrations, "azure-native:privatedns:PrivateZone")
    names = {z.inputs["privateZoneName"] for z in zones}
    assert names == {
        "privatelink.api.azureml.ms",
        "privatelink.notebooks.azure.net",
        "privatelink.blob.core.windows.net",
        "privatelink.file.core.windows.net",
        "privatelink.dfs.core.windows.net",
        "privatelink.vaultcore.azure.net",
        "privatelink.azurecr.io",
    }
    assert all(z.inputs["location"] == "global" for z in zones)
    links = by_type(registrations, "azure-native:privatedns:VirtualNetworkLink")
    assert sorted(link.inputs["privateZoneName"] for link in links) == sorted(names)
    for link in links:
        assert link.inputs["virtualNetwork"] == {"id": VNET_ID}
        assert link.inputs["registrationEnabled"] is False
        assert link.inputs["location"] == "global"


def test_every_endpoint_has_a_zone_group_with_its_zones(registrations):
    zone_ids = {
        z.inputs["privateZoneName"]: z.id
        for z in by_type(registrations, "azure-native:privatedns:PrivateZone")
    }
    endpoints = {
        e.inputs["privateEndpointName"]: e
        for e in by_type(registrations, "azure-native:network:PrivateEndpoint")
    }
    groups = by_type(registrations, "azure-native:network:PrivateDnsZoneGroup")
    assert sorted(g.inputs["privateEndpointName"] for g in groups) == sorted(endpoints)
    for group in groups:
        endpoint = endpoints[group.inputs["privateEndpointName"]]
        (group_id,) = endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"]
        configured = {c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]}
        assert configured == {zone_ids[z] for z in PRIVATE_DNS_ZONES[group_id]}


def test_unknown_group_id_is_rejected_naming_it():
    with pytest.raises(ValueError, match=r"'lake'.*\['sql'\].*amlworkspace"):
        PrivateLinkTarget("lake", "/id", ("sql",))


def test_duplicate_target_keys_are_rejected():
    def declare() -> None:
        PrivateNetworking(
            "pn",
            targets=(TARGETS[0], TARGETS[0]),
            virtual_network_id=VNET_ID,
            subnet_id=SUBNET_ID,
            resource_group_name="rg",
            location="westeurope",
            name_base="x",
            tags=TAGS,
        )

    with pytest.raises(ValueError, match="unique"):
        run_components(declare)
