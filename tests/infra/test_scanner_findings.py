"""The scanner findings of issue #15 (checkov on prod), closed on every stack that needs it.

Each test reads what the real program registers for each stack file (`stack_run`), so a
property the scanner asks for is asserted where Azure would receive it. docs/security.md
has the table of checks, what each asks and what this project does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.container_registry import REGISTRY_REPLACE_ON_CHANGES
from infra.settings import PROJECT, Settings, SettingsError, parse_settings
from infra.storage_account import STORAGE_ACCOUNT_REPLACE_ON_CHANGES
from plan.diff import diff_plans
from plan.offline import StackRun, load_stack_config, run_config
from plan.stack_plan import build_plan

SA = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
ACR = "azure-native:containerregistry:Registry"
MLW = "azure-native:machinelearningservices:Workspace"
ACCOUNTS = ("workspace-storage", "data-lake")


def _account_settings(settings: Settings, name: str) -> Any:
    return settings.storage_account if name == "workspace-storage" else settings.data_lake


def test_no_local_users_on_either_account(stack_run: StackRun) -> None:
    # CKV_AZURE_244: SFTP local users are off, explicitly (Azure's default is not relied on).
    for name in ACCOUNTS:
        assert stack_run.one(SA, name).inputs["isLocalUserEnabled"] is False, name


def test_workspace_storage_has_blob_and_container_soft_delete(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    # CKV2_AZURE_38 on the workspace storage (the lake already had it).
    account = stack_settings.storage_account
    service = stack_run.one(BLOB_SERVICE, "workspace-storage-blob-service")
    assert service.inputs["accountName"] == account.name
    assert service.inputs["blobServicesName"] == "default"
    assert service.inputs["deleteRetentionPolicy"] == {
        "enabled": True,
        "days": account.delete_retention_days,
    }
    assert service.inputs["containerDeleteRetentionPolicy"] == {
        "enabled": True,
        "days": account.container_delete_retention_days,
    }


def test_every_account_with_shared_key_has_a_sas_expiration_policy(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    # CKV2_AZURE_41: the workspace storage keeps shared key on, so its key-signed SAS
    # tokens get an upper lifetime; the lake has no shared key, hence no SAS to limit.
    workspace_storage = stack_run.one(SA, "workspace-storage").inputs
    assert workspace_storage["allowSharedKeyAccess"] is True
    assert workspace_storage["sasPolicy"] == {
        "sasExpirationPeriod": stack_settings.storage_account.sas_expiration_period,
        "expirationAction": stack_settings.storage_account.sas_expiration_action,
    }
    lake = stack_run.one(SA, "data-lake").inputs
    assert lake["allowSharedKeyAccess"] is False
    assert "sasPolicy" not in lake


def test_the_workspace_reaches_its_storage_by_key_while_shared_key_is_on(
    stack_run: StackRun,
) -> None:
    # CKV2_AZURE_40 is justified, not fixed: the two settings must agree (identity mode
    # with shared key on would be pointless; key mode with shared key off would break).
    workspace = stack_run.one(MLW, "workspace").inputs
    assert workspace["systemDatastoresAuthMode"] == "AccessKey"
    assert stack_run.one(SA, "workspace-storage").inputs["allowSharedKeyAccess"] is True


def test_infrastructure_encryption_follows_the_settings_and_replaces_on_change(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    for name in ACCOUNTS:
        record = stack_run.one(SA, name)
        wanted = _account_settings(stack_settings, name).require_infrastructure_encryption
        if wanted:
            assert record.inputs["encryption"] == {
                "keySource": "Microsoft.Storage",
                "requireInfrastructureEncryption": True,
            }, name
        else:
            assert "encryption" not in record.inputs, name
        assert record.replace_on_changes == STORAGE_ACCOUNT_REPLACE_ON_CHANGES, name
        assert record.delete_before_replace is True, name


def test_registry_zone_redundancy_and_retention_follow_the_settings(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    registry = stack_run.one(ACR, "container-registry")
    wanted = stack_settings.container_registry
    assert registry.inputs["zoneRedundancy"] == wanted.zone_redundancy
    if wanted.retention_policy_days is None:
        assert "policies" not in registry.inputs
    else:
        assert registry.inputs["policies"] == {
            "retentionPolicy": {"status": "enabled", "days": wanted.retention_policy_days}
        }
    assert registry.replace_on_changes == REGISTRY_REPLACE_ON_CHANGES
    assert registry.delete_before_replace is True


def test_prod_closes_the_creation_only_findings(stack_run: StackRun) -> None:
    if stack_run.stack != "prod":
        pytest.skip("only the prod stack")
    # CKV_AZURE_233, CKV_AZURE_167, and double encryption on both accounts.
    registry = stack_run.one(ACR, "container-registry").inputs
    assert registry["sku"] == {"name": "Premium"}
    assert registry["zoneRedundancy"] == "Enabled"
    assert registry["policies"]["retentionPolicy"] == {"status": "enabled", "days": 30}
    for name in ACCOUNTS:
        encryption = stack_run.one(SA, name).inputs["encryption"]
        assert encryption["requireInfrastructureEncryption"] is True, name


def test_dev_stays_public_and_fails_the_checks_it_fails_on_purpose(stack_run: StackRun) -> None:
    if stack_run.stack != "dev":
        pytest.skip("only the dev stack")
    # What docs/security.md lists as dev's deliberate failures.
    for name in ACCOUNTS:
        account = stack_run.one(SA, name).inputs
        assert account["publicNetworkAccess"] == "Enabled", name
        assert "networkRuleSet" not in account, name
        assert "encryption" not in account, name
    registry = stack_run.one(ACR, "container-registry").inputs
    assert registry["sku"] == {"name": "Basic"}
    assert registry["publicNetworkAccess"] == "Enabled"
    assert registry["zoneRedundancy"] == "Disabled"
    assert "policies" not in registry
    assert stack_run.one(MLW, "workspace").inputs["publicNetworkAccess"] == "Enabled"


def test_turning_prod_double_encryption_off_is_a_destructive_plan_change() -> None:
    config, secret_keys = load_stack_config("prod")
    lake = json.loads(config[f"{PROJECT}:dataLake"])
    registry = json.loads(config[f"{PROJECT}:containerRegistry"])
    changed = {
        **config,
        f"{PROJECT}:dataLake": json.dumps({**lake, "requireInfrastructureEncryption": False}),
        f"{PROJECT}:containerRegistry": json.dumps({**registry, "zoneRedundancy": "Disabled"}),
    }
    before = build_plan(run_config("prod", config, secret_keys))
    after = build_plan(run_config("prod", changed, secret_keys))
    diff = diff_plans(before, after, "prod", "prod with the creation-only settings off")
    destructive = {change.name: change for change in diff.destructive}
    assert set(destructive) == {"data-lake", "container-registry"}
    assert destructive["data-lake"].replaced_by == ["encryption.requireInfrastructureEncryption"]
    assert destructive["data-lake"].protected is True
    assert destructive["container-registry"].replaced_by == ["zoneRedundancy"]


BASE: dict[str, Any] = {"location": "westeurope", "tags": {"owner": "o", "costCenter": "c"}}

BAD_SETTINGS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "zone-redundant-basic-registry",
        {"containerRegistry": {"zoneRedundancy": "Enabled"}},
        f"{PROJECT}:containerRegistry.zoneRedundancy = 'Enabled'",
        f"needs {PROJECT}:containerRegistry.skuName Premium (it is Basic)",
    ),
    (
        "retention-on-a-standard-registry",
        {"containerRegistry": {"skuName": "Standard", "retentionPolicyDays": 7}},
        f"{PROJECT}:containerRegistry.retentionPolicyDays = 7",
        "only Premium registries have a retention policy",
    ),
    (
        "retention-over-a-year",
        {"containerRegistry": {"skuName": "Premium", "retentionPolicyDays": 366}},
        f"{PROJECT}:containerRegistry.retentionPolicyDays = 366",
        "a whole number from 0 to 365",
    ),
    (
        "zone-redundancy-misspelt",
        {"containerRegistry": {"skuName": "Premium", "zoneRedundancy": "enabled"}},
        f"{PROJECT}:containerRegistry.zoneRedundancy = 'enabled'",
        "allowed values are Enabled, Disabled",
    ),
    (
        "sas-period-not-dd-hh-mm-ss",
        {"storageAccount": {"sasExpirationPeriod": "24:00:00"}},
        f"{PROJECT}:storageAccount.sasExpirationPeriod = '24:00:00'",
        "DD.HH:MM:SS",
    ),
    (
        "sas-period-zero",
        {"storageAccount": {"sasExpirationPeriod": "0.00:00:00"}},
        f"{PROJECT}:storageAccount.sasExpirationPeriod = '0.00:00:00'",
        "must be longer than zero",
    ),
    (
        "sas-action-unknown",
        {"storageAccount": {"sasExpirationAction": "Deny"}},
        f"{PROJECT}:storageAccount.sasExpirationAction = 'Deny'",
        "allowed values are Log, Block",
    ),
    (
        "double-encryption-not-boolean",
        {"dataLake": {"requireInfrastructureEncryption": "yes"}},
        f"{PROJECT}:dataLake.requireInfrastructureEncryption = 'yes'",
        "must be true or false",
    ),
]


def _raw(settings: dict[str, Any]) -> dict[str, str]:
    merged = {**BASE, **settings}
    return {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}


@pytest.mark.parametrize(
    ("settings", "key", "allowed"),
    [c[1:] for c in BAD_SETTINGS],
    ids=[c[0] for c in BAD_SETTINGS],
)
def test_bad_scanner_settings_are_rejected_naming_the_key(
    settings: dict[str, Any], key: str, allowed: str
) -> None:
    with pytest.raises(SettingsError) as err:
        parse_settings(_raw(settings), "dev")
    assert key in str(err.value)
    assert allowed in str(err.value)


def test_the_scanner_settings_default_to_off_where_they_cost_or_replace() -> None:
    s = parse_settings(_raw({}), "dev")
    assert s.storage_account.require_infrastructure_encryption is False
    assert s.data_lake.require_infrastructure_encryption is False
    assert s.container_registry.zone_redundancy == "Disabled"
    assert s.container_registry.retention_policy_days is None
    assert (s.storage_account.sas_expiration_period, s.storage_account.sas_expiration_action) == (
        "1.00:00:00",
        "Log",
    )
