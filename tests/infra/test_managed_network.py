"""The workspace managed network, on a copy of prod's stack file with the setting on.

Each variant runs the real `__main__.py` offline on prod's config with only
`workspace.managedNetwork` added, and asserts what Azure would receive: the workspace's
`managedNetwork` (isolation mode, outbound rules, firewall SKU), compute without a subnet,
and a vnet that keeps only the private endpoints people use. With the key absent (every
stack file) the workspace declares no managed network and compute stays in the subnet.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from pulumi_policy import StackValidationPolicy

from infra.settings import DEFAULT_FQDN_RULES, PROJECT, SettingsError
from jobs import environment
from plan.offline import ResourceRecord, StackRun, load_stack_config, run_config
from policy.deployability import MANAGED_NETWORK_COMPUTE
from policy.pack import POLICIES
from tests.infra.test_settings import raw
from tests.policy.captured import changed, resource_args, set_path, stack_args, violations

MLW = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
SUBNET = "azure-native:network:Subnet"
PE = "azure-native:network:PrivateEndpoint"
COMPUTE_SUBNET_EGRESS = (
    "azure-native:network:NetworkSecurityGroup",
    "azure-native:network:NatGateway",
    "azure-native:network:PublicIPAddress",
)


def prod_with(managed_network: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Prod's stack config with `workspace.managedNetwork` set, as the CLI would pass it."""
    config, secret_keys = load_stack_config("prod")
    key = f"{PROJECT}:workspace"
    workspace = json.loads(config.get(key, "{}"))
    config[key] = json.dumps({**workspace, "managedNetwork": managed_network})
    return config, secret_keys


def run_prod_with(managed_network: dict[str, Any]) -> StackRun:
    return run_config("prod", *prod_with(managed_network))


@pytest.fixture(scope="module")
def approved() -> StackRun:
    return run_prod_with({"isolationMode": "AllowOnlyApprovedOutbound"})


@pytest.fixture(scope="module")
def internet() -> StackRun:
    return run_prod_with({"isolationMode": "AllowInternetOutbound"})


@pytest.fixture(scope="module")
def prod() -> StackRun:
    """Prod itself (Disabled), computed once for the whole test session."""
    from tests.conftest import _run

    return _run("prod")


MODES = {"approved": "AllowOnlyApprovedOutbound", "internet": "AllowInternetOutbound"}


def managed_network(run: StackRun) -> dict[str, Any]:
    return run.one(MLW, "workspace").inputs["managedNetwork"]


def lake_rules(run: StackRun) -> dict[str, Any]:
    lake = run.one("azure-native:storage:StorageAccount", "data-lake")
    return {
        name: rule
        for name, rule in managed_network(run)["outboundRules"].items()
        if rule["type"] == "PrivateEndpoint" and rule["destination"]["serviceResourceId"] == lake.id
    }


@pytest.mark.parametrize("fixture", ["approved", "internet"])
def test_the_lake_gets_a_private_endpoint_rule_for_dfs_and_blob(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    rules = lake_rules(run)
    assert {r["destination"]["subresourceTarget"] for r in rules.values()} == {"dfs", "blob"}
    assert all(r["category"] == "UserDefined" for r in rules.values())
    assert all(r["destination"]["sparkEnabled"] is False for r in rules.values())


def test_approved_outbound_declares_the_package_and_image_hosts(approved: StackRun) -> None:
    network = managed_network(approved)
    assert network["isolationMode"] == "AllowOnlyApprovedOutbound"
    fqdn = [r for r in network["outboundRules"].values() if r["type"] == "FQDN"]
    assert sorted(r["destination"] for r in fqdn) == sorted(DEFAULT_FQDN_RULES)
    assert {"pypi.org", "files.pythonhosted.org", "conda.anaconda.org"} <= {
        r["destination"] for r in fqdn
    }
    assert all(r["category"] == "UserDefined" for r in fqdn)
    # FQDN rules are what brings the (billed) Azure Firewall: its SKU is declared with them.
    assert network["firewallSku"] == "Standard"
    # The lake rules and the FQDN rules, nothing else by default.
    assert len(network["outboundRules"]) == len(fqdn) + 2


def test_internet_outbound_declares_only_the_private_endpoint_rules(internet: StackRun) -> None:
    network = managed_network(internet)
    assert network["isolationMode"] == "AllowInternetOutbound"
    assert network["outboundRules"] == lake_rules(internet)
    assert "firewallSku" not in network


@pytest.mark.parametrize("fixture", ["approved", "internet"])
def test_compute_runs_in_the_managed_network_without_subnet(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    run: StackRun = request.getfixturevalue(fixture)
    computes = run.by_type(COMPUTE)
    assert sorted(c.name for c in computes) == ["cluster-cpu-cluster", "cluster-gpu-cluster"]
    for compute in computes:
        properties = compute.inputs["properties"]["properties"]
        assert "subnet" not in properties, compute.name
        assert properties["enableNodePublicIp"] is False
    # No compute subnet, and none of its egress (NSG, NAT gateway, its public IP).
    assert [s.name for s in run.by_type(SUBNET)] == ["private-endpoint-subnet"]
    for type_ in COMPUTE_SUBNET_EGRESS:
        assert run.by_type(type_) == [], type_
    assert run.outputs["computeSubnetId"] == ""
    assert run.outputs["workspaceIsolationMode"] == MODES[fixture]


def test_the_customer_vnet_keeps_the_inbound_private_endpoints(
    approved: StackRun, prod: StackRun
) -> None:
    endpoints = {e.name for e in approved.by_type(PE)}
    assert endpoints == {e.name for e in prod.by_type(PE)}
    assert "pep-workspace-amlworkspace" in endpoints
    subnet = approved.one(SUBNET, "private-endpoint-subnet")
    assert all(e.inputs["subnet"]["id"] == subnet.id for e in approved.by_type(PE))


def test_without_the_key_nothing_changes(stack_run: StackRun) -> None:
    # Every stack file leaves it Disabled: no managedNetwork, compute in the compute subnet.
    assert "managedNetwork" not in stack_run.one(MLW, "workspace").inputs
    assert stack_run.outputs["workspaceIsolationMode"] == "Disabled"
    subnet = stack_run.one(SUBNET, "compute-subnet")
    for compute in stack_run.by_type(COMPUTE):
        assert compute.inputs["properties"]["properties"]["subnet"] == {"id": subnet.id}
    for type_ in COMPUTE_SUBNET_EGRESS:
        assert len(stack_run.by_type(type_)) == 1, type_
    assert stack_run.outputs["computeSubnetId"] == subnet.id


def test_a_public_stack_with_a_managed_network_needs_no_private_endpoint() -> None:
    # The workspace endpoint in the vnet serves compute in the compute subnet; managed
    # compute reaches the workspace through the endpoint Azure ML adds as a required rule.
    cluster = {"name": "cpu-cluster", "vmSize": "Standard_D4s_v5"}
    managed = {"managedNetwork": {"isolationMode": "AllowInternetOutbound"}}
    run = run_config("dev", raw(computeClusters=[cluster], workspace=managed))
    assert run.by_type(PE) == []
    assert run.one(MLW, "workspace").inputs["publicNetworkAccess"] == "Enabled"
    (compute,) = run.by_type(COMPUTE)
    assert "subnet" not in compute.inputs["properties"]["properties"]


def test_rules_come_from_settings() -> None:
    run = run_prod_with(
        {
            "isolationMode": "AllowOnlyApprovedOutbound",
            "fqdnRules": ["pypi.org", "files.pythonhosted.org"],
            "serviceTagRules": [
                {"name": "datafactory", "serviceTag": "DataFactory", "portRanges": "80, 443"}
            ],
            "firewallSku": "Basic",
        }
    )
    network = managed_network(run)
    rules = network["outboundRules"]
    assert rules["fqdn-pypi-org"] == {
        "type": "FQDN",
        "category": "UserDefined",
        "destination": "pypi.org",
    }
    assert sorted(r["destination"] for r in rules.values() if r["type"] == "FQDN") == [
        "files.pythonhosted.org",
        "pypi.org",
    ]
    assert rules["datafactory"] == {
        "type": "ServiceTag",
        "category": "UserDefined",
        "destination": {
            "serviceTag": "DataFactory",
            "protocol": "TCP",
            "portRanges": "80, 443",
            "action": "Allow",
        },
    }
    assert network["firewallSku"] == "Basic"


def test_no_fqdn_rules_means_no_firewall() -> None:
    run = run_prod_with({"isolationMode": "AllowOnlyApprovedOutbound", "fqdnRules": []})
    network = managed_network(run)
    assert [r["type"] for r in network["outboundRules"].values()] == ["PrivateEndpoint"] * 2
    assert "firewallSku" not in network


def test_the_defaults_cover_the_job_environment() -> None:
    # Every conda channel of the job's environment and its base image's registry.
    conda = yaml.safe_load(environment.CONDA_FILE.read_text())
    hosts = {
        urlparse(c).hostname if "://" in c else "conda.anaconda.org" for c in conda["channels"]
    }
    hosts.add(environment.BASE_IMAGE.split("/")[0])
    assert hosts <= set(DEFAULT_FQDN_RULES)
    assert any("pip" in d for d in conda["dependencies"] if isinstance(d, dict))
    assert {"pypi.org", "files.pythonhosted.org"} <= set(DEFAULT_FQDN_RULES)


def test_the_policy_pack_passes_on_the_managed_network_stack(approved: StackRun) -> None:
    for policy in POLICIES:
        if isinstance(policy, StackValidationPolicy):
            assert violations(policy, stack_args(approved.resources)) == [], policy.name
            continue
        for record in approved.resources:
            if record.custom:
                assert violations(policy, resource_args(record)) == [], (policy.name, record.urn)


def test_compute_in_a_subnet_of_a_managed_network_workspace_is_reported(
    approved: StackRun,
) -> None:
    subnet = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/x/subnets/c"}
    records: list[ResourceRecord] = [
        changed(r, set_path("properties.properties.subnet", subnet)) if r.type == COMPUTE else r
        for r in approved.resources
    ]
    messages = violations(MANAGED_NETWORK_COMPUTE, stack_args(records))
    assert len(messages) == 2, messages
    assert all("AllowOnlyApprovedOutbound" in m and "Fix: " in m for m in messages)
    assert all(subnet["id"] in m for m in messages)


MN = f"{PROJECT}:workspace.managedNetwork"
BAD_MANAGED_NETWORK: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "unknown-mode",
        {"workspace": {"managedNetwork": {"isolationMode": "Private"}}},
        f"{MN}.isolationMode = 'Private'",
        "allowed values are Disabled, AllowInternetOutbound, AllowOnlyApprovedOutbound",
    ),
    (
        "fqdn-rules-with-internet-outbound",
        {
            "workspace": {
                "managedNetwork": {"isolationMode": "AllowInternetOutbound", "fqdnRules": []}
            }
        },
        f"{MN}.fqdnRules",
        "only with azureml-dask:workspace.managedNetwork.isolationMode = AllowOnlyApprovedOutbound",
    ),
    (
        "service-tag-rules-when-disabled",
        {
            "workspace": {
                "managedNetwork": {
                    "serviceTagRules": [{"name": "datafactory", "serviceTag": "DataFactory"}]
                }
            }
        },
        f"{MN}.serviceTagRules",
        "(it is 'Disabled'); remove the key",
    ),
    (
        "firewall-without-fqdn-rules",
        {
            "workspace": {
                "managedNetwork": {
                    "isolationMode": "AllowOnlyApprovedOutbound",
                    "fqdnRules": [],
                    "firewallSku": "Basic",
                }
            },
            "containerRegistry": {"skuName": "Premium"},
        },
        f"{MN}.firewallSku",
        "there are no fqdnRules, so Azure deploys no firewall",
    ),
    (
        "fqdn-rule-with-scheme",
        {"workspace": {"managedNetwork": {"fqdnRules": ["https://pypi.org"]}}},
        f"{MN}.fqdnRules[0] = 'https://pypi.org'",
        "without scheme, port or path",
    ),
    (
        "fqdn-rule-with-port",
        {"workspace": {"managedNetwork": {"fqdnRules": ["pypi.org:8443"]}}},
        f"{MN}.fqdnRules[0] = 'pypi.org:8443'",
        "FQDN rules allow ports 80 and 443 only",
    ),
    (
        "fqdn-rule-to-storage",
        {"workspace": {"managedNetwork": {"fqdnRules": ["*.blob.core.windows.net"]}}},
        f"{MN}.fqdnRules[0] = '*.blob.core.windows.net'",
        "storage needs a private endpoint rule",
    ),
    (
        "approved-outbound-with-basic-registry",
        {"workspace": {"managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}},
        f"{PROJECT}:containerRegistry.skuName = 'Basic'",
        "AllowOnlyApprovedOutbound needs Premium",
    ),
    (
        "managed-network-with-restricted-compute-subnet",
        {
            "workspace": {"managedNetwork": {"isolationMode": "AllowInternetOutbound"}},
            "virtualNetwork": {"restrictOutboundInternet": True},
        },
        f"{PROJECT}:virtualNetwork.restrictOutboundInternet = true",
        "no compute subnet exists",
    ),
    (
        "service-tag-rule-named-like-the-stacks-own",
        {
            "workspace": {
                "managedNetwork": {
                    "isolationMode": "AllowOnlyApprovedOutbound",
                    "serviceTagRules": [{"name": "data-lake-dfs", "serviceTag": "Storage"}],
                }
            },
            "containerRegistry": {"skuName": "Premium"},
        },
        f"{MN}.serviceTagRules[0].name = 'data-lake-dfs'",
        "are the stack's own rules",
    ),
    (
        "service-tag-rule-bad-ports",
        {
            "workspace": {
                "managedNetwork": {
                    "isolationMode": "AllowOnlyApprovedOutbound",
                    "serviceTagRules": [
                        {"name": "df", "serviceTag": "DataFactory", "portRanges": "any"}
                    ],
                }
            }
        },
        f"{MN}.serviceTagRules[0].portRanges = 'any'",
        "ports and ranges separated by commas",
    ),
]


@pytest.mark.parametrize(
    ("settings", "key", "allowed"),
    [c[1:] for c in BAD_MANAGED_NETWORK],
    ids=[c[0] for c in BAD_MANAGED_NETWORK],
)
def test_combinations_azure_rejects_are_settings_errors(
    settings: dict[str, Any], key: str, allowed: str
) -> None:
    records: list[ResourceRecord] = []
    with pytest.raises(SettingsError) as err:
        run_config("dev", raw(**settings), records=records)
    assert key in str(err.value)
    assert allowed in str(err.value)
    assert records == []  # rejected before anything is declared
