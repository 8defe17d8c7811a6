"""Stack settings: defaults, and a clear error naming the key for every bad value."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from infra.settings import (
    PROJECT,
    Settings,
    SettingsError,
    datastore_name,
    parse_settings,
)
from plan.offline import ResourceRecord, run_config

BASE: dict[str, Any] = {
    "location": "westeurope",
    "tags": {"owner": "data-platform", "costCenter": "cc-1"},
}


def raw(**settings: Any) -> dict[str, str]:
    """Config as the Pulumi CLI hands it over: namespaced keys, JSON for non-strings."""
    merged = {**BASE, **settings}
    return {
        f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v)
        for k, v in merged.items()
        if v is not None
    }


def parse(stack: str = "dev", secret_keys: tuple[str, ...] = (), **settings: Any) -> Settings:
    return parse_settings(raw(**settings), stack, secret_keys=secret_keys)


def test_defaults_are_small_cheap_and_valid() -> None:
    s = parse()
    assert s.location == "westeurope"
    assert s.environment == "dev"
    assert s.tags == {"owner": "data-platform", "costCenter": "cc-1", "environment": "dev"}
    assert s.protect is False
    assert s.data_lake.filesystems == ("fs1",)
    assert s.key_vault.enable_purge_protection is False
    assert s.container_registry.sku_name == "Basic"
    assert s.compute_clusters == ()
    assert not s.service_principal.enabled


def test_settings_are_frozen() -> None:
    s = parse()
    with pytest.raises(AttributeError):
        s.location = "eastus"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as err:
        parse(location="West Europe", namePrefix="Bad_Prefix", protect="maybe")
    assert len(err.value.problems) == 3


def test_config_of_other_namespaces_is_left_alone() -> None:
    config = {**raw(), "azure-native:location": "westeurope"}
    assert parse_settings(config, "dev").location == "westeurope"


def test_filesystem_names_map_to_valid_datastore_names() -> None:
    assert datastore_name("raw-data") == "raw_data"
    s = parse(dataLake={"filesystems": ["fs1", "raw-data"]})
    assert s.datastore_names == ("fs1", "raw_data")


# (settings, the key the error must name, a fragment saying what is allowed)
BAD_STACK_CORE: list[tuple[dict[str, Any], str, str]] = [
    ({"location": None}, f"{PROJECT}:location is required", "region"),
    ({"location": "West Europe"}, f"{PROJECT}:location = 'West Europe'", "lowercase"),
    ({"namePrefix": "Aml_Dask"}, f"{PROJECT}:namePrefix = 'Aml_Dask'", "lowercase"),
    ({"namePrefix": "averyverylongprefix"}, f"{PROJECT}:namePrefix", "2-10"),
    ({"environment": "production1"}, f"{PROJECT}:environment = 'production1'", "2-8"),
    ({"nameSuffix": "ABC"}, f"{PROJECT}:nameSuffix = 'ABC'", "4-6 lowercase"),
    ({"protect": "yes"}, f"{PROJECT}:protect = 'yes'", "true or false"),
    ({"tags": "owner=me"}, f"{PROJECT}:tags", "must be an object"),
    ({"tags": {"owner": "me"}}, f"{PROJECT}:tags.costCenter is required", "every resource"),
    (
        {"tags": {"owner": "me", "costCenter": "1", "environment": "prod"}},
        f"{PROJECT}:tags.environment = 'prod'",
        "must equal",
    ),
    ({"tags": {"owner": "", "costCenter": "1"}}, f"{PROJECT}:tags.owner", "1-256"),
    ({"tags": {"owner": "me", "costCenter": 1234}}, f"{PROJECT}:tags.costCenter = 1234", "quote"),
    ({"tags": {"owner": "me", "costCenter": "1", "a/b": "x"}}, f"{PROJECT}:tags.a/b", "< > %"),
    ({"locaton": "westeurope"}, f"{PROJECT}:locaton is not a known setting", "known here"),
    (
        {"virtualNetwork": {"addressPrefixes": ["10.0.0.0/33"]}},
        f"{PROJECT}:virtualNetwork.addressPrefixes[0] = '10.0.0.0/33'",
        "CIDR",
    ),
    (
        {"virtualNetwork": {"addressPrefixes": ["10.0.0.1/16"]}},
        f"{PROJECT}:virtualNetwork.addressPrefixes[0] = '10.0.0.1/16'",
        "no host bits",
    ),
    (
        {"virtualNetwork": {"addressPrefixes": ["10.0.0.0/16", "10.0.128.0/17"]}},
        f"{PROJECT}:virtualNetwork.addressPrefixes",
        "overlap",
    ),
    (
        {"virtualNetwork": {"addressPrefixes": []}},
        f"{PROJECT}:virtualNetwork.addressPrefixes",
        "at least 1",
    ),
    (
        {"virtualNetwork": {"computeSubnetAddressPrefix": "10.99.0.0/24"}},
        f"{PROJECT}:virtualNetwork.computeSubnetAddressPrefix = '10.99.0.0/24'",
        "inside the address space",
    ),
    (
        {"virtualNetwork": {"privateEndpointSubnetAddressPrefix": "10.40.2.0/24"}},
        f"{PROJECT}:virtualNetwork.privateEndpointSubnetAddressPrefix = '10.40.2.0/24'",
        "overlaps the compute subnet",
    ),
    (
        {"virtualNetwork": {"computeSubnetAddressPrefix": "10.40.0.0/30"}},
        f"{PROJECT}:virtualNetwork.computeSubnetAddressPrefix",
        "/29 or larger",
    ),
    (
        {"virtualNetwork": {"subnets": []}},
        f"{PROJECT}:virtualNetwork.subnets is not a known setting",
        "addressPrefixes",
    ),
    (
        {"storageAccount": {"skuName": "Premium_LRS"}},
        f"{PROJECT}:storageAccount.skuName = 'Premium_LRS'",
        "Standard_ZRS",
    ),
    (
        {"dataLake": {"skuName": "Standard_XYZ"}},
        f"{PROJECT}:dataLake.skuName = 'Standard_XYZ'",
        "Standard_GZRS",
    ),
    (
        {"dataLake": {"filesystems": ["FS1"]}},
        f"{PROJECT}:dataLake.filesystems[0] = 'FS1'",
        "lowercase",
    ),
    ({"dataLake": {"filesystems": ["ab"]}}, f"{PROJECT}:dataLake.filesystems[0] = 'ab'", "3-63"),
    (
        {"dataLake": {"filesystems": ["a--b"]}},
        f"{PROJECT}:dataLake.filesystems[0] = 'a--b'",
        "single hyphens",
    ),
    (
        {"dataLake": {"filesystems": ["-abc"]}},
        f"{PROJECT}:dataLake.filesystems[0] = '-abc'",
        "starting and ending",
    ),
    ({"dataLake": {"filesystems": []}}, f"{PROJECT}:dataLake.filesystems", "at least 1"),
    (
        {"dataLake": {"filesystems": ["fs1", "fs1"]}},
        f"{PROJECT}:dataLake.filesystems",
        "twice",
    ),
    (
        {"dataLake": {"filesystems": ["workspaceblobstore"]}},
        f"{PROJECT}:dataLake.filesystems = 'workspaceblobstore'",
        "reserved",
    ),
    (
        {"dataLake": {"deleteRetentionDays": 0}},
        f"{PROJECT}:dataLake.deleteRetentionDays = 0",
        "1 to 365",
    ),
    (
        {"keyVault": {"softDeleteRetentionInDays": 3}},
        f"{PROJECT}:keyVault.softDeleteRetentionInDays = 3",
        "7 to 90",
    ),
    (
        {"keyVault": {"enablePurgeProtection": "sometimes"}},
        f"{PROJECT}:keyVault.enablePurgeProtection",
        "true or false",
    ),
    (
        {"containerRegistry": {"skuName": "Gold"}},
        f"{PROJECT}:containerRegistry.skuName = 'Gold'",
        "Premium",
    ),
    (
        {"logAnalytics": {"retentionInDays": 7}},
        f"{PROJECT}:logAnalytics.retentionInDays = 7",
        "30 to 730",
    ),
    (
        {"workspace": {"publicNetworkAccess": "Open"}},
        f"{PROJECT}:workspace.publicNetworkAccess = 'Open'",
        "Enabled, Disabled",
    ),
    (
        {"storageAccount": {"name": "St-Account"}},
        f"{PROJECT}:storageAccount.name = 'St-Account'",
        "3-24 lowercase",
    ),
    (
        {"keyVault": {"name": "1vault"}},
        f"{PROJECT}:keyVault.name = '1vault'",
        "starting with a letter",
    ),
    (
        {"containerRegistry": {"name": "cr-1"}},
        f"{PROJECT}:containerRegistry.name = 'cr-1'",
        "5-50 letters and digits",
    ),
    (
        {"workspace": {"name": "w" * 34}},
        f"{PROJECT}:workspace.name",
        "3-33",
    ),
    (
        {"namePrefix": "abcdefghij", "environment": "abcdefgh"},
        f"{PROJECT}:keyVault.name = 'kv-abcdefghij-abcdefgh-",
        f"shorten {PROJECT}:namePrefix",
    ),
    (
        {"dataLake": {"name": "sameaccount"}, "storageAccount": {"name": "sameaccount"}},
        f"{PROJECT}:dataLake.name = 'sameaccount'",
        "must differ",
    ),
]


@pytest.mark.parametrize(
    ("settings", "key", "allowed"), BAD_STACK_CORE, ids=[c[1] for c in BAD_STACK_CORE]
)
def test_bad_stack_core_settings_name_the_key(
    settings: dict[str, Any], key: str, allowed: str
) -> None:
    with pytest.raises(SettingsError) as err:
        parse(**settings)
    message = str(err.value)
    assert key in message
    assert allowed in message


def test_stack_core_table_is_large_enough() -> None:
    assert len(BAD_STACK_CORE) >= 15


def test_bad_settings_fail_before_any_resource_is_declared() -> None:
    records: list[ResourceRecord] = []
    with pytest.raises(SettingsError, match=f"{PROJECT}:location"):
        run_config("dev", raw(location="Not A Region"), records=records)
    assert records == []


def test_read_settings_reads_the_pulumi_config_of_the_run() -> None:
    run = run_config("stage", raw(environment="stage", namePrefix="team"))
    assert run.outputs["resourceGroupName"] == "rg-team-stage"


def test_secret_placeholder_is_a_pulumi_secret() -> None:
    s = parse(
        secret_keys=(f"{PROJECT}:servicePrincipalClientSecret",),
        servicePrincipal={
            "mode": "existing",
            "clientId": "11111111-1111-1111-1111-111111111111",
            "objectId": "22222222-2222-2222-2222-222222222222",
            "passwordEndDate": "2027-06-30",
        },
        servicePrincipalClientSecret="s3cret",
    )
    assert isinstance(s.service_principal.client_secret, pulumi.Output)


CLUSTER = {"name": "cpu", "vmSize": "Standard_D4s_v5"}
INSTANCE = {
    "name": "ci-me",
    "vmSize": "Standard_DS3_v2",
    "assignedUserObjectId": "11111111-2222-3333-4444-555555555555",
}
GUID = "11111111-1111-1111-1111-111111111111"
SECRET_KEY = f"{PROJECT}:servicePrincipalClientSecret"


def cluster(**overrides: Any) -> dict[str, Any]:
    return {"computeClusters": [{**CLUSTER, **overrides}]}


def instance(**overrides: Any) -> dict[str, Any]:
    return {"computeInstances": [{**INSTANCE, **overrides}]}


BAD_COMPUTE_ACCESS: list[tuple[dict[str, Any], str, str]] = [
    ({"computeClusters": {"name": "cpu"}}, f"{PROJECT}:computeClusters", "list of objects"),
    ({"computeClusters": ["cpu"]}, f"{PROJECT}:computeClusters[0] = 'cpu'", "object"),
    (
        {"computeClusters": [{"vmSize": "Standard_D4s_v5"}]},
        "computeClusters[0].name is required",
        "2-16",
    ),
    (cluster(name="1cpu"), "computeClusters[0].name = '1cpu'", "starting with a letter"),
    (cluster(name="c"), "computeClusters[0].name = 'c'", "2-16"),
    (cluster(name="a" * 17), "computeClusters[0].name", "2-16"),
    (cluster(name="cpu_cluster"), "computeClusters[0].name = 'cpu_cluster'", "hyphens"),
    (cluster(vmSize="D4s_v5"), "computeClusters[0].vmSize = 'D4s_v5'", "Azure VM size"),
    (cluster(vmSize="Standard D4"), "computeClusters[0].vmSize = 'Standard D4'", "VM size"),
    (cluster(minNodes=5, maxNodes=2), "computeClusters[0].minNodes = 5", "maxNodes (2)"),
    (cluster(maxNodes=101), "computeClusters[0].maxNodes = 101", "1 to 100"),
    (cluster(maxNodes=0), "computeClusters[0].maxNodes = 0", "1 to 100"),
    (cluster(minNodes=-1), "computeClusters[0].minNodes = -1", "0 to 100"),
    (
        cluster(idleSecondsBeforeScaleDown=59),
        "computeClusters[0].idleSecondsBeforeScaleDown = 59",
        "60 to",
    ),
    (cluster(vmPriority="Spot"), "computeClusters[0].vmPriority = 'Spot'", "LowPriority"),
    (cluster(gpu=True), "computeClusters[0].gpu is not a known setting", "vmSize"),
    (
        {"computeClusters": [CLUSTER, {**CLUSTER, "name": "CPU"}]},
        "computeClusters[1].name = 'CPU'",
        "unique",
    ),
    ({"computeInstances": [{}]}, "computeInstances[0].name is required", "3-24"),
    (instance(name="ci"), "computeInstances[0].name = 'ci'", "3-24"),
    (instance(vmSize="large"), "computeInstances[0].vmSize = 'large'", "VM size"),
    (
        instance(assignedUserObjectId="me@example.com"),
        "computeInstances[0].assignedUserObjectId = 'me@example.com'",
        "GUID",
    ),
    (
        instance(idleMinutesBeforeShutdown=10),
        "computeInstances[0].idleMinutesBeforeShutdown = 10",
        "15 to 4320",
    ),
    (
        {**cluster(name="shared"), **instance(name="shared")},
        f"{PROJECT}:computeInstances",
        "already compute clusters",
    ),
    (
        {"computeInstances": [INSTANCE, INSTANCE]},
        "computeInstances[1].name = 'ci-me'",
        "unique",
    ),
    ({"servicePrincipal": {"mode": "auto"}}, "servicePrincipal.mode = 'auto'", "none, create"),
    (
        {
            "servicePrincipal": {
                "mode": "create",
                "passwordEndDate": "2027-01-01",
                "workspaceRole": "Owner",
            }
        },
        "servicePrincipal.workspaceRole = 'Owner'",
        "AzureML Data Scientist",
    ),
    (
        {"servicePrincipal": {"mode": "create"}},
        "servicePrincipal.passwordEndDate is required",
        "YYYY-MM-DD",
    ),
    (
        {"servicePrincipal": {"mode": "create", "passwordEndDate": "2027-13-01"}},
        "servicePrincipal.passwordEndDate = '2027-13-01'",
        "YYYY-MM-DD",
    ),
    (
        {"servicePrincipal": {"mode": "create", "passwordEndDate": "2027-01-01", "clientId": GUID}},
        "servicePrincipal.clientId is not a known setting",
        "passwordEndDate",
    ),
    (
        {"servicePrincipal": {"mode": "existing", "objectId": GUID}},
        "servicePrincipal.clientId is required",
        "client) id",
    ),
    (
        # The key vault secret must expire with the client secret: its end date is needed.
        {
            "servicePrincipal": {"mode": "existing", "clientId": GUID, "objectId": GUID},
            "servicePrincipalClientSecret": "s",
        },
        "servicePrincipal.passwordEndDate is required",
        "YYYY-MM-DD",
    ),
    (
        {"servicePrincipal": {"mode": "existing", "clientId": GUID, "objectId": "sp-1"}},
        "servicePrincipal.objectId = 'sp-1'",
        "GUID",
    ),
    (
        {"servicePrincipal": {"mode": "existing", "clientId": GUID, "objectId": GUID}},
        f"{SECRET_KEY} is required when",
        "pulumi config set --secret",
    ),
    (
        {
            "servicePrincipal": {"mode": "existing", "clientId": GUID, "objectId": GUID},
            "servicePrincipalClientSecret": "plain",
        },
        f"{SECRET_KEY} is stored in plain text",
        "--secret",
    ),
    (
        {"servicePrincipal": {"mode": "none", "displayName": "x"}},
        "servicePrincipal.displayName is not a known setting",
        "mode",
    ),
    (
        {"groups": {"dataScientists": ["not-a-guid"]}},
        "groups.dataScientists[0] = 'not-a-guid'",
        "GUID",
    ),
    ({"groups": {"readers": [GUID, GUID]}}, "groups.readers", "twice"),
    ({"groups": {"readers": GUID}}, "groups.readers", "list of strings"),
    ({"groups": {"admins": [GUID]}}, "groups.admins is not a known setting", "dataScientists"),
]


@pytest.mark.parametrize(
    ("settings", "key", "allowed"), BAD_COMPUTE_ACCESS, ids=[c[1] for c in BAD_COMPUTE_ACCESS]
)
def test_bad_compute_and_access_settings_name_the_key(
    settings: dict[str, Any], key: str, allowed: str
) -> None:
    with pytest.raises(SettingsError) as err:
        parse(**settings)
    message = str(err.value)
    assert key in message
    assert allowed in message


@pytest.mark.parametrize("mode", ["none", "create"])
def test_client_secret_only_with_an_existing_principal(mode: str) -> None:
    extra = {"passwordEndDate": "2027-01-01"} if mode == "create" else {}
    with pytest.raises(SettingsError, match=SECRET_KEY):
        parse(
            secret_keys=(SECRET_KEY,),
            servicePrincipal={"mode": mode, **extra},
            servicePrincipalClientSecret="s3cret",
        )


def test_compute_settings_and_iso_durations() -> None:
    s = parse(**cluster(idleSecondsBeforeScaleDown=300), **instance(idleMinutesBeforeShutdown=45))
    [c] = s.compute_clusters
    assert (c.min_nodes, c.max_nodes, c.vm_priority) == (0, 4, "Dedicated")
    assert c.node_idle_time_before_scale_down == "PT300S"
    assert s.compute_instances[0].idle_time_before_shutdown == "PT45M"


def test_readme_documents_every_setting_and_only_real_ones() -> None:
    from infra.settings import setting_keys
    from plan.offline import REPO_ROOT

    section = (REPO_ROOT / "docs" / "settings.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.M))
    known = set(setting_keys())
    leaves = {k for k in known if not any(o.startswith((f"{k}.", f"{k}[")) for o in known)}
    assert leaves - documented == set(), "settings missing from the README"
    assert documented - known == set(), "README documents settings that do not exist"


def test_settings_page_table_is_generated_from_the_models() -> None:
    from infra.settings.reference import markdown_table
    from plan.offline import REPO_ROOT

    page = (REPO_ROOT / "docs" / "settings.md").read_text()
    assert markdown_table() in page, "regenerate with `python -m infra.settings`"
