"""Customer-managed key rules, on what a copy of prod with keys on really declares."""

from __future__ import annotations

import dataclasses

import pytest
from pulumi_policy import ResourceValidationPolicy

from infra.access import role_name_for_definition_id
from plan.offline import ResourceRecord, StackRun
from policy.encryption import KEY_IDENTITY_ROLE, KEY_VAULT_PURGE_PROTECTION, POLICIES
from policy.pack import POLICIES as PACK
from tests.infra.test_encryption import ENCRYPTION_ROLE, ROLE, VAULT, prod_with_keys
from tests.policy.captured import changed, resource_args, set_path, stack_args, violations


def _resources() -> list[ResourceRecord]:
    return list(prod_with_keys().resources)


def test_the_pack_serves_the_rules() -> None:
    assert set(POLICIES) <= set(PACK)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_passes_on_every_stack_and_on_prod_with_keys(stack_run: StackRun, policy) -> None:
    assert violations(policy, stack_args(stack_run.resources)) == []
    assert violations(policy, stack_args(_resources())) == []


def test_a_vault_without_purge_protection_is_reported_for_each_encrypted_resource() -> None:
    resources = [
        changed(r, set_path("properties.enablePurgeProtection", None)) if r.type == VAULT else r
        for r in _resources()
    ]
    messages = violations(KEY_VAULT_PURGE_PROTECTION, stack_args(resources))
    assert len(messages) == 2, messages  # the workspace and the data lake
    assert any("'workspace'" in m for m in messages)
    assert any("'data-lake'" in m for m in messages)
    assert all("no purge protection" in m and "enablePurgeProtection: true" in m for m in messages)


def test_a_missing_crypto_role_is_reported_for_each_encrypted_resource() -> None:
    resources = [
        r
        for r in _resources()
        if not (
            r.type == ROLE
            and role_name_for_definition_id(r.inputs["roleDefinitionId"]) == ENCRYPTION_ROLE
        )
    ]
    messages = violations(KEY_IDENTITY_ROLE, stack_args(resources))
    assert len(messages) == 2, messages
    assert all(ENCRYPTION_ROLE in m and "Fix: " in m for m in messages)


def test_the_role_on_another_scope_does_not_count() -> None:
    def elsewhere(record: ResourceRecord) -> ResourceRecord:
        if record.type == ROLE and (
            role_name_for_definition_id(record.inputs["roleDefinitionId"]) == ENCRYPTION_ROLE
        ):
            scope = "/subscriptions/s/resourceGroups/other"
            return dataclasses.replace(
                record,
                inputs={**record.inputs, "scope": scope},
                outputs={**record.outputs, "scope": scope},
            )
        return record

    messages = violations(KEY_IDENTITY_ROLE, stack_args([elsewhere(r) for r in _resources()]))
    assert len(messages) == 2, messages


@pytest.mark.parametrize("policy", PACK, ids=lambda p: p.name)
def test_prod_with_keys_passes_the_whole_pack(policy) -> None:
    resources = [r for r in _resources() if r.custom]
    if isinstance(policy, ResourceValidationPolicy):
        found = [m for r in resources for m in violations(policy, resource_args(r))]
    else:
        found = violations(policy, stack_args(resources))
    assert found == []
