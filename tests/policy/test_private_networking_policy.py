"""The private-networking stack policy on every real stack, and on weakened variants of it."""

from __future__ import annotations

import pytest
from pulumi_policy import StackValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from infra.settings import Settings
from plan.offline import ResourceRecord, StackRun
from policy.posture import PRIVATE_NETWORKING_TAG
from policy.private_networking import (
    PRIVATE_DNS_ZONE_GROUP,
    PRIVATE_ENDPOINT,
    PRIVATE_ENDPOINTS,
    PRIVATE_LINK_TYPES,
    REGISTRY,
    VAULT,
)
from tests.policy.captured import changed, set_path, stack_args, violations


def _targets(run: StackRun) -> list[ResourceRecord]:
    return [r for r in run.resources if r.type in PRIVATE_LINK_TYPES]


def _public_access_path(record: ResourceRecord) -> str:
    return "properties.publicNetworkAccess" if record.type == VAULT else "publicNetworkAccess"


def _replace(run: StackRun, record: ResourceRecord, new: ResourceRecord) -> list[ResourceRecord]:
    return [new if r.urn == record.urn else r for r in run.resources]


def _names_resource(message: str, record: ResourceRecord) -> bool:
    return f"{record.type} '{record.name}' ({record.urn})" in message and "Fix: " in message


def test_passes_on_every_stack(stack_run: StackRun) -> None:
    assert violations(PRIVATE_ENDPOINTS, stack_args(stack_run.resources)) == []


# A private stack that is not production (stage) carries this stack tag (docs/security.md);
# on prod it only repeats what the stack name says.
PRIVATE_TAGS = {PRIVATE_NETWORKING_TAG: "true"}


@pytest.fixture
def private_run(stack_run: StackRun, stack_settings: Settings) -> StackRun:
    if not stack_settings.private_networking:
        pytest.skip(f"stack {stack_run.stack} is not private")
    return stack_run


@pytest.fixture
def public_run(stack_run: StackRun, stack_settings: Settings) -> StackRun:
    if stack_settings.private_networking:
        pytest.skip(f"stack {stack_run.stack} is private")
    return stack_run


def test_each_missing_private_endpoint_is_reported(private_run: StackRun) -> None:
    endpoints = private_run.by_type(PRIVATE_ENDPOINT)
    assert len(endpoints) == 7
    for endpoint in endpoints:
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        (group,) = connection["groupIds"]
        target = next(
            r for r in _targets(private_run) if r.id == connection["privateLinkServiceId"]
        )
        rest = [r for r in private_run.resources if r.urn != endpoint.urn]
        messages = violations(PRIVATE_ENDPOINTS, stack_args(rest, PRIVATE_TAGS))
        assert len(messages) == 1, messages
        assert f"no private endpoint for sub-resource(s) {group}," in messages[0]
        assert _names_resource(messages[0], target)


def test_public_access_on_a_private_stack_is_reported(private_run: StackRun) -> None:
    for target in _targets(private_run):
        weakened = changed(target, set_path(_public_access_path(target), "Enabled"))
        # The workspace storage is Enabled by design, admitting only the workspace: weaken
        # it by dropping that resource-access rule.
        weakened = changed(weakened, set_path("networkRuleSet.resourceAccessRules", None))
        messages = violations(
            PRIVATE_ENDPOINTS, stack_args(_replace(private_run, target, weakened), PRIVATE_TAGS)
        )
        assert len(messages) == 1, messages
        assert "publicNetworkAccess is 'Enabled'" in messages[0]
        assert _names_resource(messages[0], target)


def test_network_acls_that_allow_are_reported(private_run: StackRun) -> None:
    vault = private_run.one(VAULT)
    weakened = changed(vault, set_path("properties.networkAcls.defaultAction", "Allow"))
    messages = violations(PRIVATE_ENDPOINTS, stack_args(_replace(private_run, vault, weakened)))
    assert len(messages) == 1, messages
    assert "default action is 'Allow'" in messages[0]
    assert _names_resource(messages[0], vault)


def test_endpoints_without_private_dns_are_reported(private_run: StackRun) -> None:
    rest = [r for r in private_run.resources if r.type != PRIVATE_DNS_ZONE_GROUP]
    messages = violations(PRIVATE_ENDPOINTS, stack_args(rest, PRIVATE_TAGS))
    assert len(messages) == len(private_run.by_type(PRIVATE_ENDPOINT))
    assert all("has no private DNS zone group" in m for m in messages)


def _has_endpoint(run: StackRun, record: ResourceRecord) -> bool:
    return any(
        c["privateLinkServiceId"] == record.id
        for e in run.by_type(PRIVATE_ENDPOINT)
        for c in e.inputs["privateLinkServiceConnections"]
    )


def test_a_public_stack_tagged_private_is_reported(public_run: StackRun) -> None:
    # A public stack with compute still has the workspace endpoint (no-public-IP nodes need
    # it); every other target lacks one, and every target is still publicly reachable.
    for tags in ({"privateNetworking": "true"}, {"production": "true"}):
        messages = violations(PRIVATE_ENDPOINTS, stack_args(public_run.resources, tags))
        for target in _targets(public_run):
            mine = [m for m in messages if _names_resource(m, target)]
            assert any("publicNetworkAccess is 'Enabled'" in m for m in mine), target.name
            missing = any("no private endpoint for sub-resource(s)" in m for m in mine)
            assert missing is not _has_endpoint(public_run, target), target.name


def test_a_resource_the_stack_made_private_needs_its_endpoint(public_run: StackRun) -> None:
    registry = public_run.one(REGISTRY)
    weakened = changed(registry, set_path("publicNetworkAccess", "Disabled"))
    messages = violations(PRIVATE_ENDPOINTS, stack_args(_replace(public_run, registry, weakened)))
    assert any("no private endpoint for sub-resource(s) registry," in m for m in messages)
    assert all(_names_resource(m, registry) for m in messages)


def _as_in_preview(args: StackValidationArgs) -> StackValidationArgs:
    """The same stack as `pulumi preview` shows it: ids Azure assigns are still unknown."""
    for resource in args.resources:
        props = dict(resource.props)
        props["id"] = UNKNOWN_STRING_VALUE
        for connection in props.get("privateLinkServiceConnections") or []:
            connection["privateLinkServiceId"] = UNKNOWN_STRING_VALUE
        resource.props = unknown_checking_proxy(props)
    return args


def test_endpoints_are_matched_through_dependencies_during_preview(private_run: StackRun) -> None:
    assert violations(PRIVATE_ENDPOINTS, _as_in_preview(stack_args(private_run.resources))) == []
    registry_endpoint = next(
        e for e in private_run.by_type(PRIVATE_ENDPOINT) if "registry" in e.name
    )
    rest = [r for r in private_run.resources if r.urn != registry_endpoint.urn]
    messages = violations(PRIVATE_ENDPOINTS, _as_in_preview(stack_args(rest)))
    assert len(messages) == 1 and "sub-resource(s) registry," in messages[0]
