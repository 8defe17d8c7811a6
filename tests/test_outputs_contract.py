"""The outputs contract end to end: what the stack exports is what the jobs package reads.

`infra/` and `jobs/` never import each other; they meet only in `pulumi stack output --json`.
This test runs the real program of every stack offline, writes its outputs the way the
Pulumi CLI prints them, and has the jobs side read them and build the Azure ML job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.ai.ml import MpiDistribution, load_job
from azure.ai.ml.entities import Command, ManagedIdentityConfiguration

from jobs.cli import main as jobs_main
from jobs.stack import read_outputs_file
from plan import cli as plan
from plan.offline import StackRun


def _write_outputs(stack: str, path: Path) -> None:
    assert plan.main(["--stack", stack, "--outputs-json", str(path), "--json", "-"]) == 0


def test_jobs_read_every_stacks_outputs(
    stack: str, stack_run: StackRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "stack-outputs.json"
    _write_outputs(stack, path)
    capsys.readouterr()
    assert json.loads(path.read_text()) == stack_run.outputs  # no secret outputs to mask

    outputs = read_outputs_file(path)
    assert outputs.workspace_name == stack_run.outputs["workspaceName"]
    assert outputs.default_compute_cluster == stack_run.outputs["computeClusterNames"][0]
    assert outputs.default_datastore == stack_run.outputs["datastoreNames"][0]

    code = jobs_main(["submit", "--outputs", str(path), "--input", "nyctlc", "--dry-run"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    job_file = tmp_path / "job.yaml"
    job_file.write_text(captured.out)
    job = load_job(job_file)
    assert isinstance(job, Command)
    assert job.compute == stack_run.outputs["computeClusterNames"][0]
    assert job.inputs["dataset"].path == (
        f"azureml://datastores/{stack_run.outputs['datastoreNames'][0]}/paths/nyctlc/"
    )
    assert isinstance(job.identity, ManagedIdentityConfiguration)
    assert job.identity.client_id == stack_run.outputs["computeClusterIdentityClientId"]
    # Sized from the cluster's VM facts: one worker process per vCPU of the catalog's size.
    assert isinstance(job.distribution, MpiDistribution)
    assert job.distribution.process_count_per_instance == max(
        stack_run.outputs["computeClusterVCpus"][0], 2
    )
    assert job.resources.instance_count <= stack_run.outputs["computeClusterMaxNodes"][0]
    assert "# sizing: compute cluster" in captured.err


def test_outputs_json_is_refused_with_compare(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["--compare", "dev", "prod", "--outputs-json", "x.json"]) == 3
    assert "--outputs-json" in capsys.readouterr().err


def test_outputs_json_into_a_missing_directory_names_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "absent" / "outputs.json"
    assert plan.main(["--stack", "dev", "--outputs-json", str(target)]) == 3
    err = capsys.readouterr().err
    assert f"--outputs-json {target}: directory" in err
    assert not target.exists()
