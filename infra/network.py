"""Virtual network: compute subnet (NSG, NAT gateway, service endpoints) and endpoint subnet."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from infra.naming import ResourceNames
from infra.placement import Placement
from infra.settings import VirtualNetworkSettings

COMPUTE_SUBNET = "snet-compute"
PRIVATE_ENDPOINT_SUBNET = "snet-private-endpoints"
SERVICE_ENDPOINTS = ("Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.ContainerRegistry")


@dataclass(frozen=True)
class ComputeSecurityRule:
    """One allow rule of the compute subnet's NSG, between a service tag and the vnet."""

    name: str
    priority: int
    direction: str  # "Inbound" (from the tag) or "Outbound" (to the tag)
    protocol: str  # "Tcp", "Udp" or "*" (Azure's "Any")
    service_tag: str  # "{region}" is replaced with the stack's region
    ports: tuple[str, ...]


# The compute has no public IP (`enableNodePublicIp: false`), so Azure ML, Batch and storage
# reach it only through rules allowed by service tag. The outbound rules are Azure ML's
# list for no-public-IP compute (how-to-secure-training-vnet): AzureMachineLearning on TCP
# 443, 8787, 18881 (notebook intellisense) and UDP 5831 (compute instance lifecycle); the
# regional Batch tag on any protocol; Entra ID, ARM, regional Storage, Front Door (studio) and
# both registries on 443. Inbound: Batch node management and Azure ML's management port, as
# in Azure's secure-workspace template.
COMPUTE_SECURITY_RULES: tuple[ComputeSecurityRule, ...] = (
    ComputeSecurityRule(
        "AllowBatchNodeManagementInbound",
        100,
        "Inbound",
        "Tcp",
        "BatchNodeManagement",
        ("29876-29877",),
    ),
    ComputeSecurityRule(
        "AllowAzureMachineLearningInbound",
        110,
        "Inbound",
        "Tcp",
        "AzureMachineLearning",
        ("44224",),
    ),
    ComputeSecurityRule(
        "AllowAzureActiveDirectoryOutbound",
        100,
        "Outbound",
        "Tcp",
        "AzureActiveDirectory",
        ("80", "443"),
    ),
    ComputeSecurityRule(
        "AllowAzureMachineLearningOutbound",
        110,
        "Outbound",
        "Tcp",
        "AzureMachineLearning",
        ("443", "8787", "18881"),
    ),
    ComputeSecurityRule(
        "AllowAzureMachineLearningUdpOutbound",
        115,
        "Outbound",
        "Udp",
        "AzureMachineLearning",
        ("5831",),
    ),
    ComputeSecurityRule(
        "AllowAzureResourceManagerOutbound",
        120,
        "Outbound",
        "Tcp",
        "AzureResourceManager",
        ("443",),
    ),
    ComputeSecurityRule(
        "AllowStorageOutbound", 130, "Outbound", "Tcp", "Storage.{region}", ("443",)
    ),
    ComputeSecurityRule(
        "AllowAzureFrontDoorOutbound",
        140,
        "Outbound",
        "Tcp",
        "AzureFrontDoor.FrontEnd",
        ("443",),
    ),
    ComputeSecurityRule(
        "AllowContainerRegistryOutbound",
        150,
        "Outbound",
        "Tcp",
        "AzureContainerRegistry.{region}",
        ("443",),
    ),
    ComputeSecurityRule(
        "AllowMicrosoftContainerRegistryOutbound",
        160,
        "Outbound",
        "Tcp",
        "MicrosoftContainerRegistry",
        ("443",),
    ),
    ComputeSecurityRule(
        "AllowBatchNodeManagementOutbound",
        170,
        "Outbound",
        "*",
        "BatchNodeManagement.{region}",
        ("443",),
    ),
)
"""The compute subnet's NSG allow rules (one table: Azure receives exactly these)."""

# With restricted egress the internet is denied, so the rest of Azure ML's required-outbound
# list must be allowed explicitly too: Azure Monitor (metrics, logs) and the regional vault.
# https://learn.microsoft.com/azure/machine-learning/how-to-access-azureml-behind-firewall
RESTRICTED_EGRESS_RULES: tuple[ComputeSecurityRule, ...] = (
    ComputeSecurityRule(
        "AllowAzureMonitorOutbound", 180, "Outbound", "Tcp", "AzureMonitor", ("443",)
    ),
    ComputeSecurityRule(
        "AllowKeyVaultOutbound", 190, "Outbound", "Tcp", "Keyvault.{region}", ("443",)
    ),
)
"""Allow rules added only when `virtualNetwork.restrictOutboundInternet` is true."""

DENY_INTERNET_OUTBOUND = "DenyInternetOutbound"
# Below every allow (higher number) and above Azure's default AllowInternetOutBound (65001).
# https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#default-security-rules
DENY_INTERNET_OUTBOUND_PRIORITY = 4000


def compute_security_rules(
    location: str, *, restrict_outbound_internet: bool = False
) -> list[network.SecurityRuleArgs]:
    """The NSG rules of `COMPUTE_SECURITY_RULES`, with regional service tags for `location`.

    With `restrict_outbound_internet`, also the rest of Azure ML's required-outbound tags
    and, after every allow, an explicit deny of outbound traffic to `Internet`.
    """
    table = COMPUTE_SECURITY_RULES + (RESTRICTED_EGRESS_RULES if restrict_outbound_internet else ())
    rules = []
    for rule in table:
        tag = rule.service_tag.format(region=location)
        inbound = rule.direction == "Inbound"
        rules.append(
            network.SecurityRuleArgs(
                name=rule.name,
                priority=rule.priority,
                direction=rule.direction,
                access="Allow",
                protocol=rule.protocol,
                source_address_prefix=tag if inbound else "VirtualNetwork",
                source_port_range="*",
                destination_address_prefix="VirtualNetwork" if inbound else tag,
                destination_port_ranges=list(rule.ports),
            )
        )
    if restrict_outbound_internet:
        rules.append(
            network.SecurityRuleArgs(
                name=DENY_INTERNET_OUTBOUND,
                priority=DENY_INTERNET_OUTBOUND_PRIORITY,
                direction="Outbound",
                access="Deny",
                protocol="*",
                source_address_prefix="VirtualNetwork",
                source_port_range="*",
                destination_address_prefix="Internet",
                destination_port_range="*",
            )
        )
    return rules


class Network(pulumi.ComponentResource):
    """The virtual network: the compute subnet (NSG, NAT gateway) and the endpoint subnet.

    With `compute_subnet=False` (compute in the workspace's managed network) the vnet holds
    only the private endpoints people reach the workspace through: no compute subnet, NSG,
    NAT gateway or public IP.
    """

    virtual_network: network.VirtualNetwork
    compute_subnet: network.Subnet | None
    private_endpoint_subnet: network.Subnet

    def __init__(
        self,
        name: str,
        settings: VirtualNetworkSettings,
        names: ResourceNames,
        placement: Placement,
        opts: pulumi.ResourceOptions | None = None,
        *,
        compute_subnet: bool = True,
    ) -> None:
        super().__init__("azureml-dask:network:Network", name, None, opts)
        # The compute subnet's egress (NSG rules, NAT gateway) exists only with that subnet.
        nat_gateway = self._compute_egress(settings, names, placement) if compute_subnet else None
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
        self.compute_subnet = None
        if nat_gateway is not None:
            self.compute_subnet = network.Subnet(
                "compute-subnet",
                subnet_name=COMPUTE_SUBNET,
                resource_group_name=placement.resource_group_name,
                virtual_network_name=self.virtual_network.name,
                address_prefix=settings.compute_subnet_address_prefix,
                network_security_group=network.NetworkSecurityGroupArgs(
                    id=self.network_security_group.id
                ),
                nat_gateway=network.SubResourceArgs(id=nat_gateway.id),
                service_endpoints=[
                    network.ServiceEndpointPropertiesFormatArgs(service=s)
                    for s in SERVICE_ENDPOINTS
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
            opts=placement.options(
                self, depends_on=[self.compute_subnet] if self.compute_subnet else []
            ),
        )
        self.register_outputs(
            {
                "virtualNetworkId": self.virtual_network.id,
                "computeSubnetId": self.compute_subnet.id if self.compute_subnet else "",
                "privateEndpointSubnetId": self.private_endpoint_subnet.id,
            }
        )

    def _compute_egress(
        self, settings: VirtualNetworkSettings, names: ResourceNames, placement: Placement
    ) -> network.NatGateway:
        """The compute subnet's NSG, and its NAT gateway with the gateway's public IP."""
        self.network_security_group = network.NetworkSecurityGroup(
            "compute-nsg",
            network_security_group_name=names.network_security_group,
            security_rules=compute_security_rules(
                placement.location,
                restrict_outbound_internet=settings.restrict_outbound_internet,
            ),
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
        return self.nat_gateway
