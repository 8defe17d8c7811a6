"""The Azure ML job spec: `submit --dry-run` YAML read back with azure.ai.ml.load_job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import load_job

from jobs import environment
from jobs.cli import main
from jobs.stack import read_outputs_file
from tests.jobs.conftest import REPOSITORY_ROOT, STACK_OUTPUTS


def dry_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *flags: str
) -> tuple[int, Any, str]:
    code = main(["submit", "--outputs", str(STACK_OUTPUTS), "--dry-run", *flags])
    captured = capsys.readouterr()
    if code != 0:
        return code, None, captured.err
    path = tmp_path / "job.yaml"
    path.write_text(captured.out)
    return code, load_job(path), captured.err


def test_dry_run_yaml_carries_the_stack_outputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stack = read_outputs_file(STACK_OUTPUTS)
    code, job, err = dry_run(
        capsys,
        tmp_path,
        "--input", "nyctlc/yellow",
        "--instance-count", "3",
        "--processes-per-instance", "8",
        "--job-name", "dask-analysis-test",
        "--time-column", "tpepPickupDateTime",
        "--numeric-columns", "tripDistance,fareAmount",
    )  # fmt: skip
    assert code == 0, err
    assert job.type == "command"
    assert job.name == "dask-analysis-test"
    assert job.compute == stack.default_compute_cluster
    assert job.distribution.type == "mpi"
    assert job.distribution.process_count_per_instance == 8
    assert job.resources.instance_count == 3

    version = environment.content_version(
        environment.BASE_IMAGE, environment.CONDA_FILE.read_text()
    )
    assert job.environment == f"{environment.ENVIRONMENT_NAME}:{version}"
    assert f"azureml:{environment.ENVIRONMENT_NAME}:{version}" in err

    dataset = job.inputs["dataset"]
    assert dataset.type == "uri_folder"
    assert dataset.path == "azureml://datastores/datalake_raw/paths/nyctlc/yellow/"
    assert dataset.mode == "ro_mount"
    report = job.outputs["report"]
    assert report.path == "azureml://datastores/datalake_raw/paths/reports/dask-analysis-test/"
    assert report.mode == "rw_mount"

    assert job.identity.client_id == stack.compute_cluster_identity_client_id
    assert job.environment_variables["AZURE_CLIENT_ID"] == stack.compute_cluster_identity_client_id
    assert json.loads(job.environment_variables["JOBS_DATASTORE_URLS"]) == stack.datastore_urls()
    assert job.command.startswith(
        "python -m jobs.entry --input ${{inputs.dataset}} --output ${{outputs.report}}"
    )
    assert "--numeric-columns tripDistance,fareAmount" in job.command
    assert Path(job.code) == REPOSITORY_ROOT


def test_dry_run_with_chosen_compute_datastore_and_direct_mode(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, job, err = dry_run(
        capsys,
        tmp_path,
        "--input", "sensors",
        "--compute", "cpu-cluster-large",
        "--datastore", "datalake_curated",
        "--input-mode", "direct",
        "--output-path", "reports/weekly",
    )  # fmt: skip
    assert code == 0, err
    assert job.compute == "cpu-cluster-large"
    assert job.inputs["dataset"].path == "azureml://datastores/datalake_curated/paths/sensors/"
    assert job.inputs["dataset"].mode == "direct"
    assert (
        job.outputs["report"].path == "azureml://datastores/datalake_curated/paths/reports/weekly/"
    )
    assert job.name.startswith("dask-analysis-")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--compute", "gpu-cluster"],
            "compute cluster 'gpu-cluster' is not in computeClusterNames",
        ),
        (["--datastore", "lake"], "datastore 'lake' is not in datastoreNames"),
        (
            ["--instance-count", "1", "--processes-per-instance", "2"],
            "dask-mpi needs at least 3 processes",
        ),
        (["--job-name", "bad name"], "--job-name 'bad name' may hold only"),
    ],
)
def test_bad_submit_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], message: str
) -> None:
    code, _, err = dry_run(capsys, tmp_path, "--input", "nyctlc", *flags)
    assert code == 3
    assert message in err


def test_missing_outputs_file_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["submit", "--outputs", str(tmp_path / "none.json"), "--input", "x", "--dry-run"])
    assert code == 3
    assert "none.json' does not exist" in capsys.readouterr().err


def test_code_snapshot_holds_only_the_jobs_package() -> None:
    """The job uploads the repository root; .amlignore keeps everything but jobs/ out."""
    from azure.ai.ml._utils._asset_utils import get_ignore_file, get_upload_files_from_folder

    ignore = get_ignore_file(REPOSITORY_ROOT)
    assert Path(ignore.path) == REPOSITORY_ROOT / ".amlignore"
    pairs: list[Any] = get_upload_files_from_folder(REPOSITORY_ROOT, ignore_file=ignore)
    uploaded = [relative for _, relative in pairs]
    assert all(path.startswith("jobs/") for path in uploaded), uploaded
    assert {"jobs/entry.py", "jobs/analysis.py", "jobs/environment.conda.yaml"} <= set(uploaded)
    assert not [path for path in uploaded if "__pycache__" in path]


class FakeMLClient:
    """Stands in for MLClient: records calls, knows which environments exist."""

    def __init__(self, registered: set[tuple[str, str]], final_status: str) -> None:
        from types import SimpleNamespace

        from azure.core.exceptions import ResourceNotFoundError

        self.calls: list[str] = []

        def get_environment(name: str, version: str) -> object:
            self.calls.append(f"environments.get {name}:{version}")
            if (name, version) not in registered:
                raise ResourceNotFoundError("not found")
            return object()

        def create_environment(env: Any) -> Any:
            self.calls.append(f"environments.create_or_update {env.name}:{env.version}")
            registered.add((env.name, env.version))
            return env

        def create_job(job: Any) -> Any:
            self.calls.append(f"jobs.create_or_update {job.name} on {job.compute}")
            return SimpleNamespace(
                name=job.name, studio_url=f"https://ml.azure.com/runs/{job.name}"
            )

        self.environments = SimpleNamespace(
            get=get_environment, create_or_update=create_environment
        )
        self.jobs = SimpleNamespace(
            create_or_update=create_job,
            stream=lambda name: self.calls.append(f"jobs.stream {name}"),
            get=lambda name: SimpleNamespace(status=final_status),
        )


def test_submit_registers_the_environment_once_and_reports_the_studio_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jobs import submit

    registered: set[tuple[str, str]] = set()
    fake = FakeMLClient(registered, final_status="Completed")
    monkeypatch.setattr(submit, "ml_client", lambda stack: fake)
    flags = ["submit", "--outputs", str(STACK_OUTPUTS), "--input", "nyctlc", "--job-name", "job-1"]
    assert main(flags) == 0
    assert main([*flags[:-1], "job-2", "--wait"]) == 0
    creates = [c for c in fake.calls if c.startswith("environments.create_or_update")]
    assert len(creates) == 1  # the second submit reuses the registered version
    assert "jobs.create_or_update job-2 on cpu-cluster" in fake.calls
    assert "jobs.stream job-2" in fake.calls
    out = capsys.readouterr().out
    assert "submitted job-1: https://ml.azure.com/runs/job-1" in out


def test_wait_exits_5_when_the_job_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from jobs import submit

    monkeypatch.setattr(
        submit, "ml_client", lambda stack: FakeMLClient(set(), final_status="Failed")
    )
    code = main(
        [
            "submit",
            "--outputs",
            str(STACK_OUTPUTS),
            "--input",
            "nyctlc",
            "--job-name",
            "j",
            "--wait",
        ]
    )
    assert code == 5
    assert "job j ended Failed" in capsys.readouterr().err
