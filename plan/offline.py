"""The offline engine: run the real Pulumi program for a stack with no cloud and no CLI.

`run_stack("dev")` loads `Pulumi.dev.yaml`, runs `__main__.py` under Pulumi's mock monitor
and returns every resource registration (type, logical name, parent, options, the inputs
Azure would receive) and the awaited stack outputs. Values only Azure knows (resource ids,
principal ids, endpoints) come back as deterministic, plausible placeholders, so two runs
of the same stack give identical results.

The tests and `python -m plan` both use this module.

Isolation: each run happens in a fresh `contextvars.Context` after resetting Pulumi's
runtime settings. Pulumi keeps its config, root stack and settings in context variables,
so nothing leaks from one run into the next, and several stacks can run in one process
(far faster than a subprocess per stack, which would re-import the 350 MB Azure SDK).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import runpy
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.settings import PROJECT

REPO_ROOT = Path(__file__).resolve().parent.parent
SECRET_MASK = "[secret]"
OFFLINE_NAMESPACE = uuid.UUID("6f1b3c2e-9a41-4d3c-8a77-0c1d2e3f4a5b")


def offline_guid(*parts: str) -> str:
    """A deterministic GUID standing in for one Azure/Entra ID generates."""
    return str(uuid.uuid5(OFFLINE_NAMESPACE, "/".join(parts)))


CLIENT_CONFIG = {
    "clientId": offline_guid("client"),
    "objectId": offline_guid("deployer"),
    "subscriptionId": offline_guid("subscription"),
    "tenantId": offline_guid("tenant"),
}
"""What `azure-native:authorization:getClientConfig` returns offline."""


class StackFileError(ValueError):
    """A stack name or stack file that cannot be used."""


# --------------------------------------------------------------------------------------
# What a run captures
# --------------------------------------------------------------------------------------


@dataclass
class ResourceRecord:
    """One resource registration, as the engine saw it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_paths: list[str] = field(default_factory=list)
    protect: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    dependencies: list[str] = field(default_factory=list)


@dataclass
class StackRun:
    """Everything one offline run of a stack produced."""

    stack: str
    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    secret_outputs: list[str]
    secret_values: list[str] = field(default_factory=list)  # for tests; never rendered

    def by_type(self, type_: str) -> list[ResourceRecord]:
        """All resources of one type token, in registration order."""
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> ResourceRecord:
        """The single resource of a type (and logical name); fails loudly otherwise."""
        found = [r for r in self.by_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {type_} {name or ''}, found {len(found)}")
        return found[0]

    def by_urn(self, urn: str) -> ResourceRecord:
        """The resource with this URN."""
        for r in self.resources:
            if r.urn == urn:
                return r
        raise LookupError(urn)

    def children(self, parent: ResourceRecord) -> list[ResourceRecord]:
        """Direct children of a resource."""
        return [r for r in self.resources if r.parent == parent.urn]


# --------------------------------------------------------------------------------------
# Mocks: plausible outputs for what only Azure knows
# --------------------------------------------------------------------------------------

# type token -> (ARM type path under the resource group, input key holding the name)
_ARM_TYPES: dict[str, tuple[str, str]] = {
    "azure-native:network:NetworkSecurityGroup": (
        "Microsoft.Network/networkSecurityGroups",
        "networkSecurityGroupName",
    ),
    "azure-native:network:PublicIPAddress": (
        "Microsoft.Network/publicIPAddresses",
        "publicIpAddressName",
    ),
    "azure-native:network:NatGateway": ("Microsoft.Network/natGateways", "natGatewayName"),
    "azure-native:network:VirtualNetwork": (
        "Microsoft.Network/virtualNetworks",
        "virtualNetworkName",
    ),
    "azure-native:network:Subnet": (
        "Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets",
        "subnetName",
    ),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "azure-native:storage:BlobServiceProperties": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices",
        "blobServicesName",
    ),
    "azure-native:storage:BlobContainer": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers",
        "containerName",
    ),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "azure-native:keyvault:Secret": ("Microsoft.KeyVault/vaults/{vaultName}/secrets", "secretName"),
    "azure-native:keyvault:Key": ("Microsoft.KeyVault/vaults/{vaultName}/keys", "keyName"),
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights/workspaces",
        "workspaceName",
    ),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "azure-native:monitor:ActionGroup": ("Microsoft.Insights/actionGroups", "actionGroupName"),
    "azure-native:monitor:ScheduledQueryRule": (
        "Microsoft.Insights/scheduledQueryRules",
        "ruleName",
    ),
    "azure-native:containerregistry:Registry": (
        "Microsoft.ContainerRegistry/registries",
        "registryName",
    ),
    "azure-native:machinelearningservices:Workspace": (
        "Microsoft.MachineLearningServices/workspaces",
        "workspaceName",
    ),
    "azure-native:machinelearningservices:Compute": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/computes",
        "computeName",
    ),
    "azure-native:machinelearningservices:Datastore": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/datastores",
        "name",
    ),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
    ),
    "azure-native:network:PrivateEndpoint": (
        "Microsoft.Network/privateEndpoints",
        "privateEndpointName",
    ),
    "azure-native:network:PrivateDnsZoneGroup": (
        "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups",
        "privateDnsZoneGroupName",
    ),
    "azure-native:privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones", "privateZoneName"),
    "azure-native:privatedns:VirtualNetworkLink": (
        "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks",
        "virtualNetworkLinkName",
    ),
    "azure-native:authorization:ManagementLockAtResourceGroupLevel": (
        "Microsoft.Authorization/locks",
        "lockName",
    ),
}

# Extension resources live under another resource: type -> (scope input, ARM type, name input)
_EXTENSION_TYPES: dict[str, tuple[str, str, str]] = {
    "azure-native:monitor:DiagnosticSetting": (
        "resourceUri",
        "Microsoft.Insights/diagnosticSettings",
        "name",
    ),
    "azure-native:authorization:ManagementLockByScope": (
        "scope",
        "Microsoft.Authorization/locks",
        "lockName",
    ),
}


def _unwrap(value: Any) -> Any:
    """Drop Pulumi's secret wrappers, recursively; whole numbers back to int (protobuf
    carries every number as a double)."""
    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _secret_paths(value: Any, known: set[str], path: str = "", inside: bool = False) -> list[str]:
    """Where secrets sit in a deserialized property bag, as dotted paths.

    Pulumi marks the whole top-level input secret when any part of it is; within such a
    subtree, the leaves holding a known secret value are reported, or the whole subtree
    when none is recognised (better to hide too much than too little).
    """
    if rpc.is_rpc_secret(value):
        inner = _unwrap(value)
        leaves = _secret_paths(inner, known, path, inside=True)
        return leaves or [path or "."]
    if isinstance(value, dict):
        return [
            p
            for k, v in value.items()
            for p in _secret_paths(v, known, f"{path}.{k}".lstrip("."), inside)
        ]
    if isinstance(value, list):
        return [
            p for i, v in enumerate(value) for p in _secret_paths(v, known, f"{path}[{i}]", inside)
        ]
    if inside and isinstance(value, str) and value in known:
        return [path]
    return []


class AzureMocks(pulumi_mocks.Mocks):
    """Pulumi mocks that answer like Azure would, deterministically."""

    def __init__(self, client_config: Mapping[str, str] = CLIENT_CONFIG) -> None:
        self.client_config = dict(client_config)
        self.invokes: list[tuple[str, dict[str, Any]]] = []
        # Secret values the run knows (config secrets, generated passwords), for masking.
        self.secret_values: set[str] = set()

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        self.invokes.append((args.token, dict(args.args)))
        if args.token == "azure-native:authorization:getClientConfig":
            return dict(self.client_config), []
        return {}, []

    def arm_id(self, type_: str, inputs: Mapping[str, Any]) -> tuple[str, str]:
        """The ARM id and name Azure would give a resource with these inputs."""
        sub = self.client_config["subscriptionId"]
        if type_ == "azure-native:resources:ResourceGroup":
            name = inputs["resourceGroupName"]
            return f"/subscriptions/{sub}/resourceGroups/{name}", name
        if type_ == "azure-native:authorization:RoleAssignment":
            name = inputs["roleAssignmentName"]
            return (
                f"{inputs['scope']}/providers/Microsoft.Authorization/roleAssignments/{name}",
                name,
            )
        if type_ in _EXTENSION_TYPES:
            scope_key, arm_type, name_key = _EXTENSION_TYPES[type_]
            name = inputs[name_key]
            return f"{inputs[scope_key]}/providers/{arm_type}/{name}", name
        arm_type, name_key = _ARM_TYPES[type_]
        name = inputs[name_key]
        path = arm_type.format(**inputs)
        rg = inputs["resourceGroupName"]
        return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{path}/{name}", name

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = _unwrap(args.inputs)
        type_ = args.typ
        if not args.custom:
            return None, {}
        if type_.startswith("azuread:"):
            return self._azuread(type_, args.name, inputs)
        resource_id, name = self.arm_id(type_, inputs)
        state = {**inputs, "name": name, "id": resource_id}
        seed = resource_id.lower()
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Requests list identity ids; responses map each id to its principal/client ids.
            state["identity"] = {
                **identity,
                "userAssignedIdentities": {
                    uai: {
                        "principalId": offline_guid(uai.lower(), "principal"),
                        "clientId": offline_guid(uai.lower(), "client"),
                    }
                    for uai in identity["userAssignedIdentities"]
                },
            }
        if type_ == "azure-native:storage:StorageAccount":
            state["primaryEndpoints"] = {
                "blob": f"https://{name}.blob.core.windows.net/",
                "dfs": f"https://{name}.dfs.core.windows.net/",
            }
        elif type_ == "azure-native:keyvault:Vault":
            state["properties"] = {
                **inputs.get("properties", {}),
                "vaultUri": f"https://{name}.vault.azure.net/",
            }
        elif type_ == "azure-native:keyvault:Key":
            key_uri = f"https://{inputs['vaultName']}.vault.azure.net/keys/{name}"
            state["keyUri"] = key_uri
            state["keyUriWithVersion"] = f"{key_uri}/{uuid.UUID(offline_guid(seed, 'version')).hex}"
        elif type_ == "azure-native:containerregistry:Registry":
            state["loginServer"] = f"{name.lower()}.azurecr.io"
        elif type_ == "azure-native:managedidentity:UserAssignedIdentity":
            state.update(
                principalId=offline_guid(seed, "principal"),
                clientId=offline_guid(seed, "client"),
                tenantId=self.client_config["tenantId"],
            )
        elif type_ == "azure-native:machinelearningservices:Workspace":
            state["workspaceId"] = offline_guid(seed, "workspace")
            state["identity"] = {
                **state.get("identity", {}),
                "principalId": offline_guid(seed, "principal"),
                "tenantId": self.client_config["tenantId"],
            }
        return resource_id, state

    def _azuread(self, type_: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict]:
        object_id = offline_guid(type_, name, "object")
        state = {**inputs, "objectId": object_id}
        if type_ == "azuread:index/application:Application":
            state["clientId"] = offline_guid(type_, name, "client")
            return f"/applications/{object_id}", state
        if type_ == "azuread:index/applicationPassword:ApplicationPassword":
            state["keyId"] = offline_guid(type_, name, "key")
            state["value"] = f"offline-password-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
            self.secret_values.add(state["value"])
            return state["keyId"], state
        return object_id, state


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also recording what only the registration request carries."""

    def __init__(self, mocks: AzureMocks) -> None:
        super().__init__(mocks)
        self.azure = mocks
        self.records: list[ResourceRecord] = []

    def RegisterResource(self, request):  # the gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = rpc.deserialize_properties(request.object)
        registration = self.resources[response.urn]
        self.records.append(
            ResourceRecord(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                id=registration.id or "",
                inputs=_unwrap(raw),
                outputs=_unwrap(dict(registration.state)),
                secret_paths=_secret_paths(raw, self.azure.secret_values),
                protect=bool(request.protect),
                replace_on_changes=list(request.replaceOnChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                dependencies=list(request.dependencies),
            )
        )
        return response


# --------------------------------------------------------------------------------------
# Stack files
# --------------------------------------------------------------------------------------


class _StackFileLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping.

    PyYAML silently keeps the last value; the YAML spec makes mapping keys unique
    (https://yaml.org/spec/1.2.2/#3211-nodes) and the Pulumi CLI's Go YAML parser rejects
    such a file ("mapping key ... already defined"), so offline and real runs agree.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may repeat
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                continue
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise DuplicateKeyError(key, line, first_line[key])
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


class DuplicateKeyError(yaml.YAMLError):
    """A mapping key given twice in a YAML document."""

    def __init__(self, key: Any, line: int, first_line: int) -> None:
        super().__init__(f"line {line}: duplicate key {key!r} (first given on line {first_line})")
        self.key, self.line, self.first_line = key, line, first_line


def stack_names(root: Path = REPO_ROOT) -> list[str]:
    """Every stack with a `Pulumi.<stack>.yaml` file in the repository root."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, root: Path = REPO_ROOT) -> tuple[dict[str, str], list[str]]:
    """Read `Pulumi.<stack>.yaml` as the CLI hands it to a program: `(config, secret keys)`.

    Values become strings (objects and lists as JSON), like `PULUMI_CONFIG`. Encrypted
    (`secure:`) values cannot be decrypted offline; they become a placeholder, still secret.
    """
    path = root / f"Pulumi.{stack}.yaml"
    if not stack or "/" in stack or not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise StackFileError(f"no stack file {path.name} in {root} (stacks here: {known})")
    content = path.read_bytes()
    try:
        text = content.decode("utf-8")  # YAML 1.2 stack files are UTF-8
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise StackFileError(
            f"{path.name} line {line}: byte 0x{content[exc.start]:02x} is not UTF-8; save the "
            "file as UTF-8"
        ) from None
    try:
        document = yaml.load(text, Loader=_StackFileLoader) or {}
    except DuplicateKeyError as exc:
        raise StackFileError(
            f"{path.name} {exc}: a key may appear once per mapping (the Pulumi CLI rejects "
            "the file too); keep the value you mean and delete the other"
        ) from exc
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name}: a stack file is a mapping with a `config` key")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: `config` must be a mapping")
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full_key] = f"offline-secret-for-{full_key}"
            secret_keys.append(full_key)
        elif isinstance(value, str):
            values[full_key] = value
        else:
            values[full_key] = json.dumps(value)
    return values, secret_keys


# --------------------------------------------------------------------------------------
# Running the program
# --------------------------------------------------------------------------------------


def _await(value: Any) -> tuple[Any, bool]:
    output = pulumi.Output.from_input(value)
    return _sync_await(output.future()), bool(_sync_await(output.is_secret()))


def _run(
    stack: str,
    root: Path,
    config: dict[str, str],
    secret_keys: list[str],
    records: list[ResourceRecord] | None = None,
    program: Callable[[], None] | None = None,
    project: str = PROJECT,
    mocks: AzureMocks | None = None,
) -> StackRun:
    runtime_settings.reset_options(project=project, stack=stack, root_directory=str(root))
    mocks = mocks or AzureMocks()
    mocks.secret_values.update(config[k] for k in secret_keys if k in config)
    monitor = RecordingMonitor(mocks)
    if records is not None:
        # The caller's list: it sees what was registered even when the program fails.
        monitor.records = records
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys)

    def main() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    _sync_await(run_pulumi_func(program or main))

    stack_resource = runtime_settings.get_root_resource()
    exported = getattr(stack_resource, "outputs", {}) or {}
    outputs: dict[str, Any] = {}
    secret_outputs: list[str] = []
    for name, value in exported.items():
        outputs[name], secret = _await(value)
        if secret:
            secret_outputs.append(name)
    # Outputs may trigger last registrations (e.g. apply-created resources): drain them.
    _sync_await(run_pulumi_func(lambda: None))
    return StackRun(
        stack, list(monitor.records), outputs, secret_outputs, sorted(mocks.secret_values)
    )


_engine_loop: asyncio.AbstractEventLoop | None = None


def _in_own_event_loop(run: Any, *args: Any) -> StackRun:
    """Run one program in a fresh context on the engine's own event loop.

    Pulumi's synchronous waits pump "the current event loop" of the thread; another library
    in the same process (a Dask client, say) may have made that a loop running in another
    thread, which fails with "no running event loop". The engine installs its own idle loop
    before each run and leaves it current, as Pulumi's own default loop would be.
    """
    global _engine_loop
    if _engine_loop is None or _engine_loop.is_closed():
        _engine_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_engine_loop)
    return contextvars.Context().run(run, *args)


def run_stack(stack: str, root: Path = REPO_ROOT) -> StackRun:
    """Run the real `__main__.py` for `stack` offline and return what it declared.

    Raises `StackFileError` for a missing stack file and `SettingsError` for bad settings,
    exactly as the program itself would raise them.
    """
    config, secret_keys = load_stack_config(stack, root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return _in_own_event_loop(_run, stack, root, config, secret_keys)


def run_config(
    stack: str,
    config: dict[str, str],
    secret_keys: list[str] | None = None,
    *,
    root: Path = REPO_ROOT,
    records: list[ResourceRecord] | None = None,
) -> StackRun:
    """Run the real program with explicit config instead of a stack file (for tests).

    Pass `records` to observe registrations even if the program raises.
    """
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return _in_own_event_loop(_run, stack, root, config, list(secret_keys or []), records)


def run_program(
    program: Callable[[], None],
    stack: str = "test",
    *,
    project: str = PROJECT,
    config: dict[str, str] | None = None,
    mocks: AzureMocks | None = None,
    records: list[ResourceRecord] | None = None,
) -> StackRun:
    """Run any Pulumi program (e.g. a single component) under the same mocks as a stack.

    For unit tests of components that take plain values, and of other projects' programs
    (`project` and its `config`, e.g. a consumer of this stack's outputs, with `mocks`
    extended to answer its stack references); stacks go through `run_stack`.
    """
    return _in_own_event_loop(
        _run, stack, REPO_ROOT, dict(config or {}), [], records, program, project, mocks
    )
