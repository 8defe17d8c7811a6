"""Pydantic's validation errors, spelled as the stack file's keys and in human words.

Every error becomes one line `<key> = <value>: <what is allowed>` (or `<key> is required:
...`, `<key> is not a known setting; known here: ...`), with the key path as the stack
file spells it (`azureml-dask:dataLake.filesystems[0]`). The words come from the field's
`setting(allowed=...)`, never from pydantic's generic texts.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from infra.settings.fields import PROJECT, Loc, Rules, SettingsModel, show
from infra.settings.models import valid_environment


class SettingsError(ValueError):
    """Invalid stack settings; the message lists every problem, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid stack settings ({len(self.problems)} problem(s)):\n{lines}")


def key_path(loc: Loc) -> str:
    """`("dataLake", "filesystems", 0)` -> `azureml-dask:dataLake.filesystems[0]`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return f"{PROJECT}:{text}"


def _model_of(annotation: Any) -> type[SettingsModel] | None:
    """The settings model a field holds (directly or as the items of a tuple)."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, SettingsModel):
            return candidate
    return None


def _field(
    root: type[SettingsModel], loc: Loc
) -> tuple[type[SettingsModel] | None, FieldInfo | None]:
    """The model holding the last named key of `loc`, and that key's field (if declared)."""
    model: type[SettingsModel] | None = root
    parent: type[SettingsModel] | None = root
    field: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            return parent, None
        parent = model
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return parent, None
        model = _model_of(field.annotation)
    return parent, field


def _extra(field: FieldInfo | None) -> dict[str, Any]:
    extra = field.json_schema_extra if field is not None else None
    return extra if isinstance(extra, dict) else {}


def known_keys(model: type[BaseModel]) -> list[str]:
    """The stack-file keys a model accepts (its internal fields left out)."""
    keys = []
    for name, field in model.model_fields.items():
        if not _extra(field).get("internal"):
            keys.append(field.alias or name)
    return sorted(keys)


def _environment_missing(stack: str) -> str:
    """Issue #13 item 14: say that the stack name was the default, and why it was refused."""
    guess = re.sub(r"[^a-z0-9]", "", stack.lower())[:8]
    example = guess if valid_environment(guess) else "stage"
    return (
        f"{PROJECT}:environment is required: it defaults to the stack name, but the stack "
        f"name {stack!r} is not a valid environment (2-8 lowercase letters and digits, "
        "starting with a letter; it goes into every resource name); set it explicitly, "
        f"e.g. `pulumi config set {PROJECT}:environment {example}`"
    )


def _problem(error: ErrorDetails, root: type[SettingsModel], stack: str) -> list[str]:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "settings_rules":
        rules: Rules = ctx["rules"]
        return [text if sub is None else key_path(loc + sub) + text for sub, text in rules.problems]
    key = key_path(loc)
    parent, field = _field(root, loc)
    allowed = str(_extra(field).get("allowed") or "")
    if kind == "missing":
        if loc == ("environment",):
            return [_environment_missing(stack)]
        return [f"{key} is required: {allowed or 'a value'}"]
    if kind == "extra_forbidden":
        known = ", ".join(known_keys(parent)) if parent else ""
        return [f"{key} is not a known setting; known here: {known}"]
    if kind == "settings_allowed":
        return [f"{key} = {show(value)}: {error['msg']}"]
    if kind == "bool_type":
        return [f"{key} = {show(value)}: must be true or false"]
    if kind in ("tuple_type", "list_type"):
        items = "objects" if field is not None and _model_of(field.annotation) else "strings"
        return [f"{key} = {show(value)}: must be a list of {items}"]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        shape = "an object" if isinstance(loc[-1], int) else "an object (a YAML mapping)"
        return [f"{key} = {show(value)}: must be {shape}"]
    if kind == "string_type":
        if isinstance(loc[-1], int):
            return [f"{key} = {show(value)}: must be a string"]
        return [f"{key} = {show(value)}: " + f"must be a string; {allowed}".rstrip("; ")]
    if allowed:
        return [f"{key} = {show(value)}: {allowed}"]
    return [f"{key} = {show(value)}: {error['msg']}"]  # a type no field describes (a bug)


def problems_of(error: ValidationError, root: type[SettingsModel], stack: str) -> list[str]:
    """Every problem in a pydantic error, one human sentence each, in the file's order."""
    found: list[str] = []
    for detail in error.errors(include_url=False):
        found += _problem(detail, root, stack)
    return found
