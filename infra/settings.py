"""Typed, validated stack settings: the only place that reads stack configuration.

`read_settings()` collects the stack's `azureml-dask:*` config once, and `parse_settings()`
turns those raw strings into frozen dataclasses, or raises one `SettingsError` that lists
every problem found (the key, the bad value, what is allowed). Nothing else in `infra/`
touches `pulumi.Config`; components receive the plain values defined here.

To add a setting: add a field to the right dataclass and read it in that section's parser
with the `_Section` helpers below. Unknown keys are rejected automatically, so a section
only accepts what its parser asks for.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pulumi

from infra import naming
from infra.private_networking import MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX

PROJECT = "azureml-dask"
"""The Pulumi project name: every config key lives in this namespace."""


class SettingsError(ValueError):
    """Invalid stack settings; the message lists every problem, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid stack settings ({len(self.problems)} problem(s)):\n{lines}")


# --------------------------------------------------------------------------------------
# The settings model
# --------------------------------------------------------------------------------------

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
PUBLIC_NETWORK_ACCESS = ("Enabled", "Disabled")
VM_PRIORITIES = ("Dedicated", "LowPriority")
SERVICE_PRINCIPAL_MODES = ("none", "create", "existing")
# Roles a service principal may hold on the workspace (names from infra.access.ROLES).
WORKSPACE_ROLES = ("AzureML Data Scientist", "AzureML Compute Operator", "Reader", "Contributor")
REQUIRED_TAGS = ("owner", "costCenter")
MAX_CLUSTER_NODES = 100
# Workspace datastores Azure ML creates itself; ours must not take these names.
RESERVED_DATASTORE_NAMES = (
    "workspaceblobstore",
    "workspacefilestore",
    "workspaceartifactstore",
    "workspaceworkingdirectory",
)


@dataclass(frozen=True)
class VirtualNetworkSettings:
    """The virtual network and its two subnets."""

    address_prefixes: tuple[str, ...]
    compute_subnet_address_prefix: str
    private_endpoint_subnet_address_prefix: str


@dataclass(frozen=True)
class StorageAccountSettings:
    """The workspace's own storage account (StorageV2, no hierarchical namespace)."""

    name: str
    sku_name: str


@dataclass(frozen=True)
class DataLakeSettings:
    """The ADLS Gen2 account and its filesystems."""

    name: str
    sku_name: str
    filesystems: tuple[str, ...]
    delete_retention_days: int
    container_delete_retention_days: int


@dataclass(frozen=True)
class KeyVaultSettings:
    """Key vault (RBAC authorization, soft delete always on)."""

    name: str
    sku_name: str
    enable_purge_protection: bool
    soft_delete_retention_in_days: int


@dataclass(frozen=True)
class ContainerRegistrySettings:
    """Container registry (admin user always off)."""

    name: str
    sku_name: str


@dataclass(frozen=True)
class LogAnalyticsSettings:
    """Log Analytics workspace behind the workspace-based Application Insights."""

    retention_in_days: int


@dataclass(frozen=True)
class WorkspaceSettings:
    """The Azure ML workspace."""

    name: str
    friendly_name: str
    description: str
    public_network_access: str


@dataclass(frozen=True)
class ComputeClusterSettings:
    """One AmlCompute cluster."""

    name: str
    vm_size: str
    min_nodes: int
    max_nodes: int
    idle_seconds_before_scale_down: int
    vm_priority: str

    @property
    def node_idle_time_before_scale_down(self) -> str:
        """The idle time as Azure wants it: ISO 8601, e.g. `PT120S`."""
        return f"PT{self.idle_seconds_before_scale_down}S"


@dataclass(frozen=True)
class ComputeInstanceSettings:
    """One personal compute instance."""

    name: str
    vm_size: str
    assigned_user_object_id: str
    idle_minutes_before_shutdown: int

    @property
    def idle_time_before_shutdown(self) -> str:
        """The idle time as Azure wants it: ISO 8601, e.g. `PT30M`."""
        return f"PT{self.idle_minutes_before_shutdown}M"


@dataclass(frozen=True)
class ServicePrincipalSettings:
    """The optional service principal for the data lake (the seed walkthrough's)."""

    mode: str  # none | create | existing
    display_name: str = ""
    password_end_date: str = ""  # create mode: YYYY-MM-DD
    client_id: str = ""  # existing mode
    object_id: str = ""  # existing mode: the service principal's object id
    client_secret: pulumi.Output[str] | None = None  # existing mode, always a Pulumi secret
    workspace_role: str = "AzureML Data Scientist"

    @property
    def enabled(self) -> bool:
        """Whether the stack has a service principal at all."""
        return self.mode != "none"


@dataclass(frozen=True)
class GroupSettings:
    """Entra ID group object ids that get workspace roles."""

    data_scientists: tuple[str, ...] = ()
    compute_operators: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Everything the stack needs, validated."""

    stack: str
    location: str
    name_prefix: str
    environment: str
    name_suffix: str
    tags: Mapping[str, str]
    protect: bool
    resource_group_name: str
    virtual_network: VirtualNetworkSettings
    storage_account: StorageAccountSettings
    data_lake: DataLakeSettings
    key_vault: KeyVaultSettings
    container_registry: ContainerRegistrySettings
    log_analytics: LogAnalyticsSettings
    workspace: WorkspaceSettings
    compute_clusters: tuple[ComputeClusterSettings, ...] = ()
    compute_instances: tuple[ComputeInstanceSettings, ...] = ()
    service_principal: ServicePrincipalSettings = field(
        default_factory=lambda: ServicePrincipalSettings(mode="none")
    )
    groups: GroupSettings = field(default_factory=GroupSettings)
    private_networking: bool = False

    @property
    def has_compute(self) -> bool:
        """Whether the stack declares any compute (clusters or instances)."""
        return bool(self.compute_clusters or self.compute_instances)

    @property
    def image_build_compute(self) -> str | None:
        """The cluster that builds job images in a private stack (None: Azure's default).

        A registry behind a private endpoint is out of reach of Azure ML's default build
        compute, so a private workspace builds on its first cluster, inside the vnet.
        """
        if not self.private_networking or not self.compute_clusters:
            return None
        return self.compute_clusters[0].name

    @property
    def datastore_names(self) -> tuple[str, ...]:
        """Identity-based datastores (one per filesystem), then service-principal ones."""
        identity = tuple(datastore_name(fs) for fs in self.data_lake.filesystems)
        if not self.service_principal.enabled:
            return identity
        return identity + tuple(f"{name}_sp" for name in identity)


def datastore_name(filesystem: str) -> str:
    """The Azure ML datastore name for a filesystem: only letters, digits and underscores."""
    return filesystem.replace("-", "_")


# --------------------------------------------------------------------------------------
# Reading raw values with precise error messages
# --------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)


class _Section:
    """One object of settings: typed getters that record problems and track used keys."""

    def __init__(
        self,
        path: str,
        raw: Mapping[str, Any],
        problems: list[str],
        asked: set[str] | None = None,
    ) -> None:
        self.path = path
        self.raw = raw
        self.problems = problems
        self.used: set[str] = set()
        # Every key any parser asked for, shared by all sections (see `setting_keys`).
        self.asked = asked if asked is not None else set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else f"{PROJECT}:{name}"

    def fail(self, name: str, value: Any, allowed: str) -> None:
        self.problems.append(f"{self.key(name)} = {_show(value)}: {allowed}")

    def _get(self, name: str) -> Any:
        self.used.add(name)
        self.asked.add(re.sub(r"\[\d+\]", "[]", self.key(name)))
        return self.raw.get(name)

    def string(
        self,
        name: str,
        default: str | None = None,
        *,
        pattern: str | None = None,
        allowed: str = "",
        choices: Sequence[str] = (),
    ) -> str:
        value = self._get(name)
        if value is None:
            if default is None:
                self.problems.append(f"{self.key(name)} is required: {allowed or 'a string'}")
                return ""
            return default
        if not isinstance(value, str):
            self.fail(name, value, f"must be a string; {allowed}".rstrip("; "))
            return default or ""
        if choices and value not in choices:
            self.fail(name, value, f"allowed values are {', '.join(choices)}")
            return default or ""
        if pattern is not None and not re.fullmatch(pattern, value):
            self.fail(name, value, allowed)
            return default or ""
        return value

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(name, value, f"must be a whole number from {low} to {high}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.fail(name, value, "must be true or false")
            return default
        return value

    def strings(self, name: str, default: Sequence[str] = (), *, min_items: int = 0) -> list[str]:
        value = self._get(name)
        if value is None:
            value = list(default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(name, value, "must be a list of strings")
            return list(default)
        if len(value) < min_items:
            self.fail(name, value, f"must list at least {min_items} item(s)")
        return value

    def section(self, name: str) -> _Section:
        value = self._get(name)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(name, value, "must be an object (a YAML mapping)")
            value = {}
        return _Section(self.key(name), value, self.problems, self.asked)

    def sections(self, name: str) -> Iterator[_Section]:
        value = self._get(name)
        if value is None:
            return
        if not isinstance(value, list):
            self.fail(name, value, "must be a list of objects")
            return
        for i, item in enumerate(value):
            path = f"{self.key(name)}[{i}]"
            if not isinstance(item, dict):
                self.problems.append(f"{path} = {_show(item)}: must be an object")
                continue
            yield _Section(path, item, self.problems, self.asked)

    def done(self) -> None:
        """Reject keys nobody asked for: a typo must not be silently ignored."""
        for name in sorted(set(self.raw) - self.used):
            self.problems.append(
                f"{self.key(name)} is not a known setting; known here: "
                f"{', '.join(sorted(self.used))}"
            )


# --------------------------------------------------------------------------------------
# Validators shared by several sections
# --------------------------------------------------------------------------------------

_LOWER_ALNUM = r"[a-z][a-z0-9]*"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Azure VM size names: Standard_D4s_v5, Standard_NC6s_v3, STANDARD_D1_V2, Basic_A1 ...
_VM_SIZE = r"(?i:standard|basic)_[A-Za-z][A-Za-z0-9_-]*"
_FILESYSTEM = r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]"
_TAG_NAME_FORBIDDEN = set("<>%&\\?/")


def _network(section: _Section, name: str, value: str) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        section.fail(name, value, "must be an IPv4 CIDR block with no host bits, e.g. 10.0.0.0/16")
        return None
    if not isinstance(net, ipaddress.IPv4Network):
        section.fail(name, value, "must be an IPv4 CIDR block")
        return None
    return net


def _guids(section: _Section, name: str) -> tuple[str, ...]:
    values = section.strings(name)
    for i, value in enumerate(values):
        if not re.fullmatch(_GUID, value):
            section.problems.append(
                f"{section.key(name)}[{i}] = {_show(value)}: must be an Entra ID object id (GUID)"
            )
    if len(set(values)) != len(values):
        section.fail(name, values, "must not list the same object id twice")
    return tuple(v.lower() for v in values)


# --------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------


def _tags(root: _Section, environment: str) -> dict[str, str]:
    value = root._get("tags")
    key = root.key("tags")
    if value is None:
        root.problems.append(
            f"{key} is required: an object with at least {', '.join(REQUIRED_TAGS)}"
        )
        return {"environment": environment}
    if not isinstance(value, dict):
        root.problems.append(
            f"{key} = {_show(value)}: must be an object with at least {', '.join(REQUIRED_TAGS)}"
        )
        return {"environment": environment}
    tags: dict[str, str] = {}
    for name, tag in value.items():
        if not name or len(name) > 512 or set(name) & _TAG_NAME_FORBIDDEN:
            root.problems.append(
                f"{key}.{name} : tag names must be 1-512 characters without < > % & \\ ? /"
            )
        elif not isinstance(tag, str) or not tag or len(tag) > 256:
            root.problems.append(
                f"{key}.{name} = {_show(tag)}: tag values are strings of 1-256 characters "
                "(quote numbers in YAML)"
            )
        else:
            tags[name] = tag
    for required in REQUIRED_TAGS:
        if required not in value:
            root.problems.append(f"{key}.{required} is required: every resource carries it")
    if "environment" in tags and tags["environment"] != environment:
        root.problems.append(
            f"{key}.environment = {_show(tags['environment'])}: set by the stack; must equal "
            f"{PROJECT}:environment ({environment!r}) or be left out"
        )
    tags["environment"] = environment
    return tags


def _virtual_network(root: _Section) -> VirtualNetworkSettings:
    s = root.section("virtualNetwork")
    prefixes = s.strings("addressPrefixes", ["10.40.0.0/16"], min_items=1)
    compute = s.string("computeSubnetAddressPrefix", "10.40.0.0/22")
    endpoints = s.string("privateEndpointSubnetAddressPrefix", "10.40.4.0/24")
    s.done()

    spaces = [n for i, p in enumerate(prefixes) if (n := _network(s, f"addressPrefixes[{i}]", p))]
    for i, a in enumerate(spaces):
        for b in spaces[i + 1 :]:
            if a.overlaps(b):
                s.fail("addressPrefixes", prefixes, f"{a} and {b} overlap")
    subnets = {
        "computeSubnetAddressPrefix": _network(s, "computeSubnetAddressPrefix", compute),
        "privateEndpointSubnetAddressPrefix": _network(
            s, "privateEndpointSubnetAddressPrefix", endpoints
        ),
    }
    for name, net in subnets.items():
        if net is None or not spaces:
            continue
        if not any(net.subnet_of(space) for space in spaces):
            s.fail(name, str(net), f"must lie inside the address space {', '.join(prefixes)}")
        elif net.prefixlen > 29:
            s.fail(name, str(net), "must be /29 or larger (Azure reserves 5 addresses)")
    compute_net, endpoint_net = subnets.values()
    if compute_net and endpoint_net and compute_net.overlaps(endpoint_net):
        s.fail(
            "privateEndpointSubnetAddressPrefix",
            str(endpoint_net),
            f"overlaps the compute subnet {compute_net}",
        )
    return VirtualNetworkSettings(tuple(prefixes), compute, endpoints)


def _storage_account(root: _Section, default_name: str) -> StorageAccountSettings:
    s = root.section("storageAccount")
    name = s.string("name", default_name)
    sku = s.string("skuName", "Standard_LRS", choices=STORAGE_SKUS)
    s.done()
    return StorageAccountSettings(name=name, sku_name=sku)


def _data_lake(root: _Section, default_name: str) -> DataLakeSettings:
    s = root.section("dataLake")
    name = s.string("name", default_name)
    sku = s.string("skuName", "Standard_LRS", choices=STORAGE_SKUS)
    filesystems = s.strings("filesystems", ["fs1"], min_items=1)
    retention = s.integer("deleteRetentionDays", 7, low=1, high=365)
    container_retention = s.integer("containerDeleteRetentionDays", 7, low=1, high=365)
    s.done()
    for i, fs in enumerate(filesystems):
        if not re.fullmatch(_FILESYSTEM, fs):
            s.problems.append(
                f"{s.key('filesystems')}[{i}] = {_show(fs)}: filesystem names are 3-63 "
                "characters: lowercase letters, digits and single hyphens, starting and "
                "ending with a letter or digit"
            )
    datastores = [datastore_name(fs) for fs in filesystems]
    if len(set(filesystems)) != len(filesystems):
        s.fail("filesystems", filesystems, "must not list the same filesystem twice")
    elif len(set(datastores)) != len(datastores):
        s.fail("filesystems", filesystems, "two filesystems map to the same datastore name")
    for fs, ds in zip(filesystems, datastores, strict=True):
        if ds in RESERVED_DATASTORE_NAMES:
            s.fail("filesystems", fs, f"its datastore name {ds!r} is reserved by Azure ML")
    return DataLakeSettings(name, sku, tuple(filesystems), retention, container_retention)


def _key_vault(root: _Section, default_name: str) -> KeyVaultSettings:
    s = root.section("keyVault")
    name = s.string("name", default_name)
    sku = s.string("skuName", "standard", choices=KEY_VAULT_SKUS)
    purge = s.boolean("enablePurgeProtection", False)
    retention = s.integer("softDeleteRetentionInDays", 90, low=7, high=90)
    s.done()
    return KeyVaultSettings(name, sku, purge, retention)


def _container_registry(root: _Section, default_name: str) -> ContainerRegistrySettings:
    s = root.section("containerRegistry")
    name = s.string("name", default_name)
    sku = s.string("skuName", "Basic", choices=CONTAINER_REGISTRY_SKUS)
    s.done()
    return ContainerRegistrySettings(name, sku)


def _log_analytics(root: _Section) -> LogAnalyticsSettings:
    s = root.section("logAnalytics")
    retention = s.integer("retentionInDays", 30, low=30, high=730)
    s.done()
    return LogAnalyticsSettings(retention)


def _workspace(
    root: _Section, default_name: str, environment: str, private_networking: bool
) -> WorkspaceSettings:
    s = root.section("workspace")
    name = s.string("name", default_name)
    friendly = s.string(
        "friendlyName",
        f"Azure ML with Dask ({environment})",
        pattern=r"[^<>]{1,256}",
        allowed="1-256 characters without < or >",
    )
    description = s.string(
        "description",
        f"Azure Machine Learning workspace for Dask workloads, {environment} environment.",
        pattern=r"[^<>]{0,1024}",
        allowed="up to 1024 characters without < or >",
    )
    # A private stack's workspace is private unless the key says otherwise (then rejected).
    default_access = "Disabled" if private_networking else "Enabled"
    access = s.string("publicNetworkAccess", default_access, choices=PUBLIC_NETWORK_ACCESS)
    s.done()
    return WorkspaceSettings(name, friendly, description, access)


def _compute_clusters(root: _Section) -> tuple[ComputeClusterSettings, ...]:
    clusters: list[ComputeClusterSettings] = []
    for s in root.sections("computeClusters"):
        name = s.string(
            "name",
            pattern=naming.COMPUTE_NAME_PATTERN,
            allowed="2-16 characters: letters, digits and hyphens, starting with a letter",
        )
        vm_size = s.string(
            "vmSize", pattern=_VM_SIZE, allowed="an Azure VM size name, e.g. Standard_D4s_v5"
        )
        min_nodes = s.integer("minNodes", 0, low=0, high=MAX_CLUSTER_NODES)
        max_nodes = s.integer("maxNodes", 4, low=1, high=MAX_CLUSTER_NODES)
        idle = s.integer("idleSecondsBeforeScaleDown", 120, low=60, high=7 * 24 * 3600)
        priority = s.string("vmPriority", "Dedicated", choices=VM_PRIORITIES)
        s.done()
        if min_nodes > max_nodes:
            s.fail("minNodes", min_nodes, f"must not exceed maxNodes ({max_nodes})")
        clusters.append(ComputeClusterSettings(name, vm_size, min_nodes, max_nodes, idle, priority))
    return tuple(clusters)


def _compute_instances(root: _Section) -> tuple[ComputeInstanceSettings, ...]:
    instances: list[ComputeInstanceSettings] = []
    for s in root.sections("computeInstances"):
        name = s.string(
            "name",
            pattern=naming.COMPUTE_INSTANCE_NAME_PATTERN,
            allowed="3-24 characters: letters, digits and hyphens, starting with a letter",
        )
        vm_size = s.string(
            "vmSize", pattern=_VM_SIZE, allowed="an Azure VM size name, e.g. Standard_DS3_v2"
        )
        user = s.string(
            "assignedUserObjectId", pattern=_GUID, allowed="the user's Entra ID object id (GUID)"
        )
        idle = s.integer("idleMinutesBeforeShutdown", 30, low=15, high=3 * 24 * 60)
        s.done()
        instances.append(ComputeInstanceSettings(name, vm_size, user.lower(), idle))
    return tuple(instances)


def _service_principal(
    root: _Section, secret: Callable[[], pulumi.Output[str] | None], default_display_name: str
) -> ServicePrincipalSettings:
    s = root.section("servicePrincipal")
    mode = s.string("mode", "none", choices=SERVICE_PRINCIPAL_MODES)
    role = s.string("workspaceRole", "AzureML Data Scientist", choices=WORKSPACE_ROLES)
    secret_key = f"{PROJECT}:servicePrincipalClientSecret"
    if mode == "create":
        display_name = s.string(
            "displayName",
            default_display_name,
            pattern=r"[^<>]{1,120}",
            allowed="1-120 characters without < or >",
        )
        end_date = s.string(
            "passwordEndDate",
            allowed="the date the password expires, YYYY-MM-DD (plan its rotation)",
        )
        if end_date:
            try:
                date.fromisoformat(end_date)
            except ValueError:
                s.fail("passwordEndDate", end_date, "must be a date, YYYY-MM-DD")
        s.done()
        if secret() is not None:
            root.problems.append(
                f"{secret_key} is set but {s.key('mode')} is 'create': the stack makes the "
                "password itself; remove the key"
            )
        return ServicePrincipalSettings(
            mode, display_name=display_name, password_end_date=end_date, workspace_role=role
        )
    if mode == "existing":
        client_id = s.string("clientId", pattern=_GUID, allowed="the application (client) id")
        object_id = s.string(
            "objectId", pattern=_GUID, allowed="the service principal's object id (GUID)"
        )
        s.done()
        client_secret = secret()
        if client_secret is None:
            root.problems.append(
                f"{secret_key} is required when {s.key('mode')} is 'existing': set it with "
                f"`pulumi config set --secret {secret_key} <value>`"
            )
        return ServicePrincipalSettings(
            mode,
            client_id=client_id.lower(),
            object_id=object_id.lower(),
            client_secret=client_secret,
            workspace_role=role,
        )
    s.done()
    if mode == "none" and secret() is not None:
        root.problems.append(f"{secret_key} is set but no service principal is configured")
    return ServicePrincipalSettings(mode="none", workspace_role=role)


def _groups(root: _Section) -> GroupSettings:
    s = root.section("groups")
    groups = GroupSettings(
        data_scientists=_guids(s, "dataScientists"),
        compute_operators=_guids(s, "computeOperators"),
        readers=_guids(s, "readers"),
    )
    s.done()
    return groups


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------


def _decode(value: str) -> Any:
    """Config values arrive as strings; objects, lists, numbers and booleans as JSON."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def parse_settings(
    raw: Mapping[str, str],
    stack: str,
    *,
    secret_keys: Sequence[str] = (),
    secret_value: Callable[[str], pulumi.Output[str]] | None = None,
    _asked: set[str] | None = None,
) -> Settings:
    """Validate raw stack config (`{"azureml-dask:<key>": "<string>"}`) into `Settings`.

    Raises `SettingsError` listing every problem. `secret_value(key)` returns a config value
    as a Pulumi secret; it is only called for keys the user marked secret.
    """
    problems: list[str] = []
    prefix = f"{PROJECT}:"
    values = {k[len(prefix) :]: _decode(v) for k, v in raw.items() if k.startswith(prefix)}
    secret_names = {k[len(prefix) :] for k in secret_keys if k.startswith(prefix)}
    secret_name = "servicePrincipalClientSecret"
    secret_raw = values.pop(secret_name, None)
    if secret_raw is not None and secret_name not in secret_names:
        problems.append(
            f"{prefix}{secret_name} is stored in plain text: set it with "
            f"`pulumi config set --secret {prefix}{secret_name} <value>`"
        )

    def secret() -> pulumi.Output[str] | None:
        if secret_raw is None:
            return None
        if secret_value is not None:
            return secret_value(f"{prefix}{secret_name}")
        return pulumi.Output.secret(str(secret_raw))

    root = _Section("", values, problems, _asked)
    location = root.string(
        "location",
        pattern=r"[a-z][a-z0-9]{2,30}",
        allowed="an Azure region name in lowercase, e.g. westeurope",
    )
    name_prefix = root.string(
        "namePrefix",
        "amldask",
        pattern=_LOWER_ALNUM,
        allowed="2-10 lowercase letters and digits, starting with a letter",
    )
    if name_prefix and not 2 <= len(name_prefix) <= 10:
        root.fail("namePrefix", name_prefix, "must be 2-10 characters")
    environment = root.string(
        "environment",
        stack if re.fullmatch(_LOWER_ALNUM, stack) and len(stack) <= 8 else None,
        pattern=_LOWER_ALNUM,
        allowed="2-8 lowercase letters and digits, starting with a letter (e.g. dev, prod)",
    )
    if environment and not 2 <= len(environment) <= 8:
        root.fail("environment", environment, "must be 2-8 characters")
    default_suffix = naming.stack_suffix(PROJECT, stack, environment, location)
    suffix = root.string(
        "nameSuffix",
        default_suffix,
        pattern=r"[a-z0-9]{4,6}",
        allowed="4-6 lowercase letters and digits (change it to re-create soft-deleted names)",
    )
    tags = _tags(root, environment)
    protect = root.boolean("protect", False)
    private_networking = root.boolean("privateNetworking", False)

    names = naming.ResourceNames(name_prefix, environment, suffix)
    virtual_network = _virtual_network(root)
    storage_account = _storage_account(root, names.storage_account)
    data_lake = _data_lake(root, names.data_lake)
    key_vault = _key_vault(root, names.key_vault)
    container_registry = _container_registry(root, names.container_registry)
    log_analytics = _log_analytics(root)
    workspace = _workspace(root, names.workspace, environment, private_networking)
    clusters = _compute_clusters(root)
    instances = _compute_instances(root)
    service_principal = _service_principal(root, secret, f"sp-{name_prefix}-{environment}")
    groups = _groups(root)
    root.done()
    problems += _private_networking_problems(
        private_networking, virtual_network, workspace, container_registry
    )
    if private_networking and not clusters:
        problems.append(
            f"{PROJECT}:computeClusters: {PROJECT}:privateNetworking = true needs at least one "
            "compute cluster (the workspace's imageBuildCompute: its registry is private, so "
            "Azure ML must build job images on a cluster in the vnet)"
        )

    _unique(problems, "computeClusters", [c.name for c in clusters])
    _unique(problems, "computeInstances", [i.name for i in instances])
    overlap = {c.name.lower() for c in clusters} & {i.name.lower() for i in instances}
    if overlap:
        problems.append(
            f"{PROJECT}:computeInstances: names {sorted(overlap)} are already compute clusters; "
            "compute names are unique per workspace"
        )

    if not problems:
        # Names are only worth checking once the parts they are made of are valid.
        problems += naming.check_names(
            {
                f"{PROJECT}:storageAccount.name": ("storage account", storage_account.name),
                f"{PROJECT}:dataLake.name": ("storage account", data_lake.name),
                f"{PROJECT}:keyVault.name": ("key vault", key_vault.name),
                f"{PROJECT}:containerRegistry.name": (
                    "container registry",
                    container_registry.name,
                ),
                f"{PROJECT}:workspace.name": ("workspace", workspace.name),
            },
            derived_from=f"{PROJECT}:namePrefix, {PROJECT}:environment",
        )
        if storage_account.name == data_lake.name:
            problems.append(
                f"{PROJECT}:dataLake.name = {data_lake.name!r}: must differ from "
                f"{PROJECT}:storageAccount.name"
            )
    if problems:
        raise SettingsError(problems)

    return Settings(
        stack=stack,
        location=location,
        name_prefix=name_prefix,
        environment=environment,
        name_suffix=suffix,
        tags=tags,
        protect=protect,
        resource_group_name=names.resource_group,
        virtual_network=virtual_network,
        storage_account=storage_account,
        data_lake=data_lake,
        key_vault=key_vault,
        container_registry=container_registry,
        log_analytics=log_analytics,
        workspace=workspace,
        compute_clusters=clusters,
        compute_instances=instances,
        service_principal=service_principal,
        groups=groups,
        private_networking=private_networking,
    )


def _private_networking_problems(
    private_networking: bool,
    virtual_network: VirtualNetworkSettings,
    workspace: WorkspaceSettings,
    container_registry: ContainerRegistrySettings,
) -> list[str]:
    """Combinations that cannot work with (or without) private endpoints."""
    switch = f"{PROJECT}:privateNetworking"
    problems: list[str] = []
    subnet = virtual_network.private_endpoint_subnet_address_prefix
    try:
        prefix_length = ipaddress.ip_network(subnet).prefixlen
    except ValueError:
        prefix_length = 0  # already reported as an invalid CIDR
    if private_networking and prefix_length > MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX:
        problems.append(
            f"{PROJECT}:virtualNetwork.privateEndpointSubnetAddressPrefix = {subnet!r}: "
            f"{switch} = true needs /{MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX} or larger (room "
            "for the stack's private endpoints and Azure's 5 reserved addresses)"
        )
    if private_networking and container_registry.sku_name != "Premium":
        problems.append(
            f"{PROJECT}:containerRegistry.skuName = {container_registry.sku_name!r}: "
            f"{switch} = true needs Premium (only Premium registries have private endpoints)"
        )
    if private_networking and workspace.public_network_access == "Enabled":
        problems.append(
            f"{PROJECT}:workspace.publicNetworkAccess = 'Enabled': contradicts {switch} = "
            "true (the workspace would stay reachable from the internet); remove the key"
        )
    if not private_networking and workspace.public_network_access == "Disabled":
        problems.append(
            f"{PROJECT}:workspace.publicNetworkAccess = 'Disabled': needs {switch} = true, "
            "or nothing could reach the workspace (it would have no private endpoint)"
        )
    return problems


def _unique(problems: list[str], key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name and name.lower() in seen:
            problems.append(
                f"{PROJECT}:{key}[{i}].name = {name!r}: names must be unique (case-insensitive)"
            )
        seen.add(name.lower())


def setting_keys() -> list[str]:
    """Every settings key the parsers know, e.g. `computeClusters[].vmSize` (for docs/tests).

    Collected by parsing sample settings that reach every branch, so a new key shows up
    here as soon as a parser reads it.
    """
    guid = "00000000-0000-0000-0000-000000000001"
    base = {"location": "westeurope", "tags": {"owner": "o", "costCenter": "c"}}
    cluster = {"name": "cpu", "vmSize": "Standard_D4s_v5"}
    instance = {"name": "ci-1", "vmSize": "Standard_D4s_v5", "assignedUserObjectId": guid}
    samples: list[tuple[dict[str, Any], list[str]]] = [
        (
            {
                **base,
                "computeClusters": [cluster],
                "computeInstances": [instance],
                "servicePrincipal": {"mode": "create", "passwordEndDate": "2030-01-01"},
            },
            [],
        ),
        (
            {
                **base,
                "servicePrincipal": {"mode": "existing", "clientId": guid, "objectId": guid},
                "servicePrincipalClientSecret": "x",
            },
            [f"{PROJECT}:servicePrincipalClientSecret"],
        ),
    ]
    asked: set[str] = {"servicePrincipalClientSecret"}
    for sample, secret_keys in samples:
        raw = {f"{PROJECT}:{k}": json.dumps(v) for k, v in sample.items()}
        parse_settings(raw, "dev", secret_keys=secret_keys, _asked=asked)
    return sorted(k.removeprefix(f"{PROJECT}:") for k in asked)


def read_settings() -> Settings:
    """Read and validate this stack's settings from the Pulumi runtime's config, once."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{PROJECT}:"
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {k: str(runtime_config.get_config(k)) for k in keys if k.startswith(prefix)}
    secret_keys = [k for k in raw if runtime_config.is_config_secret(k)]
    secret_keys += [k for k in runtime_config.get_config_secret_keys_env() if k in raw]
    config = pulumi.Config(PROJECT)
    return parse_settings(
        raw,
        pulumi.get_stack(),
        secret_keys=secret_keys,
        secret_value=lambda key: config.require_secret(key[len(prefix) :]),
    )
