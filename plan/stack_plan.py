"""The plan of one stack: what the offline engine saw, as plain data and as text.

`build_plan` turns a `StackRun` into a JSON-serialisable dict (resources parents first, the
properties Azure would receive with secrets masked, the stack outputs); `render_text` and
`render_markdown` show it to people, `write_json` and `write_outputs_json` write it for
tools. The diff (`plan.diff`) and the command line (`plan.cli`) build on this structure.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.access import role_name_for_definition_id
from plan.offline import SECRET_MASK, ResourceRecord, StackRun

# Inputs shown once per stack rather than on every resource.
_COMMON_INPUTS = ("resourceGroupName", "location", "tags")


def _mask(value: Any, secret_paths: Sequence[str], path: str = "") -> Any:
    if path in secret_paths or (not path and "." in secret_paths):
        return SECRET_MASK
    if isinstance(value, dict):
        return {k: _mask(v, secret_paths, f"{path}.{k}".lstrip(".")) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secret_paths, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _address(record: ResourceRecord) -> str:
    return f"{record.type}::{record.name}"


def _resource(record: ResourceRecord, parents: dict[str, ResourceRecord]) -> dict[str, Any]:
    parent = parents.get(record.parent or "")
    entry: dict[str, Any] = {
        "address": _address(record),
        "type": record.type,
        "name": record.name,
        "parent": _address(parent) if parent else None,
        "component": not record.custom,
        "id": record.id or None,
        "protect": record.protect,
        "replaceOnChanges": record.replace_on_changes,
        "deleteBeforeReplace": record.delete_before_replace,
        "properties": _mask(record.inputs, record.secret_paths),
    }
    role_id = record.inputs.get("roleDefinitionId")
    if isinstance(role_id, str):
        entry["roleName"] = role_name_for_definition_id(role_id)
    return entry


def build_plan(run: StackRun) -> dict[str, Any]:
    """The plan as plain data: stack, resources (parents before children), outputs."""
    by_urn = {r.urn: r for r in run.resources}
    ordered: list[ResourceRecord] = []

    def visit(parent_urn: str | None) -> None:
        children = [
            r for r in run.resources if (r.parent if r.parent in by_urn else None) == parent_urn
        ]
        # Azure resources first (the resource group leads), then nested components.
        for child in sorted(children, key=lambda r: (not r.custom, r.type, r.name)):
            ordered.append(child)
            visit(child.urn)

    visit(None)
    return {
        "stack": run.stack,
        "resources": [_resource(r, by_urn) for r in ordered],
        "outputs": {
            name: SECRET_MASK if name in run.secret_outputs else value
            for name, value in run.outputs.items()
        },
        "secretOutputs": list(run.secret_outputs),
    }


def _flatten(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Nested objects become dotted paths; lists stay whole (one line per item)."""
    if isinstance(value, dict) and value:
        return [i for k, v in value.items() for i in _flatten(v, f"{path}.{k}".lstrip("."))]
    return [(path, value)]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(value) + "]"
    return json.dumps(value)


def render_text(plan: dict[str, Any]) -> str:
    """A human-readable rendering of `build_plan`'s result."""
    resources = plan["resources"]
    lines = [f"Stack {plan['stack']}: {sum(not r['component'] for r in resources)} resources"]
    common: dict[str, Any] = next((r["properties"] for r in resources if not r["component"]), {})
    for key in _COMMON_INPUTS:
        if key in common:
            lines.append(f"  {key}: {_show(common[key])}")
    lines.append("  (shown once: every resource below that takes them receives these values)")
    depth = {None: -1}
    for r in resources:
        level = depth.get(r["parent"], -1) + 1
        depth[r["address"]] = level
        indent = "  " * level
        flags = [f for f, on in (("protect", r["protect"]),) if on]
        if r["replaceOnChanges"]:
            flags.append("replace on " + ", ".join(r["replaceOnChanges"]))
        if r["deleteBeforeReplace"]:
            flags.append("delete before replace")
        suffix = f"  [{'; '.join(flags)}]" if flags else ""
        kind = "component" if r["component"] else r["type"]
        lines.append("")
        lines.append(f"{indent}+ {r['name']} ({kind}){suffix}")
        if r.get("roleName"):
            lines.append(f"{indent}    role: {r['roleName']}")
        for path, value in _flatten(r["properties"]):
            top = path.split(".")[0]
            if not path or (top in _COMMON_INPUTS and common.get(top) == r["properties"][top]):
                continue
            if isinstance(value, list) and any(isinstance(v, dict) for v in value):
                lines.append(f"{indent}    {path}:")
                lines += [f"{indent}      - {_show(v)}" for v in value]
            else:
                lines.append(f"{indent}    {path}: {_show(value)}")
    lines += ["", "Outputs:"]
    width = max((len(n) for n in plan["outputs"]), default=0)
    for name, value in plan["outputs"].items():
        lines.append(f"  {name.ljust(width)}  {_show(value)}")
    return "\n".join(lines)


def render_markdown(plan: dict[str, Any]) -> str:
    """The plan for a job summary or comment: a heading and the text rendering."""
    return f"### Offline plan of stack `{plan['stack']}`\n\n```text\n{render_text(plan)}\n```\n"


class PlanFileError(ValueError):
    """A plan file that cannot be written."""


def write_json(plan: dict[str, Any], target: str) -> None:
    """Write the plan as JSON: sorted keys and no timestamps, so the same inputs give a
    byte-identical file. `-` is standard output. The file appears whole or not at all."""
    _write_json(plan, target, "--json")


def write_outputs_json(plan: dict[str, Any], target: str) -> None:
    """Write the stack outputs as `pulumi stack output --json` prints them (secrets as
    `[secret]`), so offline tools such as `python -m jobs submit --outputs` can read them."""
    _write_json(plan["outputs"], target, "--outputs-json")


def _write_json(data: Any, target: str, option: str) -> None:
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    if target == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    if not path.parent.is_dir():
        raise PlanFileError(f"{option} {target}: directory {path.parent} does not exist")
    if path.is_dir():
        raise PlanFileError(f"{option} {target}: is a directory; give a file name")
    partial: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=f".{path.name}.", delete=False
        ) as tmp:
            partial = Path(tmp.name)
            tmp.write(text)
        os.replace(partial, path)
    except OSError as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise PlanFileError(f"{option} {target}: cannot write: {exc}") from exc
