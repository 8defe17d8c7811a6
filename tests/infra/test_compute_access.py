"""Compute, identities, role assignments and datastores, for every stack file (and a few
explicit configs for the variants the stack files do not use)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.access import ROLES, role_assignment_name, role_name_for_definition_id
from infra.settings import PROJECT, Settings
from plan.offline import ResourceRecord, StackRun, run_config
from plan.stack_plan import build_plan, render_text

COMPUTE = "azure-native:machinelearningservices:Compute"
DATASTORE = "azure-native:machinelearningservices:Datastore"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
LAKE = ("azure-native:storage:StorageAccount", "data-lake")
WORKSPACE = "azure-native:machinelearningservices:Workspace"

SP_ID = "33333333-3333-3333-3333-333333333333"
SP_OBJECT = "44444444-4444-4444-4444-444444444444"


def computes(run: StackRun, kind: str) -> list[ResourceRecord]:
    return [r for r in run.by_type(COMPUTE) if r.inputs["properties"]["computeType"] == kind]


def assignments_for(run: StackRun, principal_id: str) -> list[ResourceRecord]:
    return [r for r in run.by_type(ROLE) if r.inputs["principalId"] == principal_id]


def role_of(record: ResourceRecord) -> str | None:
    return role_name_for_definition_id(record.inputs["roleDefinitionId"])


# --- compute clusters -------------------------------------------------------------------


def test_clusters_match_settings(stack_run: StackRun, stack_settings: Settings) -> None:
    clusters = {r.inputs["computeName"]: r for r in computes(stack_run, "AmlCompute")}
    # Registration order follows dependency resolution (private endpoints), not settings order.
    assert sorted(clusters) == sorted(c.name for c in stack_settings.compute_clusters)
    subnet = stack_run.one("azure-native:network:Subnet", "compute-subnet").id
    identity = stack_run.one(IDENTITY).id
    workspace = stack_run.one(WORKSPACE).inputs["workspaceName"]
    for c in stack_settings.compute_clusters:
        record = clusters[c.name]
        props = record.inputs["properties"]["properties"]
        assert record.inputs["workspaceName"] == workspace
        assert props["vmSize"] == c.vm_size
        assert props["vmPriority"] == c.vm_priority
        assert props["scaleSettings"] == {
            "minNodeCount": c.min_nodes,
            "maxNodeCount": c.max_nodes,
            "nodeIdleTimeBeforeScaleDown": f"PT{c.idle_seconds_before_scale_down}S",
        }
        assert props["subnet"] == {"id": subnet}
        assert props["enableNodePublicIp"] is False
        assert props["remoteLoginPortPublicAccess"] == "Disabled"
        assert record.inputs["identity"] == {
            "type": "UserAssigned",
            "userAssignedIdentities": [identity],
        }


def test_clusters_are_replaced_when_the_service_would_ignore_a_change(
    stack_run: StackRun,
) -> None:
    for record in computes(stack_run, "AmlCompute"):
        assert {
            "properties.properties.vmSize",
            "properties.properties.subnet",
        } <= set(record.replace_on_changes)
        assert record.delete_before_replace is True


def test_default_cluster_scales_to_zero() -> None:
    from tests.infra.test_settings import parse

    [c] = parse(computeClusters=[{"name": "cpu", "vmSize": "Standard_D4s_v5"}]).compute_clusters
    assert c.min_nodes == 0


def test_prod_allows_the_walkthroughs_hundred_nodes(stack_settings: Settings) -> None:
    assert all(c.max_nodes <= 100 for c in stack_settings.compute_clusters)
    if stack_settings.stack == "prod":
        assert stack_settings.compute_clusters[0].max_nodes == 100


# --- compute instances ------------------------------------------------------------------


def test_instances_are_personal_private_and_shut_down_when_idle(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    instances = {r.inputs["computeName"]: r for r in computes(stack_run, "ComputeInstance")}
    assert sorted(instances) == sorted(i.name for i in stack_settings.compute_instances)
    subnet = stack_run.one("azure-native:network:Subnet", "compute-subnet").id
    for i in stack_settings.compute_instances:
        record = instances[i.name]
        props = record.inputs["properties"]["properties"]
        assert props["vmSize"] == i.vm_size
        assert props["subnet"] == {"id": subnet}
        assert props["idleTimeBeforeShutdown"] == f"PT{i.idle_minutes_before_shutdown}M"
        assert props["sshSettings"] == {"sshPublicAccess": "Disabled"}
        assert props["enableNodePublicIp"] is False
        assert props["computeInstanceAuthorizationType"] == "personal"
        assert props["personalComputeInstanceSettings"]["assignedUser"] == {
            "objectId": i.assigned_user_object_id,
            "tenantId": stack_run.outputs["tenantId"],
        }
        assert "properties.properties.vmSize" in record.replace_on_changes


# --- identities and role assignments ----------------------------------------------------


def test_role_table_is_the_one_source_of_role_guids(stack_run: StackRun) -> None:
    subscription = stack_run.outputs["subscriptionId"]
    for record in stack_run.by_type(ROLE):
        definition = record.inputs["roleDefinitionId"]
        prefix = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/"
        assert definition.startswith(prefix)
        assert definition[len(prefix) :] in ROLES.values()
    rendered = render_text(build_plan(stack_run))
    for record in stack_run.by_type(ROLE):
        assert f"role: {role_of(record)}" in rendered


def test_role_assignment_names_are_deterministic_guids(stack_run: StackRun) -> None:
    assignments = stack_run.by_type(ROLE)
    assert assignments
    for r in assignments:
        expected = role_assignment_name(
            r.inputs["scope"], r.inputs["principalId"], r.inputs["roleDefinitionId"]
        )
        assert r.inputs["roleAssignmentName"] == expected
        assert r.inputs["principalType"] in {"ServicePrincipal", "Group", "User"}
    names = [r.inputs["roleAssignmentName"] for r in assignments]
    assert len(names) == len(set(names))


def test_cluster_identity_holds_exactly_its_job_roles(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    """Lake data for the job; AcrPull to pull its image; AcrPush where it builds images."""
    identity = stack_run.one(IDENTITY)
    registry = stack_run.one("azure-native:containerregistry:Registry").id
    held = {
        (role_of(a), a.inputs["scope"], a.inputs["principalType"])
        for a in assignments_for(stack_run, identity.outputs["principalId"])
    }
    expected = {
        ("Storage Blob Data Contributor", stack_run.one(*LAKE).id, "ServicePrincipal"),
        ("AcrPull", registry, "ServicePrincipal"),
    }
    if stack_settings.image_build_compute is not None:
        expected.add(("AcrPush", registry, "ServicePrincipal"))
    assert held == expected
    assert stack_run.outputs["computeClusterIdentityClientId"] == identity.outputs["clientId"]


def test_clusters_wait_for_their_identitys_role_grants(stack_run: StackRun) -> None:
    identity = stack_run.one(IDENTITY)
    grants = {a.urn for a in assignments_for(stack_run, identity.outputs["principalId"])}
    for cluster in computes(stack_run, "AmlCompute"):
        assert grants <= set(cluster.dependencies), cluster.name


def test_group_assignments(stack_run: StackRun, stack_settings: Settings) -> None:
    workspace = stack_run.one(WORKSPACE).id
    expected = (
        {(g, "AzureML Data Scientist") for g in stack_settings.groups.data_scientists}
        | {(g, "AzureML Compute Operator") for g in stack_settings.groups.compute_operators}
        | {(g, "Reader") for g in stack_settings.groups.readers}
    )
    groups = [
        r
        for r in stack_run.by_type(ROLE)
        if r.inputs["principalType"] == "Group" and r.inputs["scope"] == workspace
    ]
    assert {(r.inputs["principalId"], role_of(r)) for r in groups} == expected


def test_data_scientists_hold_their_data_role_on_the_lake(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    lake = stack_run.one(*LAKE).id
    on_lake = {
        (r.inputs["principalId"], role_of(r))
        for r in stack_run.by_type(ROLE)
        if r.inputs["principalType"] == "Group" and r.inputs["scope"] == lake
    }
    role = stack_settings.groups.data_scientists_data_lake_role
    assert on_lake == {(g, role) for g in stack_settings.groups.data_scientists}


def test_data_lake_role_follows_the_setting() -> None:
    group = "66666666-6666-6666-6666-666666666666"
    run = run_config(
        "dev",
        _config(
            groups={
                "dataScientists": [group],
                "dataScientistsDataLakeRole": "Storage Blob Data Contributor",
            }
        ),
    )
    lake = run.one(*LAKE).id
    roles = {(role_of(r), r.inputs["scope"]) for r in assignments_for(run, group)}
    assert roles == {
        ("AzureML Data Scientist", run.one(WORKSPACE).id),
        ("Storage Blob Data Contributor", lake),
    }


def test_private_workspace_reads_the_lake_as_its_own_identity(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    workspace = stack_run.one(WORKSPACE)
    principal = workspace.outputs["identity"]["principalId"]
    roles = {(role_of(r), r.inputs["scope"]) for r in assignments_for(stack_run, principal)}
    identity_based = [
        r.inputs["properties"]
        for r in stack_run.by_type(DATASTORE)
        if r.inputs["properties"]["credentials"] == {"credentialsType": "None"}
    ]
    assert identity_based
    if stack_settings.private_networking:
        assert all(
            p["serviceDataAccessAuthIdentity"] == "WorkspaceSystemAssignedIdentity"
            for p in identity_based
        )
        assert roles == {("Storage Blob Data Reader", stack_run.one(*LAKE).id)}
    else:
        # The SDK defaults the property to "None": no service identity reads the lake.
        assert all(p["serviceDataAccessAuthIdentity"] == "None" for p in identity_based)
        assert roles == set()


def test_service_principal_roles_and_secret(stack_run: StackRun, stack_settings: Settings) -> None:
    sp = stack_settings.service_principal
    secrets = stack_run.by_type("azure-native:keyvault:Secret")
    if not sp.enabled:
        assert secrets == []
        assert stack_run.outputs["servicePrincipalClientId"] == ""
        return
    [secret] = secrets
    assert "properties.value" in secret.secret_paths
    assert secret.inputs["vaultName"] == stack_settings.key_vault.name
    principal = (
        stack_run.one("azuread:index/servicePrincipal:ServicePrincipal").outputs["objectId"]
        if sp.mode == "create"
        else sp.object_id
    )
    roles = {(role_of(r), r.inputs["scope"]) for r in assignments_for(stack_run, principal)}
    assert roles == {
        ("Storage Blob Data Contributor", stack_run.one(*LAKE).id),
        (sp.workspace_role, stack_run.one(WORKSPACE).id),
    }


def test_created_service_principal_password_has_the_configured_end_date(
    stack_run: StackRun, stack_settings: Settings
) -> None:
    sp = stack_settings.service_principal
    passwords = stack_run.by_type("azuread:index/applicationPassword:ApplicationPassword")
    if sp.mode != "create":
        assert passwords == []
        return
    [password] = passwords
    application = stack_run.one("azuread:index/application:Application")
    assert password.inputs["endDate"] == f"{sp.password_end_date}T00:00:00Z"
    assert password.inputs["applicationId"] == application.id
    assert application.inputs["displayName"] == sp.display_name


# --- datastores ---------------------------------------------------------------------------


def test_datastores(stack_run: StackRun, stack_settings: Settings) -> None:
    stores = {r.inputs["name"]: r for r in stack_run.by_type(DATASTORE)}
    assert sorted(stores) == sorted(stack_settings.datastore_names)
    assert stack_run.outputs["datastoreNames"] == list(stack_settings.datastore_names)
    role_urns = {r.urn for r in stack_run.by_type(ROLE)}
    for name, record in stores.items():
        props = record.inputs["properties"]
        assert props["datastoreType"] == "AzureDataLakeGen2"
        assert props["accountName"] == stack_settings.data_lake.name
        assert props["filesystem"] in stack_settings.data_lake.filesystems
        assert props["endpoint"] == "core.windows.net"
        assert role_urns <= set(record.dependencies), "datastores wait for their roles"
        if name.endswith("_sp"):
            creds = props["credentials"]
            assert creds["credentialsType"] == "ServicePrincipal"
            assert creds["secrets"]["secretsType"] == "ServicePrincipal"
            assert creds["clientId"] == stack_run.outputs["servicePrincipalClientId"]
            assert "properties.credentials.secrets.clientSecret" in record.secret_paths
            assert record.inputs["skipValidation"] is True
        else:
            assert props["credentials"] == {"credentialsType": "None"}
            # The deployer holds no data role on the lake: validating as it would fail.
            assert record.inputs["skipValidation"] is True


# --- variants not in the stack files ------------------------------------------------------


def _config(**settings: Any) -> dict[str, str]:
    from tests.infra.test_settings import raw

    return raw(**settings)


@pytest.fixture(scope="module")
def existing_sp_run() -> StackRun:
    config = _config(
        servicePrincipal={
            "mode": "existing",
            "clientId": SP_ID,
            "objectId": SP_OBJECT,
            "passwordEndDate": "2027-03-31",
            "workspaceRole": "Contributor",
        },
        servicePrincipalClientSecret="existing-s3cret-value",
        groups={"computeOperators": [SP_OBJECT.replace("4", "5")], "readers": [SP_ID]},
        dataLake={"filesystems": ["raw-data", "fs1"]},
    )
    return run_config("dev", config, [f"{PROJECT}:servicePrincipalClientSecret"])


def test_existing_service_principal(existing_sp_run: StackRun) -> None:
    run = existing_sp_run
    assert run.by_type("azuread:index/application:Application") == []
    roles = {(role_of(r), r.inputs["scope"]) for r in assignments_for(run, SP_OBJECT)}
    assert roles == {
        ("Storage Blob Data Contributor", run.one(*LAKE).id),
        ("Contributor", run.one(WORKSPACE).id),
    }
    assert run.outputs["servicePrincipalClientId"] == SP_ID
    assert run.outputs["datastoreNames"] == ["raw_data", "fs1", "raw_data_sp", "fs1_sp"]
    secret = run.one("azure-native:keyvault:Secret")
    assert secret.inputs["properties"]["value"] == "existing-s3cret-value"
    assert "properties.value" in secret.secret_paths
    groups = {
        (r.inputs["principalId"], role_of(r))
        for r in run.by_type(ROLE)
        if r.inputs["principalType"] == "Group"
    }
    assert groups == {
        (SP_OBJECT.replace("4", "5"), "AzureML Compute Operator"),
        (SP_ID, "Reader"),
    }


def test_secrets_never_in_outputs_or_the_plan(
    existing_sp_run: StackRun, stack_run: StackRun
) -> None:
    for run in (existing_sp_run, stack_run):
        assert run.secret_outputs == []
        dumped_outputs = json.dumps(run.outputs)
        dumped_plan = json.dumps(build_plan(run))
        rendered = render_text(build_plan(run))
        for value in run.secret_values:
            assert value not in dumped_outputs
            assert value not in dumped_plan
            assert value not in rendered
    assert "existing-s3cret-value" in existing_sp_run.secret_values


def test_stack_without_compute_still_has_the_identity() -> None:
    run = run_config("dev", _config())
    assert run.by_type(COMPUTE) == []
    assert run.outputs["computeClusterNames"] == []
    assert run.outputs["computeInstanceNames"] == []
    assert run.outputs["computeClusterIdentityClientId"] == run.one(IDENTITY).outputs["clientId"]
    assert run.outputs["datastoreNames"] == ["fs1"]


def test_settings_only_offer_roles_from_the_table() -> None:
    from infra.access import GROUP_ROLES
    from infra.settings import WORKSPACE_ROLES

    assert set(WORKSPACE_ROLES) <= set(ROLES)
    assert set(GROUP_ROLES.values()) <= set(ROLES)
