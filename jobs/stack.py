"""The stack outputs the jobs consume: read once, validated at the door.

The infrastructure stack publishes flat, camelCase outputs (its outputs contract). The jobs
never import the stack's code: they read the JSON that `pulumi stack output --json` prints,
either by running the Pulumi CLI or from a file saved from it. Every key this module needs is
checked here, and an error names the key and the file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.errors import InvalidInputError
from jobs.sizing import ClusterFacts

# Versions this package reads: "2" only adds outputs (the clusters' VM facts); "3" adds the
# workspace isolation mode, the customer-managed key and the secret's expiry (which jobs do
# not use), and leaves computeSubnetId empty for managed-network compute.
READABLE_VERSIONS = ("1", "2", "3")

_STRING_KEYS = (
    "subscriptionId",
    "tenantId",
    "resourceGroupName",
    "location",
    "workspaceName",
    "workspaceId",
    "dataLakeAccountName",
    "computeClusterIdentityClientId",
    "keyVaultUri",
    "containerRegistryLoginServer",
    "virtualNetworkId",
    "privateEndpointSubnetId",
)
# Strings that may be empty from contract "3" on: no compute subnet for managed-network compute.
_MAYBE_EMPTY_STRING_KEYS = ("computeSubnetId",)
# Lists that must hold at least one name; computeInstanceNames may be empty.
_NON_EMPTY_LIST_KEYS = (
    "dataLakeFilesystems",
    "dataLakeFilesystemUrls",
    "datastoreNames",
    "computeClusterNames",
)
_LIST_KEYS = (*_NON_EMPTY_LIST_KEYS, "computeInstanceNames")
# Version "2": one entry per cluster, in computeClusterNames order.
_CLUSTER_FACT_KEYS: dict[str, Any] = {
    "computeClusterVmSizes": str,
    "computeClusterMaxNodes": int,
    "computeClusterVCpus": int,
    "computeClusterMemoryGiB": (int, float),
}
_KIND_NAMES: dict[Any, str] = {str: "name", int: "whole number", (int, float): "number"}


@dataclass(frozen=True)
class StackOutputs:
    """What the jobs need from one stack, in the contract's order and meaning."""

    source: str
    subscription_id: str
    tenant_id: str
    resource_group_name: str
    location: str
    workspace_name: str
    workspace_id: str
    data_lake_account_name: str
    data_lake_filesystems: tuple[str, ...]
    data_lake_filesystem_urls: tuple[str, ...]
    datastore_names: tuple[str, ...]
    compute_cluster_names: tuple[str, ...]
    compute_cluster_identity_client_id: str
    compute_instance_names: tuple[str, ...]
    key_vault_uri: str
    container_registry_login_server: str
    virtual_network_id: str
    compute_subnet_id: str  # empty when the compute runs in the workspace's managed network
    private_endpoint_subnet_id: str
    # None when the outputs predate contract version "2".
    compute_cluster_facts: tuple[ClusterFacts, ...] | None = None

    @property
    def default_datastore(self) -> str:
        """The first datastore: identity-based, over the first data lake filesystem."""
        return self.datastore_names[0]

    @property
    def default_compute_cluster(self) -> str:
        """The first compute cluster in the contract."""
        return self.compute_cluster_names[0]

    def datastore_urls(self) -> dict[str, str]:
        """Identity-based datastore name -> `abfss://` URL of its filesystem.

        The contract lists one identity-based datastore per filesystem, in filesystem order,
        before the service-principal datastores, whose filesystems it does not state.
        """
        return dict(zip(self.datastore_names, self.data_lake_filesystem_urls, strict=False))

    def compute_cluster(self, name: str | None) -> str:
        """`name` if the stack has that compute cluster, else the default; error if absent."""
        return self._choose(
            "compute cluster", "computeClusterNames", self.compute_cluster_names, name
        )

    def cluster_facts(self, name: str) -> ClusterFacts | None:
        """VM size, max nodes, vCPUs and memory of cluster `name` (None before version 2)."""
        if self.compute_cluster_facts is None:
            return None
        return next(facts for facts in self.compute_cluster_facts if facts.name == name)

    def datastore(self, name: str | None) -> str:
        """`name` if the stack has that datastore, else the default; error if absent."""
        return self._choose("datastore", "datastoreNames", self.datastore_names, name)

    def _choose(self, kind: str, key: str, names: tuple[str, ...], name: str | None) -> str:
        """`name` if it is one of `names` (the contract's `key`), else the first of them."""
        if name is None:
            return names[0]
        if name not in names:
            raise InvalidInputError(
                f"{kind} {name!r} is not in {key} of {self.source}; "
                f"choose one of: {', '.join(names)}"
            )
        return name


def parse_outputs(raw: Mapping[str, Any], source: str) -> StackOutputs:
    """Validate a decoded `pulumi stack output --json` object against the contract."""
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{source}: expected a JSON object of stack outputs")

    def fail(key: str, problem: str) -> InvalidInputError:
        return InvalidInputError(f"{source}: stack output {key!r} {problem}")

    version = raw.get("outputsContractVersion")
    if version is None:
        raise fail("outputsContractVersion", "is missing")
    if version not in READABLE_VERSIONS:
        raise fail(
            "outputsContractVersion",
            f"is {version!r}; this jobs package reads contract versions "
            f"{', '.join(READABLE_VERSIONS[:-1])} and {READABLE_VERSIONS[-1]}",
        )
    strings: dict[str, str] = {}
    for key in _STRING_KEYS:
        value = raw.get(key)
        if value is None:
            raise fail(key, "is missing")
        if not isinstance(value, str) or not value.strip():
            raise fail(key, f"must be a non-empty string, got {value!r}")
        strings[key] = value
    for key in _MAYBE_EMPTY_STRING_KEYS:
        value = raw.get(key)
        if value is None:
            raise fail(key, "is missing")
        if not isinstance(value, str) or (version in ("1", "2") and not value.strip()):
            raise fail(key, f"must be a non-empty string, got {value!r}")
        strings[key] = value
    lists: dict[str, tuple[str, ...]] = {}
    for key in _LIST_KEYS:
        value = raw.get(key)
        if value is None:
            raise fail(key, "is missing")
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail(key, f"must be a list of non-empty strings, got {value!r}")
        if key in _NON_EMPTY_LIST_KEYS and not value:
            raise fail(key, "must list at least one name")
        lists[key] = tuple(value)

    account = strings["dataLakeAccountName"]
    filesystems = lists["dataLakeFilesystems"]
    urls = lists["dataLakeFilesystemUrls"]
    if len(urls) != len(filesystems):
        raise fail(
            "dataLakeFilesystemUrls",
            f"has {len(urls)} entries but dataLakeFilesystems has {len(filesystems)}",
        )
    for filesystem, url in zip(filesystems, urls, strict=True):
        expected = f"abfss://{filesystem}@{account}.dfs.core.windows.net/"
        if url != expected:
            raise fail("dataLakeFilesystemUrls", f"entry {url!r} should be {expected!r}")
    if len(lists["datastoreNames"]) < len(filesystems):
        raise fail(
            "datastoreNames",
            f"lists {len(lists['datastoreNames'])} datastores for {len(filesystems)} "
            "filesystems; the contract has one identity-based datastore per filesystem",
        )
    if not re.fullmatch(
        r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
        r"Microsoft\.MachineLearningServices/workspaces/[^/]+",
        strings["workspaceId"],
        flags=re.IGNORECASE,
    ):
        raise fail(
            "workspaceId", f"is not an Azure ML workspace resource id: {strings['workspaceId']!r}"
        )

    return StackOutputs(
        compute_cluster_facts=_cluster_facts(raw, lists["computeClusterNames"], fail),
        source=source,
        subscription_id=strings["subscriptionId"],
        tenant_id=strings["tenantId"],
        resource_group_name=strings["resourceGroupName"],
        location=strings["location"],
        workspace_name=strings["workspaceName"],
        workspace_id=strings["workspaceId"],
        data_lake_account_name=account,
        data_lake_filesystems=filesystems,
        data_lake_filesystem_urls=urls,
        datastore_names=lists["datastoreNames"],
        compute_cluster_names=lists["computeClusterNames"],
        compute_cluster_identity_client_id=strings["computeClusterIdentityClientId"],
        compute_instance_names=lists["computeInstanceNames"],
        key_vault_uri=strings["keyVaultUri"],
        container_registry_login_server=strings["containerRegistryLoginServer"],
        virtual_network_id=strings["virtualNetworkId"],
        compute_subnet_id=strings["computeSubnetId"],
        private_endpoint_subnet_id=strings["privateEndpointSubnetId"],
    )


def _cluster_facts(
    raw: Mapping[str, Any], names: tuple[str, ...], fail: Any
) -> tuple[ClusterFacts, ...] | None:
    """The version "2" cluster facts, checked to line up with `computeClusterNames`."""
    if raw["outputsContractVersion"] == "1":
        return None
    columns: dict[str, list[Any]] = {}
    for key in _CLUSTER_FACT_KEYS:
        value = raw.get(key)
        if value is None:
            raise fail(key, "is missing")
        if not isinstance(value, list) or len(value) != len(names):
            raise fail(
                key, f"must be a list of {len(names)} entries (one per cluster), got {value!r}"
            )
        kind = _CLUSTER_FACT_KEYS[key]
        if not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
            raise fail(key, f"must hold one {_KIND_NAMES[kind]} per cluster, got {value!r}")
        if kind is not str and any(v < 0 for v in value):
            raise fail(key, f"must not hold negative numbers, got {value!r}")
        columns[key] = value
    if any(n < 1 for n in columns["computeClusterMaxNodes"]):
        raise fail(
            "computeClusterMaxNodes",
            f"must be 1 or more per cluster, got {columns['computeClusterMaxNodes']!r}",
        )
    return tuple(
        ClusterFacts(
            name=name, vm_size=size, max_nodes=int(nodes), vcpus=int(cpus), memory_gib=float(mem)
        )
        for name, size, nodes, cpus, mem in zip(names, *columns.values(), strict=True)
    )


def read_outputs_file(path: str | Path) -> StackOutputs:
    """Read a file saved from `pulumi stack output --json`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(
            f"stack outputs file {str(file)!r} does not exist; save it with "
            "`pulumi stack output --json --stack NAME > FILE.json`"
        ) from None
    except OSError as error:
        raise InvalidInputError(f"cannot read stack outputs file {str(file)!r}: {error}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInputError(
            f"stack outputs file {str(file)!r} is not valid JSON ({error})"
        ) from None
    return parse_outputs(raw, source=str(file))


def read_stack(stack: str | None, outputs_file: str | Path | None) -> StackOutputs:
    """Outputs from `outputs_file` if given, else from the Pulumi CLI for `stack`."""
    if outputs_file is not None:
        return read_outputs_file(outputs_file)
    if not stack:
        raise InvalidInputError("pass --stack NAME (with the pulumi CLI) or --outputs FILE.json")
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise InvalidInputError(
            f"the pulumi CLI is not on PATH, so stack {stack!r} cannot be read; pass "
            "--outputs FILE.json saved from `pulumi stack output --json --stack NAME`"
        )
    result = subprocess.run(
        [pulumi, "stack", "output", "--json", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    source = f"`pulumi stack output --json --stack {stack}`"
    if result.returncode != 0:
        raise InvalidInputError(f"{source} failed: {result.stderr.strip()}")
    try:
        raw = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"{source} did not print JSON ({error})") from None
    return parse_outputs(raw, source=source)
