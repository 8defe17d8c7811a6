"""docs/settings.md's reference table, generated from the models (`python -m infra.settings`)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from infra.settings.errors import _model_of
from infra.settings.models import Settings
from infra.settings.read import SECRET_NAME


def _type(annotation: Any, extra: dict[str, Any]) -> str:
    if extra.get("doc_type"):
        return str(extra["doc_type"])
    text = str(annotation)
    if "tuple" in text:
        return "list of string"
    if "bool" in text:
        return "bool"
    if "int" in text:
        return "int"
    if _model_of(annotation) is not None:
        return "object"
    return "string"


def _default(default: Any, extra: dict[str, Any]) -> str:
    if extra.get("doc_default"):
        return str(extra["doc_default"])
    if default is PydanticUndefined:
        return "required"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, tuple):
        return f"`[{', '.join(map(str, default))}]`"
    return f"`{default}`"


def rows(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    """One table row per leaf key of `model`, in the models' order."""
    out: list[str] = []
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("internal"):
            continue
        key = f"{prefix}{field.alias or name}"
        inner = _model_of(field.annotation)
        if inner is not None:
            many = field.annotation is not inner and typing.get_origin(field.annotation)
            if many:
                out.append(
                    f"| `{key}` | list of objects | `[]` | see the keys below | "
                    f"{field.description} |"
                )
            out += rows(inner, f"{key}[]." if many else f"{key}.")
            continue
        allowed = str(extra.get("allowed", "")).replace("|", "\\|")
        out.append(
            f"| `{key}` | {_type(field.annotation, extra)} | "
            f"{_default(field.default, extra)} | {allowed} | {field.description} |"
        )
        if key == "servicePrincipal.workspaceRole":
            out.append(
                f"| `{SECRET_NAME}` | secret string | required for `existing` | set with "
                "`pulumi config set --secret`; plain text is rejected | The existing "
                "principal's client secret. |"
            )
    return out


def markdown_table() -> str:
    """The generated part of docs/settings.md."""
    return "\n".join(
        ["| Key | Type | Default | Allowed | Description |", "|---|---|---|---|---|", *rows()]
    )
