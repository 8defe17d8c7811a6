"""The settings models: one per section of the stack file, validated by pydantic.

Field names are the Python attributes components read; the stack file spells them in
camelCase (`compute_subnet_address_prefix` <- `computeSubnetAddressPrefix`). Rules that
span fields sit next to the fields they read, as validators that report every problem.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import pulumi
from pydantic import ValidationInfo, model_validator

from infra import naming
from infra.catalog import regions, vm_sizes
from infra.settings.fields import (
    PROJECT,
    Bool,
    Int,
    Rules,
    SettingsModel,
    Str,
    field_validator,
    setting,
)

STORAGE_SKUS = (
    "Standard_LRS",
    "Standard_ZRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
)
KEY_VAULT_SKUS = ("standard", "premium")
CONTAINER_REGISTRY_SKUS = ("Basic", "Standard", "Premium")
ZONE_REDUNDANCY = ("Enabled", "Disabled")
# The SAS expiration policy's two actions: record a violation, or refuse the request.
# https://learn.microsoft.com/azure/storage/common/sas-expiration-policy
SAS_EXPIRATION_ACTIONS = ("Log", "Block")
# DD.HH:MM:SS, as Azure spells a SAS expiration period (e.g. 1.00:00:00 for one day).
SAS_EXPIRATION_PERIOD = r"\d{1,3}\.([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
PUBLIC_NETWORK_ACCESS = ("Enabled", "Disabled")
VM_PRIORITIES = ("Dedicated", "LowPriority")
# Azure's isolation modes for a workspace managed network; Disabled keeps compute in our vnet.
# https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#managed-virtual-network-architecture
ISOLATION_MODES = ("Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound")
# The Azure Firewall Azure ML deploys for FQDN rules (Standard unless Basic is chosen).
# https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#select-an-azure-firewall-version-for-allowed-only-approved-outbound-preview
FIREWALL_SKUS = ("Standard", "Basic")
# https://learn.microsoft.com/python/api/azure-ai-ml/azure.ai.ml.entities.servicetagdestination
SERVICE_TAG_PROTOCOLS = ("TCP", "UDP", "ICMP", "*")
# What the job's environment build and run fetch from the internet (AllowOnlyApprovedOutbound):
# pip (jobs/environment.conda.yaml's pip section) lists on pypi.org and downloads from
# files.pythonhosted.org; conda reads conda-forge from conda.anaconda.org and, should the
# base image's conda add its `defaults` channel, repo.anaconda.com (Microsoft's list:
# https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#scenario-access-public-machine-learning-packages);
# the OpenMPI base image comes from Microsoft's registry and its data endpoint
# (https://github.com/microsoft/containerregistry/blob/main/docs/mcr-endpoints-guidance.md).
DEFAULT_FQDN_RULES = (
    "pypi.org",
    "files.pythonhosted.org",
    "conda.anaconda.org",
    "repo.anaconda.com",
    "mcr.microsoft.com",
    "*.data.mcr.microsoft.com",
)
# A host name, optionally with one leading wildcard label; no scheme, port or path.
FQDN = r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
# Azure storage host names: not reachable by FQDN rule in AllowOnlyApprovedOutbound.
STORAGE_HOST_SUFFIX = ".core.windows.net"
OUTBOUND_RULE_NAME = r"[a-z][a-z0-9-]{1,62}"
# Prefixes of the outbound rules the stack names itself (infra/managed_network.py).
DATA_LAKE_RULE_PREFIX = "data-lake-"
FQDN_RULE_PREFIX = "fqdn-"
SERVICE_PRINCIPAL_MODES = ("none", "create", "existing")
# Roles a service principal may hold on the workspace (names from infra.access.ROLES).
WORKSPACE_ROLES = ("AzureML Data Scientist", "AzureML Compute Operator", "Reader", "Contributor")
# Data roles a data-scientist group may hold on the lake (identity-based datastores).
DATA_LAKE_ROLES = ("Storage Blob Data Reader", "Storage Blob Data Contributor")
REQUIRED_TAGS = ("owner", "costCenter")
# RSA key sizes Key Vault generates; Azure ML recommends at least 3072.
# https://learn.microsoft.com/azure/machine-learning/how-to-setup-customer-managed-keys#create-a-key
RSA_KEY_SIZES = (2048, 3072, 4096)
MAX_CLUSTER_NODES = 100
# A private stack's endpoints need room: /27 = 32 addresses, 5 of them Azure's.
# https://learn.microsoft.com/azure/virtual-network/virtual-networks-faq#are-there-any-restrictions-on-using-ip-addresses-within-these-subnets
MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX = 27
# Workspace datastores Azure ML creates itself; ours must not take these names.
RESERVED_DATASTORE_NAMES = (
    "workspaceblobstore",
    "workspacefilestore",
    "workspaceartifactstore",
    "workspaceworkingdirectory",
)

LOWER_ALNUM = r"[a-z][a-z0-9]*"
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Azure VM size names: Standard_D4s_v5, Standard_NC4as_T4_v3, STANDARD_D1_V2, Basic_A1 ...
VM_SIZE = r"(?i:standard|basic)_[A-Za-z][A-Za-z0-9_-]*"
FILESYSTEM = r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]"
_TAG_NAME_FORBIDDEN = set("<>%&\\?/")


def datastore_name(filesystem: str) -> str:
    """The Azure ML datastore name for a filesystem: only letters, digits and underscores."""
    return filesystem.replace("-", "_")


def _network(rules: Rules, loc: tuple[str | int, ...], value: str) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        rules.fail(loc, value, "must be an IPv4 CIDR block with no host bits, e.g. 10.0.0.0/16")
        return None
    if not isinstance(net, ipaddress.IPv4Network):
        rules.fail(loc, value, "must be an IPv4 CIDR block")
        return None
    return net


def _guids(values: tuple[str, ...]) -> tuple[str, ...]:
    rules = Rules()
    for i, value in enumerate(values):
        if not re.fullmatch(GUID, value):
            rules.fail((i,), value, "must be an Entra ID object id (GUID)")
    if len(set(values)) != len(values):
        rules.fail((), list(values), "must not list the same object id twice")
    rules.raise_if_any()
    return tuple(v.lower() for v in values)


def _check_vm_size(rules: Rules, vm_size: str, unlisted: bool, flag: str) -> None:
    """Reject a retired size always, and a size the catalog does not know unless flagged."""
    size = vm_sizes.vm_size(vm_size)
    if size is not None and size.retired_on is not None:
        rules.fail(
            ("vmSize",),
            vm_size,
            f"the {size.series} series was retired on {size.retired_on.isoformat()} "
            f"({size.source}); use a current size such as {', '.join(size.replacements)}",
        )
    elif size is None and not unlisted:
        close = vm_sizes.close_sizes(vm_size)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        rules.fail(
            ("vmSize",),
            vm_size,
            f"not a VM size the catalog knows (infra/catalog/vm_sizes.py); {hint}"
            f"for a size newer than the catalog set {flag}: true",
        )


class VirtualNetworkSettings(SettingsModel):
    """The virtual network and its two subnets."""

    address_prefixes: tuple[Str, ...] = setting(
        ("10.40.0.0/16",),
        description="Address space of the virtual network.",
        allowed="IPv4 CIDRs, non-overlapping",
        doc_type="list of CIDR",
    )
    compute_subnet_address_prefix: Str = setting(
        "10.40.0.0/22",
        description="Subnet of the compute clusters and instances (no public IPs); not "
        "created when the compute runs in the workspace's managed network.",
        allowed="inside the address space, /29 or larger",
        doc_type="CIDR",
    )
    private_endpoint_subnet_address_prefix: Str = setting(
        "10.40.4.0/24",
        description="Subnet of the private endpoints.",
        allowed=f"inside the address space, not overlapping the compute subnet; "
        f"/{MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX} or larger with privateNetworking",
        doc_type="CIDR",
    )
    restrict_outbound_internet: Bool = setting(
        False,
        description="Deny the compute subnet's outbound internet access except for the "
        "service tags Azure ML needs (package installs then need a prebuilt image or a "
        "proxy).",
        allowed="true or false",
    )

    @field_validator("address_prefixes", mode="after")
    @classmethod
    def _at_least_one(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            rules = Rules()
            rules.fail((), list(value), "must list at least 1 item(s)")
            rules.raise_if_any()
        return value

    @model_validator(mode="after")
    def _subnets_fit(self) -> VirtualNetworkSettings:
        rules = Rules()
        prefixes = self.address_prefixes
        spaces = [
            n for i, p in enumerate(prefixes) if (n := _network(rules, ("addressPrefixes", i), p))
        ]
        for i, a in enumerate(spaces):
            for b in spaces[i + 1 :]:
                if a.overlaps(b):
                    rules.fail(("addressPrefixes",), list(prefixes), f"{a} and {b} overlap")
        subnets = {
            name: _network(rules, (name,), value)
            for name, value in (
                ("computeSubnetAddressPrefix", self.compute_subnet_address_prefix),
                ("privateEndpointSubnetAddressPrefix", self.private_endpoint_subnet_address_prefix),
            )
        }
        for name, net in subnets.items():
            if net is None or not spaces:
                continue
            if not any(net.subnet_of(space) for space in spaces):
                rules.fail(
                    (name,), str(net), f"must lie inside the address space {', '.join(prefixes)}"
                )
            elif net.prefixlen > 29:
                rules.fail((name,), str(net), "must be /29 or larger (Azure reserves 5 addresses)")
        compute_net, endpoint_net = subnets.values()
        if compute_net and endpoint_net and compute_net.overlaps(endpoint_net):
            rules.fail(
                ("privateEndpointSubnetAddressPrefix",),
                str(endpoint_net),
                f"overlaps the compute subnet {compute_net}",
            )
        rules.raise_if_any()
        return self


_SKU_DOC = "Storage redundancy."
_INFRASTRUCTURE_ENCRYPTION_DOC = (
    "A second layer of encryption at rest (infrastructure encryption); Azure sets it only when "
    "the account is created, so changing it replaces the account and its data."
)


class StorageAccountSettings(SettingsModel):
    """The workspace's own storage account (StorageV2, no hierarchical namespace)."""

    name: Str = setting(
        "",
        description="Account name.",
        allowed="3-24 lowercase letters/digits",
        doc_default="`st<prefix><env><suffix>`",
    )
    sku_name: Str = setting("Standard_LRS", description=_SKU_DOC, choices=STORAGE_SKUS)
    require_infrastructure_encryption: Bool = setting(
        False, description=_INFRASTRUCTURE_ENCRYPTION_DOC, allowed="true or false"
    )
    delete_retention_days: Int = setting(
        7, description="Blob soft delete retention (code snapshots, job outputs).", low=1, high=365
    )
    container_delete_retention_days: Int = setting(
        7, description="Container soft delete retention.", low=1, high=365
    )
    sas_expiration_period: Str = setting(
        "1.00:00:00",
        description="Upper limit of a SAS signed with the account key (the account keeps "
        "shared key on for Azure ML); longer ones trigger `sasExpirationAction`.",
        pattern=SAS_EXPIRATION_PERIOD,
        allowed="DD.HH:MM:SS, e.g. 1.00:00:00 for one day",
    )
    sas_expiration_action: Str = setting(
        "Log",
        description="What Azure does with a SAS over the limit: `Log` records it, `Block` "
        "refuses it.",
        choices=SAS_EXPIRATION_ACTIONS,
    )

    @field_validator("sas_expiration_period", mode="after")
    @classmethod
    def _a_period(cls, value: str) -> str:
        if set(value) <= set("0.:"):
            rules = Rules()
            rules.fail((), value, "must be longer than zero, e.g. 1.00:00:00 for one day")
            rules.raise_if_any()
        return value


class DataLakeSettings(SettingsModel):
    """The ADLS Gen2 account and its filesystems."""

    name: Str = setting(
        "",
        description="ADLS Gen2 account name.",
        allowed="3-24 lowercase letters/digits, different from `storageAccount.name`",
        doc_default="`dl<prefix><env><suffix>`",
    )
    sku_name: Str = setting(
        "Standard_LRS",
        description=_SKU_DOC + " Premium is rejected with HNS.",
        choices=STORAGE_SKUS,
    )
    require_infrastructure_encryption: Bool = setting(
        False, description=_INFRASTRUCTURE_ENCRYPTION_DOC, allowed="true or false"
    )
    filesystems: tuple[Str, ...] = setting(
        ("fs1",),
        description="Filesystems (containers); each gets an identity-based datastore.",
        allowed="3-63 chars, lowercase letters, digits, single hyphens; unique; not an "
        "Azure ML reserved datastore name",
    )
    delete_retention_days: Int = setting(
        7, description="Blob soft delete retention.", low=1, high=365
    )
    container_delete_retention_days: Int = setting(
        7, description="Filesystem soft delete retention.", low=1, high=365
    )

    @field_validator("filesystems", mode="after")
    @classmethod
    def _filesystem_names(cls, filesystems: tuple[str, ...]) -> tuple[str, ...]:
        rules = Rules()
        if not filesystems:
            rules.fail((), [], "must list at least 1 item(s)")
        for i, fs in enumerate(filesystems):
            if not re.fullmatch(FILESYSTEM, fs):
                rules.fail(
                    (i,),
                    fs,
                    "filesystem names are 3-63 characters: lowercase letters, digits and "
                    "single hyphens, starting and ending with a letter or digit",
                )
        datastores = [datastore_name(fs) for fs in filesystems]
        if len(set(filesystems)) != len(filesystems):
            rules.fail((), list(filesystems), "must not list the same filesystem twice")
        elif len(set(datastores)) != len(datastores):
            rules.fail((), list(filesystems), "two filesystems map to the same datastore name")
        for fs, ds in zip(filesystems, datastores, strict=True):
            if ds in RESERVED_DATASTORE_NAMES:
                rules.fail((), fs, f"its datastore name {ds!r} is reserved by Azure ML")
        rules.raise_if_any()
        return filesystems


class KeyVaultSettings(SettingsModel):
    """Key vault (RBAC authorization, soft delete always on)."""

    name: Str = setting(
        "",
        description="Vault name.",
        allowed="3-24 letters, digits, single hyphens; starts with a letter",
        doc_default="`kv-<prefix>-<env>-<suffix>`",
    )
    sku_name: Str = setting("standard", description="Vault SKU.", choices=KEY_VAULT_SKUS)
    enable_purge_protection: Bool = setting(
        False,
        description="Purge protection; once on it can never be turned off.",
        allowed="true or false",
    )
    soft_delete_retention_in_days: Int = setting(
        90,
        description="Soft delete retention; Azure fixes it when the vault is created.",
        low=7,
        high=90,
    )


class ContainerRegistrySettings(SettingsModel):
    """Container registry (admin user always off)."""

    name: Str = setting(
        "",
        description="Registry name.",
        allowed="5-50 letters/digits",
        doc_default="`cr<prefix><env><suffix>`",
    )
    sku_name: Str = setting(
        "Basic",
        description="Registry SKU; private endpoints need Premium.",
        choices=CONTAINER_REGISTRY_SKUS,
    )
    zone_redundancy: Str = setting(
        "Disabled",
        description="Declare the registry zone-redundant (Premium only); Azure sets it only "
        "when the registry is created, so changing it replaces the registry and its images.",
        choices=ZONE_REDUNDANCY,
    )
    retention_policy_days: Int | None = setting(
        None,
        description="Days an untagged manifest is kept before the registry deletes it "
        "(Azure's retention policy: Premium only, in preview).",
        allowed="a whole number from 0 to 365 (needs Premium)",
        low=0,
        high=365,
        doc_type="int",
        doc_default="none (untagged manifests are kept)",
    )

    @model_validator(mode="after")
    def _premium_features(self) -> ContainerRegistrySettings:
        rules = Rules()
        if self.sku_name != "Premium":
            if self.zone_redundancy == "Enabled":
                rules.fail(
                    ("zoneRedundancy",),
                    self.zone_redundancy,
                    f"needs {PROJECT}:containerRegistry.skuName Premium (it is "
                    f"{self.sku_name}); only Premium registries are declared zone-redundant",
                )
            if self.retention_policy_days is not None:
                rules.fail(
                    ("retentionPolicyDays",),
                    self.retention_policy_days,
                    f"needs {PROJECT}:containerRegistry.skuName Premium (it is "
                    f"{self.sku_name}); only Premium registries have a retention policy",
                )
        rules.raise_if_any()
        return self


class LogAnalyticsSettings(SettingsModel):
    """Log Analytics workspace behind the workspace-based Application Insights."""

    retention_in_days: Int = setting(30, description="Log retention.", low=30, high=730)


class EncryptionSettings(SettingsModel):
    """Customer-managed keys for the workspace and the data lake (off: Microsoft-managed keys)."""

    customer_managed_keys: Bool = setting(
        False,
        description="Encrypt the workspace and the data lake with an RSA key in the stack's "
        "key vault; needs `keyVault.enablePurgeProtection`. The workspace takes it only at "
        "creation (turning it on or off re-creates the workspace), and Azure then adds "
        "billed Cosmos DB, AI Search and storage resources (docs/security.md).",
        allowed="true or false",
    )
    key_size: Int = setting(
        3072,
        description="RSA key size in bits; read when the key is created.",
        allowed=f"one of {', '.join(str(s) for s in RSA_KEY_SIZES)}",
    )
    key_rotation_days: Int = setting(
        365,
        description="Key Vault makes a new key version this many days after the last one; "
        "each new version expires after twice that.",
        low=30,
        high=730,
    )

    @property
    def rotate_after(self) -> str:
        """When Key Vault makes a new version, as ISO 8601 after creation, e.g. `P365D`."""
        return f"P{self.key_rotation_days}D"

    @property
    def expire_after(self) -> str:
        """How long each new key version lives, as ISO 8601 (twice the rotation interval)."""
        return f"P{2 * self.key_rotation_days}D"

    @field_validator("key_size", mode="after")
    @classmethod
    def _rsa_size(cls, value: int) -> int:
        if value not in RSA_KEY_SIZES:
            rules = Rules()
            rules.fail((), value, f"must be one of {', '.join(str(s) for s in RSA_KEY_SIZES)}")
            rules.raise_if_any()
        return value


# Deliberately loose (Azure Monitor checks deliverability): one @, no spaces, a dotted domain.
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"


class MonitoringSettings(SettingsModel):
    """Alerts on the workspace's logs in Log Analytics."""

    alert_emails: tuple[Str, ...] = setting(
        (),
        description="Who is emailed when an Azure ML job of the workspace fails (a scheduled "
        "run, say): an action group and a log alert on `AmlRunStatusChangedEvent`. Empty: no "
        "alert (an alert nobody receives only costs its evaluations).",
        allowed="email addresses",
        doc_type="list of string",
    )

    @field_validator("alert_emails", mode="after")
    @classmethod
    def _emails(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        rules = Rules()
        for i, value in enumerate(values):
            if not re.fullmatch(EMAIL, value):
                rules.fail((i,), value, "must be an email address, e.g. data-platform@contoso.com")
        if len({v.lower() for v in values}) != len(values):
            rules.fail((), list(values), "must not list the same address twice")
        rules.raise_if_any()
        return values


class ServiceTagRuleSettings(SettingsModel):
    """One service tag outbound rule of the managed network (AllowOnlyApprovedOutbound)."""

    name: Str = setting(
        description="Rule name, unique in the workspace.",
        pattern=OUTBOUND_RULE_NAME,
        allowed="2-63 lowercase letters, digits and hyphens, starting with a letter",
    )
    service_tag: Str = setting(
        description="The Azure service tag the rule allows, e.g. `DataFactory`.",
        pattern=r"[A-Za-z][A-Za-z0-9.]{1,79}",
        allowed="an Azure service tag name, e.g. DataFactory or Storage.westeurope",
    )
    protocol: Str = setting("TCP", description="Protocol.", choices=SERVICE_TAG_PROTOCOLS)
    port_ranges: Str = setting(
        "443",
        description="Ports, comma separated: single ports or ranges.",
        pattern=r"\d{1,5}(-\d{1,5})?(, ?\d{1,5}(-\d{1,5})?)*",
        allowed="ports and ranges separated by commas, e.g. 443 or 80, 8080-8089",
    )


# Keys that only AllowOnlyApprovedOutbound accepts (Azure takes service tag and FQDN rules
# only in that mode, and only FQDN rules bring the firewall).
# https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#configure-a-managed-virtual-network-to-allow-only-approved-outbound
_APPROVED_OUTBOUND_KEYS = ("fqdnRules", "serviceTagRules", "firewallSku")


class ManagedNetworkSettings(SettingsModel):
    """The workspace managed virtual network: where compute runs and what it may reach."""

    isolation_mode: Str = setting(
        "Disabled",
        description="`Disabled`: compute runs in the stack's compute subnet (NSG, NAT "
        "gateway). `AllowInternetOutbound` or `AllowOnlyApprovedOutbound`: compute runs in "
        "Azure ML's managed network, with no compute subnet. Choose once: Azure lets a "
        "workspace neither go back to Disabled nor change between the two managed modes.",
        choices=ISOLATION_MODES,
    )
    fqdn_rules: tuple[Str, ...] = setting(
        DEFAULT_FQDN_RULES,
        description="`AllowOnlyApprovedOutbound` only: host names compute may reach on ports "
        "80 and 443 (through an Azure Firewall Azure ML adds and bills); an empty list means "
        "no firewall, and then no package installs from the internet.",
        allowed="host names such as pypi.org or *.data.mcr.microsoft.com (no scheme, port or "
        "path), unique, none under core.windows.net (storage is reached by private endpoint)",
        doc_type="list of host names",
        doc_default=", ".join(f"`{h}`" for h in DEFAULT_FQDN_RULES),
    )
    service_tag_rules: tuple[ServiceTagRuleSettings, ...] = setting(
        (),
        description="`AllowOnlyApprovedOutbound` only: service tags compute may reach beyond "
        "the ones Azure ML adds itself as required rules.",
        doc_type="list of objects",
    )
    firewall_sku: Str = setting(
        "Standard",
        description="`AllowOnlyApprovedOutbound` with `fqdnRules` only: the Azure Firewall "
        "SKU Azure ML deploys for the FQDN rules.",
        choices=FIREWALL_SKUS,
    )

    @property
    def enabled(self) -> bool:
        """Whether the workspace has a managed network (compute then runs in it)."""
        return self.isolation_mode != "Disabled"

    @property
    def approved_outbound_only(self) -> bool:
        """Whether only the declared outbound rules (and Azure's required ones) are allowed."""
        return self.isolation_mode == "AllowOnlyApprovedOutbound"

    @field_validator("fqdn_rules", mode="after")
    @classmethod
    def _host_names(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        rules = Rules()
        for i, host in enumerate(hosts):
            if not re.fullmatch(FQDN, host) or len(host) > 253:
                rules.fail(
                    (i,),
                    host,
                    "must be a host name such as pypi.org or *.data.mcr.microsoft.com, in "
                    "lowercase, without scheme, port or path (FQDN rules allow ports 80 and "
                    "443 only)",
                )
            elif host.endswith(STORAGE_HOST_SUFFIX):
                # https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#limitations
                rules.fail(
                    (i,),
                    host,
                    "Azure does not reach storage accounts through FQDN rules in "
                    "AllowOnlyApprovedOutbound; storage needs a private endpoint rule (the "
                    "data lake has one)",
                )
        if len(set(hosts)) != len(hosts):
            rules.fail((), list(hosts), "must not list the same host name twice")
        rules.raise_if_any()
        return hosts

    @field_validator("service_tag_rules", mode="after")
    @classmethod
    def _unique_rules(
        cls, rules_: tuple[ServiceTagRuleSettings, ...]
    ) -> tuple[ServiceTagRuleSettings, ...]:
        rules = _unique_names([r.name for r in rules_])
        for i, rule in enumerate(rules_):
            if rule.name.startswith((DATA_LAKE_RULE_PREFIX, FQDN_RULE_PREFIX)):
                rules.fail(
                    (i, "name"),
                    rule.name,
                    f"names starting with {DATA_LAKE_RULE_PREFIX!r} or {FQDN_RULE_PREFIX!r} "
                    "are the stack's own rules; choose another",
                )
        rules.raise_if_any()
        return rules_

    @model_validator(mode="after")
    def _keys_of_the_mode(self) -> ManagedNetworkSettings:
        rules = Rules()
        given = {type(self).model_fields[f].alias or f for f in self.model_fields_set}
        mode = f"{PROJECT}:workspace.managedNetwork.isolationMode"
        if not self.approved_outbound_only:
            for key in [k for k in _APPROVED_OUTBOUND_KEYS if k in given]:
                rules.say(
                    (key,),
                    f": Azure accepts it only with {mode} = AllowOnlyApprovedOutbound (it is "
                    f"{self.isolation_mode!r}); remove the key",
                )
        elif "firewallSku" in given and not self.fqdn_rules:
            rules.say(
                ("firewallSku",),
                ": there are no fqdnRules, so Azure deploys no firewall; remove the key",
            )
        rules.raise_if_any()
        return self


class WorkspaceSettings(SettingsModel):
    """The Azure ML workspace."""

    name: Str = setting(
        "",
        description="Workspace name.",
        allowed="3-33 letters, digits, hyphens, underscores",
        doc_default="`mlw-<prefix>-<env>-<suffix>`",
    )
    friendly_name: Str = setting(
        "",
        description="Display name in Azure ML studio.",
        pattern=r"[^<>]{1,256}",
        allowed="1-256 characters without < or >",
        doc_default="`Azure ML with Dask (<env>)`",
    )
    description: Str = setting(
        "",
        description="Workspace description.",
        pattern=r"[^<>]{0,1024}",
        allowed="up to 1024 characters without < or >",
        doc_default="a sentence naming the environment",
    )
    public_network_access: Str = setting(
        "Enabled",
        description="Whether the workspace is reachable from the internet; must agree with "
        "`privateNetworking`.",
        choices=PUBLIC_NETWORK_ACCESS,
        doc_default="`Disabled` if `privateNetworking`, else `Enabled`",
    )
    managed_network: ManagedNetworkSettings = setting(
        ManagedNetworkSettings(),
        description="Azure ML's managed virtual network for the compute (off by default).",
    )


class ComputeClusterSettings(SettingsModel):
    """One AmlCompute cluster."""

    name: Str = setting(
        description="Cluster name.",
        pattern=naming.COMPUTE_NAME_PATTERN,
        allowed="2-16 characters: letters, digits and hyphens, starting with a letter",
    )
    vm_size: Str = setting(
        description="VM size of every node; checked against the VM catalog (retired sizes "
        "are rejected).",
        pattern=VM_SIZE,
        allowed="an Azure VM size name, e.g. Standard_D4s_v5",
    )
    vm_size_unlisted: Bool = setting(
        False,
        description="Accept a `vmSize` the VM catalog does not know yet (a new size); its "
        "vCPUs, memory and GPUs are then reported as 0 in the outputs.",
        allowed="true or false",
    )
    min_nodes: Int = setting(
        0,
        description="Nodes kept running (0 = an idle cluster costs nothing); at most maxNodes.",
        low=0,
        high=MAX_CLUSTER_NODES,
    )
    max_nodes: Int = setting(4, description="Nodes at most.", low=1, high=MAX_CLUSTER_NODES)
    idle_seconds_before_scale_down: Int = setting(
        120, description="Idle time before a node is released.", low=60, high=7 * 24 * 3600
    )
    vm_priority: Str = setting(
        "Dedicated", description="Dedicated or low-priority nodes.", choices=VM_PRIORITIES
    )

    @property
    def node_idle_time_before_scale_down(self) -> str:
        """The idle time as Azure wants it: ISO 8601, e.g. `PT120S`."""
        return f"PT{self.idle_seconds_before_scale_down}S"

    @property
    def vm(self) -> vm_sizes.VmSize | None:
        """The VM catalog's row for the size (None for an unlisted size)."""
        return vm_sizes.vm_size(self.vm_size)

    @model_validator(mode="after")
    def _nodes_and_size(self) -> ComputeClusterSettings:
        rules = Rules()
        if self.min_nodes > self.max_nodes:
            rules.fail(
                ("minNodes",), self.min_nodes, f"must not exceed maxNodes ({self.max_nodes})"
            )
        _check_vm_size(rules, self.vm_size, self.vm_size_unlisted, "vmSizeUnlisted")
        rules.raise_if_any()
        return self


class ComputeInstanceSettings(SettingsModel):
    """One personal compute instance."""

    name: Str = setting(
        description="Instance name.",
        pattern=naming.COMPUTE_INSTANCE_NAME_PATTERN,
        allowed="3-24 characters: letters, digits and hyphens, starting with a letter",
    )
    vm_size: Str = setting(
        description="VM size; checked against the VM catalog.",
        pattern=VM_SIZE,
        allowed="an Azure VM size name, e.g. Standard_DS3_v2",
    )
    vm_size_unlisted: Bool = setting(
        False,
        description="Accept a `vmSize` the VM catalog does not know yet.",
        allowed="true or false",
    )
    assigned_user_object_id: Str = setting(
        description="The Entra ID object id of the one user it belongs to.",
        pattern=GUID,
        allowed="the user's Entra ID object id (GUID)",
        doc_type="GUID",
    )
    idle_minutes_before_shutdown: Int = setting(
        30, description="Idle time before the instance shuts down.", low=15, high=3 * 24 * 60
    )

    @property
    def idle_time_before_shutdown(self) -> str:
        """The idle time as Azure wants it: ISO 8601, e.g. `PT30M`."""
        return f"PT{self.idle_minutes_before_shutdown}M"

    @field_validator("assigned_user_object_id", mode="after")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @model_validator(mode="after")
    def _size(self) -> ComputeInstanceSettings:
        rules = Rules()
        _check_vm_size(rules, self.vm_size, self.vm_size_unlisted, "vmSizeUnlisted")
        rules.raise_if_any()
        return self


# Keys each service principal mode accepts (the others are "not a known setting" there).
_SP_KEYS = {
    "none": ("mode", "workspaceRole"),
    "create": ("displayName", "mode", "passwordEndDate", "workspaceRole"),
    "existing": ("clientId", "mode", "objectId", "passwordEndDate", "workspaceRole"),
}


class ServicePrincipalSettings(SettingsModel):
    """The optional service principal for the data lake (the seed walkthrough's)."""

    mode: Str = setting(
        "none",
        description="`create` (made with pulumi-azuread), `existing`, or `none`.",
        choices=SERVICE_PRINCIPAL_MODES,
    )
    display_name: Str = setting(
        "",
        description="`create` only: the application's display name.",
        pattern=r"[^<>]{1,120}",
        allowed="1-120 characters without < or >",
        doc_default="`sp-<prefix>-<env>`",
    )
    password_end_date: Str = setting(
        "",
        description="When the client secret expires: `create` sets it on the generated "
        "password, `existing` states the given secret's; the key vault secret expires then "
        "too (plan its rotation).",
        allowed="the date the password expires, YYYY-MM-DD (plan its rotation)",
        doc_type="date",
        doc_default="required for `create` and `existing`",
    )
    client_id: Str = setting(
        "",
        description="`existing` only: the application (client) id.",
        pattern=GUID,
        allowed="the application (client) id",
        doc_type="GUID",
        doc_default="required for `existing`",
    )
    object_id: Str = setting(
        "",
        description="`existing` only: the service principal's object id.",
        pattern=GUID,
        allowed="the service principal's object id (GUID)",
        doc_type="GUID",
        doc_default="required for `existing`",
    )
    workspace_role: Str = setting(
        "AzureML Data Scientist",
        description="The principal's role on the workspace.",
        choices=WORKSPACE_ROLES,
    )
    # From the secret `servicePrincipalClientSecret` key (existing mode), never from here.
    client_secret: pulumi.Output[str] | None = setting(
        None, description="The client secret, as a Pulumi secret.", internal=True
    )

    @property
    def enabled(self) -> bool:
        """Whether the stack has a service principal at all."""
        return self.mode != "none"

    @field_validator("password_end_date", mode="after")
    @classmethod
    def _a_date(cls, value: str) -> str:
        try:
            date.fromisoformat(value)
        except ValueError:
            rules = Rules()
            rules.fail((), value, "must be a date, YYYY-MM-DD")
            rules.raise_if_any()
        return value

    @field_validator("client_id", "object_id", mode="after")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @model_validator(mode="after")
    def _keys_of_the_mode(self) -> ServicePrincipalSettings:
        rules = Rules()
        known = _SP_KEYS[self.mode]
        given = {type(self).model_fields[f].alias or f for f in self.model_fields_set}
        for key in sorted(given - set(known)):
            rules.say((key,), f" is not a known setting; known here: {', '.join(known)}")
        required = {
            "create": ("passwordEndDate",),
            "existing": ("clientId", "objectId", "passwordEndDate"),
        }
        for key in required.get(self.mode, ()):
            if key not in given:
                field = next(n for n, f in type(self).model_fields.items() if f.alias == key)
                rules.say((key,), f" is required: {self.extra_of(field)['allowed']}")
        rules.raise_if_any()
        return self


class GroupSettings(SettingsModel):
    """Entra ID group object ids that get workspace roles."""

    data_scientists: tuple[Str, ...] = setting(
        (),
        description="Groups with AzureML Data Scientist on the workspace and "
        "`dataScientistsDataLakeRole` on the lake.",
        allowed="Entra ID group object ids",
        doc_type="list of GUID",
    )
    compute_operators: tuple[Str, ...] = setting(
        (),
        description="Groups with AzureML Compute Operator on the workspace.",
        allowed="Entra ID group object ids",
        doc_type="list of GUID",
    )
    readers: tuple[Str, ...] = setting(
        (),
        description="Groups with Reader on the workspace.",
        allowed="Entra ID group object ids",
        doc_type="list of GUID",
    )
    data_scientists_data_lake_role: Str = setting(
        "Storage Blob Data Reader",
        description="The data role `dataScientists` hold on the lake (identity-based "
        "datastores use the caller's identity).",
        choices=DATA_LAKE_ROLES,
    )

    @field_validator("data_scientists", "compute_operators", "readers", mode="after")
    @classmethod
    def _object_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _guids(value)


def _unique_names(names: list[str]) -> Rules:
    rules = Rules()
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name.lower() in seen:
            rules.fail((i, "name"), name, "names must be unique (case-insensitive)")
        seen.add(name.lower())
    return rules


def valid_environment(name: str) -> bool:
    """Whether `name` can be an environment (and so a stack name can be its default)."""
    return bool(re.fullmatch(LOWER_ALNUM, name)) and 2 <= len(name) <= 8


class Settings(SettingsModel):
    """Everything the stack needs, validated."""

    # Set from the stack name after validation (never from the stack file).
    stack: Str = setting("", description="The Pulumi stack name.", internal=True)
    # Before `location`: its check reads this switch.
    location_unlisted: Bool = setting(
        False,
        description="Accept a `location` missing from the region list (a region newer than "
        "the catalog).",
        allowed="true or false",
    )
    location: Str = setting(
        description="Azure region (programmatic name), checked against Microsoft's region list.",
        pattern=r"[a-z][a-z0-9]{2,30}",
        allowed="an Azure region name in lowercase, e.g. westeurope",
    )
    name_prefix: Str = setting(
        "amldask",
        description="First part of every resource name.",
        pattern=r"[a-z][a-z0-9]{1,9}",
        allowed="2-10 lowercase letters and digits, starting with a letter",
    )
    environment: Str = setting(
        description="Environment name in resource names and the `environment` tag.",
        pattern=r"[a-z][a-z0-9]{1,7}",
        allowed="2-8 lowercase letters and digits, starting with a letter (e.g. dev, prod)",
        doc_default="the stack name",
    )
    name_suffix: Str = setting(
        "",
        description="Last part of globally unique names; change it to re-create a stack whose "
        "old names are still soft-deleted.",
        pattern=r"[a-z0-9]{4,6}",
        allowed="4-6 lowercase letters and digits (change it to re-create soft-deleted names)",
        doc_default="6 hex chars derived from project, stack, environment, location",
    )
    tags: Mapping[str, str] = setting(
        description="Tags on every resource; `environment` is added (must not disagree).",
        allowed="an object with at least " + ", ".join(REQUIRED_TAGS),
        doc_type="object",
    )
    protect: Bool = setting(
        False,
        description="Pulumi `protect` on the stateful resources, and `CanNotDelete` locks.",
        allowed="true or false",
    )
    private_networking: Bool = setting(
        False,
        description="Private endpoints + private DNS for workspace, storage, key vault and "
        "registry; public network access off (needs a Premium registry, a "
        f"/{MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX}+ endpoint subnet and a cluster).",
        allowed="true or false",
    )
    virtual_network: VirtualNetworkSettings = setting(
        VirtualNetworkSettings(), description="The virtual network."
    )
    storage_account: StorageAccountSettings = setting(
        StorageAccountSettings(), description="The workspace's storage account."
    )
    data_lake: DataLakeSettings = setting(DataLakeSettings(), description="The data lake.")
    key_vault: KeyVaultSettings = setting(KeyVaultSettings(), description="The key vault.")
    container_registry: ContainerRegistrySettings = setting(
        ContainerRegistrySettings(), description="The container registry."
    )
    log_analytics: LogAnalyticsSettings = setting(
        LogAnalyticsSettings(), description="The Log Analytics workspace."
    )
    monitoring: MonitoringSettings = setting(
        MonitoringSettings(), description="Alerts on the workspace's logs."
    )
    workspace: WorkspaceSettings = setting(WorkspaceSettings(), description="The workspace.")
    encryption: EncryptionSettings = setting(
        EncryptionSettings(), description="Customer-managed keys."
    )
    compute_clusters: tuple[ComputeClusterSettings, ...] = setting(
        (), description="AmlCompute clusters; names unique.", doc_type="list of objects"
    )
    compute_instances: tuple[ComputeInstanceSettings, ...] = setting(
        (),
        description="Personal compute instances; names unique, not a cluster name.",
        doc_type="list of objects",
    )
    service_principal: ServicePrincipalSettings = setting(
        ServicePrincipalSettings(), description="The optional service principal."
    )
    groups: GroupSettings = setting(GroupSettings(), description="Entra ID groups.")

    @property
    def resource_group_name(self) -> str:
        """The stack's resource group."""
        return naming.ResourceNames(
            self.name_prefix, self.environment, self.name_suffix
        ).resource_group

    @property
    def has_compute(self) -> bool:
        """Whether the stack declares any compute (clusters or instances)."""
        return bool(self.compute_clusters or self.compute_instances)

    @property
    def has_compute_subnet(self) -> bool:
        """Whether compute runs in the stack's compute subnet (not in a managed network).

        Azure ML creates managed compute only inside the workspace's managed network when it
        has one: the customer vnet then keeps only the private endpoints.
        https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#limitations
        """
        return not self.workspace.managed_network.enabled

    @property
    def image_build_compute(self) -> str | None:
        """The cluster that builds job images in a private stack (None: Azure's default).

        A registry behind a private endpoint is out of reach of Azure ML's default
        (serverless) build compute, so a private workspace builds on its first CPU cluster,
        inside the vnet: Azure ML builds images on CPU sizes only.
        """
        # https://learn.microsoft.com/azure/machine-learning/how-to-secure-workspace-vnet#enable-azure-container-registry-acr
        if not self.private_networking:
            return None
        cpu = (c.name for c in self.compute_clusters if not (c.vm and c.vm.gpus))
        return next(cpu, None)

    @property
    def datastore_names(self) -> tuple[str, ...]:
        """Identity-based datastores (one per filesystem), then service-principal ones."""
        identity = tuple(datastore_name(fs) for fs in self.data_lake.filesystems)
        if not self.service_principal.enabled:
            return identity
        return identity + tuple(f"{name}_sp" for name in identity)

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        """Fill in the defaults made from other keys (names, environment, workspace texts)."""
        if not isinstance(data, dict):
            return data
        stack = str((info.context or {}).get("stack", ""))
        data = dict(data)
        if "environment" not in data and valid_environment(stack):
            data["environment"] = stack

        def text(key: str, default: str) -> str:
            value = data.get(key, default)
            return value if isinstance(value, str) else default

        env, prefix = text("environment", ""), text("namePrefix", "amldask")
        suffix = text("nameSuffix", naming.stack_suffix(PROJECT, stack, env, text("location", "")))
        data.setdefault("nameSuffix", suffix)
        names = naming.ResourceNames(prefix, env, suffix)
        private = _bool_value(data.get("privateNetworking"))
        defaults: dict[str, dict[str, str]] = {
            "storageAccount": {"name": names.storage_account},
            "dataLake": {"name": names.data_lake},
            "keyVault": {"name": names.key_vault},
            "containerRegistry": {"name": names.container_registry},
            "workspace": {
                "name": names.workspace,
                "friendlyName": f"Azure ML with Dask ({env})",
                "description": "Azure Machine Learning workspace for Dask workloads, "
                f"{env} environment.",
                # A private stack's workspace is private unless the key says otherwise.
                "publicNetworkAccess": "Disabled" if private else "Enabled",
            },
        }
        principal = data.get("servicePrincipal")
        if isinstance(principal, dict) and principal.get("mode") == "create":
            defaults["servicePrincipal"] = {"displayName": f"sp-{prefix}-{env}"}
        for section, values in defaults.items():
            given = data.get(section, {})
            if isinstance(given, dict):
                data[section] = {**values, **given}
        return data

    @field_validator("location", mode="after")
    @classmethod
    def _a_region(cls, location: str, info: ValidationInfo) -> str:
        if info.data.get("location_unlisted") or regions.is_region(location):
            return location
        close = regions.close_regions(location)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        rules = Rules()
        rules.fail(
            (),
            location,
            f"not an Azure region on Microsoft's list ({regions.SOURCE}); {hint}"
            f"for a region newer than the list set {PROJECT}:locationUnlisted: true",
        )
        rules.raise_if_any()
        return location

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any, info: ValidationInfo) -> Any:
        rules = Rules()
        environment = info.data.get("environment")
        if not isinstance(value, dict):
            rules.fail((), value, f"must be an object with at least {', '.join(REQUIRED_TAGS)}")
            rules.raise_if_any()
        tags: dict[str, str] = {}
        for name, tag in value.items():
            if not name or len(name) > 512 or set(name) & _TAG_NAME_FORBIDDEN:
                rules.say((name,), " : tag names must be 1-512 characters without < > % & \\ ? /")
            elif not isinstance(tag, str) or not tag or len(tag) > 256:
                rules.fail(
                    (name,),
                    tag,
                    "tag values are strings of 1-256 characters (quote numbers in YAML)",
                )
            else:
                tags[name] = tag
        for required in REQUIRED_TAGS:
            if required not in value:
                rules.say((required,), " is required: every resource carries it")
        if environment is not None and tags.get("environment", environment) != environment:
            rules.fail(
                ("environment",),
                tags["environment"],
                f"set by the stack; must equal {PROJECT}:environment ({environment!r}) or be "
                "left out",
            )
        rules.raise_if_any()
        if environment is not None:
            tags["environment"] = environment
        return tags

    @field_validator("compute_clusters", mode="after")
    @classmethod
    def _unique_clusters(
        cls, clusters: tuple[ComputeClusterSettings, ...]
    ) -> tuple[ComputeClusterSettings, ...]:
        _unique_names([c.name for c in clusters]).raise_if_any()
        return clusters

    @field_validator("compute_instances", mode="after")
    @classmethod
    def _unique_instances(
        cls, instances: tuple[ComputeInstanceSettings, ...], info: ValidationInfo
    ) -> tuple[ComputeInstanceSettings, ...]:
        rules = _unique_names([i.name for i in instances])
        clusters = info.data.get("compute_clusters", ())
        overlap = {c.name.lower() for c in clusters} & {i.name.lower() for i in instances}
        if overlap:
            rules.say(
                (),
                f": names {sorted(overlap)} are already compute clusters; compute names are "
                "unique per workspace",
            )
        rules.raise_if_any()
        return instances

    @model_validator(mode="after")
    def _combinations(self) -> Settings:
        """Combinations that cannot work, then the names built from valid parts."""
        rules = Rules()
        _private_networking_rules(self, rules)
        _customer_managed_key_rules(self, rules)
        _managed_network_rules(self, rules)
        if not rules.problems:
            # Names are only worth checking once the parts they are made of are valid.
            for problem in naming.check_names(
                {
                    f"{PROJECT}:storageAccount.name": (
                        "storage account",
                        self.storage_account.name,
                    ),
                    f"{PROJECT}:dataLake.name": ("storage account", self.data_lake.name),
                    f"{PROJECT}:keyVault.name": ("key vault", self.key_vault.name),
                    f"{PROJECT}:containerRegistry.name": (
                        "container registry",
                        self.container_registry.name,
                    ),
                    f"{PROJECT}:workspace.name": ("workspace", self.workspace.name),
                },
                derived_from=f"{PROJECT}:namePrefix, {PROJECT}:environment",
            ):
                rules.verbatim(problem)
        if not rules.problems and self.storage_account.name == self.data_lake.name:
            rules.fail(
                ("dataLake", "name"),
                self.data_lake.name,
                f"must differ from {PROJECT}:storageAccount.name",
            )
        rules.raise_if_any()
        return self


def _bool_value(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _private_networking_rules(s: Settings, rules: Rules) -> None:
    """Combinations that cannot work with (or without) private endpoints."""
    switch = f"{PROJECT}:privateNetworking"
    subnet = s.virtual_network.private_endpoint_subnet_address_prefix
    prefix_length = ipaddress.ip_network(subnet).prefixlen  # a valid CIDR by now
    private = s.private_networking
    if private and prefix_length > MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX:
        rules.fail(
            ("virtualNetwork", "privateEndpointSubnetAddressPrefix"),
            subnet,
            f"{switch} = true needs /{MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX} or larger (room "
            "for the stack's private endpoints and Azure's 5 reserved addresses)",
        )
    if private and s.container_registry.sku_name != "Premium":
        rules.fail(
            ("containerRegistry", "skuName"),
            s.container_registry.sku_name,
            f"{switch} = true needs Premium (only Premium registries have private endpoints)",
        )
    if private and s.workspace.public_network_access == "Enabled":
        rules.fail(
            ("workspace", "publicNetworkAccess"),
            "Enabled",
            f"contradicts {switch} = true (the workspace would stay reachable from the "
            "internet); remove the key",
        )
    if not private and s.workspace.public_network_access == "Disabled":
        rules.fail(
            ("workspace", "publicNetworkAccess"),
            "Disabled",
            f"needs {switch} = true, or nothing could reach the workspace (it would have no "
            "private endpoint)",
        )
    if private and s.image_build_compute is None:
        rules.say(
            ("computeClusters",),
            f": {switch} = true needs at least one CPU compute cluster (the workspace's "
            "imageBuildCompute: its registry is private, so Azure ML must build job images "
            "on a cluster in the vnet, and builds only on CPU sizes)",
        )


def _customer_managed_key_rules(s: Settings, rules: Rules) -> None:
    """Customer-managed keys need a vault whose keys cannot be purged."""
    # https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys#prerequisites
    if s.encryption.customer_managed_keys and not s.key_vault.enable_purge_protection:
        rules.fail(
            ("keyVault", "enablePurgeProtection"),
            False,
            f"{PROJECT}:encryption.customerManagedKeys = true needs purge protection (Azure "
            "ML and Storage require it on the vault holding the key, so a purged key cannot "
            "make the data unreadable); set it to true (it can never be turned off again)",
        )


def _managed_network_rules(s: Settings, rules: Rules) -> None:
    """Combinations Azure rejects with a workspace managed network."""
    network = s.workspace.managed_network
    mode = f"{PROJECT}:workspace.managedNetwork.isolationMode = {network.isolation_mode}"
    if network.enabled and s.virtual_network.restrict_outbound_internet:
        # https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#limitations
        rules.fail(
            ("virtualNetwork", "restrictOutboundInternet"),
            True,
            f"restricts the compute subnet, but with {mode} the compute runs in Azure ML's "
            "managed network and no compute subnet exists (Azure creates no compute in a "
            "customer vnet then); use AllowOnlyApprovedOutbound to restrict egress instead",
        )
    if network.approved_outbound_only and s.container_registry.sku_name != "Premium":
        # Azure adds a private endpoint rule to the registry in this mode; only Premium
        # registries have private endpoints.
        # https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#list-of-required-rules
        # https://learn.microsoft.com/azure/container-registry/container-registry-private-link
        rules.fail(
            ("containerRegistry", "skuName"),
            s.container_registry.sku_name,
            f"{mode} needs Premium: compute reaches the registry only through a private "
            "endpoint then, and only Premium registries have one",
        )
