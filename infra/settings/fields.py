"""The pieces every settings model is built from: the base model, typed fields, rules.

Each field carries what the docs and the error messages need (`allowed`: what is accepted,
in words; `pattern`/`choices`: the check), so a constraint is written once and both the
validation and `docs/settings.md` read it. Rules that span fields collect every problem
they find and raise them together as one `RulesError`, which `errors.py` spells out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationInfo
from pydantic import field_validator as field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

PROJECT = "azureml-dask"
"""The Pulumi project name: every config key lives in this namespace."""

Loc = tuple[str | int, ...]


def show(value: Any) -> str:
    """A config value as the error messages quote it: strings in quotes, others as JSON."""
    return repr(value) if isinstance(value, str) else json.dumps(value, default=str)


class Rules:
    """Problems found by one rule set; `raise_if_any()` reports them all at once."""

    def __init__(self) -> None:
        self.problems: list[tuple[Loc | None, str]] = []

    def fail(self, loc: Loc, value: Any, allowed: str) -> None:
        """`<key> = <value>: <allowed>` for the key at `loc` (relative to the model)."""
        self.problems.append((loc, f" = {show(value)}: {allowed}"))

    def say(self, loc: Loc, text: str) -> None:
        """`<key><text>`, e.g. `say(("tags", "owner"), " is required: ...")`."""
        self.problems.append((loc, text))

    def verbatim(self, text: str) -> None:
        """A problem already spelled out with its full key (e.g. from `naming`)."""
        self.problems.append((None, text))

    def raise_if_any(self) -> None:
        if self.problems:
            raise PydanticCustomError(
                "settings_rules", "{count} problem(s)", {"count": len(self.problems), "rules": self}
            )


def _bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _int(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


# Config values arrive as strings or JSON; only these spellings count as a bool or a number.
Bool = Annotated[bool, BeforeValidator(_bool), Strict()]
Int = Annotated[int, BeforeValidator(_int), Strict()]
Str = Annotated[str, Strict()]


def setting(
    default: Any = ...,
    *,
    description: str,
    allowed: str = "",
    pattern: str | None = None,
    choices: Sequence[str] = (),
    low: int | None = None,
    high: int | None = None,
    doc_type: str = "",
    doc_default: str = "",
    internal: bool = False,
) -> Any:
    """A settings field: its default, description (docs), and what is allowed (errors, docs)."""
    if choices:
        allowed = allowed or f"allowed values are {', '.join(choices)}"
    if low is not None and high is not None:
        allowed = allowed or f"must be a whole number from {low} to {high}"
    extra: dict[str, Any] = {"allowed": allowed, "choices": list(choices)}
    if pattern is not None:
        extra["pattern"] = pattern
    if doc_type:
        extra["doc_type"] = doc_type
    if doc_default:
        extra["doc_default"] = doc_default
    if internal:
        extra["internal"] = True
    return Field(default, description=description, ge=low, le=high, json_schema_extra=extra)


class SettingsModel(BaseModel):
    """Frozen, camelCase in the stack file, and no key it does not declare."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
        hide_input_in_errors=False,
    )
    # Field names a rule fills in; the stack file may not set them.
    internal: ClassVar[tuple[str, ...]] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"settings are frozen: cannot set {name}")

    @classmethod
    def extra_of(cls, name: str) -> dict[str, Any]:
        """The `setting(...)` metadata of field `name`."""
        extra = cls.model_fields[name].json_schema_extra
        return extra if isinstance(extra, dict) else {}

    @field_validator("*", mode="after")
    @classmethod
    def _check_field(cls, value: Any, info: ValidationInfo) -> Any:
        """Apply a field's `pattern` / `choices`, and keep internal fields out of the file."""
        name = info.field_name or ""
        extra = cls.extra_of(name)
        if extra.get("internal"):
            raise PydanticCustomError("extra_forbidden", "not a known setting")
        if not isinstance(value, str):
            return value
        choices = extra.get("choices") or []
        if choices and value not in choices:
            raise PydanticCustomError("settings_allowed", str(extra["allowed"]))
        pattern = extra.get("pattern")
        if isinstance(pattern, str) and not re.fullmatch(pattern, value):
            raise PydanticCustomError("settings_allowed", str(extra["allowed"]))
        return value
