"""Private endpoints, with private DNS, for the resources Azure ML reaches over the network.

Each target resource gets one private endpoint per sub-resource (group id) in the
private-endpoint subnet, and each endpoint a DNS zone group so the resource's usual host
name resolves to the endpoint's private address inside the virtual network. The private DNS
zones are created once per stack and linked to the virtual network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns

PRIVATE_DNS_ZONES: Mapping[str, tuple[str, ...]] = {
    "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
    "blob": ("privatelink.blob.core.windows.net",),
    "dfs": ("privatelink.dfs.core.windows.net",),
    "file": ("privatelink.file.core.windows.net",),
    "vault": ("privatelink.vaultcore.azure.net",),
    "registry": ("privatelink.azurecr.io",),
}
"""Private endpoint group id -> the private DNS zones its records live in (Azure public cloud)."""


@dataclass(frozen=True)
class PrivateLinkTarget:
    """A resource to reach privately: a short key, its id, and the sub-resources to expose."""

    key: str  # e.g. "workspace", "data-lake": used in names
    resource_id: pulumi.Input[str]
    group_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [g for g in self.group_ids if g not in PRIVATE_DNS_ZONES]
        if unknown or not self.group_ids:
            raise ValueError(
                f"private link target {self.key!r}: group ids {list(self.group_ids)} must be "
                f"one or more of {', '.join(PRIVATE_DNS_ZONES)}"
            )


def zone_resource_key(zone: str) -> str:
    """A zone's DNS name as a resource/config name: dots become hyphens."""
    return zone.replace(".", "-")


class PrivateNetworking(pulumi.ComponentResource):
    """Private DNS zones linked to the vnet, and private endpoints with zone groups."""

    zones: dict[str, privatedns.PrivateZone]
    endpoints: dict[tuple[str, str], network.PrivateEndpoint]

    def __init__(
        self,
        name: str,
        *,
        targets: Sequence[PrivateLinkTarget],
        virtual_network_id: pulumi.Input[str],
        subnet_id: pulumi.Input[str],
        resource_group_name: pulumi.Input[str],
        location: str,
        name_base: str,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("azureml-dask:private_networking:PrivateNetworking", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        keys = [t.key for t in targets]
        if len(set(keys)) != len(keys):
            raise ValueError(f"private link target keys must be unique, got {keys}")

        needed = sorted({z for t in targets for g in t.group_ids for z in PRIVATE_DNS_ZONES[g]})
        self.zones = {}
        for zone in needed:
            key = zone_resource_key(zone)
            # Private DNS zones are global resources.
            self.zones[zone] = privatedns.PrivateZone(
                f"zone-{key}",
                private_zone_name=zone,
                resource_group_name=resource_group_name,
                location="global",
                tags=dict(tags),
                opts=child,
            )
            privatedns.VirtualNetworkLink(
                f"zone-link-{key}",
                virtual_network_link_name=f"link-{name_base}",
                private_zone_name=self.zones[zone].name,
                resource_group_name=resource_group_name,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=virtual_network_id),
                # The vnet only resolves these zones; its VMs must not register records.
                registration_enabled=False,
                tags=dict(tags),
                opts=child,
            )

        self.endpoints = {}
        for target in targets:
            for group in target.group_ids:
                endpoint_name = f"pep-{name_base}-{target.key}-{group}"
                endpoint = network.PrivateEndpoint(
                    f"pep-{target.key}-{group}",
                    private_endpoint_name=endpoint_name,
                    custom_network_interface_name=f"{endpoint_name}-nic",
                    resource_group_name=resource_group_name,
                    location=location,
                    subnet=network.SubnetArgs(id=subnet_id),
                    private_link_service_connections=[
                        network.PrivateLinkServiceConnectionArgs(
                            name=endpoint_name,
                            private_link_service_id=target.resource_id,
                            group_ids=[group],
                        )
                    ],
                    tags=dict(tags),
                    opts=child,
                )
                network.PrivateDnsZoneGroup(
                    f"pep-{target.key}-{group}-dns",
                    private_dns_zone_group_name="default",
                    private_endpoint_name=endpoint.name,
                    resource_group_name=resource_group_name,
                    private_dns_zone_configs=[
                        network.PrivateDnsZoneConfigArgs(
                            name=zone_resource_key(zone), private_dns_zone_id=self.zones[zone].id
                        )
                        for zone in PRIVATE_DNS_ZONES[group]
                    ],
                    opts=child,
                )
                self.endpoints[(target.key, group)] = endpoint

        self.register_outputs(
            {"privateEndpointIds": [e.id for e in self.endpoints.values()]},
        )
