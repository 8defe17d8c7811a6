"""Issue #15's end state: prod with a managed network that allows only approved outbound
traffic AND customer-managed keys, planned offline by the real program.

Each capability has its own tests (test_managed_network.py, test_encryption.py); this one
checks they hold together: the pack and the deployability rules pass, and every resource
both features need is declared, wired to the same key and the same lake.
"""

from __future__ import annotations

import functools
import json

from pulumi_policy import StackValidationPolicy

from infra.access import role_name_for_definition_id
from infra.settings import PROJECT
from plan.offline import StackRun, load_stack_config, run_config
from policy.pack import POLICIES
from tests.policy.captured import resource_args, stack_args, violations

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
STORAGE = "azure-native:storage:StorageAccount"
KEY = "azure-native:keyvault:Key"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
ROLE = "azure-native:authorization:RoleAssignment"


@functools.cache
def isolated_and_encrypted() -> StackRun:
    config, secret_keys = load_stack_config("prod")
    workspace = json.loads(config.get(f"{PROJECT}:workspace", "{}"))
    workspace["managedNetwork"] = {"isolationMode": "AllowOnlyApprovedOutbound"}
    config[f"{PROJECT}:workspace"] = json.dumps(workspace)
    config[f"{PROJECT}:encryption"] = json.dumps({"customerManagedKeys": True})
    return run_config("prod", config, secret_keys)


def test_the_policy_pack_and_the_deployability_rules_pass() -> None:
    run = isolated_and_encrypted()
    for policy in POLICIES:
        if isinstance(policy, StackValidationPolicy):
            assert violations(policy, stack_args(run.resources)) == [], policy.name
            continue
        for record in run.resources:
            if record.custom:
                assert violations(policy, resource_args(record)) == [], (policy.name, record.urn)


def test_the_managed_network_reaches_the_encrypted_lake_by_private_endpoint() -> None:
    run = isolated_and_encrypted()
    workspace = run.one(WORKSPACE)
    lake = run.one(STORAGE, "data-lake")
    network = workspace.inputs["managedNetwork"]
    assert network["isolationMode"] == "AllowOnlyApprovedOutbound"
    targets = {
        rule["destination"]["subresourceTarget"]
        for rule in network["outboundRules"].values()
        if rule["type"] == "PrivateEndpoint" and rule["destination"]["serviceResourceId"] == lake.id
    }
    assert targets == {"dfs", "blob"}
    assert all(
        "subnet" not in c.inputs["properties"].get("properties", {}) for c in run.by_type(COMPUTE)
    )


def test_workspace_and_lake_encrypt_with_the_one_key_its_identity_may_use() -> None:
    run = isolated_and_encrypted()
    (key,) = run.by_type(KEY)
    vault = run.one(VAULT)
    assert vault.inputs["properties"]["enablePurgeProtection"] is True
    encryption = run.one(WORKSPACE).inputs["encryption"]
    assert encryption["status"] == "Enabled"
    assert encryption["keyVaultProperties"]["keyVaultArmId"] == vault.id
    assert encryption["keyVaultProperties"]["keyIdentifier"].startswith(key.outputs["keyUri"])
    identity = encryption["identity"]["userAssignedIdentity"]
    lake = run.one(STORAGE, "data-lake").inputs["encryption"]
    assert lake["keySource"] == "Microsoft.Keyvault"
    assert lake["encryptionIdentity"] == {"encryptionUserAssignedIdentity": identity}
    crypto = [
        r
        for r in run.by_type(ROLE)
        if role_name_for_definition_id(r.inputs["roleDefinitionId"])
        == "Key Vault Crypto Service Encryption User"
    ]
    assert [r.inputs["scope"] for r in crypto] == [vault.id]


def test_every_secret_expires() -> None:
    for secret in isolated_and_encrypted().by_type(SECRET):
        assert isinstance(secret.inputs["properties"]["attributes"]["expires"], int), secret.name
