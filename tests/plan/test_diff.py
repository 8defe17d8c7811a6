"""The plan diff, compare and renderers, on hand-built plan structures (no engine)."""

from __future__ import annotations

import copy
import importlib
import inspect
import re
from typing import Any

import pytest

from infra.compute import CLUSTER_REPLACE_ON_CHANGES, INSTANCE_REPLACE_ON_CHANGES
from infra.container_registry import REGISTRY_REPLACE_ON_CHANGES
from infra.storage_account import STORAGE_ACCOUNT_REPLACE_ON_CHANGES
from infra.workspace import WORKSPACE_REPLACE_ON_CHANGES
from plan.diff import (
    ABSENT,
    REPLACEMENTS,
    SECRET_MASK,
    PlanFormatError,
    compare_plans,
    diff_plans,
)
from plan.offline import REPO_ROOT
from plan.report import render_markdown, render_text, summary

LAKE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
VAULT = "azure-native:keyvault:Vault"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
REGISTRY = "azure-native:containerregistry:Registry"
ROLE = "azure-native:authorization:RoleAssignment"
NAT = "azure-native:network:NatGateway"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"


def resource(type_: str, name: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """One resource entry shaped like `build_plan`'s."""
    return {
        "address": f"{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": extra.pop("parent", "azureml-dask:storage:Storage::storage"),
        "component": False,
        "id": extra.pop("id", None),
        "protect": extra.pop("protect", False),
        "replaceOnChanges": extra.pop("replaceOnChanges", []),
        "deleteBeforeReplace": False,
        "properties": properties,
        **extra,
    }


def plan(*resources: dict[str, Any], outputs: dict[str, Any] | None = None, **extra: Any):
    return {
        "stack": extra.pop("stack", "dev"),
        "resources": list(resources),
        "outputs": outputs or {},
        "secretOutputs": extra.pop("secretOutputs", []),
    }


def lake(**overrides: Any) -> dict[str, Any]:
    properties = {
        "accountName": "dlamldaskdev542261",
        "resourceGroupName": "rg-amldask-dev",
        "location": "westeurope",
        "isHnsEnabled": True,
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "tags": {"environment": "dev"},
    }
    properties.update(overrides)
    return resource(LAKE, "data-lake", properties)


def set_path(properties: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(properties)
    node = out
    *parents, leaf = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return out


# --------------------------------------------------------------------------------------
# Changes
# --------------------------------------------------------------------------------------


def test_identical_plans_have_no_changes() -> None:
    diff = diff_plans(plan(lake()), plan(lake()))
    assert not diff.has_changes
    assert diff.exit_code == 0
    assert summary(diff) == "no changes"
    assert "no changes" in render_text(diff)


def test_a_changed_property_is_caught_with_before_and_after() -> None:
    diff = diff_plans(plan(lake()), plan(lake(sku={"name": "Standard_ZRS"})), "main", "branch")
    assert [(r.action, r.name) for r in diff.resources] == [("change", "data-lake")]
    (change,) = diff.resources[0].changes
    assert (change.path, change.before, change.after) == (
        "sku.name",
        "Standard_LRS",
        "Standard_ZRS",
    )
    assert diff.exit_code == 6
    assert not diff.destructive
    assert 'sku.name: "Standard_LRS" -> "Standard_ZRS"' in render_text(diff)
    assert '`sku.name`: `"Standard_LRS"` → `"Standard_ZRS"`' in render_markdown(diff)


def test_added_and_removed_resources_and_properties() -> None:
    nat = resource(NAT, "nat", {"natGatewayName": "ng-x", "sku": {"name": "Standard"}})
    subnet = resource(
        SUBNET, "compute-subnet", {"subnetName": "snet", "addressPrefix": "10.0.0.0/22"}
    )
    diff = diff_plans(plan(nat, lake()), plan(lake(accessTier="Hot"), subnet))
    actions = {r.name: r.action for r in diff.resources}
    assert actions == {"data-lake": "change", "compute-subnet": "add", "nat": "remove"}
    (added_property,) = diff.resources[0].changes
    assert (added_property.path, added_property.before) == ("accessTier", ABSENT)
    assert diff.exit_code == 6  # a NAT gateway holds no data: removing it is not destructive
    text = render_text(diff, verbose=True)
    assert 'accessTier: (none) -> "Hot"' in text
    assert 'addressPrefix: "10.0.0.0/22"' in text


def test_list_items_with_names_are_matched_by_name() -> None:
    rules = [
        {"name": "AllowBatch", "priority": 100, "access": "Allow"},
        {"name": "AllowAzureML", "priority": 110, "access": "Allow"},
    ]
    before = resource(NSG, "compute-nsg", {"securityRules": rules})
    after = resource(
        NSG, "compute-nsg", {"securityRules": [{"name": "DenyAll", "priority": 90}, *rules]}
    )
    (changed,) = diff_plans(plan(before), plan(after)).resources
    assert {c.path for c in changed.changes} == {
        "securityRules[DenyAll].name",
        "securityRules[DenyAll].priority",
    }


def test_type_changes_count_even_when_python_says_equal() -> None:
    (changed,) = diff_plans(plan(lake(isHnsEnabled=1)), plan(lake(isHnsEnabled=True))).resources
    assert [c.path for c in changed.changes] == ["isHnsEnabled"]


def test_output_changes_are_reported() -> None:
    diff = diff_plans(
        plan(outputs={"workspaceName": "a", "gone": "x"}),
        plan(outputs={"workspaceName": "b", "new": [1]}),
    )
    assert [(c.path, c.before, c.after) for c in diff.outputs] == [
        ("gone", "x", ABSENT),
        ("new", ABSENT, [1]),
        ("workspaceName", "a", "b"),
    ]
    assert diff.exit_code == 6
    assert 'workspaceName: "a" -> "b"' in render_text(diff)


# --------------------------------------------------------------------------------------
# Destructive changes
# --------------------------------------------------------------------------------------

# Each class the issue names, written out here rather than read from REPLACEMENTS.
DESTRUCTIVE_CASES = [
    (LAKE, "isHnsEnabled", True, False),
    (LAKE, "location", "westeurope", "northeurope"),
    (LAKE, "accountName", "dlone", "dltwo"),
    (CONTAINER, "containerName", "fs1", "fs2"),
    (VAULT, "vaultName", "kv-a-dev-1", "kv-b-dev-1"),
    (VAULT, "location", "westeurope", "northeurope"),
    (WORKSPACE, "workspaceName", "mlw-a", "mlw-b"),
    (WORKSPACE, "location", "westeurope", "northeurope"),
    (WORKSPACE, "storageAccount", "/subscriptions/s/.../sta", "/subscriptions/s/.../stb"),
    (ROLE, "principalId", "11111111-0000-0000-0000-000000000000", "22222222-0000-0000-0000-0000"),
    (ROLE, "scope", "/subscriptions/s/resourceGroups/a", "/subscriptions/s/resourceGroups/b"),
    (ROLE, "roleDefinitionId", "/providers/x/roleDefinitions/a", "/providers/x/roleDefinitions/b"),
    (COMPUTE, "properties.properties.vmSize", "Standard_DS3_v2", "Standard_E4s_v3"),
    (COMPUTE, "properties.properties.subnet.id", "/subnets/compute", "/subnets/other"),
    (COMPUTE, "properties.properties.vmPriority", "Dedicated", "LowPriority"),
    ("azure-native:resources:ResourceGroup", "location", "westeurope", "northeurope"),
]


@pytest.mark.parametrize(("type_", "path", "before", "after"), DESTRUCTIVE_CASES)
def test_each_destructive_class_is_flagged_first(
    type_: str, path: str, before: Any, after: Any
) -> None:
    base = {"tags": {"environment": "dev"}}
    old = resource(type_, "thing", set_path(base, path, before))
    new = resource(type_, "thing", set_path(set_path(base, "tags.environment", "x"), path, after))
    harmless = resource(NAT, "nat", {"idleTimeoutInMinutes": 4})
    harmless_after = resource(NAT, "nat", {"idleTimeoutInMinutes": 10})
    diff = diff_plans(plan(harmless, old), plan(harmless_after, new), "main", "branch")

    assert diff.exit_code == 7
    (destructive,) = diff.destructive
    assert destructive.name == "thing"
    assert destructive.replaced_by == [path]
    assert destructive.destructive is not None
    assert destructive.destructive.startswith("re-created, losing ")
    text, markdown = render_text(diff), render_markdown(diff)
    # The warning comes before the ordinary change list, in both renderings.
    assert text.index("DESTRUCTIVE") < text.index("nat (")
    assert markdown.index("[!CAUTION]") < markdown.index("`nat`")
    assert f"{path}: {_json(before)} -> {_json(after)}" in text


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def test_changes_that_keep_the_data_are_not_destructive() -> None:
    compute = resource(
        COMPUTE,
        "cpu-cluster",
        {
            "properties": {
                "properties": {"vmSize": "Standard_DS3_v2", "scaleSettings": {"maxNodeCount": 4}}
            }
        },
    )
    bigger = copy.deepcopy(compute)
    bigger["properties"]["properties"]["properties"]["scaleSettings"]["maxNodeCount"] = 8
    diff = diff_plans(
        plan(lake(), compute), plan(lake(tags={"environment": "dev", "owner": "x"}), bigger)
    )
    assert len(diff.resources) == 2
    assert not diff.destructive
    assert diff.exit_code == 6
    assert "DESTRUCTIVE" not in render_text(diff)
    assert "CAUTION" not in render_markdown(diff)


def test_removing_a_stateful_resource_is_destructive_but_revoking_a_role_is_not() -> None:
    role = resource(ROLE, "lake-reader", {"principalId": "p", "scope": "s"})
    container = resource(CONTAINER, "filesystem-fs1", {"containerName": "fs1"})
    diff = diff_plans(plan(lake(), container, role), plan(lake()))
    assert {r.name: r.action for r in diff.resources} == {
        "filesystem-fs1": "remove",
        "lake-reader": "remove",
    }
    assert [r.name for r in diff.destructive] == ["filesystem-fs1"]
    assert diff.destructive[0].destructive == "deleted, losing every file in the filesystem"
    assert diff.exit_code == 7


def test_a_new_parent_replaces_a_stateful_resource() -> None:
    moved = lake()
    moved["parent"] = "azureml-dask:data:DataLake::lake"
    (change,) = diff_plans(plan(lake()), plan(moved)).resources
    assert change.replaced_by == ["parent"]
    assert change.changes[0].option
    assert change.destructive is not None


def test_replace_on_changes_marks_a_replacement_without_calling_it_destructive() -> None:
    old = resource(
        SUBNET, "s", {"addressPrefix": "10.0.0.0/24"}, replaceOnChanges=["addressPrefix"]
    )
    new = resource(
        SUBNET, "s", {"addressPrefix": "10.0.1.0/24"}, replaceOnChanges=["addressPrefix"]
    )
    diff = diff_plans(plan(old), plan(new))
    assert diff.resources[0].replaced_by == ["addressPrefix"]
    assert diff.exit_code == 6
    assert "replaced (changes to addressPrefix re-create it)" in render_text(diff)


def test_a_new_region_re_creates_any_resource_but_only_stateful_ones_are_destructive() -> None:
    old = resource(NAT, "nat", {"location": "westeurope"})
    new = resource(NAT, "nat", {"location": "northeurope"})
    diff = diff_plans(plan(old), plan(new))
    assert diff.resources[0].replaced_by == ["location"]
    assert diff.exit_code == 6


def test_versioned_type_tokens_follow_the_same_rules() -> None:
    versioned = "azure-native:storage/v20230101:StorageAccount"
    old = resource(versioned, "data-lake", {"isHnsEnabled": True})
    new = resource(versioned, "data-lake", {"isHnsEnabled": False})
    assert diff_plans(plan(old), plan(new)).exit_code == 7


def test_a_protected_resource_says_pulumi_up_will_refuse() -> None:
    old, new = lake(), lake(location="northeurope")
    old["protect"] = new["protect"] = True
    diff = diff_plans(plan(old), plan(new))
    assert "protected: `pulumi up` refuses until protect is lifted" in render_text(diff)
    assert "protected: `pulumi up` refuses until protect is lifted" in render_markdown(diff)


# --------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------


def test_secrets_are_masked_on_both_sides() -> None:
    old = resource(VAULT, "kv", {"vaultName": "kv", "secretValue": "hunter2-plain"})
    new = resource(VAULT, "kv", {"vaultName": "kv", "secretValue": SECRET_MASK})
    diff = diff_plans(
        plan(old, outputs={"clientSecret": "s3cr3t-before"}),
        plan(new, outputs={"clientSecret": SECRET_MASK}, secretOutputs=["clientSecret"]),
    )
    assert diff.resources[0].changes[0].secret
    text, markdown = render_text(diff, verbose=True), render_markdown(diff)
    for rendered in (text, markdown):
        assert "hunter2-plain" not in rendered
        assert "s3cr3t-before" not in rendered
    assert f"secretValue: {SECRET_MASK} -> {SECRET_MASK}" in text
    assert f"clientSecret: {SECRET_MASK} -> {SECRET_MASK}" in text
    assert f"`secretValue`: `{SECRET_MASK}` → `{SECRET_MASK}`" in markdown


# --------------------------------------------------------------------------------------
# Comparing environments
# --------------------------------------------------------------------------------------


def _env(stack: str, sku: str, suffix: str) -> dict[str, Any]:
    rg = f"rg-amldask-{stack}"
    account = f"dlamldask{stack}{suffix}"
    lake_id = f"/subscriptions/s/resourceGroups/{rg}/providers/{LAKE}/{account}"
    group = resource(
        "azure-native:resources:ResourceGroup",
        "resource-group",
        {"resourceGroupName": rg, "location": "westeurope"},
        id=f"/subscriptions/s/resourceGroups/{rg}",
    )
    data_lake = resource(
        LAKE,
        "data-lake",
        {"accountName": account, "resourceGroupName": rg, "sku": {"name": sku}},
        id=lake_id,
    )
    return plan(
        group,
        data_lake,
        outputs={"dataLakeId": lake_id, "url": f"abfss://fs1@{account}.dfs.core.windows.net/"},
        stack=stack,
    )


def test_compare_pairs_names_and_shows_only_real_differences() -> None:
    diff = compare_plans(
        _env("dev", "Standard_LRS", "aaa111"),
        _env("prod", "Standard_GZRS", "bbb222"),
        "dev",
        "prod",
    )
    assert diff.compare
    assert [(a.split("::")[1], x, y) for a, x, y in diff.renamed] == [
        ("resource-group", "rg-amldask-dev", "rg-amldask-prod"),
        ("data-lake", "dlamldaskdevaaa111", "dlamldaskprodbbb222"),
    ]
    # Names, the ids built from them and the URL all differ only by the stacks' names.
    (changed,) = diff.resources
    assert [(c.path, c.before, c.after) for c in changed.changes] == [
        ("sku.name", "Standard_LRS", "Standard_GZRS")
    ]
    assert diff.outputs == []
    assert diff.exit_code == 6
    text = render_text(diff)
    assert "data-lake: dlamldaskdevaaa111 | dlamldaskprodbbb222" in text
    assert "dlamldaskprodbbb222" in render_markdown(diff)


def test_compare_never_calls_a_difference_destructive() -> None:
    a, b = _env("dev", "Standard_LRS", "a"), _env("prod", "Standard_LRS", "b")
    b["resources"][1]["properties"]["isHnsEnabled"] = False
    diff = compare_plans(a, b, "dev", "prod")
    assert diff.exit_code == 6
    assert not diff.destructive
    assert "only in" in summary(diff)


def test_comparing_a_stack_with_itself_finds_nothing() -> None:
    a = _env("dev", "Standard_LRS", "a")
    diff = compare_plans(a, copy.deepcopy(a), "dev", "dev")
    assert diff.exit_code == 0
    assert summary(diff) == "no differences"


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([], "a plan is a JSON object"),
        ({"stack": "dev", "resources": []}, "not a plan (missing outputs)"),
        ({"stack": "dev", "resources": {}, "outputs": {}}, "`resources` must be a list"),
        ({"stack": "dev", "resources": [{"type": "t"}], "outputs": {}}, "resources[0] needs"),
        (plan(lake(), lake()), "two resources share the address"),
    ],
)
def test_a_malformed_plan_is_rejected_naming_its_label(bad: Any, message: str) -> None:
    with pytest.raises(PlanFormatError, match=re.escape(message)) as raised:
        diff_plans(bad, plan(), "old.json", "new")
    assert str(raised.value).startswith("old.json: ")


# --------------------------------------------------------------------------------------
# The replacement table against the installed SDK
# --------------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _nested_args(sdk: Any, args_class: Any, path: list[str]) -> list[str]:
    """The names of `path` that are not inputs of the nested `...Args` classes below it."""
    missing = []
    for name in path:
        params = inspect.signature(args_class.__init__).parameters
        if _snake(name) not in params:
            missing.append(name)
            break
        found = re.search(r"'(\w+Args)'", str(params[_snake(name)].annotation))
        if found is None:
            break
        args_class = getattr(sdk, found.group(1))
    return missing


@pytest.mark.parametrize("rule", REPLACEMENTS, ids=lambda r: r.type)
def test_every_replacement_path_is_an_input_of_the_sdk_resource(rule: Any) -> None:
    _, module, class_name = rule.type.split(":")
    sdk = importlib.import_module(f"pulumi_azure_native.{module}")
    args = inspect.signature(getattr(sdk, f"{class_name}Args").__init__).parameters
    for path in rule.paths:
        top, *rest = path.split(".")
        assert _snake(top) in args, f"{rule.type}: {top} is not an input"
        if rest and rule.type == COMPUTE:  # properties.properties.<x>: one of many kinds
            # A cluster's paths must be AmlCompute inputs, an instance's ComputeInstance ones.
            for props, program in (
                ("AmlComputePropertiesArgs", CLUSTER_REPLACE_ON_CHANGES),
                ("ComputeInstancePropertiesArgs", INSTANCE_REPLACE_ON_CHANGES),
            ):
                if path in program:
                    nested = inspect.signature(getattr(sdk, props).__init__).parameters
                    assert _snake(rest[-1]) in nested, f"{props} has no {rest[-1]}"
        elif rest:
            classes = getattr(sdk, f"{class_name}Args")
            assert _nested_args(sdk, classes, path.split(".")) == [], f"{rule.type}: {path}"


def test_the_compute_rule_is_what_the_program_replaces_on() -> None:
    # One source: the paths infra/compute.py gives `replace_on_changes`, no second copy.
    (rule,) = [r for r in REPLACEMENTS if r.type == COMPUTE]
    program = {*CLUSTER_REPLACE_ON_CHANGES, *INSTANCE_REPLACE_ON_CHANGES}
    assert program <= set(rule.paths)
    assert {p for p in rule.paths if "." in p} == program
    assert "properties.properties.vmPriority" in rule.paths


CUSTOMER_MANAGED_KEY = {
    "status": "Enabled",
    "identity": {"userAssignedIdentity": "/subscriptions/s/.../id-amldask-prod-encryption"},
    "keyVaultProperties": {
        "keyVaultArmId": "/subscriptions/s/.../vaults/kv-amldask-prod-1",
        "keyIdentifier": "https://kv-amldask-prod-1.vault.azure.net/keys/customer-managed-key/1",
    },
}


def _workspace(**properties: Any) -> dict[str, Any]:
    return resource(
        WORKSPACE,
        "workspace",
        {"workspaceName": "mlw-amldask-prod-1", "location": "westeurope", **properties},
        replaceOnChanges=WORKSPACE_REPLACE_ON_CHANGES,
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [({}, {"encryption": CUSTOMER_MANAGED_KEY}), ({"encryption": CUSTOMER_MANAGED_KEY}, {})],
    ids=["turned-on", "turned-off"],
)
def test_customer_managed_keys_on_or_off_re_create_an_existing_workspace(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    diff = diff_plans(plan(_workspace(**before)), plan(_workspace(**after)), "main", "branch")
    (change,) = diff.destructive
    assert change.name == "workspace"
    assert change.replaced_by and all(p.startswith("encryption.") for p in change.replaced_by)
    assert change.destructive is not None
    assert change.destructive.startswith("re-created, losing run history")
    assert diff.exit_code == 7
    assert "DESTRUCTIVE" in render_text(diff)


def test_a_workspace_created_with_customer_managed_keys_is_not_re_created() -> None:
    encrypted = _workspace(encryption=CUSTOMER_MANAGED_KEY, tags={"a": "1"})
    retagged = _workspace(encryption=CUSTOMER_MANAGED_KEY, tags={"a": "2"})
    diff = diff_plans(plan(encrypted), plan(retagged))
    assert not diff.destructive
    assert diff.exit_code == 6


def test_the_workspace_rule_is_what_the_program_replaces_on() -> None:
    # One source: the paths infra/workspace.py gives `replace_on_changes`.
    (rule,) = [r for r in REPLACEMENTS if r.type == WORKSPACE]
    assert set(WORKSPACE_REPLACE_ON_CHANGES) <= set(rule.paths)
    assert "encryption" in rule.paths


def test_the_creation_only_rules_are_what_the_program_replaces_on() -> None:
    # One source each: the paths infra/storage_account.py and infra/container_registry.py
    # give `replace_on_changes` are the plan diff's, no second copy.
    rules = {r.type: set(r.paths) for r in REPLACEMENTS}
    assert set(STORAGE_ACCOUNT_REPLACE_ON_CHANGES) == {"encryption.requireInfrastructureEncryption"}
    assert set(STORAGE_ACCOUNT_REPLACE_ON_CHANGES) <= rules[LAKE]
    assert set(REGISTRY_REPLACE_ON_CHANGES) == {"zoneRedundancy"}
    assert set(REGISTRY_REPLACE_ON_CHANGES) <= rules[REGISTRY]


def test_turning_on_infrastructure_encryption_or_zone_redundancy_is_destructive() -> None:
    encrypted = {"keySource": "Microsoft.Storage", "requireInfrastructureEncryption": True}
    diff = diff_plans(plan(lake()), plan(lake(encryption=encrypted)), "main", "branch")
    (change,) = diff.resources
    assert change.replaced_by == ["encryption.requireInfrastructureEncryption"]
    assert change.destructive and "every container, filesystem and blob" in change.destructive
    # The key source alone (e.g. customer-managed keys) is an ordinary change.
    keys = {"keySource": "Microsoft.Keyvault"}
    diff = diff_plans(plan(lake()), plan(lake(encryption=keys)), "main", "branch")
    assert diff.resources[0].replaced_by == [] and diff.destructive == []

    def registry(zone: str) -> dict[str, Any]:
        properties = {"registryName": "cr1", "sku": {"name": "Premium"}, "zoneRedundancy": zone}
        return resource(REGISTRY, "container-registry", properties)

    diff = diff_plans(plan(registry("Disabled")), plan(registry("Enabled")), "main", "branch")
    (change,) = diff.resources
    assert change.replaced_by == ["zoneRedundancy"]
    assert change.destructive and "every image" in change.destructive


def test_the_docs_table_lists_every_replacement_rule() -> None:
    page = (REPO_ROOT / "docs" / "pr-review.md").read_text()
    section = page.split("## Destructive changes", 1)[1].split("\n## ", 1)[0]
    for rule in REPLACEMENTS:
        short = rule.type.split(":", 1)[1]
        (row,) = [line for line in section.splitlines() if line.startswith(f"| `{short}`")]
        for path in rule.paths:
            assert f"`{path}`" in row, f"README row for {short} lacks {path}"
    kept = [r.type.split(":", 1)[1] for r in REPLACEMENTS if not r.removal_loses_data]
    assert kept == ["authorization:RoleAssignment", "machinelearningservices:Compute"]
