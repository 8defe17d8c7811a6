"""Virtual network: compute subnet (NSG, NAT gateway, service endpoints) and endpoint subnet."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network

from infra.common import Placement
from infra.naming import ResourceNames
from infra.settings import VirtualNetworkSettings

COMPUTE_SUBNET = "snet-compute"
PRIVATE_ENDPOINT_SUBNET = "snet-private-endpoints"
SERVICE_ENDPOINTS = ("Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.ContainerRegistry")


def compute_security_rules(location: str) -> list[network.SecurityRuleArgs]:
    """NSG rules an Azure ML compute subnet needs (from Azure's secure-workspace template)."""

    def rule(
        name: str, priority: int, direction: str, service_tag: str, ports: list[str]
    ) -> network.SecurityRuleArgs:
        inbound = direction == "Inbound"
        return network.SecurityRuleArgs(
            name=name,
            priority=priority,
            direction=direction,
            access="Allow",
            protocol="Tcp",
            source_address_prefix=service_tag if inbound else "VirtualNetwork",
            source_port_range="*",
            destination_address_prefix="VirtualNetwork" if inbound else service_tag,
            destination_port_ranges=ports,
        )

    return [
        rule(
            "AllowBatchNodeManagementInbound",
            100,
            "Inbound",
            "BatchNodeManagement",
            ["29876-29877"],
        ),
        rule("AllowAzureMachineLearningInbound", 110, "Inbound", "AzureMachineLearning", ["44224"]),
        rule(
            "AllowAzureActiveDirectoryOutbound",
            100,
            "Outbound",
            "AzureActiveDirectory",
            ["80", "443"],
        ),
        rule("AllowAzureMachineLearningOutbound", 110, "Outbound", "AzureMachineLearning", ["443"]),
        rule("AllowAzureResourceManagerOutbound", 120, "Outbound", "AzureResourceManager", ["443"]),
        rule("AllowStorageOutbound", 130, "Outbound", f"Storage.{location}", ["443"]),
        rule("AllowAzureFrontDoorOutbound", 140, "Outbound", "AzureFrontDoor.FrontEnd", ["443"]),
        rule(
            "AllowContainerRegistryOutbound",
            150,
            "Outbound",
            f"AzureContainerRegistry.{location}",
            ["443"],
        ),
        rule(
            "AllowMicrosoftContainerRegistryOutbound",
            160,
            "Outbound",
            "MicrosoftContainerRegistry",
            ["443"],
        ),
    ]


class Network(pulumi.ComponentResource):
    """The virtual network the compute lives in, with explicit outbound through a NAT gateway."""

    virtual_network: network.VirtualNetwork
    compute_subnet: network.Subnet
    private_endpoint_subnet: network.Subnet

    def __init__(
        self,
        name: str,
        settings: VirtualNetworkSettings,
        names: ResourceNames,
        placement: Placement,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("azureml-dask:network:Network", name, None, opts)
        self.network_security_group = network.NetworkSecurityGroup(
            "compute-nsg",
            network_security_group_name=names.network_security_group,
            security_rules=compute_security_rules(placement.location),
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(self),
        )
        # New virtual networks have no default outbound access: give the compute a static IP.
        self.public_ip_address = network.PublicIPAddress(
            "nat-ip",
            public_ip_address_name=names.public_ip_address,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(self),
        )
        self.nat_gateway = network.NatGateway(
            "nat",
            nat_gateway_name=names.nat_gateway,
            sku=network.NatGatewaySkuArgs(name="Standard"),
            public_ip_addresses=[network.SubResourceArgs(id=self.public_ip_address.id)],
            idle_timeout_in_minutes=4,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=placement.options(self),
        )
        self.virtual_network = network.VirtualNetwork(
            "vnet",
            virtual_network_name=names.virtual_network,
            address_space=network.AddressSpaceArgs(
                address_prefixes=list(settings.address_prefixes)
            ),
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            # Subnets are separate resources below; don't let the vnet manage them inline.
            opts=placement.options(self, ignore_changes=["subnets"]),
        )
        self.compute_subnet = network.Subnet(
            "compute-subnet",
            subnet_name=COMPUTE_SUBNET,
            resource_group_name=placement.resource_group_name,
            virtual_network_name=self.virtual_network.name,
            address_prefix=settings.compute_subnet_address_prefix,
            network_security_group=network.NetworkSecurityGroupArgs(
                id=self.network_security_group.id
            ),
            nat_gateway=network.SubResourceArgs(id=self.nat_gateway.id),
            service_endpoints=[
                network.ServiceEndpointPropertiesFormatArgs(service=s) for s in SERVICE_ENDPOINTS
            ],
            default_outbound_access=False,
            opts=placement.options(self),
        )
        self.private_endpoint_subnet = network.Subnet(
            "private-endpoint-subnet",
            subnet_name=PRIVATE_ENDPOINT_SUBNET,
            resource_group_name=placement.resource_group_name,
            virtual_network_name=self.virtual_network.name,
            address_prefix=settings.private_endpoint_subnet_address_prefix,
            private_endpoint_network_policies="Disabled",
            default_outbound_access=False,
            # Azure rejects concurrent changes to subnets of one vnet: create them in turn.
            opts=placement.options(self, depends_on=[self.compute_subnet]),
        )
        self.register_outputs(
            {
                "virtualNetworkId": self.virtual_network.id,
                "computeSubnetId": self.compute_subnet.id,
                "privateEndpointSubnetId": self.private_endpoint_subnet.id,
            }
        )
