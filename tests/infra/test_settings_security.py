"""Private networking settings: the switch, its defaults, and combinations that cannot work."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.settings import PROJECT, Settings, SettingsError, parse_settings
from plan.offline import ResourceRecord, run_config

BASE: dict[str, Any] = {
    "location": "westeurope",
    "tags": {"owner": "data-platform", "costCenter": "cc-1"},
}
CLUSTERS = [
    {"name": "build-cluster", "vmSize": "Standard_D4s_v5"},
    {"name": "cpu-cluster", "vmSize": "Standard_E8s_v5"},
]
# What every private stack needs besides the switch: a Premium registry and a cluster.
PRIVATE_REGISTRY = {"containerRegistry": {"skuName": "Premium"}, "computeClusters": CLUSTERS}


def raw(**settings: Any) -> dict[str, str]:
    merged = {**BASE, **settings}
    return {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}


def parse(**settings: Any) -> Settings:
    return parse_settings(raw(**settings), "dev")


def test_private_networking_is_off_by_default_and_the_workspace_public() -> None:
    s = parse()
    assert s.private_networking is False
    assert s.workspace.public_network_access == "Enabled"
    assert s.image_build_compute is None


def test_a_public_stack_keeps_azure_default_image_build_compute() -> None:
    assert parse(computeClusters=CLUSTERS).image_build_compute is None


def test_a_private_stack_builds_images_on_its_first_cluster() -> None:
    s = parse(privateNetworking=True, **PRIVATE_REGISTRY)
    assert s.image_build_compute == "build-cluster"


def test_a_private_stack_builds_images_on_its_first_cpu_cluster() -> None:
    """Azure ML builds images on CPU sizes only (how-to-secure-workspace-vnet, ACR)."""
    gpu_first = [{"name": "gpu", "vmSize": "Standard_NC4as_T4_v3"}, *CLUSTERS]
    s = parse(privateNetworking=True, **{**PRIVATE_REGISTRY, "computeClusters": gpu_first})
    assert s.image_build_compute == "build-cluster"


def test_a_private_stack_with_only_gpu_clusters_is_refused() -> None:
    gpu_only = [{"name": "gpu", "vmSize": "Standard_NC4as_T4_v3"}]
    with pytest.raises(SettingsError, match="needs at least one CPU compute cluster"):
        parse(privateNetworking=True, **{**PRIVATE_REGISTRY, "computeClusters": gpu_only})


def test_a_private_stack_makes_the_workspace_private_by_default() -> None:
    s = parse(privateNetworking=True, **PRIVATE_REGISTRY)
    assert s.private_networking is True
    assert s.workspace.public_network_access == "Disabled"


def test_a_slash_27_endpoint_subnet_is_large_enough() -> None:
    network = {
        "addressPrefixes": ["10.40.0.0/16"],
        "computeSubnetAddressPrefix": "10.40.0.0/22",
        "privateEndpointSubnetAddressPrefix": "10.40.4.0/27",
    }
    s = parse(privateNetworking=True, virtualNetwork=network, **PRIVATE_REGISTRY)
    assert s.virtual_network.private_endpoint_subnet_address_prefix == "10.40.4.0/27"


BAD_PRIVATE_NETWORKING: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "basic-registry",
        {"privateNetworking": True},
        f"{PROJECT}:containerRegistry.skuName = 'Basic'",
        f"{PROJECT}:privateNetworking = true needs Premium",
    ),
    (
        "standard-registry",
        {"privateNetworking": True, "containerRegistry": {"skuName": "Standard"}},
        f"{PROJECT}:containerRegistry.skuName = 'Standard'",
        "needs Premium",
    ),
    (
        "public-workspace-in-private-stack",
        {"privateNetworking": True, "workspace": {"publicNetworkAccess": "Enabled"}}
        | PRIVATE_REGISTRY,
        f"{PROJECT}:workspace.publicNetworkAccess = 'Enabled'",
        f"contradicts {PROJECT}:privateNetworking = true",
    ),
    (
        "private-workspace-without-endpoints",
        {"workspace": {"publicNetworkAccess": "Disabled"}},
        f"{PROJECT}:workspace.publicNetworkAccess = 'Disabled'",
        f"needs {PROJECT}:privateNetworking = true",
    ),
    (
        "endpoint-subnet-too-small",
        {
            "privateNetworking": True,
            "virtualNetwork": {
                "addressPrefixes": ["10.40.0.0/16"],
                "computeSubnetAddressPrefix": "10.40.0.0/22",
                "privateEndpointSubnetAddressPrefix": "10.40.4.0/28",
            },
        }
        | PRIVATE_REGISTRY,
        f"{PROJECT}:virtualNetwork.privateEndpointSubnetAddressPrefix = '10.40.4.0/28'",
        "needs /27 or larger",
    ),
    (
        "private-stack-without-cluster",
        {"privateNetworking": True, "containerRegistry": {"skuName": "Premium"}},
        f"{PROJECT}:computeClusters: {PROJECT}:privateNetworking = true needs at least one",
        "imageBuildCompute",
    ),
    (
        "private-stack-with-only-an-instance",
        {
            "privateNetworking": True,
            "containerRegistry": {"skuName": "Premium"},
            "computeInstances": [
                {
                    "name": "ci-analyst",
                    "vmSize": "Standard_DS3_v2",
                    "assignedUserObjectId": "11111111-2222-3333-4444-555555555555",
                }
            ],
        },
        f"{PROJECT}:computeClusters: {PROJECT}:privateNetworking = true needs at least one",
        "build job images on a cluster in the vnet",
    ),
    (
        "switch-not-boolean",
        {"privateNetworking": "yes"},
        f"{PROJECT}:privateNetworking = 'yes'",
        "must be true or false",
    ),
]


@pytest.mark.parametrize(
    ("settings", "key", "allowed"),
    [c[1:] for c in BAD_PRIVATE_NETWORKING],
    ids=[c[0] for c in BAD_PRIVATE_NETWORKING],
)
def test_settings_that_cannot_work_are_rejected_naming_the_keys(
    settings: dict[str, Any], key: str, allowed: str
) -> None:
    with pytest.raises(SettingsError) as err:
        parse(**settings)
    assert key in str(err.value)
    assert allowed in str(err.value)


def test_a_rejected_private_stack_declares_nothing() -> None:
    records: list[ResourceRecord] = []
    with pytest.raises(SettingsError, match="needs Premium"):
        run_config("dev", raw(privateNetworking=True), records=records)
    assert records == []


def test_a_private_stack_without_cluster_declares_nothing() -> None:
    records: list[ResourceRecord] = []
    with pytest.raises(SettingsError, match="imageBuildCompute"):
        run_config(
            "dev",
            raw(privateNetworking=True, containerRegistry={"skuName": "Premium"}),
            records=records,
        )
    assert records == []
