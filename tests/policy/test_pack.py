"""The pack as the Pulumi CLI loads it: its entry point, its project file, its documentation."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
import yaml

from policy.pack import PACK_NAME, POLICIES

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"


def test_entry_point_serves_every_policy_as_mandatory(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[dict[str, Any]] = []

    class RecordingPack:
        def __init__(self, **kwargs: Any) -> None:
            served.append({**kwargs, "sys.path": list(sys.path)})

    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordingPack)
    monkeypatch.setattr(sys, "path", list(sys.path))
    # As `python -m pulumi.policy <engine> policy` does: run the pack's directory.
    runpy.run_path(str(POLICY_DIR), run_name="__main__")
    (pack,) = served
    assert pack["name"] == PACK_NAME
    assert pack["policies"] == list(POLICIES)
    assert pack["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY
    # While serving, the pack's modules are importable only as `policy.*`, never top-level.
    resolved = [Path(p or ".").resolve() for p in pack["sys.path"]]
    assert POLICY_DIR not in resolved
    assert resolved[0] == POLICY_DIR.parent


def test_policy_names_are_unique_and_valid() -> None:
    names = [p.name for p in POLICIES]
    assert len(set(names)) == len(names)
    assert all(n and n != "all" and n == n.lower() for n in names)
    assert all(p.enforcement_level is None for p in POLICIES)  # the pack's MANDATORY applies


def test_project_file_runs_python_in_the_repository_uv_environment() -> None:
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv"}}
    assert project["description"]


def test_readme_documents_every_policy() -> None:
    section = (POLICY_DIR.parent / "docs" / "security.md").read_text()
    for policy in POLICIES:
        assert f"| `{policy.name}` |" in section, policy.name
