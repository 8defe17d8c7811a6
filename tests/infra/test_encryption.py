"""Customer-managed keys (off in every committed stack, on in a copy of prod) and secret expiry."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.access import ROLES, role_name_for_definition_id
from infra.encryption import KEY_NAME
from infra.settings import PROJECT, Settings, SettingsError
from infra.workspace import WORKSPACE_REPLACE_ON_CHANGES
from plan.diff import diff_plans
from plan.offline import ResourceRecord, StackRun, load_stack_config, run_config, run_stack
from plan.stack_plan import build_plan

KEY = "azure-native:keyvault:Key"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
STORAGE = "azure-native:storage:StorageAccount"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
ENCRYPTION_ROLE = "Key Vault Crypto Service Encryption User"


def prod_config(**overrides: Any) -> tuple[dict[str, str], list[str]]:
    """`Pulumi.prod.yaml` as the CLI passes it, with sections replaced by `overrides`."""
    config, secret_keys = load_stack_config("prod")
    for key, value in overrides.items():
        config[f"{PROJECT}:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return config, secret_keys


@functools.cache
def prod_with_keys() -> StackRun:
    """A copy of prod with customer-managed keys on (prod already has purge protection)."""
    config, secret_keys = prod_config(encryption={"customerManagedKeys": True})
    return run_config("prod", config, secret_keys)


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# --------------------------------------------------------------------------------------
# Off: the committed stacks keep Microsoft-managed keys
# --------------------------------------------------------------------------------------


def test_committed_stacks_keep_microsoft_managed_keys(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    assert stack_settings.encryption.customer_managed_keys is False
    assert stack_run.by_type(KEY) == []
    assert [r.name for r in stack_run.by_type(IDENTITY)] == ["compute-identity"]
    workspace = stack_run.one(WORKSPACE)
    assert "encryption" not in workspace.inputs
    assert workspace.inputs["identity"] == {"type": "SystemAssigned"}
    for account in stack_run.by_type(STORAGE):
        # Microsoft's keys: no encryption block, or one for infrastructure encryption only.
        assert account.inputs.get("encryption", {}).get("keySource", "Microsoft.Storage") == (
            "Microsoft.Storage"
        )
        assert "identity" not in account.inputs
    assert stack_run.outputs["customerManagedKeyId"] == ""


def test_the_workspace_is_re_created_when_its_encryption_changes(stack_run: StackRun) -> None:
    # Registered on every workspace, so turning keys on later shows (and is) a replacement.
    assert stack_run.one(WORKSPACE).replace_on_changes == WORKSPACE_REPLACE_ON_CHANGES


# --------------------------------------------------------------------------------------
# On: a copy of prod
# --------------------------------------------------------------------------------------


def test_the_key_is_rsa_with_a_rotation_policy_in_the_stack_vault() -> None:
    run = prod_with_keys()
    key = run.one(KEY)
    vault = run.one(VAULT)
    assert key.inputs["keyName"] == KEY_NAME
    assert key.inputs["vaultName"] == vault.inputs["vaultName"]
    assert vault.urn in key.dependencies
    assert key.protect  # prod is protected; losing the key loses the data
    properties = key.inputs["properties"]
    assert properties["kty"] == "RSA"
    assert properties["keySize"] == 3072
    assert "keyOps" not in properties  # the role limits use to read, wrap, unwrap
    policy = properties["rotationPolicy"]
    assert policy["attributes"] == {"expiryTime": "P730D"}
    actions = {a["action"]["type"]: a["trigger"] for a in policy["lifetimeActions"]}
    assert actions == {
        "rotate": {"timeAfterCreate": "P365D"},
        "notify": {"timeBeforeExpiry": "P30D"},
    }


def test_the_encryption_identity_holds_the_crypto_role_on_the_vault() -> None:
    run = prod_with_keys()
    (identity,) = [r for r in run.by_type(IDENTITY) if r.name == "encryption-identity"]
    assert identity.inputs["resourceName"] == "id-amldask-prod-encryption"
    grants = [
        r
        for r in run.by_type(ROLE)
        if role_name_for_definition_id(r.inputs["roleDefinitionId"]) == ENCRYPTION_ROLE
    ]
    (grant,) = grants
    assert grant.inputs["roleDefinitionId"].endswith("/e147488a-f6f5-4113-8e2d-b22465e65bf6")
    assert ROLES[ENCRYPTION_ROLE] == "e147488a-f6f5-4113-8e2d-b22465e65bf6"
    assert grant.inputs["scope"] == run.one(VAULT).id
    assert grant.inputs["principalId"] == identity.outputs["principalId"]
    assert grant.inputs["principalType"] == "ServicePrincipal"


def test_the_workspace_is_encrypted_with_the_key_as_the_identity() -> None:
    run = prod_with_keys()
    workspace, key, vault = run.one(WORKSPACE), run.one(KEY), run.one(VAULT)
    (identity,) = [r for r in run.by_type(IDENTITY) if r.name == "encryption-identity"]
    encryption = workspace.inputs["encryption"]
    assert encryption["status"] == "Enabled"
    assert encryption["identity"] == {"userAssignedIdentity": identity.id}
    assert encryption["keyVaultProperties"] == {
        "keyVaultArmId": vault.id,
        "keyIdentifier": key.outputs["keyUriWithVersion"],
        "identityClientId": identity.outputs["clientId"],
    }
    assert encryption["keyVaultProperties"]["keyIdentifier"].startswith(
        f"https://{vault.inputs['vaultName']}.vault.azure.net/keys/{KEY_NAME}/"
    )
    # The system identity stays (Azure ML's own grants); the key's identity is added.
    assert workspace.inputs["identity"] == {
        "type": "SystemAssigned,UserAssigned",
        "userAssignedIdentities": [identity.id],
    }


def test_the_data_lake_is_encrypted_with_the_same_key_and_only_the_lake() -> None:
    run = prod_with_keys()
    lake = run.one(STORAGE, "data-lake")
    vault = run.one(VAULT)
    (identity,) = [r for r in run.by_type(IDENTITY) if r.name == "encryption-identity"]
    assert lake.inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [identity.id],
    }
    encryption = lake.inputs["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault"
    # No key version: Storage follows the key's newest version after each rotation.
    assert encryption["keyVaultProperties"] == {
        "keyName": KEY_NAME,
        "keyVaultUri": vault.outputs["properties"]["vaultUri"],
    }
    assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": identity.id}
    assert encryption["services"]["blob"] == {"enabled": True, "keyType": "Account"}
    # prod also asks for infrastructure (double) encryption; the key does not drop it.
    assert encryption["requireInfrastructureEncryption"] is True
    workspace_storage = run.one(STORAGE, "workspace-storage").inputs
    assert workspace_storage["encryption"] == {
        "keySource": "Microsoft.Storage",
        "requireInfrastructureEncryption": True,
    }


@pytest.mark.parametrize("name", ["workspace", "data-lake"])
def test_encrypted_resources_wait_for_the_key_and_the_grant(name: str) -> None:
    run = prod_with_keys()
    (resource,) = [r for r in run.resources if r.name == name and r.type in (WORKSPACE, STORAGE)]
    waits_for = {_name(u) for u in resource.dependencies}
    assert {
        "customer-managed-key",
        "encryption-identity-key-vault-crypto-service-encryption-user",
    } <= (waits_for)


def test_the_key_id_is_an_output() -> None:
    run = prod_with_keys()
    key = run.one(KEY)
    assert run.outputs["customerManagedKeyId"] == key.outputs["keyUri"]
    assert run.outputs["customerManagedKeyId"].endswith(f"/keys/{KEY_NAME}")
    assert run.outputs["outputsContractVersion"] == "3"


def test_key_size_and_rotation_come_from_settings() -> None:
    config, secret_keys = prod_config(
        encryption={"customerManagedKeys": True, "keySize": 4096, "keyRotationDays": 90}
    )
    key = run_config("prod", config, secret_keys).one(KEY)
    assert key.inputs["properties"]["keySize"] == 4096
    policy = key.inputs["properties"]["rotationPolicy"]
    assert policy["attributes"]["expiryTime"] == "P180D"
    assert {"timeAfterCreate": "P90D"} in [a["trigger"] for a in policy["lifetimeActions"]]


# --------------------------------------------------------------------------------------
# Settings that cannot work
# --------------------------------------------------------------------------------------

BAD_ENCRYPTION: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "without-purge-protection",
        {"encryption": {"customerManagedKeys": True}, "keyVault": {"enablePurgeProtection": False}},
        [
            f"{PROJECT}:keyVault.enablePurgeProtection = false",
            f"{PROJECT}:encryption.customerManagedKeys = true needs purge protection",
        ],
    ),
    (
        "key-size",
        {"encryption": {"customerManagedKeys": True, "keySize": 1024}},
        [f"{PROJECT}:encryption.keySize = 1024", "must be one of 2048, 3072, 4096"],
    ),
    (
        "rotation-too-often",
        {"encryption": {"keyRotationDays": 7}},
        [f"{PROJECT}:encryption.keyRotationDays = 7", "from 30 to 730"],
    ),
    (
        "switch-not-boolean",
        {"encryption": {"customerManagedKeys": "yes"}},
        [f"{PROJECT}:encryption.customerManagedKeys = 'yes'", "true or false"],
    ),
    (
        "unknown-key",
        {"encryption": {"customerManagedKey": True}},
        [f"{PROJECT}:encryption.customerManagedKey is not a known setting"],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [c[1:] for c in BAD_ENCRYPTION],
    ids=[c[0] for c in BAD_ENCRYPTION],
)
def test_bad_encryption_settings_are_rejected_naming_the_key(
    overrides: dict[str, Any], expected: list[str]
) -> None:
    config, secret_keys = prod_config(**overrides)
    records: list[ResourceRecord] = []
    with pytest.raises(SettingsError) as err:
        run_config("prod", config, secret_keys, records=records)
    for text in expected:
        assert text in str(err.value)
    assert records == []


# --------------------------------------------------------------------------------------
# Secrets expire
# --------------------------------------------------------------------------------------


def _epoch(day: str) -> int:
    return int(datetime.fromisoformat(f"{day}T00:00:00+00:00").astimezone(UTC).timestamp())


def _every_secret_expires(run: StackRun) -> None:
    for secret in run.by_type(SECRET):
        properties = secret.inputs["properties"]
        expires = properties.get("attributes", {}).get("expires")
        assert isinstance(expires, int) and expires > 0, secret.name
        assert properties.get("contentType"), secret.name


def test_every_key_vault_secret_of_every_stack_expires(stack_run: StackRun) -> None:
    _every_secret_expires(stack_run)
    _every_secret_expires(prod_with_keys())


def test_the_secret_expires_with_the_generated_password(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    principal = stack_settings.service_principal
    if principal.mode != "create":
        pytest.skip(f"stack {stack_run.stack} does not create a service principal")
    secret = stack_run.one(SECRET)
    password = stack_run.one(PASSWORD)
    end = principal.password_end_date
    assert password.inputs["endDate"] == f"{end}T00:00:00Z"
    assert secret.inputs["properties"]["attributes"] == {"expires": _epoch(end)}
    client_id = stack_run.outputs["servicePrincipalClientId"]
    assert secret.inputs["properties"]["contentType"] == f"client secret of {client_id}"
    assert stack_run.outputs["servicePrincipalSecretExpiresOn"] == end


def test_an_existing_principal_s_secret_expires_on_its_stated_date() -> None:
    config, _ = prod_config(
        servicePrincipal={
            "mode": "existing",
            "clientId": "11111111-1111-1111-1111-111111111111",
            "objectId": "22222222-2222-2222-2222-222222222222",
            "passwordEndDate": "2026-12-31",
        },
        servicePrincipalClientSecret="s3cret",
    )
    secret_key = f"{PROJECT}:servicePrincipalClientSecret"
    run = run_config("prod", config, [secret_key])
    secret = run.one(SECRET)
    assert secret.inputs["properties"]["attributes"] == {"expires": _epoch("2026-12-31")}
    assert run.outputs["servicePrincipalSecretExpiresOn"] == "2026-12-31"


def test_stacks_without_a_principal_report_no_expiry(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    if stack_settings.service_principal.enabled:
        pytest.skip(f"stack {stack_run.stack} has a service principal")
    assert stack_run.by_type(SECRET) == []
    assert stack_run.outputs["servicePrincipalSecretExpiresOn"] == ""


def test_turning_keys_on_for_deployed_prod_re_creates_only_the_workspace() -> None:
    diff = diff_plans(build_plan(run_stack("prod")), build_plan(prod_with_keys()))
    assert [r.name for r in diff.destructive] == ["workspace"]
    assert diff.exit_code == 7
    changes = {r.name: r.action for r in diff.resources}
    assert changes["data-lake"] == "change"  # the lake switches to the key in place
    assert {"customer-managed-key", "encryption-identity"} <= {
        name for name, action in changes.items() if action == "add"
    }
