"""What changes between two offline plans, and which of those changes destroy data.

Pure logic over the plain plan structures `plan.stack_plan.build_plan` returns (and `--json`
writes): no engine run, no files, no git. Resources are matched by type token and logical
name (`address`), the identity Pulumi itself uses inside a stack. Two uses:

- `diff_plans(before, after)`: a change set (the base branch against this one), with every
  change that replaces a resource and loses its state or data classified as destructive,
  using the table `REPLACEMENTS` below;
- `compare_plans(a, b)`: what differs between two environments (dev against prod). Names
  that differ by design (every stack names its resources after itself) are paired up once
  instead of showing as differences in every property that mentions them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.compute import CLUSTER_REPLACE_ON_CHANGES, INSTANCE_REPLACE_ON_CHANGES
from infra.container_registry import REGISTRY_REPLACE_ON_CHANGES
from infra.storage_account import STORAGE_ACCOUNT_REPLACE_ON_CHANGES
from infra.workspace import WORKSPACE_REPLACE_ON_CHANGES
from plan.exit_codes import ExitCode
from plan.offline import SECRET_MASK


class Absent:
    """Marks a side of a change where the property does not exist."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()


class PlanFormatError(ValueError):
    """A plan structure that is not what `build_plan` produces."""


# --------------------------------------------------------------------------------------
# Changes that replace a resource and lose what it holds
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replacement:
    """Inputs of one resource type whose change makes Azure (or Pulumi) re-create it.

    `paths` use the camelCase input names the engine records (azure-native flattens ARM's
    `properties` bag, so `isHnsEnabled` sits at the top). A path also covers everything
    below it (`properties.properties.subnet` covers `...subnet.id`).
    """

    type: str
    paths: tuple[str, ...]
    loses: str
    """What is lost when the resource is re-created or deleted (a noun phrase)."""
    removal_loses_data: bool = True
    """Whether removing the resource from the program deletes data too."""


# Checked against the installed pulumi-azure-native (tests/plan/test_diff.py verifies
# every top-level name is an input of the SDK class). Names, resource group and parent
# names are URL path segments: azure-native replaces the resource when they change. Azure
# cannot move a resource between regions, and documents `isHnsEnabled`, a storage account's
# infrastructure encryption, a registry's zone redundancy, a workspace's `storageAccount`,
# `keyVault` and customer-managed key `encryption` as fixed at creation.
REPLACEMENTS: tuple[Replacement, ...] = (
    Replacement(
        "azure-native:resources:ResourceGroup",
        ("resourceGroupName", "location"),
        "every resource in the group",
    ),
    Replacement(
        "azure-native:storage:StorageAccount",
        (
            "accountName",
            "resourceGroupName",
            "location",
            "isHnsEnabled",
            # What the program itself replaces on change (infra/storage_account.py).
            *STORAGE_ACCOUNT_REPLACE_ON_CHANGES,
        ),
        "every container, filesystem and blob in the account",
    ),
    Replacement(
        "azure-native:storage:BlobContainer",
        ("containerName", "accountName", "resourceGroupName"),
        "every file in the filesystem",
    ),
    Replacement(
        "azure-native:keyvault:Vault",
        ("vaultName", "resourceGroupName", "location"),
        "its secrets, keys and certificates (and soft delete keeps the old name reserved)",
    ),
    Replacement(
        "azure-native:machinelearningservices:Workspace",
        (
            "workspaceName",
            "resourceGroupName",
            "location",
            "storageAccount",
            "keyVault",
            # Customer-managed keys are set at creation only (infra/workspace.py): one source.
            *WORKSPACE_REPLACE_ON_CHANGES,
        ),
        "run history, models, data assets and endpoints (and soft delete keeps the old name "
        "reserved for 14 days)",
    ),
    Replacement(
        "azure-native:operationalinsights:Workspace",
        ("workspaceName", "resourceGroupName", "location"),
        "the collected logs and metrics",
    ),
    Replacement(
        "azure-native:containerregistry:Registry",
        (
            "registryName",
            "resourceGroupName",
            "location",
            # What the program itself replaces on change (infra/container_registry.py).
            *REGISTRY_REPLACE_ON_CHANGES,
        ),
        "every image in the registry",
    ),
    Replacement(
        "azure-native:authorization:RoleAssignment",
        ("roleAssignmentName", "principalId", "scope", "roleDefinitionId"),
        "the principal's access until the new assignment exists (an assignment cannot be "
        "updated in place)",
        removal_loses_data=False,
    ),
    Replacement(
        "azure-native:machinelearningservices:Compute",
        (
            "computeName",
            "workspaceName",
            "resourceGroupName",
            "location",
            # What the program itself replaces on change (infra/compute.py): one source.
            *dict.fromkeys([*CLUSTER_REPLACE_ON_CHANGES, *INSTANCE_REPLACE_ON_CHANGES]),
        ),
        "the jobs running on it (and a compute instance's local disk)",
        removal_loses_data=False,
    ),
)

_REPLACEMENTS_BY_TYPE = {r.type: r for r in REPLACEMENTS}

ALWAYS_REPLACED = ("resourceGroupName", "location")
"""Inputs that re-create any Azure resource: its resource group is part of its id, and
Azure cannot move a resource to another region (azure-native may preview such a change as
an update, which Azure then rejects)."""


def base_type(type_token: str) -> str:
    """`azure-native:storage/v20230101:StorageAccount` -> `azure-native:storage:StorageAccount`."""
    return re.sub(r"/v\d[^:]*:", ":", type_token)


def replacement_for(type_token: str) -> Replacement | None:
    """The replacement rule of a resource type, if its data is at stake."""
    return _REPLACEMENTS_BY_TYPE.get(base_type(type_token))


def _covers(rule_path: str, path: str) -> bool:
    return (
        rule_path == "*" or path == rule_path or path.startswith((rule_path + ".", rule_path + "["))
    )


# --------------------------------------------------------------------------------------
# The change set
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyChange:
    """One value that differs: `path` (dotted, list items by their `name`), before, after.

    `option` marks a Pulumi resource option (`parent`, `protect`) rather than an input.
    """

    path: str
    before: Any
    after: Any
    option: bool = False

    @property
    def secret(self) -> bool:
        """Whether either side is a secret; then neither side is shown."""
        return SECRET_MASK in (self.before, self.after)


@dataclass
class ResourceChange:
    """A resource that is added, removed or changed between two plans."""

    action: str  # "add", "remove" or "change"
    address: str
    type: str
    name: str
    changes: list[PropertyChange] = field(default_factory=list)
    replaced_by: list[str] = field(default_factory=list)
    """The changed paths that make the resource be re-created rather than updated."""
    destructive: str | None = None
    """Why this change loses state or data (None when it does not)."""
    protected: bool = False
    """Whether the resource is protected in the base plan (`pulumi up` refuses to delete it)."""


@dataclass
class PlanDiff:
    """Every difference between two plans of one stack (or between two stacks)."""

    before_label: str
    after_label: str
    stack: str
    resources: list[ResourceChange]
    outputs: list[PropertyChange]
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    """For comparisons: `(address, name in a, name in b)` for names that differ by design."""
    compare: bool = False

    def by_action(self, action: str) -> list[ResourceChange]:
        """The resource changes of one action, in plan order."""
        return [r for r in self.resources if r.action == action]

    @property
    def destructive(self) -> list[ResourceChange]:
        """The changes that lose state or data; reviewers see these first."""
        return [r for r in self.resources if r.destructive]

    @property
    def has_changes(self) -> bool:
        """Whether anything at all differs."""
        return bool(self.resources or self.outputs)

    @property
    def exit_code(self) -> ExitCode:
        """The CLI's status for this diff: no changes, changes, or destructive changes."""
        if self.destructive:
            return ExitCode.DESTRUCTIVE_CHANGES
        return ExitCode.CHANGES if self.has_changes else ExitCode.NO_CHANGES


def _check_plan(plan: Mapping[str, Any], label: str) -> None:
    if not isinstance(plan, Mapping):
        raise PlanFormatError(f"{label}: a plan is a JSON object, got {type(plan).__name__}")
    missing = [k for k in ("stack", "resources", "outputs") if k not in plan]
    if missing:
        raise PlanFormatError(
            f"{label}: not a plan (missing {', '.join(missing)}); write one with "
            "`python -m plan --stack <stack> --json FILE`"
        )
    if not isinstance(plan["resources"], list) or not isinstance(plan["outputs"], Mapping):
        raise PlanFormatError(f"{label}: `resources` must be a list and `outputs` an object")
    for i, resource in enumerate(plan["resources"]):
        if not isinstance(resource, Mapping) or not {"type", "name", "properties"} <= set(resource):
            raise PlanFormatError(f"{label}: resources[{i}] needs `type`, `name` and `properties`")


def _address(resource: Mapping[str, Any]) -> str:
    return str(resource.get("address") or f"{resource['type']}::{resource['name']}")


def _index(plan: Mapping[str, Any], label: str) -> dict[str, Mapping[str, Any]]:
    """Azure resources by address; components carry no inputs and are left out."""
    index: dict[str, Mapping[str, Any]] = {}
    for resource in plan["resources"]:
        if resource.get("component"):
            continue
        address = _address(resource)
        if address in index:
            raise PlanFormatError(f"{label}: two resources share the address {address}")
        index[address] = resource
    return index


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Flatten nested objects to dotted paths. Lists of objects that all carry a `name`
    (security rules, subnets) are keyed by it, so inserting one item does not show every
    later item as changed; other lists are compared whole."""
    if isinstance(value, Mapping) and (value or not path):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(_leaves(value[key], f"{path}.{key}" if path else str(key)))
        return out
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) and isinstance(v.get("name"), str) for v in value)
        and len({v["name"] for v in value}) == len(value)
    ):
        out = {}
        for item in value:
            out.update(_leaves(item, f"{path}[{item['name']}]"))
        return out
    return {path: value}


def diff_values(before: Any, after: Any) -> list[PropertyChange]:
    """The leaf-level differences between two property bags, sorted by path."""
    old, new = _leaves(before), _leaves(after)
    changes = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, ABSENT), new.get(path, ABSENT)
        if a != b or type(a) is not type(b):
            changes.append(PropertyChange(path, a, b))
    return changes


def _option_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[PropertyChange]:
    changes = []
    for option, default in (("parent", None), ("protect", False)):
        a, b = before.get(option, default), after.get(option, default)
        if a != b:
            changes.append(PropertyChange(option, a, b, option=True))
    return changes


def _replaced_by(
    resource: Mapping[str, Any], changes: Iterable[PropertyChange], rule: Replacement | None
) -> list[str]:
    """The changed paths that force re-creation: `ALWAYS_REPLACED`, the type's rule, the
    resource's own `replaceOnChanges`, or a new parent (the URN changes; without an alias
    Pulumi deletes the old resource and creates a new one)."""
    triggers = [
        *ALWAYS_REPLACED,
        *(rule.paths if rule else ()),
        *(resource.get("replaceOnChanges") or ()),
    ]
    replaced = []
    for change in changes:
        if change.option:
            if change.path == "parent":
                replaced.append(change.path)
        elif any(_covers(t, change.path) for t in triggers):
            replaced.append(change.path)
    return replaced


def diff_plans(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    before_label: str = "before",
    after_label: str = "after",
) -> PlanDiff:
    """What applying `after` to a stack deployed as `before` would add, remove and change;
    changes that re-create or delete a stateful resource are marked destructive."""
    _check_plan(before, before_label)
    _check_plan(after, after_label)
    old, new = _index(before, before_label), _index(after, after_label)
    result: list[ResourceChange] = []
    # Plan order of the new plan, then what only the old plan has.
    for address in [*new, *(a for a in old if a not in new)]:
        a, b = old.get(address), new.get(address)
        resource = b or a
        assert resource is not None
        rule = replacement_for(str(resource["type"]))
        change = ResourceChange(
            action="change",
            address=address,
            type=str(resource["type"]),
            name=str(resource["name"]),
            protected=bool(a and a.get("protect")),
        )
        if a is None:
            change.action = "add"
            change.changes = diff_values({}, resource["properties"])
        elif b is None:
            change.action = "remove"
            change.changes = diff_values(resource["properties"], {})
            if rule and rule.removal_loses_data:
                change.destructive = f"deleted, losing {rule.loses}"
        else:
            change.changes = _option_changes(a, b) + diff_values(a["properties"], b["properties"])
            if not change.changes:
                continue
            change.replaced_by = _replaced_by(b, change.changes, rule)
            if rule and change.replaced_by:
                change.destructive = f"re-created, losing {rule.loses}"
        result.append(change)
    outputs = _masked_outputs(before, after)
    return PlanDiff(before_label, after_label, str(after["stack"]), result, outputs)


def _masked_outputs(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[PropertyChange]:
    """Output changes; an output that is secret on either side is masked on both, and one
    that merely became (or stopped being) secret still counts as a change."""
    secret_before = set(before.get("secretOutputs") or ())
    secret_after = set(after.get("secretOutputs") or ())
    changes = []
    for name in sorted(set(before["outputs"]) | set(after["outputs"])):
        a, b = before["outputs"].get(name, ABSENT), after["outputs"].get(name, ABSENT)
        if a == b and (name in secret_before) == (name in secret_after):
            continue
        if name in secret_before | secret_after:
            a = a if a is ABSENT else SECRET_MASK
            b = b if b is ABSENT else SECRET_MASK
        changes.append(PropertyChange(name, a, b))
    return changes


# --------------------------------------------------------------------------------------
# Comparing two environments
# --------------------------------------------------------------------------------------


def _azure_name(resource: Mapping[str, Any]) -> str | None:
    """The name Azure gives the resource: the last segment of its (placeholder) id."""
    resource_id = resource.get("id")
    if isinstance(resource_id, str) and "/" in resource_id:
        return resource_id.rstrip("/").rsplit("/", 1)[-1]
    return None


def _name_pairs(
    a: Mapping[str, Mapping[str, Any]], b: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    pairs = []
    for address in a:
        if address in b:
            name_a, name_b = _azure_name(a[address]), _azure_name(b[address])
            if name_a and name_b and name_a != name_b:
                pairs.append((address, name_a, name_b))
    return pairs


def _substitute(value: Any, names: Mapping[str, str]) -> Any:
    """Replace each stack-specific name inside strings by a token naming its resource."""
    if isinstance(value, str):
        for name in sorted(names, key=len, reverse=True):  # longest first: no partial hits
            value = value.replace(name, names[name])
        return value
    if isinstance(value, Mapping):
        return {k: _substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    return value


def _normalised(
    plan: Mapping[str, Any], names: Mapping[str, str], own: Iterable[str]
) -> dict[str, Any]:
    keep = set(own)
    return {
        **plan,
        "resources": [
            {**r, "properties": _substitute(r["properties"], names)}
            for r in plan["resources"]
            if _address(r) in keep
        ],
        "outputs": _substitute(plan["outputs"], names),
    }


def compare_plans(
    a: Mapping[str, Any], b: Mapping[str, Any], a_label: str, b_label: str
) -> PlanDiff:
    """What differs between two stacks' plans, e.g. dev and prod.

    Names derived from the stack (`rg-x-dev` / `rg-x-prod`) are listed once in `renamed`;
    a property whose values differ only by those names does not count as a difference, so
    what remains is the configuration that really differs (sizes, SKUs, protection, ...).
    Nothing is destructive here: two environments are not a before and an after.
    """
    _check_plan(a, a_label)
    _check_plan(b, b_label)
    index_a, index_b = _index(a, a_label), _index(b, b_label)
    pairs = _name_pairs(index_a, index_b)
    tokens_a = {name_a: f"<{address}>" for address, name_a, _ in pairs}
    tokens_b = {name_b: f"<{address}>" for address, _, name_b in pairs}
    diff = diff_plans(
        _normalised(a, tokens_a, index_a), _normalised(b, tokens_b, index_b), a_label, b_label
    )
    for change in diff.resources:
        change.destructive = None
        change.replaced_by = []
        change.protected = False
    diff.renamed = pairs
    diff.compare = True
    diff.stack = f"{a['stack']} vs {b['stack']}"
    return diff


def show_value(value: Any) -> str:
    """A value as reviewers read it: JSON (strings quoted), `(none)` for an absent side."""
    if value is ABSENT:
        return "(none)"
    if value == SECRET_MASK:
        return SECRET_MASK
    return json.dumps(value, sort_keys=True)
