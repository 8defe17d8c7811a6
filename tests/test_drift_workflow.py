"""The drift workflow (.github/workflows/drift.yml) checks every stack, signed in like the deploys.

Its matrix is computed at run time from the Pulumi.<stack>.yaml files; the test runs that very
step's script on this repository and compares the result with the stack files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from plan.offline import REPO_ROOT, stack_names

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the bare key `on` as a boolean.
    document["on"] = document.pop(True)
    return document


def _step(job: dict[str, Any], *, uses: str | None = None, id_: str | None = None) -> dict:
    found = [
        s
        for s in job["steps"]
        if (uses is not None and s.get("uses", "").startswith(uses))
        or (id_ is not None and s.get("id") == id_)
    ]
    assert len(found) == 1, (uses, id_)
    return found[0]


DRIFT = _workflow("drift.yml")


def test_runs_on_a_schedule_and_by_hand() -> None:
    assert DRIFT["on"]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]  # daily
    assert "workflow_dispatch" in DRIFT["on"]


@pytest.mark.skipif(not shutil.which("jq"), reason="the step's script needs jq")
def test_matrix_is_every_stack_file(tmp_path: Path) -> None:
    job = DRIFT["jobs"]["drift"]
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.names) }}"
    script = _step(DRIFT["jobs"]["stacks"], id_="list")["run"]
    output = tmp_path / "github-output"
    subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=REPO_ROOT,
        env={"GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    key, _, value = output.read_text().strip().partition("=")
    assert key == "names"
    assert json.loads(value) == stack_names() != []


def test_previews_each_stack_with_refresh_expecting_no_changes() -> None:
    job = DRIFT["jobs"]["drift"]
    command = " ".join(_step(job, id_="preview")["run"].split())
    assert "pulumi preview --refresh --expect-no-changes" in command
    assert '--stack "$STACK"' in command
    assert "matrix.stack" in job["env"]["STACK"]


def test_signs_in_like_the_deploys() -> None:
    up = _workflow("pulumi-up.yml")["jobs"]["up"]
    job = DRIFT["jobs"]["drift"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    assert DRIFT["permissions"] == {"contents": "read"}
    for key in [k for k in up["env"] if k.startswith(("ARM_", "PULUMI_"))]:
        assert job["env"][key] == up["env"][key], key
    assert _step(job, uses="azure/login@") == {
        **_step(up, uses="azure/login@"),
        "if": "steps.credentials.outputs.present == 'true'",
    }
    # The stack name is the deploys' too, with `matrix.stack` for `inputs.stack`.
    up_stack = _step(up, uses="pulumi/actions@")["with"]["stack-name"]
    assert job["env"]["STACK"] == up_stack.replace("inputs.stack", "matrix.stack")


def test_drift_is_reported_in_the_summary_and_one_issue_per_stack() -> None:
    job = DRIFT["jobs"]["drift"]
    steps = {s.get("name"): s for s in job["steps"]}
    assert "GITHUB_STEP_SUMMARY" in steps["Job summary"]["run"]
    issue = steps["Drift issue"]
    assert issue["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert "--label drift" in issue["run"]
    assert "gh issue comment" in issue["run"]
    assert "gh issue create" in issue["run"]


def test_the_operations_page_states_the_schedule() -> None:
    minute, hour = DRIFT["on"]["schedule"][0]["cron"].split()[:2]
    page = (REPO_ROOT / "docs" / "operations.md").read_text()
    assert f"({int(hour):02d}:{int(minute):02d} UTC)" in page
