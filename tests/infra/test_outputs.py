"""The outputs contract other teams build on."""

from __future__ import annotations

import re

from infra.outputs import CONTRACT_VERSION, OUTPUTS, markdown_table
from infra.settings import Settings
from plan.offline import REPO_ROOT, StackRun

# Each released contract version, pinned. Adding outputs is fine; removing one or changing
# its type must come with a new CONTRACT_VERSION (and a new entry here).
RELEASED: dict[str, dict[str, str]] = {
    "1": {
        "outputsContractVersion": "string",
        "subscriptionId": "string",
        "tenantId": "string",
        "resourceGroupName": "string",
        "location": "string",
        "workspaceName": "string",
        "workspaceId": "string",
        "dataLakeAccountName": "string",
        "dataLakeFilesystems": "list of strings",
        "dataLakeFilesystemUrls": "list of strings",
        "datastoreNames": "list of strings",
        "computeClusterNames": "list of strings",
        "computeClusterIdentityClientId": "string",
        "computeInstanceNames": "list of strings",
        "keyVaultUri": "string",
        "containerRegistryLoginServer": "string",
        "virtualNetworkId": "string",
        "computeSubnetId": "string",
        "privateEndpointSubnetId": "string",
    }
}

RELEASED["2"] = {
    **RELEASED["1"],
    "computeClusterVmSizes": "list of strings",
    "computeClusterMaxNodes": "list of integers",
    "computeClusterVCpus": "list of integers",
    "computeClusterGpus": "list of integers",
    "computeClusterMemoryGiB": "list of numbers",
}

RELEASED["3"] = {
    **RELEASED["2"],
    "workspaceIsolationMode": "string",
    "servicePrincipalSecretExpiresOn": "string",
    "customerManagedKeyId": "string",
}

PYTHON_TYPES = {
    "string": str,
    "list of strings": list,
    "list of integers": list,
    "list of numbers": list,
}
ITEM_TYPES: dict[str, type | tuple[type, ...]] = {
    "list of strings": str,
    "list of integers": int,
    "list of numbers": (int, float),
}


def test_contract_keeps_every_released_output_and_type() -> None:
    declared = {spec.name: spec.type for spec in OUTPUTS}
    assert CONTRACT_VERSION in RELEASED, "pin the new contract version in RELEASED"
    for name, type_ in RELEASED[CONTRACT_VERSION].items():
        assert declared.get(name) == type_, f"{name} removed or retyped without a version bump"


def test_contract_names_are_flat_camel_case_and_unique() -> None:
    names = [spec.name for spec in OUTPUTS]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", name)
    assert all(spec.type in PYTHON_TYPES for spec in OUTPUTS)


def test_stack_exports_exactly_the_contract(stack_run: StackRun) -> None:
    assert list(stack_run.outputs) == [spec.name for spec in OUTPUTS]
    assert stack_run.outputs["outputsContractVersion"] == CONTRACT_VERSION
    for spec in OUTPUTS:
        value = stack_run.outputs[spec.name]
        assert isinstance(value, PYTHON_TYPES[spec.type]), spec.name
        if isinstance(value, list):
            assert all(isinstance(v, ITEM_TYPES[spec.type]) for v in value), spec.name


def test_outputs_are_never_secret(stack_run: StackRun) -> None:
    assert stack_run.secret_outputs == []


def test_output_values(stack_run: StackRun, stack_settings: Settings) -> None:
    out = stack_run.outputs
    lake = stack_settings.data_lake
    assert out["location"] == stack_settings.location
    assert out["resourceGroupName"] == stack_settings.resource_group_name
    assert out["workspaceName"] == stack_settings.workspace.name
    assert out["dataLakeAccountName"] == lake.name
    assert out["dataLakeFilesystems"] == list(lake.filesystems)
    assert out["dataLakeFilesystemUrls"] == [
        f"abfss://{fs}@{lake.name}.dfs.core.windows.net/" for fs in lake.filesystems
    ]
    assert out["datastoreNames"][: len(lake.filesystems)] == [
        fs.replace("-", "_") for fs in lake.filesystems
    ]
    assert out["computeClusterNames"] == [c.name for c in stack_settings.compute_clusters]
    assert out["computeInstanceNames"] == [i.name for i in stack_settings.compute_instances]
    assert out["keyVaultUri"] == f"https://{stack_settings.key_vault.name}.vault.azure.net/"
    assert out["containerRegistryLoginServer"] == (
        f"{stack_settings.container_registry.name}.azurecr.io"
    )
    assert out["workspaceId"].endswith(f"/workspaces/{stack_settings.workspace.name}")
    assert out["workspaceIsolationMode"] == stack_settings.workspace.managed_network.isolation_mode
    assert out["computeSubnetId"].startswith(out["virtualNetworkId"] + "/subnets/")
    assert out["privateEndpointSubnetId"].startswith(out["virtualNetworkId"] + "/subnets/")


def test_readme_table_is_the_contract() -> None:
    section = (REPO_ROOT / "docs" / "outputs.md").read_text()
    assert markdown_table() in section, "regenerate with `python -m infra.outputs`"
    documented = re.findall(r"^\| `([A-Za-z0-9]+)` \|", section, flags=re.M)
    assert documented == [spec.name for spec in OUTPUTS]


def test_cluster_vm_facts_come_from_the_catalog(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    out = stack_run.outputs
    clusters = stack_settings.compute_clusters
    assert out["computeClusterVmSizes"] == [c.vm_size for c in clusters]
    assert out["computeClusterMaxNodes"] == [c.max_nodes for c in clusters]
    assert out["computeClusterVCpus"] == [c.vm.vcpus if c.vm else 0 for c in clusters]
    assert out["computeClusterGpus"] == [c.vm.gpus if c.vm else 0 for c in clusters]
    assert out["computeClusterMemoryGiB"] == [c.vm.memory_gib if c.vm else 0 for c in clusters]
    if stack_settings.stack == "dev":
        assert out["computeClusterVCpus"] == [4]  # Standard_D4s_v5
        assert out["computeClusterMemoryGiB"] == [16]
