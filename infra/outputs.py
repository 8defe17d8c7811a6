"""The outputs contract: the stack outputs other teams consume, in one place.

Every output is flat, top-level and non-secret (a nested object holding one secret becomes
secret as a whole). `__main__.py` exports exactly `OUTPUTS`, the table in docs/outputs.md is checked
against it, and a test pins each version of the contract: removing an output or changing
its type needs a new `CONTRACT_VERSION`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from infra.access import SERVICE_PRINCIPAL_SECRET_NAME

if TYPE_CHECKING:
    from infra.platform import Platform

# "2" adds the clusters' VM facts (from infra/catalog/vm_sizes.py) for job sizing.
# "3" adds the workspace's managed network isolation mode (computeSubnetId is then empty
# when the compute runs in that managed network), the customer-managed key and the service
# principal secret's expiry.
CONTRACT_VERSION = "3"


@dataclass(frozen=True)
class OutputSpec:
    """One stack output: its name, JSON type, meaning, and how the platform provides it."""

    name: str
    type: str  # "string", "list of strings", "list of integers" or "list of numbers"
    description: str
    value: Callable[[Platform], Any]


def _cluster_facts(fact: str) -> Callable[[Platform], list[Any]]:
    """One VM fact per cluster, in `computeClusterNames` order (0 for an unlisted size)."""

    def value(platform: Platform) -> list[Any]:
        return [getattr(c.vm, fact) if c.vm else 0 for c in platform.settings.compute_clusters]

    return value


def _dfs_urls(platform: Platform) -> pulumi.Output[list[str]]:
    account = platform.data_lake.name
    filesystems = [fs.name for fs in platform.filesystems]
    return pulumi.Output.all(account, *filesystems).apply(
        lambda v: [f"abfss://{fs}@{v[0]}.dfs.core.windows.net/" for fs in v[1:]]
    )


OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec(
        "outputsContractVersion",
        "string",
        "Version of this contract; bumped when an output is removed or changes type.",
        lambda p: CONTRACT_VERSION,
    ),
    OutputSpec(
        "subscriptionId", "string", "Azure subscription id.", lambda p: p.client.subscription_id
    ),
    OutputSpec("tenantId", "string", "Entra ID tenant id.", lambda p: p.client.tenant_id),
    OutputSpec(
        "resourceGroupName", "string", "Resource group name.", lambda p: p.resource_group.name
    ),
    OutputSpec("location", "string", "Azure region.", lambda p: p.settings.location),
    OutputSpec(
        "workspaceName",
        "string",
        "Azure ML workspace name.",
        lambda p: p.workspace.name,
    ),
    OutputSpec(
        "workspaceId",
        "string",
        "Azure ML workspace resource id.",
        lambda p: p.workspace.id,
    ),
    OutputSpec(
        "workspaceIsolationMode",
        "string",
        "The workspace's managed network isolation mode: `Disabled` (compute in the stack's "
        "compute subnet), `AllowInternetOutbound` or `AllowOnlyApprovedOutbound`.",
        lambda p: p.settings.workspace.managed_network.isolation_mode,
    ),
    OutputSpec(
        "dataLakeAccountName",
        "string",
        "ADLS Gen2 storage account name.",
        lambda p: p.data_lake.name,
    ),
    OutputSpec(
        "dataLakeFilesystems",
        "list of strings",
        "Data lake filesystem names.",
        lambda p: [fs.name for fs in p.filesystems],
    ),
    OutputSpec(
        "dataLakeFilesystemUrls",
        "list of strings",
        "`abfss://<filesystem>@<account>.dfs.core.windows.net/`, same order as "
        "`dataLakeFilesystems`.",
        _dfs_urls,
    ),
    OutputSpec(
        "datastoreNames",
        "list of strings",
        "Azure ML datastores: the identity-based one for each filesystem (same order), then "
        "any service-principal ones (`<datastore>_sp`).",
        lambda p: [d.name for d in p.datastores.datastores],
    ),
    OutputSpec(
        "computeClusterNames",
        "list of strings",
        "Compute cluster names; the first is the default for jobs.",
        lambda p: [c.name for c in p.compute.clusters],
    ),
    OutputSpec(
        "computeClusterVmSizes",
        "list of strings",
        "VM size of each cluster, same order as `computeClusterNames`.",
        lambda p: [c.vm_size for c in p.settings.compute_clusters],
    ),
    OutputSpec(
        "computeClusterMaxNodes",
        "list of integers",
        "Maximum nodes of each cluster, same order.",
        lambda p: [c.max_nodes for c in p.settings.compute_clusters],
    ),
    OutputSpec(
        "computeClusterVCpus",
        "list of integers",
        "vCPUs per node of each cluster (VM catalog; 0 for an unlisted size).",
        _cluster_facts("vcpus"),
    ),
    OutputSpec(
        "computeClusterGpus",
        "list of integers",
        "GPUs per node of each cluster (VM catalog; 0 for none or an unlisted size).",
        _cluster_facts("gpus"),
    ),
    OutputSpec(
        "computeClusterMemoryGiB",
        "list of numbers",
        "Memory (GiB) per node of each cluster (VM catalog; 0 for an unlisted size).",
        _cluster_facts("memory_gib"),
    ),
    OutputSpec(
        "computeClusterIdentityClientId",
        "string",
        "Client id of the clusters' user-assigned identity (Storage Blob Data Contributor on "
        "the data lake).",
        lambda p: p.access.compute_identity.client_id,
    ),
    OutputSpec(
        "computeInstanceNames",
        "list of strings",
        "Compute instance names.",
        lambda p: [i.name for i in p.compute.instances],
    ),
    OutputSpec(
        "servicePrincipalClientId",
        "string",
        "Client id of the stack's service principal; empty when none is configured.",
        lambda p: p.access.service_principal.client_id if p.access.service_principal else "",
    ),
    OutputSpec(
        "servicePrincipalSecretName",
        "string",
        "Key vault secret holding that principal's client secret (the value is never an "
        "output); empty when none is configured.",
        lambda p: SERVICE_PRINCIPAL_SECRET_NAME if p.access.service_principal else "",
    ),
    OutputSpec(
        "servicePrincipalSecretExpiresOn",
        "string",
        "Date (YYYY-MM-DD, 00:00 UTC) that client secret and its key vault secret expire "
        "(`servicePrincipal.passwordEndDate`; rotate before it, see docs/security.md); empty "
        "when none is configured.",
        lambda p: (
            p.settings.service_principal.password_end_date if p.access.service_principal else ""
        ),
    ),
    OutputSpec(
        "customerManagedKeyId",
        "string",
        "Versionless URI of the key vault key that encrypts the workspace and the data lake "
        "(`encryption.customerManagedKeys`); empty when Microsoft-managed keys are used.",
        lambda p: p.customer_managed_key.key.key_uri if p.customer_managed_key else "",
    ),
    OutputSpec(
        "keyVaultUri",
        "string",
        "Key vault URI.",
        lambda p: p.key_vault.properties.vault_uri,
    ),
    OutputSpec(
        "containerRegistryLoginServer",
        "string",
        "Container registry login server.",
        lambda p: p.container_registry.login_server,
    ),
    OutputSpec(
        "virtualNetworkId",
        "string",
        "Virtual network resource id.",
        lambda p: p.network.virtual_network.id,
    ),
    OutputSpec(
        "computeSubnetId",
        "string",
        "Compute subnet resource id; empty when the compute runs in the workspace's managed "
        "network (`workspaceIsolationMode` not `Disabled`).",
        lambda p: p.network.compute_subnet.id if p.network.compute_subnet else "",
    ),
    OutputSpec(
        "privateEndpointSubnetId",
        "string",
        "Private endpoint subnet resource id.",
        lambda p: p.network.private_endpoint_subnet.id,
    ),
)


def export_outputs(platform: Platform) -> None:
    """Export every output of the contract as a top-level stack output."""
    for spec in OUTPUTS:
        pulumi.export(spec.name, spec.value(platform))


def markdown_table() -> str:
    """The contract as docs/outputs.md's table (`python -m infra.outputs` prints it)."""
    rows = ["| Output | Type | Meaning |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {s.type} | {s.description} |" for s in OUTPUTS]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
