"""The real entry point under `mpirun -np 4`: scheduler, analysis and two workers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.jobs.conftest import REPOSITORY_ROOT, TAXI_SPEC


def mpirun() -> str:
    found = shutil.which("mpirun")
    if found is None:
        pytest.fail("OpenMPI is not installed: run `scripts/bootstrap --with-system`")
    return found


def test_entry_point_under_mpirun(taxi_dataset: Path, tmp_path: Path) -> None:
    output = tmp_path / "report"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    result = subprocess.run(
        [
            mpirun(),
            "-np",
            "4",
            "--allow-run-as-root",
            "--oversubscribe",
            sys.executable,
            "-m",
            "jobs.entry",
            "--input",
            str(taxi_dataset),
            "--output",
            str(output),
            "--threads-per-worker",
            "1",
            "--memory-limit",
            "2GiB",
        ],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Rank 1 prints where the cluster is, as it does into the Azure ML run's logs.
    assert "Dask scheduler: tcp://" in result.stdout
    assert "Dask dashboard: http://" in result.stdout
    summary = json.loads((output / "summary.json").read_text())
    assert summary["rows"] == TAXI_SPEC.rows == len(pd.read_parquet(taxi_dataset))
    assert summary["cluster"]["workers"] == 2  # ranks 2 and 3
    prepared = pd.read_parquet(output / "prepared")
    assert len(prepared) == summary["prepared"]["rowsOut"]
    assert (output / "daily_means.png").exists()


def test_mpi_needs_three_ranks(taxi_dataset: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            mpirun(),
            "-np",
            "2",
            "--allow-run-as-root",
            "--oversubscribe",
            sys.executable,
            "-m",
            "jobs.entry",
            "--input",
            str(taxi_dataset),
            "--output",
            str(tmp_path / "report"),
        ],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "needs at least 3" in result.stdout + result.stderr
    assert not (tmp_path / "report").exists()
