"""`python -m plan`: the offline plan people read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plan.cli import main
from plan.offline import REPO_ROOT
from plan.stack_plan import build_plan, render_text
from tests.conftest import _run


def test_plan_is_plain_json(stack: str) -> None:
    plan = build_plan(_run(stack))
    assert json.loads(json.dumps(plan)) == plan
    assert plan["stack"] == stack


def test_plan_lists_every_resource_parents_first(stack: str) -> None:
    run = _run(stack)
    plan = build_plan(run)
    assert len(plan["resources"]) == len(run.resources)
    seen: set[str] = set()
    for r in plan["resources"]:
        assert r["parent"] is None or r["parent"] in seen
        seen.add(r["address"])


def test_rendered_plan_shows_resources_properties_and_outputs(stack: str) -> None:
    run = _run(stack)
    text = render_text(build_plan(run))
    for r in run.resources:
        assert f"+ {r.name} (" in text
    assert "isHnsEnabled: true" in text
    assert "Outputs:" in text
    for name in run.outputs:
        assert name in text


def test_cli_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack dev:")


def test_cli_bad_stack_exits_3_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plan", "--stack", "nope"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert "Pulumi.nope.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_cli_invalid_settings_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(REPO_ROOT / "__main__.py", tmp_path / "__main__.py")
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  azureml-dask:location: West Europe\n"
        "  azureml-dask:tags:\n    owner: me\n    costCenter: c\n"
    )
    assert main(["--stack", "bad"], root=tmp_path) == 3
    captured = capsys.readouterr()
    assert "azureml-dask:location = 'West Europe'" in captured.err
    assert captured.out == ""
