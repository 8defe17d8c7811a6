"""Round trip through Azurite, a real Azure Blob API server: sample data written to a
container over abfs://, the analysis reading it and writing its report back."""

from __future__ import annotations

import json

import adlfs
import pandas as pd
import pytest
from distributed import Client

from jobs.cli import main


def test_sample_data_and_analysis_through_azurite(
    azurite: str,
    dask_client: Client,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)
    fs = adlfs.AzureBlobFileSystem(connection_string=azurite)
    fs.mkdir("lake")

    assert main(["-q", "sample-data", "--output", "abfs://lake/taxi", "--rows", "12000",
                 "--rows-per-file", "3000", "--no-progress"]) == 0  # fmt: skip
    assert len(fs.glob("lake/taxi/puYear=2024/puMonth=*/*.parquet")) == 6

    from jobs.analysis import analyze

    summary = analyze("abfs://lake/taxi", "abfs://lake/reports/run-1")
    capsys.readouterr()

    # Read everything back from Azurite itself, not from anything the job returned.
    stored = json.loads(fs.cat_file("lake/reports/run-1/summary.json"))
    assert stored["rows"] == summary["rows"] == 12_000
    assert stored["dataset"] == "abfs://lake/taxi"
    names = {path.rsplit("/", 1)[-1] for path in fs.ls("lake/reports/run-1")}
    assert {
        "summary.json",
        "describe.csv",
        "daily_means.csv",
        "daily_means.png",
        "prepared",
    } <= names
    assert not [name for name in names if name.startswith(".staging")]
    with fs.open("lake/reports/run-1/daily_means.png", "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    prepared = pd.read_parquet(
        "abfs://lake/reports/run-1/prepared", storage_options={"connection_string": azurite}
    )
    assert len(prepared) == stored["prepared"]["rowsOut"] > 0

    reference = pd.read_parquet("abfs://lake/taxi", storage_options={"connection_string": azurite})
    assert stored["describe"]["fareAmount"]["mean"] == pytest.approx(
        reference["fareAmount"].mean(), rel=1e-9
    )


def test_missing_container_path_is_a_clear_error(
    azurite: str, clean_env: pytest.MonkeyPatch, tmp_path
) -> None:
    clean_env.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)
    code = main(
        [
            "-q",
            "run",
            "--input",
            "abfs://lake/nothing-here",
            "--output",
            str(tmp_path / "r"),
            "--workers",
            "1",
        ]
    )
    assert code == 3
    assert not (tmp_path / "r").exists()
