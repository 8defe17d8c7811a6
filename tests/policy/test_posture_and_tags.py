"""How the pack classifies stacks, and that its list of taggable types matches the SDK."""

from __future__ import annotations

import importlib
import inspect

import pytest

from plan.offline import StackRun
from policy.posture import is_production, requires_private_networking, stack_name
from policy.tags import REQUIRED_TAGS, TAGGABLE_TYPES


def urn(stack: str) -> str:
    return f"urn:pulumi:{stack}::azureml-dask::azure-native:keyvault:Vault::key-vault"


@pytest.mark.parametrize(
    ("stack", "production"),
    [
        ("prod", True),
        ("production", True),
        ("prod-eu", True),
        ("PROD", True),
        ("dev", False),
        ("staging", False),
        ("product", False),
        ("preprod", False),
    ],
)
def test_production_by_stack_name(stack: str, production: bool):
    assert stack_name(urn(stack)) == stack
    assert is_production(urn(stack), {}) is production
    assert requires_private_networking(urn(stack), {}) is production


def test_stack_tags_only_add_strictness():
    assert is_production(urn("dev"), {"production": "true"})
    assert is_production(urn("prod"), {"production": "false"})
    assert requires_private_networking(urn("dev"), {"privateNetworking": "True"})
    assert requires_private_networking(urn("prod"), {"privateNetworking": "false"})
    assert not requires_private_networking(urn("dev"), {"privateNetworking": "no"})


def test_stack_name_of_a_malformed_urn_is_empty():
    assert stack_name("not-a-urn") == ""
    assert not is_production("not-a-urn", {})


def _takes_tags(type_token: str) -> bool:
    """Whether the azure-native SDK gives this resource type a top-level `tags` input."""
    _, module, name = type_token.split(":")
    resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    # The resource's own initialiser, not `<name>Args`: an input type may share that name
    # (monitor's ActionGroupArgs is an alert rule's action, shadowing the action group's).
    return "tags" in inspect.signature(resource._internal_init).parameters


def test_taggable_types_match_the_sdk_for_everything_the_stack_declares(stack_run: StackRun):
    declared = {r.type for r in stack_run.resources if r.custom and r.type.startswith("azure-")}
    for type_token in sorted(declared):
        assert _takes_tags(type_token) == (type_token in TAGGABLE_TYPES), type_token


def test_taggable_types_all_take_tags():
    assert all(_takes_tags(t) for t in TAGGABLE_TYPES)


def test_policy_requires_at_least_the_tags_settings_require():
    from infra.settings import REQUIRED_TAGS as SETTINGS_REQUIRED_TAGS

    assert set(SETTINGS_REQUIRED_TAGS) | {"environment"} == set(REQUIRED_TAGS)
