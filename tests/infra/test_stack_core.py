"""The stack core, for every stack file: what Azure would receive, the graph, tags, protect."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

from infra.network import SERVICE_ENDPOINTS
from infra.settings import Settings
from plan.offline import ResourceRecord, StackRun

SA = "azure-native:storage:StorageAccount"
KV = "azure-native:keyvault:Vault"
MLW = "azure-native:machinelearningservices:Workspace"
SUBNET = "azure-native:network:Subnet"


def sdk_class(type_token: str) -> Any:
    """The SDK class for a type token, e.g. azure-native:storage:StorageAccount."""
    package, module, name = type_token.split(":")
    if package == "azure-native":
        return getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return getattr(importlib.import_module(f"pulumi_{package}"), name)


def accepts_tags(type_token: str) -> bool:
    init = sdk_class(type_token)._internal_init
    return "tags" in inspect.signature(init).parameters


def test_resource_group_in_the_configured_location(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    rg = stack_run.one("azure-native:resources:ResourceGroup")
    assert rg.inputs["location"] == stack_settings.location
    assert rg.inputs["resourceGroupName"] == stack_settings.resource_group_name


def test_every_taggable_resource_carries_the_tags(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    taggable = [r for r in stack_run.resources if r.custom and accepts_tags(r.type)]
    assert len(taggable) >= 10
    for r in taggable:
        if r.type.startswith("azuread:"):
            # Entra ID tags are plain strings.
            expected: object = [f"{k}:{v}" for k, v in stack_settings.tags.items()]
        else:
            expected = dict(stack_settings.tags)
            for required in ("owner", "costCenter", "environment"):
                assert required in r.inputs["tags"]
        assert r.inputs.get("tags") == expected, f"{r.type} {r.name}"


def test_every_regional_resource_is_in_the_stack_location(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    # Private DNS zones and their vnet links are global resources by Azure's design.
    global_types = {
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
    }
    for r in stack_run.resources:
        if r.custom and "location" in r.inputs:
            expected = "global" if r.type in global_types else stack_settings.location
            assert r.inputs["location"] == expected, r.name


def test_parent_child_graph(stack_run: StackRun) -> None:
    platform = stack_run.one("azureml-dask:platform:Platform")
    assert platform.parent is not None and "pulumi:pulumi:Stack" in platform.parent
    components = {r.type: r for r in stack_run.children(platform) if not r.custom}
    assert set(components) >= {
        "azureml-dask:network:Network",
        "azureml-dask:storage:Storage",
        "azureml-dask:workspace:Workspace",
    }
    expected = {
        "azureml-dask:network:Network": {
            "azure-native:network:NetworkSecurityGroup",
            "azure-native:network:PublicIPAddress",
            "azure-native:network:NatGateway",
            "azure-native:network:VirtualNetwork",
            SUBNET,
        },
        "azureml-dask:storage:Storage": {
            SA,
            "azure-native:storage:BlobServiceProperties",
            "azure-native:storage:BlobContainer",
        },
        "azureml-dask:workspace:Workspace": {
            KV,
            "azure-native:operationalinsights:Workspace",
            "azure-native:applicationinsights:Component",
            "azure-native:containerregistry:Registry",
            MLW,
        },
    }
    for component_type, child_types in expected.items():
        children = stack_run.children(components[component_type])
        assert {c.type for c in children} >= child_types
    # Nothing dangles at the stack root: every Azure resource sits under a component.
    by_urn = {r.urn for r in stack_run.resources}
    for r in stack_run.resources:
        if r.custom:
            assert r.parent in by_urn, f"{r.type} {r.name} has no component parent"


def _account(run: StackRun, name: str) -> ResourceRecord:
    return run.one(SA, name)


@pytest.mark.parametrize("logical_name", ["workspace-storage", "data-lake"])
def test_storage_accounts_are_hardened(stack_run: StackRun, logical_name: str) -> None:
    inputs = _account(stack_run, logical_name).inputs
    assert inputs["kind"] == "StorageV2"
    assert inputs["enableHttpsTrafficOnly"] is True
    assert inputs["minimumTlsVersion"] == "TLS1_2"
    assert inputs["allowBlobPublicAccess"] is False


def test_workspace_storage_has_no_hierarchical_namespace(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    inputs = _account(stack_run, "workspace-storage").inputs
    assert inputs["isHnsEnabled"] is False
    assert inputs["sku"] == {"name": stack_settings.storage_account.sku_name}
    assert inputs["accountName"] == stack_settings.storage_account.name


def test_data_lake_is_adls_gen2_without_shared_keys(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    inputs = _account(stack_run, "data-lake").inputs
    assert inputs["isHnsEnabled"] is True
    assert inputs["allowSharedKeyAccess"] is False
    assert inputs["sku"]["name"].startswith("Standard_")
    assert inputs["sku"] == {"name": stack_settings.data_lake.sku_name}


def test_data_lake_soft_delete(stack_run: StackRun, stack_settings: Settings) -> None:
    service = stack_run.one(
        "azure-native:storage:BlobServiceProperties", "data-lake-blob-service"
    ).inputs
    lake = stack_settings.data_lake
    assert service["accountName"] == lake.name
    assert service["blobServicesName"] == "default"
    assert service["deleteRetentionPolicy"] == {
        "enabled": True,
        "days": lake.delete_retention_days,
    }
    assert service["containerDeleteRetentionPolicy"] == {
        "enabled": True,
        "days": lake.container_delete_retention_days,
    }


def test_one_filesystem_per_configured_name(stack_run: StackRun, stack_settings: Settings) -> None:
    containers = stack_run.by_type("azure-native:storage:BlobContainer")
    assert sorted(c.inputs["containerName"] for c in containers) == sorted(
        stack_settings.data_lake.filesystems
    )
    for c in containers:
        assert c.inputs["accountName"] == stack_settings.data_lake.name
        assert c.inputs["publicAccess"] == "None"


def test_compute_subnet_nsg_nat_and_service_endpoints(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    subnet = stack_run.one(SUBNET, "compute-subnet").inputs
    nsg = stack_run.one("azure-native:network:NetworkSecurityGroup")
    nat = stack_run.one("azure-native:network:NatGateway")
    ip = stack_run.one("azure-native:network:PublicIPAddress")
    assert subnet["addressPrefix"] == stack_settings.virtual_network.compute_subnet_address_prefix
    assert subnet["networkSecurityGroup"] == {"id": nsg.id}
    assert subnet["natGateway"] == {"id": nat.id}
    assert [e["service"] for e in subnet["serviceEndpoints"]] == list(SERVICE_ENDPOINTS)
    assert set(SERVICE_ENDPOINTS) == {
        "Microsoft.Storage",
        "Microsoft.KeyVault",
        "Microsoft.ContainerRegistry",
    }
    assert nat.inputs["publicIpAddresses"] == [{"id": ip.id}]
    assert nat.inputs["sku"] == {"name": "Standard"}
    assert ip.inputs["sku"]["name"] == "Standard"
    assert ip.inputs["publicIPAllocationMethod"] == "Static"


def test_nsg_rules_for_no_public_ip_azure_ml_compute(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    rules = stack_run.one("azure-native:network:NetworkSecurityGroup").inputs["securityRules"]
    region = stack_settings.location
    if stack_settings.virtual_network.restrict_outbound_internet:
        return  # covered by test_restricted_egress_denies_internet_after_every_allow
    assert all(r["access"] != "Deny" for r in rules), "default egress keeps AllowInternetOutBound"
    seen = set()
    for r in rules:
        assert r["access"] == "Allow"
        assert r["sourcePortRange"] == "*"
        inbound = r["direction"] == "Inbound"
        vnet = r["destinationAddressPrefix" if inbound else "sourceAddressPrefix"]
        assert vnet == "VirtualNetwork", r["name"]
        tag = r["sourceAddressPrefix" if inbound else "destinationAddressPrefix"]
        seen.add((r["direction"], r["protocol"], tag, tuple(r["destinationPortRanges"])))
    # Azure ML's list for compute without public IPs (how-to-secure-training-vnet), plus the
    # secure-workspace template's inbound management rules.
    assert seen == {
        ("Inbound", "Tcp", "BatchNodeManagement", ("29876-29877",)),
        ("Inbound", "Tcp", "AzureMachineLearning", ("44224",)),
        ("Outbound", "Tcp", "AzureActiveDirectory", ("80", "443")),
        ("Outbound", "Tcp", "AzureMachineLearning", ("443", "8787", "18881")),
        ("Outbound", "Udp", "AzureMachineLearning", ("5831",)),
        ("Outbound", "*", f"BatchNodeManagement.{region}", ("443",)),
        ("Outbound", "Tcp", "AzureResourceManager", ("443",)),
        ("Outbound", "Tcp", f"Storage.{region}", ("443",)),
        ("Outbound", "Tcp", "AzureFrontDoor.FrontEnd", ("443",)),
        ("Outbound", "Tcp", f"AzureContainerRegistry.{region}", ("443",)),
        ("Outbound", "Tcp", "MicrosoftContainerRegistry", ("443",)),
    }
    assert len(seen) == len(rules)
    names = [r["name"] for r in rules]
    assert len(names) == len(set(names)), "NSG rule names must be unique"
    priorities = [(r["direction"], r["priority"]) for r in rules]
    assert len(priorities) == len(set(priorities)), "NSG priorities must be unique per direction"


def test_private_endpoint_subnet(stack_run: StackRun, stack_settings: Settings) -> None:
    subnet = stack_run.one(SUBNET, "private-endpoint-subnet")
    vnet = stack_run.one("azure-native:network:VirtualNetwork")
    assert subnet.inputs["privateEndpointNetworkPolicies"] == "Disabled"
    assert (
        subnet.inputs["addressPrefix"]
        == stack_settings.virtual_network.private_endpoint_subnet_address_prefix
    )
    assert subnet.inputs["virtualNetworkName"] == vnet.inputs["virtualNetworkName"]
    # Subnets of one vnet are created one after the other.
    assert stack_run.one(SUBNET, "compute-subnet").urn in subnet.dependencies
    assert vnet.inputs["addressSpace"] == {
        "addressPrefixes": list(stack_settings.virtual_network.address_prefixes)
    }


def test_key_vault(stack_run: StackRun, stack_settings: Settings) -> None:
    vault = stack_run.one(KV).inputs
    props = vault["properties"]
    assert vault["vaultName"] == stack_settings.key_vault.name
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["tenantId"] == stack_run.outputs["tenantId"]
    if stack_settings.key_vault.enable_purge_protection:
        assert props["enablePurgeProtection"] is True
    else:
        # Azure rejects `false`: the property must be left out.
        assert "enablePurgeProtection" not in props


def test_monitoring_and_registry(stack_run: StackRun, stack_settings: Settings) -> None:
    logs = stack_run.one("azure-native:operationalinsights:Workspace")
    insights = stack_run.one("azure-native:applicationinsights:Component").inputs
    registry = stack_run.one("azure-native:containerregistry:Registry").inputs
    assert logs.inputs["retentionInDays"] == stack_settings.log_analytics.retention_in_days
    assert insights["workspaceResourceId"] == logs.id
    assert insights["ingestionMode"] == "LogAnalytics"
    assert registry["adminUserEnabled"] is False
    assert registry["sku"] == {"name": stack_settings.container_registry.sku_name}


def test_workspace_links_its_dependents(stack_run: StackRun, stack_settings: Settings) -> None:
    ws = stack_run.one(MLW).inputs
    assert ws["identity"] == {"type": "SystemAssigned"}
    assert ws["storageAccount"] == _account(stack_run, "workspace-storage").id
    assert ws["keyVault"] == stack_run.one(KV).id
    assert (
        ws["applicationInsights"] == stack_run.one("azure-native:applicationinsights:Component").id
    )
    assert ws["containerRegistry"] == stack_run.one("azure-native:containerregistry:Registry").id
    assert ws["friendlyName"] == stack_settings.workspace.friendly_name
    assert ws["description"] == stack_settings.workspace.description
    assert ws["publicNetworkAccess"] == stack_settings.workspace.public_network_access
    # The data lake is NOT the workspace's own storage.
    assert ws["storageAccount"] != _account(stack_run, "data-lake").id


STATEFUL = {(SA, "data-lake"), (KV, "key-vault"), (MLW, "workspace")}


def test_protect_follows_the_stack_setting(stack_run: StackRun, stack_settings: Settings) -> None:
    protected = {(r.type, r.name) for r in stack_run.resources if r.protect}
    containers = {
        ("azure-native:storage:BlobContainer", f"filesystem-{fs}")
        for fs in stack_settings.data_lake.filesystems
    }
    if stack_settings.protect:
        assert protected == STATEFUL | containers
    else:
        assert protected == set()


def test_prod_differs_where_production_should() -> None:
    from tests.conftest import _settings

    dev, prod = _settings("dev"), _settings("prod")
    assert prod.protect and not dev.protect
    assert prod.key_vault.enable_purge_protection and not dev.key_vault.enable_purge_protection
    assert prod.data_lake.sku_name != "Standard_LRS"
    assert prod.storage_account.sku_name != "Standard_LRS"
    assert prod.data_lake.delete_retention_days > dev.data_lake.delete_retention_days
    assert prod.container_registry.sku_name == "Premium"


def test_restricted_egress_denies_internet_after_every_allow() -> None:
    from plan.offline import run_config
    from tests.infra.test_settings import raw

    run = run_config("dev", raw(virtualNetwork={"restrictOutboundInternet": True}))
    region = run.one("azure-native:resources:ResourceGroup").inputs["location"]
    rules = run.one("azure-native:network:NetworkSecurityGroup").inputs["securityRules"]
    outbound = [r for r in rules if r["direction"] == "Outbound"]
    [deny] = [r for r in outbound if r["access"] == "Deny"]
    assert (deny["destinationAddressPrefix"], deny["protocol"]) == ("Internet", "*")
    assert deny["sourceAddressPrefix"] == "VirtualNetwork"
    assert deny["destinationPortRange"] == "*"
    allows = [r for r in outbound if r["access"] == "Allow"]
    assert all(r["priority"] < deny["priority"] for r in allows), "deny after every allow"
    # Azure ML's required outbound tags for no-public-IP compute, all allowed before the deny.
    # https://learn.microsoft.com/azure/machine-learning/how-to-access-azureml-behind-firewall
    assert {r["destinationAddressPrefix"] for r in allows} == {
        "AzureActiveDirectory",
        "AzureMachineLearning",
        f"BatchNodeManagement.{region}",
        "AzureResourceManager",
        f"Storage.{region}",
        "AzureFrontDoor.FrontEnd",
        "MicrosoftContainerRegistry",
        f"AzureContainerRegistry.{region}",
        "AzureMonitor",
        f"Keyvault.{region}",
    }
